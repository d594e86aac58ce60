"""Compiled trial loop of Experiment 1: online training on Reber strings with the paper's success test.

Success test (Section 5.1): every symbol of every training and test string is predicted correctly, i.e.
at every step the output units of the legal next symbols are the most active ones: with k legal successors
the k legal units are the top k (the smallest legal output beats the largest illegal one; ties fail).
The test is run after every `check_every` training strings. It stops at the first string that fails and
moves that string to the front for the next test (a failing net usually fails the same string again), so a
test costs a few strings while the net fails and the whole set only when it passes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

STATUS_RUNNING, STATUS_SUCCESS, STATUS_DIVERGED = 0, 1, 2


@njit(cache=True)
def string_correct(out_y, legal, length):
    """True if at every step t < length the legal units of legal[t] are the top-k outputs of out_y[t]."""
    K = out_y.shape[1]
    for t in range(length):
        lo = np.inf
        hi = -np.inf
        for k in range(K):
            if legal[t, k]:
                if out_y[t, k] < lo:
                    lo = out_y[t, k]
            elif out_y[t, k] > hi:
                hi = out_y[t, k]
        if not lo > hi:
            return False
    return True


@njit  # not cached: a kernel taking a dispatcher argument misses numba's cache in every new process
def all_correct(step, W_hid, W_out, M_hid, M_out, spec, ws, chk_index, chk_legal, chk_len, chk_order, no_x, no_t, no_mask, out_y):
    """Forward-only success test over the check strings, in chk_order (move-to-front on failure)."""
    for pos in range(chk_order.shape[0]):
        n = chk_order[pos]
        step(W_hid, W_out, M_hid, M_out, spec, ws, chk_index[n], no_x, no_t, no_mask, chk_len[n], 0.0, False, out_y)
        if not string_correct(out_y, chk_legal[n], chk_len[n]):
            for q in range(pos, 0, -1):
                chk_order[q] = chk_order[q - 1]
            chk_order[0] = n
            return False
    return True


@njit  # not cached (see all_correct); the runner compiles it once in the parent before forking workers
def train_until_success(
    step,  # the model's compiled per-sequence kernel (cerepro.models)
    W_hid, W_out, M_hid, M_out, spec, ws,
    tr_index, tr_targets, tr_mask, tr_len,  # training pool: (n, T) int64, (n, T, K), (n, T) bool, (n,)
    order,  # (n_present,) int64: which pool string to present at each presentation
    chk_index, chk_legal, chk_len, chk_order,  # check set: (m, T) int64, (m, T, K) bool, (m,), (m,) int64
    lr, check_every, presented_before, seq_sse, out_y,
):
    """Present pool strings in `order`, learning online, until the success test passes.

    Returns (status, presentations done in this call). `presented_before` counts presentations of earlier
    calls (the check cadence is global); seq_sse[i] receives the summed squared error of presentation i.
    """
    no_x = np.zeros((out_y.shape[0], 0))
    no_t = np.zeros((1, out_y.shape[1]))
    no_mask = np.zeros(out_y.shape[0], dtype=np.bool_)
    for i in range(order.shape[0]):
        n = order[i]
        sse = step(W_hid, W_out, M_hid, M_out, spec, ws, tr_index[n], no_x, tr_targets[n], tr_mask[n], tr_len[n], lr, True, out_y)
        seq_sse[i] = sse
        if not np.isfinite(sse):
            return STATUS_DIVERGED, i + 1
        if (presented_before + i + 1) % check_every == 0:
            if all_correct(step, W_hid, W_out, M_hid, M_out, spec, ws, chk_index, chk_legal, chk_len, chk_order, no_x, no_t, no_mask, out_y):
                return STATUS_SUCCESS, i + 1
    return STATUS_RUNNING, order.shape[0]
