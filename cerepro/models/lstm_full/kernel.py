"""Compiled (numba) 1997 LSTM with the full BPTT gradient: reference.py's rule, loop by loop.

The net and its Setup are the 1997 LSTM's (models/lstm97); `per_step` is ignored, the change is applied at the
sequence end. The cache of the forward pass is allocated per call.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.models.lstm97.arch import LSTMArch
from cerepro.models.lstm97.kernel import squash_g, squash_h
from cerepro.models.ops import add_outer_row, apply_changes, dot_row, output_errors, sigmoid, squared_errors


class Workspace(NamedTuple):
    """Scratch arrays of one net, allocated once per trial."""

    z: np.ndarray  # (M,) hidden sources [1, x(t), y^c(t-1), y^in(t-1), y^out(t-1)]
    zo: np.ndarray  # (Mo,) output sources [1, x(t), y^c(t)]
    s: np.ndarray  # (H,) cell states
    e_k: np.ndarray  # (K,)
    e_y: np.ndarray  # (H + 2C,) -dE/d[y^c, y^in, y^out](t)
    e_s: np.ndarray  # (H,) -dE/ds(t), carried back along the CEC
    e_net: np.ndarray  # (U,) -dE/dnet of t
    e_next: np.ndarray  # (U,) the same of t+1
    acc_hid: np.ndarray  # (U, M) summed change of W_hid
    acc_out: np.ndarray  # (K, Mo)


def make_workspace(arch: LSTMArch) -> Workspace:
    H, C, K = arch.n_cells, arch.n_blocks, arch.n_out
    U, M, Mo = arch.n_hidden_rows, arch.n_hidden_cols, arch.n_output_cols
    return Workspace(np.zeros(M), np.zeros(Mo), np.zeros(H), np.zeros(K), np.zeros(H + 2 * C), np.zeros(H),
                     np.zeros(U), np.zeros(U), np.zeros((U, M)), np.zeros((K, Mo)))


@njit(cache=True)
def step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """One sequence from reset state; learns with the full gradient at its end if `learn`; returns the summed squared error."""
    c = net.setup
    W_hid, W_out, M_out = net.W_hid, net.W_out, net.M_out
    z, zo, s, e_k, e_y, e_s, e_net, e_next, acc_hid, acc_out = ws
    I, K, C, S = c.n_in, c.n_out, c.n_blocks, c.block_size
    out_gate, g1, h_id = c.output_gate, c.g1, c.h_id
    out_linear, out_deriv = c.out_linear, c.out_deriv
    H = C * S
    U, M = W_hid.shape
    Mo = W_out.shape[1]
    rec0 = 1 + I
    one_hot = x_dense.shape[1] == 0
    T = length if learn else 0
    zs = np.empty((T, M))  # (T, M) hidden sources of every step (recurrent part = activations of t-1)
    y_in = np.empty((max(T, 1), C))  # (T, C)
    y_out = np.empty((max(T, 1), C))  # (T, C)
    gc = np.empty((max(T, 1), H))  # (T, H) g(net_c)
    dgc = np.empty((T, H))  # g'(net_c)
    hs = np.empty((max(T, 1), H))  # h(s)
    dhs = np.empty((T, H))  # h'(s)
    z[:] = 0.0
    zo[:] = 0.0
    z[0] = 1.0
    zo[0] = 1.0
    s[:] = 0.0
    sse = 0.0
    xi = -1
    for t in range(length):  # forward, as the 1997 kernel
        r = t if learn else 0  # row of the cache (row 0 reused when not learning)
        if one_hot:
            if xi >= 0:
                z[1 + xi] = 0.0
                zo[1 + xi] = 0.0
            xi = x_index[t]
            z[1 + xi] = 1.0
            zo[1 + xi] = 1.0
        else:
            for i in range(I):
                z[1 + i] = x_dense[t, i]
                zo[1 + i] = x_dense[t, i]
        for j in range(C):
            a_in = W_hid[H + j, 0]
            a_out = W_hid[H + C + j, 0]
            for m in range(1, M):
                a_in += W_hid[H + j, m] * z[m]
                a_out += W_hid[H + C + j, m] * z[m]
            y_in[r, j] = sigmoid(a_in)  # (7)
            y_out[r, j] = sigmoid(a_out) if out_gate else 1.0  # (8)
        for v in range(H):
            j = v // S
            a = W_hid[v, 0]
            for m in range(1, M):
                a += W_hid[v, m] * z[m]
            g, dg = squash_g(a, g1)
            s[v] += y_in[r, j] * g  # (9)
            hv, dhv = squash_h(s[v], h_id)
            zo[rec0 + v] = y_out[r, j] * hv
            if learn:
                gc[t, v] = g
                dgc[t, v] = dg
                hs[t, v] = hv
                dhs[t, v] = dhv
        for k in range(K):
            a = dot_row(W_out, k, zo, I, one_hot, xi, Mo)
            out_y[t, k] = a if out_linear else sigmoid(a)
        if target_mask[t]:
            sse = squared_errors(out_y, targets, t, K, sse)
        if learn:
            zs[t, :] = z
        for v in range(H):  # the hidden activations of t become sources of t+1
            z[rec0 + v] = zo[rec0 + v]
        for j in range(C):
            z[rec0 + H + j] = y_in[r, j]
            z[rec0 + H + C + j] = y_out[r, j]
    if not learn:
        return sse
    acc_hid[:, :] = 0.0
    acc_out[:, :] = 0.0
    e_next[:] = 0.0
    e_s[:] = 0.0
    for t in range(length - 1, -1, -1):  # backward through time
        for q in range(H + 2 * C):  # through the net inputs of t+1
            a = 0.0
            for u in range(U):
                a += W_hid[u, rec0 + q] * e_next[u]
            e_y[q] = a
        if target_mask[t]:
            output_errors(out_y, targets, t, K, out_linear or not out_deriv, e_k, 0.0)  # (19)
            for v in range(H):
                a = 0.0
                for k in range(K):
                    a += W_out[k, rec0 + v] * e_k[k]
                e_y[v] += a
            xi = x_index[t] if one_hot else -1  # zo(t) = [1, x(t), y^c(t)], rebuilt from the cache
            if not one_hot:
                for i in range(I):
                    zo[1 + i] = zs[t, 1 + i]
            for v in range(H):
                zo[rec0 + v] = y_out[t, v // S] * hs[t, v]
            for k in range(K):
                add_outer_row(acc_out, k, e_k[k], zo, I, one_hot, xi, M_out, 1.0, Mo)
        for j in range(C):
            e_net[H + j] = 0.0  # gather sum_v e_yc h(s) (output gate) and sum_v e_s g (input gate)
            e_net[H + C + j] = 0.0
        for v in range(H):
            j = v // S
            e_s[v] += e_y[v] * y_out[t, j] * dhs[t, v]  # the CEC carries e_s(t+1) on unchanged
            e_net[H + C + j] += e_y[v] * hs[t, v]
            e_net[H + j] += e_s[v] * gc[t, v]
            e_net[v] = e_s[v] * y_in[t, j] * dgc[t, v]  # s += y^in g(net_c)
        for j in range(C):
            yi, yo = y_in[t, j], y_out[t, j]
            e_net[H + j] = yi * (1.0 - yi) * (e_y[H + j] + e_net[H + j])
            e_net[H + C + j] = yo * (1.0 - yo) * (e_y[H + C + j] + e_net[H + C + j]) if out_gate else 0.0
        for u in range(U):
            a = e_net[u]
            if a != 0.0:
                for m in range(M):
                    acc_hid[u, m] += a * zs[t, m]
            e_next[u] = a
    apply_changes(net.W_hid, net.W_out, net.M_hid, net.M_out, acc_hid, acc_out, lr)
    return sse
