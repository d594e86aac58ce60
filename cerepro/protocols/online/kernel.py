"""Compiled trial loop of the on-line experiments (Exps 3-6, XOR): fresh sequences, error only at the end.

One call trains a net on a block of sequences, online (the model's `step` learns in place at the target
step, which is the sequence end), and evaluates the stopping rule after every `check_every` sequences:

  ST3(beta)  (Exps 4, 6; Table 11): the `window` (2000) most recent training sequences were all correct
             and their average training error is below beta.
  NSEQ(n)    (Exp 5): fewer than n_seq of the `window` most recent training sequences were wrong.
  ST1/ST2    (Exp 3): on a fixed check set (256 sequences), ST1 = at most `st1_max_wrong` misclassified;
             ST2 = ST1 and the mean absolute check-set error below `st2_error`. Training stops at ST2.

A sequence is correct (ABS(beta), Table 11) if the absolute end error of every output unit is below
`abs_threshold`. Both window rules need a full window: nothing stops before `window` sequences were seen.

The window lives in a ring buffer (`ring_err`, `ring_wrong`) with running totals in `istate`/`fstate`, so
each sequence costs O(1) bookkeeping. The running error sum is re-summed exactly once per lap of the ring
and whenever it is close to the threshold, so floating drift can never decide a stop.

Kernels never draw random numbers; the data come from numpy streams (online.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit

RULE_ST3, RULE_NSEQ, RULE_TEST = 0, 1, 2
RULES = {"st3": RULE_ST3, "nseq": RULE_NSEQ, "st1st2": RULE_TEST}
ERR_MAE, ERR_MSE, ERR_SAE = 0, 1, 2
ERRORS = {"mae": ERR_MAE, "mse": ERR_MSE, "sae": ERR_SAE}
STATUS_RUNNING, STATUS_STOPPED, STATUS_DIVERGED = 0, 1, 2

# iparams: int settings; fparams: float settings (packed by online.pack_settings)
P_RULE, P_WINDOW, P_NSEQ, P_CHECK_EVERY, P_ST1_MAX_WRONG, P_ERR_KIND = range(6)
F_ABS, F_BETA, F_ST2 = range(3)
# istate: run state carried across calls
S_SEEN, S_POS, S_WRONG, S_ST1_AT = range(4)


def new_state(window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(istate, fstate, ring_err, ring_wrong) for a fresh trial."""
    return np.zeros(4, dtype=np.int64), np.zeros(1), np.zeros(window), np.zeros(window, dtype=np.int64)


@njit(cache=True)
def end_errors(y, target, err_kind):
    """(error measure of one sequence, largest absolute unit error) from end outputs y (K,) and target (K,).

    err_kind: mae = mean_k |t_k - y_k|, mse = mean_k (t_k - y_k)^2, sae = sum_k |t_k - y_k|.
    """
    K = y.shape[0]
    acc = 0.0
    worst = 0.0
    for k in range(K):
        d = abs(target[k] - y[k])
        if not d <= worst:  # NaN propagates as the worst error
            worst = d
        acc += d * d if err_kind == ERR_MSE else d
    if err_kind != ERR_SAE:
        acc /= K
    return acc, worst


@njit(cache=True)
def ring_push(ring_err, ring_wrong, istate, fstate, err, wrong):
    """Add one sequence's (error, wrong flag) to the window, dropping the oldest once the window is full."""
    W = ring_err.shape[0]
    pos = istate[S_POS]
    if istate[S_SEEN] >= W:
        fstate[0] -= ring_err[pos]
        istate[S_WRONG] -= ring_wrong[pos]
    ring_err[pos] = err
    ring_wrong[pos] = wrong
    fstate[0] += err
    istate[S_WRONG] += wrong
    pos += 1
    if pos == W:
        pos = 0
        fstate[0] = ring_err.sum()  # exact once per lap: no drift over millions of sequences
    istate[S_POS] = pos
    istate[S_SEEN] += 1


@njit(cache=True)
def window_rule_met(rule, ring_err, istate, fstate, beta, n_seq):
    """ST3 or NSEQ on the current window (False until the window is full)."""
    W = ring_err.shape[0]
    if istate[S_SEEN] < W:
        return False
    if rule == RULE_NSEQ:
        return istate[S_WRONG] < n_seq
    if istate[S_WRONG] != 0:
        return False
    if fstate[0] > beta * W * (1.0 + 1e-9) + 1e-12:  # clearly above: skip the exact sum
        return False
    return ring_err.sum() / W < beta


