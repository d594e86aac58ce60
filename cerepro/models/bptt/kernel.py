"""Compiled (numba) BPTT step for the nets of rtrl.py: the same rule as bptt_reference.py, loop by loop.

The forward pass is rtrl_kernel's; the stored sources and activations of the sequence are allocated per
call (their size depends on the sequence length). The summed change is applied at the sequence end.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cerepro.models.rtrl import RNNArch, SPEC_H, SPEC_I, SPEC_K, SPEC_OUT_DERIV, SPEC_OUT_LINEAR, SPEC_OUT_REC, SPEC_R
from cerepro.models.rtrl_kernel import add_outer_row, apply_changes, forward_sequence, output_errors


def make_workspace(arch: RNNArch) -> tuple:
    """Scratch arrays for one net, allocated once per trial."""
    R, M, Mo, K = arch.n_rec, arch.n_hidden_cols, arch.n_output_cols, arch.n_out
    return (
        np.zeros(M),  # z: sources [1, x(t), y(t-1)]
        np.zeros(max(Mo, 1)),  # zo: output-layer sources [1, x(t), y^h(t)]
        np.zeros(R),  # y
        np.zeros(K),  # e_k
        np.zeros(R),  # e_y: -dE/dy(t)
        np.zeros(R),  # delta: -dE/dnet(t)
        np.zeros(R),  # delta of t+1
        np.zeros((R, M)),  # acc_hid: summed change of W_hid
        np.zeros((K, max(Mo, 1))),  # acc_out
    )


@njit(cache=True)
def run_sequence(W_hid, W_out, M_hid, M_out, spec, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """Process one sequence from reset state; learn by BPTT at its end if `learn`. Arguments as rtrl_kernel's."""
    z, zo, y, e_k, e_y, delta, delta_next, acc_hid, acc_out = ws
    I, K, H, R = spec[SPEC_I], spec[SPEC_K], spec[SPEC_H], spec[SPEC_R]
    out_rec, out_linear, out_deriv = spec[SPEC_OUT_REC] == 1, spec[SPEC_OUT_LINEAR] == 1, spec[SPEC_OUT_DERIV] == 1
    M = W_hid.shape[1]
    rec0 = 1 + I
    one_hot = x_dense.shape[1] == 0
    T = length if learn else 0
    zs = np.empty((T, M))  # (T, M) sources of every step
    ys = np.empty((T, R))  # (T, R) activations of every step
    xis = np.empty(T, dtype=np.int64)  # (T,) active input (one-hot)
    sse = forward_sequence(W_hid, W_out, spec, z, zo, y, x_index, x_dense, targets, target_mask, length, out_y, zs, ys, xis)
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
            output_errors(out_y, targets, t, K, out_linear, out_deriv, out_rec, e_k)
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
                    add_outer_row(acc_out, k, e_k[k], zo, I, one_hot, xis[t], M_out, 1.0)
        for u in range(R):
            delta[u] = ys[t, u] * (1.0 - ys[t, u]) * e_y[u]
            for j in range(M):
                acc_hid[u, j] += delta[u] * zs[t, j]
        for u in range(R):
            delta_next[u] = delta[u]
    apply_changes(W_hid, W_out, M_hid, M_out, acc_hid, acc_out, lr)
    return sse
