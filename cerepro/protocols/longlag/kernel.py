"""Compiled trial loop of Experiment 2 (Section 5.2): online training, the ABS success test, and the plateau
rule of sequential network construction.

Data arrive in a compact form (one-hot tasks only): per sequence `x_index` (T,) the active input unit,
`t_index` (T,) the unit of the one-hot target (-1: no target at that step) and `score` (T,) bool, the steps
the success criterion looks at. The dense (T, K) targets the model's `step` wants are written into a scratch
array just before each sequence and cleared right after (K = 101 outputs x 100 steps for 2a: a dense chunk
of targets would be 80 kB per sequence).

Success test ABS(beta): the maximal absolute error of all output units over the scored steps of a sequence
is below beta. Two ways to test it (`success_test` of the row):
  online (0)    the outputs of the training presentations themselves (computed before each step's weight
                change, so every scored output is a prediction for a sequence the net has not yet learned
                from); success when `window` successive training sequences pass.
  test set (1)  after every `check_every` training sequences, the frozen net is run on a fixed test set;
                success when every test sequence passes (early exit, failing sequence moved to the front).

Plateau rule (sequential construction, Section 4 "abuse problem", remedy 1): the mean training error of
each block of `plateau_window` presentations is compared with the block before; when it improved by less
than the fraction `min_improvement` (or not at all), the error "stopped going down" and the hidden layer is switched on.
"""

from __future__ import annotations

import numpy as np
from numba import njit

STATUS_RUNNING, STATUS_SUCCESS, STATUS_DIVERGED = 0, 1, 2
SUCCESS_ONLINE, SUCCESS_TEST_SET = 0, 1
# istate slots (int64 state carried across chunks)
RUN, PENDING, ADDED_AT, WIN_COUNT, WIN_DONE = range(5)
# fstate slots (float64 state carried across chunks)
WIN_SUM, PREV_MEAN = range(2)


def new_state(pending: bool) -> tuple[np.ndarray, np.ndarray]:
    """Fresh loop state: istate (5,) int64, fstate (2,) float64; `pending` = a hidden layer is still to be added."""
    istate = np.zeros(5, dtype=np.int64)
    istate[PENDING] = int(pending)
    istate[ADDED_AT] = -1
    return istate, np.zeros(2)


@njit(cache=True)
def set_targets(targets, t_mask, t_index, length, on):
    """Write (on=True) or clear (on=False) the one-hot targets and the target mask of one sequence."""
    for t in range(length):
        k = t_index[t]
        if k >= 0:
            targets[t, k] = 1.0 if on else 0.0
            t_mask[t] = on


@njit(cache=True)
def max_abs_error(out_y, targets, score, length):
    """Maximal |target - output| over all output units and the scored steps; NaN outputs give NaN."""
    worst = 0.0
    for t in range(length):
        if score[t]:
            for k in range(out_y.shape[1]):
                d = abs(targets[t, k] - out_y[t, k])
                if d != d:  # NaN: never a pass
                    return d
                if d > worst:
                    worst = d
    return worst


@njit(cache=True)
def plateau_update(istate, fstate, sse, window, min_improvement):
    """Feed one presentation's error; True when a block of `window` ends at most `min_improvement` (relative) below
    the block before (min_improvement 0: as soon as a block is no better)."""
    fstate[WIN_SUM] += sse
    istate[WIN_COUNT] += 1
    if istate[WIN_COUNT] < window:
        return False
    mean = fstate[WIN_SUM] / window
    fstate[WIN_SUM] = 0.0
    istate[WIN_COUNT] = 0
    istate[WIN_DONE] += 1
    fired = istate[WIN_DONE] >= 2 and mean >= (1.0 - min_improvement) * fstate[PREV_MEAN]
    fstate[PREV_MEAN] = mean
    return fired


@njit(cache=True)
def add_hidden_layer(W_hid, W_out, M_hid, M_out, full_M_hid, full_M_out, W_hid0, W_out0):
    """Sequential construction: switch on every connection of the final net, with its initial weight."""
    for u in range(W_hid.shape[0]):
        for m in range(W_hid.shape[1]):
            if M_hid[u, m] == 0.0 and full_M_hid[u, m] != 0.0:
                W_hid[u, m] = W_hid0[u, m]
                M_hid[u, m] = full_M_hid[u, m]
    for k in range(W_out.shape[0]):
        for m in range(W_out.shape[1]):
            if M_out[k, m] == 0.0 and full_M_out[k, m] != 0.0:
                W_out[k, m] = W_out0[k, m]
                M_out[k, m] = full_M_out[k, m]


