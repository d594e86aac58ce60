"""Compiled (numba) BPTT step for the nets of models/rtrl: reference.py's rule, loop by loop.

The forward pass is the rtrl kernel's; the stored sources and activations of the sequence are allocated per
call (their size depends on the sequence length). The summed change is applied at the sequence end.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.models.ops import add_outer_row, apply_changes, output_errors
from cerepro.models.rtrl.arch import RNNArch
from cerepro.models.rtrl.kernel import forward_sequence


class Workspace(NamedTuple):
    """Scratch arrays of one net, allocated once per trial."""

    z: np.ndarray  # (M,) sources [1, x(t), y(t-1)]
    zo: np.ndarray  # (max(Mo, 1),) output-layer sources [1, x(t), y^h(t)]
    y: np.ndarray  # (R,)
    e_k: np.ndarray  # (K,)
    e_y: np.ndarray  # (R,) -dE/dy(t)
    delta: np.ndarray  # (R,) -dE/dnet(t)
    delta_next: np.ndarray  # (R,) the same of t+1
    acc_hid: np.ndarray  # (R, M) summed change of W_hid
    acc_out: np.ndarray  # (K, max(Mo, 1))


def make_workspace(arch: RNNArch) -> Workspace:
    R, M, Mo, K = arch.n_rec, arch.n_hidden_cols, arch.n_output_cols, arch.n_out
    return Workspace(np.zeros(M), np.zeros(max(Mo, 1)), np.zeros(R), np.zeros(K), np.zeros(R), np.zeros(R), np.zeros(R),
                     np.zeros((R, M)), np.zeros((K, max(Mo, 1))))


@njit(cache=True)
def step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """One sequence from reset state; learns by BPTT at its end if `learn`; returns the summed squared error."""
    c = net.setup
    W_hid, W_out, M_out = net.W_hid, net.W_out, net.M_out
    z, zo, y, e_k, e_y, delta, delta_next, acc_hid, acc_out = ws
    I, K, H, R = c.n_in, c.n_out, c.n_hidden, c.n_rec
    out_rec = c.out_rec
    M = W_hid.shape[1]
    rec0 = 1 + I
    one_hot = x_dense.shape[1] == 0
    T = length if learn else 0
    zs = np.empty((T, M))  # (T, M) sources of every step
    ys = np.empty((T, R))  # (T, R) activations of every step
    xis = np.empty(T, dtype=np.int64)  # (T,) active input (one-hot)
    sse = forward_sequence(W_hid, W_out, c, z, zo, y, x_index, x_dense, targets, target_mask, length, out_y, zs, ys, xis)
    if not learn:
        return sse
    xi = xis[length - 1] if length > 0 else -1  # the input whose unit zo holds at the last step
    acc_hid[:] = 0.0
    acc_out[:] = 0.0
    delta_next[:] = 0.0
    for t in range(length - 1, -1, -1):  # backward
        for l in range(R):  # through the recurrent connections into t+1
            a = 0.0
            for u in range(R):
                a += W_hid[u, rec0 + l] * delta_next[u]
            e_y[l] = a
        if target_mask[t]:
            output_errors(out_y, targets, t, K, out_rec or c.out_linear or not c.out_deriv, e_k, 0.0)
            if out_rec:
                for k in range(K):
                    e_y[H + k] += e_k[k]
            else:
                if one_hot:
                    zo[1 + xi] = 0.0  # rebuild zo(t) = [1, x(t), y^h(t)] from the cache
                    xi = xis[t]
                    zo[1 + xi] = 1.0
                else:
                    for i in range(I):
                        zo[1 + i] = zs[t, 1 + i]
                for h in range(H):
                    zo[rec0 + h] = ys[t, h]
                for h in range(H):
                    a = 0.0
                    for k in range(K):
                        a += W_out[k, rec0 + h] * e_k[k]
                    e_y[h] += a
                for k in range(K):
                    add_outer_row(acc_out, k, e_k[k], zo, I, one_hot, xis[t], M_out, 1.0, acc_out.shape[1])
        for u in range(R):
            delta[u] = ys[t, u] * (1.0 - ys[t, u]) * e_y[u]
            for j in range(M):
                acc_hid[u, j] += delta[u] * zs[t, j]
        for u in range(R):
            delta_next[u] = delta[u]
    apply_changes(net.W_hid, net.W_out, net.M_hid, net.M_out, acc_hid, acc_out, lr)
    return sse
