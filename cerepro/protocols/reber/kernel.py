"""Compiled trial loop of Experiment 1: online training on Reber strings with the paper's success test.

Success (Section 5.1): every symbol of every training and test string is predicted correctly, i.e. at every
step the output units of the legal next symbols are the most active ones (with k legal successors the k legal
units are the top k; ties fail). The test runs after every `check_every` training strings, stops at the first
string that fails and moves it to the front for the next test, so a failing net costs a few strings a test.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.protocols.common import DIVERGED, RUNNING, SUCCESS
from cerepro.protocols.ops import move_to_front


class Check(NamedTuple):
    """The strings of the success test (training and test set, each distinct string once)."""

    x_index: np.ndarray  # (m, T) int64 input symbols
    legal: np.ndarray  # (m, T, K) bool: the legal next symbols
    lengths: np.ndarray  # (m,) int64
    order: np.ndarray  # (m,) int64: test order, a failing string moved to the front


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


@njit  # takes the model's step: numba's disk cache cannot serve it (the runner compiles once before forking)
def all_correct(step, net, ws, check, no_x, no_t, no_mask, out_y):
    """Forward-only success test over the check strings, in check.order (move-to-front on failure)."""
    x_index, legal, lengths, order = check
    for pos in range(order.shape[0]):
        n = order[pos]
        step(net, ws, x_index[n], no_x, no_t, no_mask, lengths[n], 0.0, False, out_y)
        if not string_correct(out_y, legal[n], lengths[n]):
            move_to_front(order, pos)
            return False
    return True


@njit  # as all_correct
def train_until_success(step, net, ws, pool, order, check, lr, check_every, presented_before, seq_sse, out_y):
    """Present pool strings (generators.base.Sequences) in `order`, learning online, until the success test passes.

    Returns (status, presentations done in this call). `presented_before` counts presentations of earlier
    calls (the check cadence is global); seq_sse[i] receives the summed squared error of presentation i.
    """
    no_x = np.zeros((out_y.shape[0], 0))  # the test's empty dense inputs, targets and target mask
    no_t = np.zeros((1, out_y.shape[1]))
    no_mask = np.zeros(out_y.shape[0], dtype=np.bool_)
    x_index, x_dense, targets, target_mask, lengths = pool
    for i in range(order.shape[0]):
        n = order[i]
        sse = step(net, ws, x_index[n], x_dense[n], targets[n], target_mask[n], lengths[n], lr, True, out_y)
        seq_sse[i] = sse
        if not np.isfinite(sse):
            return DIVERGED, i + 1
        if (presented_before + i + 1) % check_every == 0 and all_correct(step, net, ws, check, no_x, no_t, no_mask, out_y):
            return SUCCESS, i + 1
    return RUNNING, order.shape[0]