@njit  # takes the model's step: numba's disk cache cannot serve it (runner compiles once before forking)
def evaluate(step, W_hid, W_out, M_hid, M_out, spec, ws, x_index, x_dense, end_target, lengths, order, abs_threshold,
             max_wrong, out_y, no_t, no_mask):
    """Forward-only test of sequences in `order`; stop early once more than `max_wrong` are wrong.

    end_target (m, K) holds the noise-free end targets. Returns (wrong, tested, sum |e|, sum e^2) with the
    sums over tested sequences and output units. On an early stop the failing sequence is moved to the front
    of `order`, so the next test of a net that still fails it costs one sequence (the verdict is unchanged).
    """
    K = end_target.shape[1]
    wrong = 0
    sum_abs = 0.0
    sum_sq = 0.0
    for pos in range(order.shape[0]):
        n = order[pos]
        L = lengths[n]
        step(W_hid, W_out, M_hid, M_out, spec, ws, x_index[n], x_dense[n], no_t, no_mask, L, 0.0, False, out_y)
        bad = False
        for k in range(K):
            d = abs(end_target[n, k] - out_y[L - 1, k])
            sum_abs += d
            sum_sq += d * d
            if not d < abs_threshold:
                bad = True
        if bad:
            wrong += 1
            if wrong > max_wrong:
                for q in range(pos, 0, -1):
                    order[q] = order[q - 1]
                order[0] = n
                return wrong, pos + 1, sum_abs, sum_sq
    return wrong, order.shape[0], sum_abs, sum_sq


@njit  # takes the model's step: numba's disk cache cannot serve it (runner compiles once before forking)
def train_online(
    step,  # the model's compiled per-sequence kernel (cerepro.models)
    W_hid, W_out, M_hid, M_out, spec, ws,
    x_index, x_dense, targets, target_mask, lengths,  # training block: (n, T|1) int64, (n, T, I|0), (n, T, K), (n, T), (n,)
    lr, iparams, fparams, istate, fstate, ring_err, ring_wrong,
    c_index, c_dense, c_target, c_len, c_order,  # check set for ST1/ST2: (m, ...), c_target (m, K) clean end targets
    out_y, seq_err,  # out_y (T, K) scratch; seq_err (n,) receives each sequence's error measure
):
    """Train on the block's sequences in order until the stopping rule holds.

    Returns (status, sequences done in this call). istate[S_SEEN] counts sequences over all calls, so the
    check cadence is global; istate[S_ST1_AT] records the sequence count at the first passing ST1 check.
    """
    rule, check_every, err_kind = iparams[P_RULE], iparams[P_CHECK_EVERY], iparams[P_ERR_KIND]
    abs_threshold, beta = fparams[F_ABS], fparams[F_BETA]
    K = targets.shape[2]
    no_t = np.zeros((1, K))
    no_mask = np.zeros(out_y.shape[0], dtype=np.bool_)
    for i in range(lengths.shape[0]):
        L = lengths[i]
        sse = step(W_hid, W_out, M_hid, M_out, spec, ws, x_index[i], x_dense[i], targets[i], target_mask[i], L, lr, True, out_y)
        if not np.isfinite(sse):
            istate[S_SEEN] += 1
            seq_err[i] = np.nan
            return STATUS_DIVERGED, i + 1
        err, worst = end_errors(out_y[L - 1], targets[i, L - 1], err_kind)
        seq_err[i] = err
        ring_push(ring_err, ring_wrong, istate, fstate, err, 0 if worst < abs_threshold else 1)
        if istate[S_SEEN] % check_every != 0:
            continue
        if rule == RULE_TEST:
            wrong, m, sum_abs, _ = evaluate(step, W_hid, W_out, M_hid, M_out, spec, ws, c_index, c_dense, c_target, c_len,
                                            c_order, abs_threshold, iparams[P_ST1_MAX_WRONG], out_y, no_t, no_mask)
            if wrong <= iparams[P_ST1_MAX_WRONG]:  # ST1 holds (the whole set was tested)
                if istate[S_ST1_AT] == 0:
                    istate[S_ST1_AT] = istate[S_SEEN]
                if sum_abs / (m * K) < fparams[F_ST2]:
                    return STATUS_STOPPED, i + 1
        elif window_rule_met(rule, ring_err, istate, fstate, beta, iparams[P_NSEQ]):
            return STATUS_STOPPED, i + 1
    return STATUS_RUNNING, lengths.shape[0]
