"""Compiled (numba) RTRL step for the nets of arch.py: reference.py's rule, loop by loop.

Also home of what the rtrl, bptt, elman and guess kernels share: the Setup of these nets and their one
forward pass (set_inputs, forward_step, forward_sequence). One-hot inputs (`x_dense` with no columns) cost
one weight column: `x_index[t]` names the active unit, and z keeps a single 1 among its input entries.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.models.numba_noalias import fast_jit
from cerepro.models.ops import add_outer_row, apply_changes, dot_row, output_errors, sigmoid, squared_errors
from cerepro.models.rtrl.arch import RNNArch
from cerepro.models.vexp import logistic_in_place


class Setup(NamedTuple):
    """A conventional recurrent net's sizes and switches, as the kernels read them."""

    n_in: int  # I
    n_out: int  # K
    n_hidden: int  # H
    n_rec: int  # R: the hidden units, plus the outputs if they are units of the recurrent net
    out_rec: bool  # the outputs are recurrent units (Williams & Zipser), not a separate layer
    out_linear: bool  # linear output units (a separate layer only)
    out_deriv: bool  # e_k keeps f'_k (eq. 19)
    per_step: bool  # apply each step's change at once (else the sum at the sequence end)
    wide: bool  # the logistic output layer's exps as vectors (many outputs: 2a, 2b), math.exp's bits


class Workspace(NamedTuple):
    """Scratch arrays of one net, allocated once per trial."""

    z: np.ndarray  # (M,) sources [1, x(t), y(t-1)]
    zo: np.ndarray  # (max(Mo, 1),) output-layer sources [1, x(t), y^h(t)] (unused if the outputs are recurrent)
    y: np.ndarray  # (R,) the recurrent units
    e_k: np.ndarray  # (K,) output errors
    e_y: np.ndarray  # (R,) -dE/dy of the recurrent units
    p: np.ndarray  # (2, R, R*M) sensitivities p[., u, i*M + j] = dy_u/dW_ij, double-buffered (t-1, t)
    d_hid: np.ndarray  # (R, M) this step's change of W_hid
    acc_hid: np.ndarray  # (R, M) summed changes (update at sequence end)
    acc_out: np.ndarray  # (K, max(Mo, 1))


def make_setup(arch: RNNArch, per_step: bool = True, output_derivative: bool = True) -> Setup:
    from cerepro.models import vexp

    wide = (not arch.outputs_recurrent and arch.output_act == "logistic" and arch.n_out >= vexp.WIDE_OUTPUTS
            and vexp.available() and vexp.lanes_available())
    return Setup(arch.n_in, arch.n_out, arch.n_hidden, arch.n_rec, arch.outputs_recurrent,
                 arch.output_act == "linear", output_derivative, per_step, wide)


def make_workspace(arch: RNNArch) -> Workspace:
    R, M, Mo, K = arch.n_rec, arch.n_hidden_cols, arch.n_output_cols, arch.n_out
    return Workspace(np.zeros(M), np.zeros(max(Mo, 1)), np.zeros(R), np.zeros(K), np.zeros(R), np.zeros((2, R, R * M)),
                     np.zeros((R, M)), np.zeros((R, M)), np.zeros((K, max(Mo, 1))))


@njit(cache=True)
def reset(z, zo):
    """All activations 0 at the start of a sequence; z[0] = zo[0] = 1 is the bias source."""
    z[:] = 0.0
    zo[:] = 0.0
    z[0] = 1.0
    zo[0] = 1.0


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