@njit  # takes the model's step: numba's disk cache cannot serve it (runner compiles once before forking)
def evaluate(step, W_hid, W_out, M_hid, M_out, spec, ws, x_index, t_index, score, lengths, order, tol, early_exit,
             out_y, targets, t_mask, seq_err):
    """Frozen net on sequences in `order`: seq_err[i] = max abs error of sequence order[i]; returns the number
    that passed ABS(tol). With `early_exit` it stops at the first failure and moves it to the front of `order`."""
    no_x = np.zeros((out_y.shape[0], 0))
    n_ok = 0
    for pos in range(order.shape[0]):
        n = order[pos]
        L = lengths[n]
        set_targets(targets, t_mask, t_index[n], L, True)
        step(W_hid, W_out, M_hid, M_out, spec, ws, x_index[n], no_x, targets, t_mask, L, 0.0, False, out_y)
        err = max_abs_error(out_y, targets, score[n], L)
        set_targets(targets, t_mask, t_index[n], L, False)
        seq_err[pos] = err
        if err < tol:
            n_ok += 1
        elif early_exit:
            for r in range(pos, 0, -1):
                order[r] = order[r - 1]
            order[0] = n
            return n_ok
    return n_ok


@njit  # takes the model's step: numba's disk cache cannot serve it (runner compiles once before forking)
def train_until_success(
    step,  # the model's compiled per-sequence kernel (cerepro.models)
    W_hid, W_out, M_hid, M_out, spec, ws,
    x_index, t_index, score, lengths,  # training chunk: (n, T) int64, (n, T) int64, (n, T) bool, (n,) int64
    full_M_hid, full_M_out, W_hid0, W_out0,  # sequential construction: the final net's masks, initial weights
    chk_x, chk_t, chk_score, chk_len, chk_order,  # test set (success_test 1); empty for the online test
    lr, tol, window, success_test, check_every, plateau_window, min_improvement,
    presented_before, istate, fstate, seq_sse, out_y, targets, t_mask, chk_err,
):
    """Train online on the chunk in order until ABS(tol) success; returns (status, presentations in this call).

    `presented_before` counts the presentations of earlier calls; istate/fstate carry the success run and the
    plateau rule across calls (see new_state); seq_sse[i] receives presentation i's summed squared error.
    """
    no_x = np.zeros((out_y.shape[0], 0))
    for i in range(lengths.shape[0]):
        L = lengths[i]
        set_targets(targets, t_mask, t_index[i], L, True)
        sse = step(W_hid, W_out, M_hid, M_out, spec, ws, x_index[i], no_x, targets, t_mask, L, lr, True, out_y)
        err = max_abs_error(out_y, targets, score[i], L)
        set_targets(targets, t_mask, t_index[i], L, False)
        seq_sse[i] = sse
        if not np.isfinite(sse):
            return STATUS_DIVERGED, i + 1
        presented = presented_before + i + 1
        if istate[PENDING] == 1 and plateau_update(istate, fstate, sse, plateau_window, min_improvement):
            add_hidden_layer(W_hid, W_out, M_hid, M_out, full_M_hid, full_M_out, W_hid0, W_out0)
            istate[PENDING] = 0
            istate[ADDED_AT] = presented
        if success_test == SUCCESS_ONLINE:
            istate[RUN] = istate[RUN] + 1 if err < tol else 0
            if istate[RUN] >= window:
                return STATUS_SUCCESS, i + 1
        elif presented % check_every == 0 and istate[PENDING] == 0:
            n_ok = evaluate(step, W_hid, W_out, M_hid, M_out, spec, ws, chk_x, chk_t, chk_score, chk_len, chk_order,
                            tol, True, out_y, targets, t_mask, chk_err)
            if n_ok == chk_order.shape[0]:
                return STATUS_SUCCESS, i + 1
    return STATUS_RUNNING, lengths.shape[0]
