"""Compiled (numba) RTRL step for the nets of rtrl.py: the same rule as rtrl_reference.py, loop by loop.

Also home of the forward helpers the bptt and elman kernels share (the three nets have one forward pass).
One-hot inputs (`x_dense` with no columns) cost one weight column: `x_index[t]` names the active unit, and
the dense source vector z keeps a single 1 among its input entries. Kernels never draw random numbers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cerepro.models.rtrl import (RNNArch, SPEC_H, SPEC_I, SPEC_K, SPEC_OUT_DERIV, SPEC_OUT_LINEAR, SPEC_OUT_REC,
                                 SPEC_PER_STEP, SPEC_R)


def make_workspace(arch: RNNArch) -> tuple:
    """Scratch arrays for one net, allocated once per trial."""
    R, M, Mo, K = arch.n_rec, arch.n_hidden_cols, arch.n_output_cols, arch.n_out
    return (
        np.zeros(M),  # z: sources [1, x(t), y(t-1)]
        np.zeros(max(Mo, 1)),  # zo: output-layer sources [1, x(t), y^h(t)] (unused if outputs are recurrent)
        np.zeros(R),  # y: the recurrent units
        np.zeros(K),  # e_k: output errors
        np.zeros(R),  # e_y: -dE/dy of the recurrent units
        np.zeros((2, R, R * M)),  # p: sensitivities p[., u, i*M + j] = dy_u/dW_ij, double-buffered (t-1, t)
        np.zeros((R, M)),  # d_hid: this step's change of W_hid
        np.zeros((R, M)),  # acc_hid: summed changes (update at sequence end)
        np.zeros((K, max(Mo, 1))),  # acc_out
    )


@njit(cache=True, inline="always")
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True)
def set_inputs(z, zo, has_zo, x_index, x_dense, t, I, one_hot, prev_xi):
    """Write x(t) into z (and zo); returns the active unit (one-hot) so the next call can clear it."""
    if one_hot:
        if prev_xi >= 0:
            z[1 + prev_xi] = 0.0
            if has_zo:
                zo[1 + prev_xi] = 0.0
        xi = x_index[t]
        z[1 + xi] = 1.0
        if has_zo:
            zo[1 + xi] = 1.0
        return xi
    for i in range(I):
        z[1 + i] = x_dense[t, i]
        if has_zo:
            zo[1 + i] = x_dense[t, i]
    return -1


@njit(cache=True, inline="always")
def dot_row(W, row, z, I, one_hot, xi):
    """sum_m W[row, m] z[m], touching one input column when the input is one-hot."""
    a = W[row, 0]
    if one_hot:
        a += W[row, 1 + xi]
    else:
        for i in range(I):
            a += W[row, 1 + i] * z[1 + i]
    for m in range(1 + I, W.shape[1]):
        a += W[row, m] * z[m]
    return a


@njit(cache=True)
def add_outer_row(D, row, a, z, I, one_hot, xi, mask, scale):
    """D[row, :] += scale * a * z * mask[row, :] (one input column when one-hot)."""
    b = scale * a
    D[row, 0] += b * mask[row, 0]
    if one_hot:
        D[row, 1 + xi] += b * mask[row, 1 + xi]
    else:
        for i in range(I):
            D[row, 1 + i] += b * z[1 + i] * mask[row, 1 + i]
    for m in range(1 + I, D.shape[1]):
        D[row, m] += b * z[m] * mask[row, m]


@njit(cache=True)
def forward_step(W_hid, W_out, z, zo, y, I, H, R, K, out_rec, out_linear, one_hot, xi, out_y, t):
    """Steps 2 and 3 of a time step: the recurrent units from z, then the outputs into out_y[t]."""
    for u in range(R):
        y[u] = _sigmoid(dot_row(W_hid, u, z, I, one_hot, xi))
    if out_rec:
        for k in range(K):
            out_y[t, k] = y[H + k]
    else:
        for h in range(H):
            zo[1 + I + h] = y[h]
        for k in range(K):
            a = dot_row(W_out, k, zo, I, one_hot, xi)
            out_y[t, k] = a if out_linear else _sigmoid(a)


@njit(cache=True)
def forward_sequence(W_hid, W_out, spec, z, zo, y, x_index, x_dense, targets, target_mask, length, out_y, zs, ys, xis):
    """The whole forward pass of one sequence from reset state (all activations 0, z[0] = zo[0] = 1).

    Outputs go to out_y (T, K); returns the summed squared error over the target steps. If zs has rows, the
    sources z (T, M), recurrent activations ys (T, R) and active inputs xis (T,) of every step are kept
    there (BPTT's cache); pass empty arrays to keep nothing."""
    I, K, H, R = spec[SPEC_I], spec[SPEC_K], spec[SPEC_H], spec[SPEC_R]
    out_rec, out_linear = spec[SPEC_OUT_REC] == 1, spec[SPEC_OUT_LINEAR] == 1
    one_hot = x_dense.shape[1] == 0
    keep = zs.shape[0] > 0
    z[:] = 0.0
    zo[:] = 0.0
    z[0] = 1.0
    zo[0] = 1.0
    sse = 0.0
    xi = -1
    for t in range(length):
        xi = set_inputs(z, zo, not out_rec, x_index, x_dense, t, I, one_hot, xi)
        forward_step(W_hid, W_out, z, zo, y, I, H, R, K, out_rec, out_linear, one_hot, xi, out_y, t)
        if target_mask[t]:
            for k in range(K):
                d = targets[t, k] - out_y[t, k]
                sse += d * d
        if keep:
            zs[t, :] = z
            ys[t, :] = y
            xis[t] = xi
        for u in range(R):
            z[1 + I + u] = y[u]
    return sse


@njit(cache=True)
def output_errors(out_y, targets, t, K, out_linear, out_deriv, out_rec, e_k):
    """e_k = f'_k (t_k - y_k) (t_k - y_k for recurrent or linear outputs); returns the step's squared error."""
    sse = 0.0
    for k in range(K):
        d = targets[t, k] - out_y[t, k]
        sse += d * d
        if out_rec or out_linear or not out_deriv:
            e_k[k] = d
        else:
            e_k[k] = out_y[t, k] * (1.0 - out_y[t, k]) * d  # (19)
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


@njit(cache=True)
def run_sequence(W_hid, W_out, M_hid, M_out, spec, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """Process one sequence from reset state with RTRL, learning in place if `learn`; outputs to out_y (T, K).

    W_hid (R, M), W_out (K, Mo) float64 weights; M_hid, M_out their 0/1 masks; x_index (T,) int64 active
    input (one-hot mode, x_dense of shape (T, 0)); x_dense (T, I) otherwise; targets (T, K); target_mask (T,)
    bool. Returns the summed squared error over target steps.
    """
    z, zo, y, e_k, e_y, p, d_hid, acc_hid, acc_out = ws
    I, K, H, R = spec[SPEC_I], spec[SPEC_K], spec[SPEC_H], spec[SPEC_R]
    out_rec, out_linear = spec[SPEC_OUT_REC] == 1, spec[SPEC_OUT_LINEAR] == 1
    out_deriv, per_step = spec[SPEC_OUT_DERIV] == 1, spec[SPEC_PER_STEP] == 1
    M = W_hid.shape[1]
    rec0 = 1 + I
    one_hot = x_dense.shape[1] == 0
    z[:] = 0.0  # reset: all activations and sensitivities to 0
    zo[:] = 0.0
    z[0] = 1.0
    zo[0] = 1.0
    if learn:
        p[:] = 0.0
        if not per_step:
            acc_hid[:] = 0.0
            acc_out[:] = 0.0
    sse = 0.0
    xi = -1
    for t in range(length):
        xi = set_inputs(z, zo, not out_rec, x_index, x_dense, t, I, one_hot, xi)  # 1. inputs
        forward_step(W_hid, W_out, z, zo, y, I, H, R, K, out_rec, out_linear, one_hot, xi, out_y, t)  # 2., 3.
        if learn:  # p^u_ij(t) = f'(net_u) (sum_l W_rec[u, l] p^l_ij(t-1) + delta_ui z_j(t))
            old, new = p[(t + 1) % 2], p[t % 2]  # (R, R*M) each
            RM = R * M
            for u in range(R):  # the O(R^3 M) part: new = W_rec @ old, row by row over contiguous memory
                for q in range(RM):
                    new[u, q] = 0.0
                for l in range(R):
                    w = W_hid[u, rec0 + l]
                    if w != 0.0:
                        for q in range(RM):
                            new[u, q] += w * old[l, q]
            for u in range(R):
                for j in range(M):
                    new[u, u * M + j] += z[j]
                df = y[u] * (1.0 - y[u])
                for q in range(R * M):
                    new[u, q] *= df
        if target_mask[t]:
            sse += output_errors(out_y, targets, t, K, out_linear, out_deriv, out_rec, e_k)
        if learn and target_mask[t]:
            cur = p[t % 2]
            for u in range(R):
                e_y[u] = 0.0
            if out_rec:
                for k in range(K):
                    e_y[H + k] = e_k[k]
            else:
                for h in range(H):
                    a = 0.0
                    for k in range(K):
                        a += W_out[k, rec0 + h] * e_k[k]
                    e_y[h] = a
            d_hid[:, :] = 0.0  # sum_u e_u p^u_ij
            for u in range(R):
                a = e_y[u]
                if a != 0.0:
                    for i in range(R):
                        for j in range(M):
                            d_hid[i, j] += a * cur[u, i * M + j]
            if per_step:  # every change uses the weights of time t; the output layer is updated after e_y
                for i in range(R):
                    for j in range(M):
                        W_hid[i, j] += lr * d_hid[i, j] * M_hid[i, j]
                if not out_rec:
                    for k in range(K):
                        add_outer_row(W_out, k, e_k[k], zo, I, one_hot, xi, M_out, lr)
            else:
                for i in range(R):
                    for j in range(M):
                        acc_hid[i, j] += d_hid[i, j]
                if not out_rec:
                    for k in range(K):
                        add_outer_row(acc_out, k, e_k[k], zo, I, one_hot, xi, M_out, 1.0)
        for u in range(R):  # y(t) becomes a source of t+1
            z[rec0 + u] = y[u]
    if learn and not per_step:
        apply_changes(W_hid, W_out, M_hid, M_out, acc_hid, acc_out, lr)
    return sse
