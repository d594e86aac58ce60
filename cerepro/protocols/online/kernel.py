"""Compiled trial loop of the on-line experiments (Exps 3-6, XOR): fresh sequences, error only at the end.

One call trains a net on a block of sequences (the model's `step` learns at the sequence end) and tests the
stop rule after every `check_every` sequences (docs/paper.md, Exps 3-6): ST3(beta), the `window` most recent
sequences all correct (ABS) and their average error below beta; NSEQ(n), fewer than n of them wrong; ST1/ST2,
at most `st1_max_wrong` of a fixed check set wrong, and (ST2, the stop) its mean absolute error below
`st2_error`. The window is a ring with running totals, re-summed exactly once per lap and whenever the sum is
close to the threshold, so floating drift can never decide a stop. The frozen tests (`evaluate`) run one
sequence per step call; `evaluate_lanes` gives the same results for the 1997 step with the sequences in lanes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.models.lstm97 import frozen_batch
from cerepro.protocols.common import DIVERGED, RUNNING, SUCCESS
from cerepro.protocols.ops import move_to_front

ST3, NSEQ, ST1ST2 = range(3)  # Rule.stop: the index of the row's `stop` in settings.STOPS
MAE, MSE, SAE = range(3)  # Rule.error: the index of `st3_error` in settings.ERRORS
TOTALS = np.dtype([("seen", np.int64), ("pos", np.int64), ("wrong", np.int64), ("st1_at", np.int64), ("err_sum", np.float64)])


class Rule(NamedTuple):
    """The stop rule of a row (settings.OnlineRow)."""

    stop: int  # ST3 | NSEQ | ST1ST2
    error: int  # MAE | MSE | SAE: the per-sequence error measure of ST3 and of the learning curve
    check_every: int  # test the rule after every n training sequences
    n_seq: int  # NSEQ
    st1_max_wrong: int  # ST1
    abs_threshold: float  # ABS: a sequence is correct if every output's |end error| is below this
    beta: float  # ST3(beta)
    st2_error: float  # ST2


class Window(NamedTuple):
    """The most recent training sequences (a ring) and the run's totals, carried across calls."""

    err: np.ndarray  # (window,) error measure of each sequence
    wrong: np.ndarray  # (window,) int64: 1 if the sequence was not correct
    totals: np.ndarray  # (1,) TOTALS: sequences seen, ring position, wrong in the window, sequences at the first
    #                     passing ST1 check, sum of `err`


class Tests(NamedTuple):
    """Sequences tested by the frozen net: the ST1/ST2 check set, or a final test set."""

    x_index: np.ndarray  # (m, T|1) int64
    x_dense: np.ndarray  # (m, T, I|0)
    end_target: np.ndarray  # (m, K) the noise-free targets at the sequence end
    lengths: np.ndarray  # (m,) int64
    order: np.ndarray  # (m,) int64: test order, a failing sequence moved to the front


def new_window(size: int) -> Window:
    return Window(np.zeros(size), np.zeros(size, dtype=np.int64), np.zeros(1, dtype=TOTALS))


@njit(cache=True)
def end_errors(y, target, error):
    """(error measure of one sequence, largest absolute unit error) from end outputs y (K,) and target (K,).

    MAE = mean_k |t_k - y_k|, MSE = mean_k (t_k - y_k)^2, SAE = sum_k |t_k - y_k|."""
    K = y.shape[0]
    acc = 0.0
    worst = 0.0
    for k in range(K):
        d = abs(target[k] - y[k])
        if not d <= worst:  # NaN propagates as the worst error
            worst = d
        acc += d * d if error == MSE else d
    if error != SAE:
        acc /= K
    return acc, worst


@njit(cache=True)
def ring_push(win, err, wrong):
    """Add one sequence's (error, wrong flag) to the window, dropping the oldest once the window is full."""
    W = win.err.shape[0]
    tot = win.totals[0]
    pos = tot.pos
    if tot.seen >= W:
        tot.err_sum -= win.err[pos]
        tot.wrong -= win.wrong[pos]
    win.err[pos] = err
    win.wrong[pos] = wrong
    tot.err_sum += err
    tot.wrong += wrong
    pos += 1
    if pos == W:
        pos = 0
        tot.err_sum = win.err.sum()  # exact once per lap: no drift over millions of sequences
    tot.pos = pos
    tot.seen += 1


@njit(cache=True)
def window_rule_met(rule, win):
    """ST3 or NSEQ on the current window (False until the window is full)."""
    W = win.err.shape[0]
    tot = win.totals[0]
    if tot.seen < W:
        return False
    if rule.stop == NSEQ:
        return tot.wrong < rule.n_seq
    if tot.wrong != 0:
        return False
    if tot.err_sum > rule.beta * W * (1.0 + 1e-9) + 1e-12:  # clearly above: skip the exact sum
        return False
    return win.err.sum() / W < rule.beta


@njit(cache=True, inline="always")
def add_end_errors(end_target, n, y, row, abs_threshold, sum_abs, sum_sq):
    """Sequence n's end errors |t_k - y[row, k]| added to the running sums unit by unit (their order decides the
    rounding); returns (sum |e|, sum e^2, whether any unit is not below abs_threshold)."""
    bad = False
    for k in range(end_target.shape[1]):
        d = abs(end_target[n, k] - y[row, k])
        sum_abs += d
        sum_sq += d * d
        if not d < abs_threshold:
            bad = True
    return sum_abs, sum_sq, bad