@njit(cache=True)
def forward_step(W_hid, W_out, c, z, zo, y, one_hot, xi, out_y, t):
    """Steps 2 and 3 of a time step: the recurrent units from z, then the outputs into out_y[t]."""
    I, H = c.n_in, c.n_hidden
    for u in range(c.n_rec):
        y[u] = sigmoid(dot_row(W_hid, u, z, I, one_hot, xi, W_hid.shape[1]))
    if c.out_rec:
        for k in range(c.n_out):
            out_y[t, k] = y[H + k]
    else:
        for h in range(H):
            zo[1 + I + h] = y[h]
        for k in range(c.n_out):
            a = dot_row(W_out, k, zo, I, one_hot, xi, W_out.shape[1])
            out_y[t, k] = a if c.out_linear or c.wide else sigmoid(a)
        if c.wide:  # the same logistic, 8 outputs at a time (models/vexp.py)
            logistic_in_place(out_y[t], c.n_out)


@njit(cache=True)
def forward_sequence(W_hid, W_out, c, z, zo, y, x_index, x_dense, targets, target_mask, length, out_y, zs, ys, xis):
    """The whole forward pass of one sequence from reset state; returns the summed squared error over the target
    steps. If zs has rows, the sources z (T, M), recurrent activations ys (T, R) and active inputs xis (T,) of
    every step are kept there (BPTT's cache); pass empty arrays to keep nothing."""
    one_hot = x_dense.shape[1] == 0
    keep = zs.shape[0] > 0
    reset(z, zo)
    sse = 0.0
    xi = -1
    for t in range(length):
        xi = set_inputs(z, zo, not c.out_rec, x_index, x_dense, t, c.n_in, one_hot, xi)
        forward_step(W_hid, W_out, c, z, zo, y, one_hot, xi, out_y, t)
        if target_mask[t]:
            sse = squared_errors(out_y, targets, t, c.n_out, sse)
        if keep:
            zs[t, :] = z
            ys[t, :] = y
            xis[t] = xi
        for u in range(c.n_rec):
            z[1 + c.n_in + u] = y[u]
    return sse


@fast_jit(cache=True)
def step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """One sequence from reset state with RTRL (models/common.py); learns in place if `learn`; returns the summed squared error."""
    c = net.setup
    W_hid, W_out, M_hid, M_out = net.W_hid, net.W_out, net.M_hid, net.M_out
    z, zo, y, e_k, e_y, p, d_hid, acc_hid, acc_out = ws
    I, K, H, R = c.n_in, c.n_out, c.n_hidden, c.n_rec
    out_rec, per_step = c.out_rec, c.per_step
    plain = out_rec or c.out_linear or not c.out_deriv  # e_k = t_k - y_k
    M = W_hid.shape[1]
    rec0 = 1 + I
    one_hot = x_dense.shape[1] == 0
    reset(z, zo)  # all activations and sensitivities to 0
    if learn:
        p[:] = 0.0
        if not per_step:
            acc_hid[:] = 0.0
            acc_out[:] = 0.0
    sse = 0.0
    xi = -1
    for t in range(length):
        xi = set_inputs(z, zo, not out_rec, x_index, x_dense, t, I, one_hot, xi)  # 1. inputs
        forward_step(W_hid, W_out, c, z, zo, y, one_hot, xi, out_y, t)  # 2., 3.
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
            sse += output_errors(out_y, targets, t, K, plain, e_k, 0.0)
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
            # every change uses the weights of time t; the output layer is updated after e_y
            if per_step:
                for i in range(R):
                    for j in range(M):
                        W_hid[i, j] += lr * d_hid[i, j] * M_hid[i, j]
                if not out_rec:
                    for k in range(K):
                        add_outer_row(W_out, k, e_k[k], zo, I, one_hot, xi, M_out, lr, W_out.shape[1])
            else:
                for i in range(R):
                    for j in range(M):
                        acc_hid[i, j] += d_hid[i, j]
                if not out_rec:
                    for k in range(K):
                        add_outer_row(acc_out, k, e_k[k], zo, I, one_hot, xi, M_out, 1.0, acc_out.shape[1])
        for u in range(R):  # y(t) becomes a source of t+1
            z[rec0 + u] = y[u]
    if learn and not per_step:
        apply_changes(net.W_hid, net.W_out, net.M_hid, net.M_out, acc_hid, acc_out, lr)
    return sse
