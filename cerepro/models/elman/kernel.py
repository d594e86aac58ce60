"""Compiled (numba) Elman SRN step: the same rule as elman_reference.py, loop by loop.

The forward pass is rtrl_kernel's (the context is the recurrent part of z); learning is one-step backprop
with the context held as input.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cerepro.models.rtrl import RNNArch, SPEC_H, SPEC_I, SPEC_K, SPEC_OUT_DERIV, SPEC_OUT_LINEAR, SPEC_PER_STEP
from cerepro.models.rtrl_kernel import add_outer_row, apply_changes, forward_step, output_errors, set_inputs


def make_workspace(arch: RNNArch) -> tuple:
    """Scratch arrays for one net, allocated once per trial."""
    H, M, Mo, K = arch.n_hidden, arch.n_hidden_cols, arch.n_output_cols, arch.n_out
    return (
        np.zeros(M),  # z: sources [1, x(t), context = y^h(t-1)]
        np.zeros(Mo),  # zo: output sources [1, x(t), y^h(t)]
        np.zeros(H),  # y^h
        np.zeros(K),  # e_k
        np.zeros(H),  # e_h
        np.zeros((H, M)),  # acc_hid: summed changes (update at sequence end)
        np.zeros((K, Mo)),  # acc_out
    )


@njit(cache=True)
def run_sequence(W_hid, W_out, M_hid, M_out, spec, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """Process one sequence from reset state, learning in place if `learn`. Arguments as rtrl_kernel's."""
    z, zo, y, e_k, e_h, acc_hid, acc_out = ws
    I, K, H = spec[SPEC_I], spec[SPEC_K], spec[SPEC_H]
    out_linear, out_deriv, per_step = spec[SPEC_OUT_LINEAR] == 1, spec[SPEC_OUT_DERIV] == 1, spec[SPEC_PER_STEP] == 1
    rec0 = 1 + I
    one_hot = x_dense.shape[1] == 0
    z[:] = 0.0
    zo[:] = 0.0
    z[0] = 1.0
    zo[0] = 1.0
    if learn and not per_step:
        acc_hid[:] = 0.0
        acc_out[:] = 0.0
    sse = 0.0
    xi = -1
    for t in range(length):
        xi = set_inputs(z, zo, True, x_index, x_dense, t, I, one_hot, xi)
        forward_step(W_hid, W_out, z, zo, y, I, H, H, K, False, out_linear, one_hot, xi, out_y, t)
        if target_mask[t]:
            sse += output_errors(out_y, targets, t, K, out_linear, out_deriv, False, e_k)
        if learn and target_mask[t]:
            for h in range(H):  # one-step backprop; the error stops at the context
                a = 0.0
                for k in range(K):
                    a += W_out[k, rec0 + h] * e_k[k]
                e_h[h] = y[h] * (1.0 - y[h]) * a
            D_hid, D_out, scale = (W_hid, W_out, lr) if per_step else (acc_hid, acc_out, 1.0)
            for h in range(H):
                add_outer_row(D_hid, h, e_h[h], z, I, one_hot, xi, M_hid, scale)
            for k in range(K):
                add_outer_row(D_out, k, e_k[k], zo, I, one_hot, xi, M_out, scale)
        for h in range(H):  # the context copies the hidden layer
            z[rec0 + h] = y[h]
    if learn and not per_step:
        apply_changes(W_hid, W_out, M_hid, M_out, acc_hid, acc_out, lr)
    return sse
