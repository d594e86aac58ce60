"""Compiled (numba) Elman SRN step: reference.py's rule, loop by loop.

The forward pass is the rtrl kernel's (the context is the recurrent part of z); learning is one-step backprop
with the context held as input.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.models.numba_noalias import fast_jit
from cerepro.models.ops import add_outer_row, apply_changes, output_errors
from cerepro.models.rtrl.arch import RNNArch
from cerepro.models.rtrl.kernel import forward_step, reset, set_inputs


class Workspace(NamedTuple):
    """Scratch arrays of one net, allocated once per trial."""

    z: np.ndarray  # (M,) sources [1, x(t), context = y^h(t-1)]
    zo: np.ndarray  # (Mo,) output sources [1, x(t), y^h(t)]
    y: np.ndarray  # (H,) y^h
    e_k: np.ndarray  # (K,)
    e_h: np.ndarray  # (H,)
    acc_hid: np.ndarray  # (H, M) summed changes (update at sequence end)
    acc_out: np.ndarray  # (K, Mo)


def make_workspace(arch: RNNArch) -> Workspace:
    H, M, Mo, K = arch.n_hidden, arch.n_hidden_cols, arch.n_output_cols, arch.n_out
    return Workspace(np.zeros(M), np.zeros(Mo), np.zeros(H), np.zeros(K), np.zeros(H), np.zeros((H, M)), np.zeros((K, Mo)))


@fast_jit(cache=True)
def step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """One sequence from reset state (models/common.py); learns in place if `learn`; returns the summed squared error."""
    c = net.setup
    z, zo, y, e_k, e_h, acc_hid, acc_out = ws
    I, K, H, per_step = c.n_in, c.n_out, c.n_hidden, c.per_step
    rec0 = 1 + I
    one_hot = x_dense.shape[1] == 0
    reset(z, zo)
    if learn and not per_step:
        acc_hid[:] = 0.0
        acc_out[:] = 0.0
    sse = 0.0
    xi = -1
    for t in range(length):
        xi = set_inputs(z, zo, True, x_index, x_dense, t, I, one_hot, xi)
        forward_step(net.W_hid, net.W_out, c, z, zo, y, one_hot, xi, out_y, t)
        if target_mask[t]:
            sse += output_errors(out_y, targets, t, K, c.out_linear or not c.out_deriv, e_k, 0.0)
        if learn and target_mask[t]:
            for h in range(H):  # one-step backprop; the error stops at the context
                a = 0.0
                for k in range(K):
                    a += net.W_out[k, rec0 + h] * e_k[k]
                e_h[h] = y[h] * (1.0 - y[h]) * a
            D_hid, D_out, scale = (net.W_hid, net.W_out, lr) if per_step else (acc_hid, acc_out, 1.0)
            for h in range(H):
                add_outer_row(D_hid, h, e_h[h], z, I, one_hot, xi, net.M_hid, scale, D_hid.shape[1])
            for k in range(K):
                add_outer_row(D_out, k, e_k[k], zo, I, one_hot, xi, net.M_out, scale, D_out.shape[1])
        for h in range(H):  # the context copies the hidden layer
            z[rec0 + h] = y[h]
    if learn and not per_step:
        apply_changes(net.W_hid, net.W_out, net.M_hid, net.M_out, acc_hid, acc_out, lr)
    return sse
