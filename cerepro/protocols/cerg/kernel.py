"""Compiled pieces of the CERG protocol (Gers et al. 2000): the stream generator and the continual stream loop.

`walk` writes the continual embedded Reber stream symbol by symbol from random bits drawn in numpy (one bit
per choice point; the grammar is cerepro.tasks.reber.REBER_EDGES, passed in as tables), carrying its place
in the grammar across calls, so a 10^6-symbol stream is made in pieces and never held whole.

`run_stream` feeds one piece of a stream to a model's step kernel one step at a time WITHOUT resetting the
net between steps (the model's continual slot of `spec`, cerepro.models.lstm_forget_net.CONTINUAL_SLOT),
and stops at the first wrong prediction: a prediction is correct if every output unit is within
`threshold` of its target (Gers: 0.49, UNVERIFIED).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cerepro.tasks.reber import ALPHABET, INDEX, REBER_EDGES

STATUS_OK, STATUS_ERROR, STATUS_DIVERGED = 0, 1, 2
_B, _E, _T, _P = INDEX["B"], INDEX["E"], INDEX["T"], INDEX["P"]
K = len(ALPHABET)


def edge_tables() -> tuple[np.ndarray, np.ndarray]:
    """REBER_EDGES as arrays: symbol[state, bit], next_state[state, bit] (states 1..5; 6 = end)."""
    sym, nxt = np.full((7, 2), -1, dtype=np.int64), np.full((7, 2), -1, dtype=np.int64)
    for state, edges in REBER_EDGES.items():
        for bit, (symbol, target) in enumerate(edges):
            sym[state, bit], nxt[state, bit] = INDEX[symbol], target
    return sym, nxt


@njit(cache=True)
def _mask_of_state(state, edge_sym):
    """Bit mask of the symbols that may follow when the inner Reber automaton is in `state`."""
    if state == 6:
        return 1 << _E
    return (1 << edge_sym[state, 0]) | (1 << edge_sym[state, 1])


@njit(cache=True)
def walk(wst, bits, edge_sym, edge_next, codes, legal, starts, offset, n):
    """Append n stream symbols at codes[offset:offset+n]; legal[i] = bit mask of the symbols that may follow
    codes[i]; starts[i] = codes[i] is the first B of an embedded string. Uses at most n bits.

    wst (3,) int64 carries [phase, inner state, branch symbol]; all zeros = at the start of a string.
    Phases: 0 outer B, 1 branch T/P, 2 inner B, 3 inner Reber symbols, 4 inner E, 5 branch again, 6 outer E.
    """
    b = 0
    for i in range(offset, offset + n):
        phase = wst[0]
        starts[i] = phase == 0
        if phase == 0:
            codes[i], legal[i], wst[0] = _B, (1 << _T) | (1 << _P), 1
        elif phase == 1:
            wst[2] = _T if bits[b] == 0 else _P
            b += 1
            codes[i], legal[i], wst[0] = wst[2], 1 << _B, 2
        elif phase == 2:
            wst[1] = 1
            codes[i], legal[i], wst[0] = _B, _mask_of_state(1, edge_sym), 3
        elif phase == 3:
            state = wst[1]
            codes[i] = edge_sym[state, bits[b]]
            wst[1] = edge_next[state, bits[b]]
            b += 1
            legal[i] = _mask_of_state(wst[1], edge_sym)
            if wst[1] == 6:
                wst[0] = 4
        elif phase == 4:
            codes[i], legal[i], wst[0] = _E, 1 << wst[2], 5
        elif phase == 5:
            codes[i], legal[i], wst[0] = wst[2], 1 << _E, 6
        else:
            codes[i], legal[i], wst[0] = _E, 1 << _B, 0
    return b


@njit  # takes the model's step: numba's disk cache cannot serve it (runner compiles once before forking)
def run_stream(
    step, W_hid, W_out, M_hid, M_out, spec, ws, cont_slot,  # the model (cerepro.models) and its continual slot
    codes, legal, starts, n,  # the piece: n symbols (n - 1 predictions); codes[0] is the last symbol of the previous piece
    fresh,  # True: this piece begins a stream (reset the net before its first step)
    reset_strings,  # True: reset the net at every string start ("external reset", Gers Table 2 row 1)
    legal_targets,  # True: the target is the set of legal next symbols; False: the actual next symbol
    threshold,  # a prediction is correct if |target - output| < threshold on every output unit
    lr_state,  # (1,) float64 learning rate, carried across pieces (decays in place with string_decay)
    string_decay,  # lr *= string_decay after every correctly predicted string (1.0: no decay)
    learn,
):
    """Predict symbols 1..n-1 of the piece, learning online if `learn`, until the first wrong prediction.

    Returns (correct predictions, status): STATUS_OK (piece done without error), STATUS_ERROR (stopped at
    the first error, which is not counted), STATUS_DIVERGED (non-finite outputs).
    """
    no_x = np.zeros((1, 0))
    tgt = np.zeros((1, K))
    tmask = np.ones(1, dtype=np.bool_)
    out_y = np.zeros((1, K))
    x = np.zeros(1, dtype=np.int64)
    for t in range(n - 1):
        if (t == 0 and fresh) or (reset_strings and starts[t]):
            spec[cont_slot] = 0
        else:
            spec[cont_slot] = 1
        nxt = codes[t + 1]
        for k in range(K):
            if legal_targets:
                tgt[0, k] = 1.0 if (legal[t] >> k) & 1 else 0.0
            else:
                tgt[0, k] = 1.0 if k == nxt else 0.0
        x[0] = codes[t]
        step(W_hid, W_out, M_hid, M_out, spec, ws, x, no_x, tgt, tmask, 1, lr_state[0], learn, out_y)
        for k in range(K):
            if not np.isfinite(out_y[0, k]):
                spec[cont_slot] = 0
                return t, STATUS_DIVERGED
            if not abs(tgt[0, k] - out_y[0, k]) < threshold:
                spec[cont_slot] = 0
                return t, STATUS_ERROR
        if starts[t + 1]:  # a whole string was predicted correctly
            lr_state[0] *= string_decay
    spec[cont_slot] = 0
    return n - 1, STATUS_OK
