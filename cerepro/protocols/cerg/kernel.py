"""Compiled pieces of the CERG protocol: the stream walk, and the loop that feeds a stream to a model's step.

`walk` is generators/cerg.py's, compiled here. `run_stream` feeds one piece of a stream to the step one symbol
at a time WITHOUT resetting the net in between (the model's `ws.carry`, a continual model's), and stops at the
first wrong prediction: a prediction is correct if every output unit is within `threshold` of its target.
`run_frozen` does the same for a test stream with the forget-gate net's frozen forward pass
(models/lstm_forget/frozen.py): the same outputs, cheaper; test streams are most of a trial's symbols.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.generators import cerg as stream_generator
from cerepro.generators.reber import N_SYMBOLS
from cerepro.models.lstm97 import frozen as frozen97
from cerepro.models.lstm_forget import frozen
from cerepro.models.numba_noalias import fast_jit

OK, ERROR, DIVERGED = 0, 1, 2  # how run_stream ended: the piece done | at the first error | non-finite outputs
walk = njit(cache=True)(stream_generator.walk)


class StreamRule(NamedTuple):
    """How a row's streams are predicted and judged (settings.CergRow)."""

    reset_strings: bool  # reset the net at every string start ("external reset", Gers Table 2 row 1)
    legal_targets: bool  # the target is the set of legal next symbols; else the actual next symbol
    threshold: float  # a prediction is correct if |target - output| < threshold on every output unit
    string_decay: float  # lr *= string_decay after every correctly predicted string (1.0: no decay)


@njit  # takes the model's step: numba's disk cache cannot serve it (the runner compiles once before forking)
def run_stream(step, net, ws, codes, legal, starts, n, fresh, rule, lr_state, learn):
    """Predict symbols 1..n-1 of a piece (codes[0] is the last symbol of the previous piece), learning online if
    `learn`, until the first wrong prediction; `fresh`: the piece begins a stream (reset first). lr_state (1,)
    carries the learning rate across pieces. Returns (correct predictions, OK | ERROR | DIVERGED)."""
    no_x = np.zeros((1, 0))
    tgt = np.zeros((1, N_SYMBOLS))
    tmask = np.ones(1, dtype=np.bool_)
    out_y = np.zeros((1, N_SYMBOLS))
    x = np.zeros(1, dtype=np.int64)
    carry = ws.carry
    for t in range(n - 1):
        if (t == 0 and fresh) or (rule.reset_strings and starts[t]):
            carry[0] = 0
        else:
            carry[0] = 1
        nxt = codes[t + 1]
        for k in range(N_SYMBOLS):
            if rule.legal_targets:
                tgt[0, k] = 1.0 if (legal[t] >> k) & 1 else 0.0
            else:
                tgt[0, k] = 1.0 if k == nxt else 0.0
        x[0] = codes[t]
        step(net, ws, x, no_x, tgt, tmask, 1, lr_state[0], learn, out_y)
        for k in range(N_SYMBOLS):
            if not np.isfinite(out_y[0, k]):
                carry[0] = 0
                return t, DIVERGED
            if not abs(tgt[0, k] - out_y[0, k]) < rule.threshold:
                carry[0] = 0
                return t, ERROR
        if starts[t + 1]:  # a whole string was predicted correctly
            lr_state[0] *= rule.string_decay
    carry[0] = 0
    return n - 1, OK


@njit(cache=True, inline="always", error_model="numpy")
def _judge(y, t, codes, legal, rule):
    """run_stream's verdict on the outputs y (1, K) predicting symbol t+1: OK, ERROR or DIVERGED (unit by unit)."""
    nxt = codes[t + 1]
    for k in range(N_SYMBOLS):
        if rule.legal_targets:
            tgt = 1.0 if (legal[t] >> k) & 1 else 0.0
        else:
            tgt = 1.0 if k == nxt else 0.0
        if not np.isfinite(y[0, k]):
            return DIVERGED
        if not abs(tgt - y[0, k]) < rule.threshold:
            return ERROR
    return OK


@njit(cache=True, inline="always", error_model="numpy")
def _frozen_piece(fz, c, z_reset, codes, legal, starts, n, fresh, rule, lr_state, fast_exp):
    """run_frozen's loop, with fast_exp a constant of each caller (models/lstm97/frozen.py: why)."""
    for t in range(n - 1):
        if (t == 0 and fresh) or (rule.reset_strings and starts[t]):
            frozen97.reset(fz.z, fz.zo, fz.s, z_reset)
        frozen.advance(fz, c, codes[t], fast_exp)
        status = _judge(fz.y, t, codes, legal, rule)
        if status != OK:
            return t, status
        if starts[t + 1]:  # a whole string was predicted correctly
            lr_state[0] *= rule.string_decay
    return n - 1, OK


@fast_jit(cache=True, error_model="numpy")
def _frozen_piece_vexp(fz, c, z_reset, codes, legal, starts, n, fresh, rule, lr_state):
    return _frozen_piece(fz, c, z_reset, codes, legal, starts, n, fresh, rule, lr_state, True)


@fast_jit(cache=True, error_model="numpy")
def _frozen_piece_libm(fz, c, z_reset, codes, legal, starts, n, fresh, rule, lr_state):
    return _frozen_piece(fz, c, z_reset, codes, legal, starts, n, fresh, rule, lr_state, False)


def run_frozen(fz, c, z_reset, codes, legal, starts, n, fresh, rule, lr_state, fast_exp):
    """run_stream with learn=False for a forget-gate net frozen into fz (lstm97 frozen.freeze): the same
    (correct predictions, status) and lr_state; the net's state is carried in fz, not in its workspace.
    c: the net's kernel.Setup; z_reset: the sources a stream starts from (ws.z_reset)."""
    piece = _frozen_piece_vexp if fast_exp else _frozen_piece_libm
    return piece(fz, c, z_reset, codes, legal, starts, n, fresh, rule, lr_state)