@njit  # takes the model's step: numba's disk cache cannot serve it (the runner compiles once before forking)
def evaluate(step, net, ws, tests, abs_threshold, max_wrong, out_y, no_t, no_mask, fz, fast_exp):
    """Forward-only test of the sequences in tests.order; stops once more than `max_wrong` are wrong.

    Returns (wrong, tested, sum |e|, sum e^2), the sums over tested sequences and output units. On an early stop
    the failing sequence moves to the front of the order, so the next test of a net that still fails it costs
    one sequence (the verdict is unchanged). fz, fast_exp: unused (evaluate_lanes' arguments)."""
    x_index, x_dense, end_target, lengths, order = tests
    wrong = 0
    sum_abs = 0.0
    sum_sq = 0.0
    for pos in range(order.shape[0]):
        n = order[pos]
        L = lengths[n]
        step(net, ws, x_index[n], x_dense[n], no_t, no_mask, L, 0.0, False, out_y)
        sum_abs, sum_sq, bad = add_end_errors(end_target, n, out_y, L - 1, abs_threshold, sum_abs, sum_sq)
        if bad:
            wrong += 1
            if wrong > max_wrong:
                move_to_front(order, pos)
                return wrong, pos + 1, sum_abs, sum_sq
    return wrong, order.shape[0], sum_abs, sum_sq


@njit  # as evaluate
def evaluate_lanes(step, net, ws, tests, abs_threshold, max_wrong, out_y, no_t, no_mask, fz, fast_exp):
    """evaluate for the 1997 step (models/lstm97/kernel.step), cheaper: the same returns, sums in the same order
    and the same move to the front. The front sequence runs alone (a net that still fails it fails here); the
    others in batches of 16, 32, then frozen_batch.LANES sequences in the lanes of one loop
    (models/lstm97/frozen_batch.py: kernel.step's end outputs, bit for bit). fz: frozen_batch.batch(net) (its
    weights are taken here); fast_exp: vexp.available()."""
    x_index, x_dense, end_target, lengths, order = tests
    K = end_target.shape[1]
    m = order.shape[0]
    wrong = 0
    sum_abs = 0.0
    sum_sq = 0.0
    if m == 0:
        return wrong, 0, sum_abs, sum_sq
    out_end = np.empty((frozen_batch.LANES, K))
    pos = 0
    size = 1
    while pos < m:
        L = min(size, m - pos)
        if pos == 0:
            n = order[0]
            step(net, ws, x_index[n], x_dense[n], no_t, no_mask, lengths[n], 0.0, False, out_y)
            for k in range(K):
                out_end[0, k] = out_y[lengths[n] - 1, k]
            frozen_batch.freeze(net, fz)
        else:
            frozen_batch.end_outputs(fz, net.setup, ws.z_reset, x_index, x_dense, lengths, order[pos : pos + L], out_end,
                                     fast_exp)
        for q in range(L):
            n = order[pos + q]
            sum_abs, sum_sq, bad = add_end_errors(end_target, n, out_end, q, abs_threshold, sum_abs, sum_sq)
            if bad:
                wrong += 1
                if wrong > max_wrong:
                    move_to_front(order, pos + q)
                    return wrong, pos + q + 1, sum_abs, sum_sq
        pos += L
        size = 16 if pos == 1 else min(2 * size, frozen_batch.LANES)
    return wrong, m, sum_abs, sum_sq


@njit  # as evaluate
def train_online(step, net, ws, block, lr, rule, win, check, out_y, seq_err, tester, fz, fast_exp):
    """Train on the block's sequences (generators.base.Sequences) in order until the stop rule holds; the ST1/ST2
    check runs `tester` (evaluate, or evaluate_lanes for the 1997 step, with its fz and fast_exp).

    Returns (status, sequences done in this call); seq_err[i] receives sequence i's error measure. The window's
    totals count sequences over all calls (the check cadence is global) and record the sequence count at the
    first passing ST1 check."""
    x_index, x_dense, targets, target_mask, lengths = block
    K = targets.shape[2]
    no_t = np.zeros((1, K))
    no_mask = np.zeros(out_y.shape[0], dtype=np.bool_)
    tot = win.totals[0]
    for i in range(lengths.shape[0]):
        L = lengths[i]
        sse = step(net, ws, x_index[i], x_dense[i], targets[i], target_mask[i], L, lr, True, out_y)
        if not np.isfinite(sse):
            tot.seen += 1
            seq_err[i] = np.nan
            return DIVERGED, i + 1
        err, worst = end_errors(out_y[L - 1], targets[i, L - 1], rule.error)
        seq_err[i] = err
        ring_push(win, err, 0 if worst < rule.abs_threshold else 1)
        if tot.seen % rule.check_every != 0:
            continue
        if rule.stop == ST1ST2:
            wrong, m, sum_abs, _ = tester(step, net, ws, check, rule.abs_threshold, rule.st1_max_wrong, out_y, no_t, no_mask,
                                          fz, fast_exp)
            if wrong <= rule.st1_max_wrong:  # ST1 holds (the whole set was tested)
                if tot.st1_at == 0:
                    tot.st1_at = tot.seen
                if sum_abs / (m * K) < rule.st2_error:
                    return SUCCESS, i + 1
        elif window_rule_met(rule, win):
            return SUCCESS, i + 1
    return RUNNING, lengths.shape[0]
