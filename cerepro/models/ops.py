"""Compiled building blocks the model kernels share (numba; no kernel draws random numbers).

Weight matrices have the layout of every model here: column 0 the bias source, columns 1..I the inputs, then
the recurrent (or cell) sources. With one-hot inputs (`one_hot`, active unit `xi`) a row touches one input
column instead of I. The float operations of each block are the ones the kernels performed inline before
(docs/architecture.md): moving code here must not change a single bit of a trial. The kernels unpack their
NamedTuples once per call, outside their time loops: taking an array out of a tuple costs a reference count.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, inline="always")
def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, inline="always")
def dot_row(W, row, z, I, one_hot, xi, end):
    """sum_m W[row, m] z[m] over the bias, the inputs and the columns 1 + I .. end - 1."""
    a = W[row, 0]
    if one_hot:
        a += W[row, 1 + xi]
    else:
        for i in range(I):
            a += W[row, 1 + i] * z[1 + i]
    for m in range(1 + I, end):
        a += W[row, m] * z[m]
    return a


@njit(cache=True, inline="always")
def add_outer_row(D, row, a, z, I, one_hot, xi, mask, scale, end):
    """D[row, m] += scale * a * z[m] * mask[row, m] over the bias, the inputs and the columns 1 + I .. end - 1."""
    b = scale * a
    D[row, 0] += b * mask[row, 0]
    if one_hot:
        D[row, 1 + xi] += b * mask[row, 1 + xi]
    else:
        for i in range(I):
            D[row, 1 + i] += b * z[1 + i] * mask[row, 1 + i]
    for m in range(1 + I, end):
        D[row, m] += b * z[m] * mask[row, m]


@njit(cache=True, inline="always")
def output_errors(out_y, targets, t, K, plain, e_k, sse):
    """e_k = f'_k (t_k - y_k) (eq. 19; t_k - y_k if `plain`) at step t; returns sse plus the step's squared errors."""
    for k in range(K):
        d = targets[t, k] - out_y[t, k]
        sse += d * d
        if plain:
            e_k[k] = d
        else:
            e_k[k] = out_y[t, k] * (1.0 - out_y[t, k]) * d  # (19)
    return sse


@njit(cache=True, inline="always")
def squared_errors(out_y, targets, t, K, sse):
    """sse plus the squared errors of step t (a forward pass that learns nothing)."""
    for k in range(K):
        d = targets[t, k] - out_y[t, k]
        sse += d * d
    return sse


@njit(cache=True)
def apply_changes(W_hid, W_out, M_hid, M_out, acc_hid, acc_out, lr):
    """W += lr * (summed change) * mask, at the sequence end."""
    for u in range(W_hid.shape[0]):
        for m in range(W_hid.shape[1]):
            W_hid[u, m] += lr * acc_hid[u, m] * M_hid[u, m]
    for k in range(W_out.shape[0]):
        for m in range(W_out.shape[1]):
            W_out[k, m] += lr * acc_out[k, m] * M_out[k, m]
