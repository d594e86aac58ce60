"""Compiled (numba) 1997 LSTM step: the same online rule as lstm97_reference.py, loop by loop.

See lstm97.py for the weight layout and lstm97_reference.py for the equations (Appendix A.1, eqs. 7-28);
equation numbers are repeated here. The kernel exploits one-hot inputs: when `x_dense` has no columns,
`x_index[t]` names the single active input unit, which costs one weight column instead of I.

Kernels never draw random numbers: data and initial weights come from numpy streams (seeding.py).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cerepro.models.lstm97 import LSTMArch

# Layout of the int64 `spec` array handed to the kernels.
SPEC_I, SPEC_K, SPEC_C, SPEC_S, SPEC_OUT_GATE, SPEC_G1, SPEC_H_ID, SPEC_OUT_LINEAR, SPEC_OUT_DERIV, SPEC_PER_STEP, SPEC_LR_SCALE = range(11)
LR_SCALES = {"none": 0, "mean": 1, "length": 2}  # lr per step as printed | divided by | multiplied by the sequence length


def make_spec(arch: LSTMArch, per_step: bool = True, output_derivative: bool = True, lr_scale: str = "none") -> np.ndarray:
    """Pack an architecture and the learning switches into the kernel's int64 spec array."""
    return np.array(
        [
            arch.n_in,
            arch.n_out,
            arch.n_blocks,
            arch.block_size,
            int(arch.output_gate),
            int(arch.g == "g1"),
            int(arch.h == "id"),
            int(arch.output_act == "linear"),
            int(output_derivative),
            int(per_step),
            LR_SCALES[lr_scale],
        ],
        dtype=np.int64,
    )


def make_workspace(arch: LSTMArch, reset_activation: float = 0.0) -> tuple:
    """Scratch arrays for one net, allocated once per trial.

    reset_activation: the value of every cell and gate output that the first step of a sequence sees as its
    t-1 source (0.0 in the paper; 0.5 in the JKU simulator, docs/hypotheses.md)."""
    z_reset = np.full(arch.n_hidden_cols, reset_activation)  # (M,) z at sequence start
    z_reset[0] = 1.0  # the bias source
    z_reset[1 : 1 + arch.n_in] = 0.0  # inputs are set at every step
    H, C, K = arch.n_cells, arch.n_blocks, arch.n_out
    U, M, Mo = arch.n_hidden_rows, arch.n_hidden_cols, arch.n_output_cols
    return (
        np.zeros(M),  # z: hidden sources [1, x(t), y^c(t-1), y^in(t-1), y^out(t-1)]
        np.zeros(Mo),  # zo: output sources [1, x(t), y^c(t)]
        np.zeros(U),  # net: net inputs of cells and gates
        np.zeros(H),  # s: cell states
        np.zeros(H),  # y_c
        np.zeros(C),  # y_in
        np.zeros(C),  # y_out
        np.zeros((H, M)),  # dS_in: ds_c/dw_{in_j(c), m}
        np.zeros((H, M)),  # dS_c: ds_c/dw_{c, m}
        np.zeros((U, M)),  # acc_hid: summed weight changes (update at sequence end)
        np.zeros((K, Mo)),  # acc_out
        np.zeros(K),  # e_k
        np.zeros(H),  # back: sum_k w_{k,c} e_k
        np.zeros(H),  # e_s
        np.zeros(C),  # e_out
        np.zeros(H),  # h(s)
        np.zeros(H),  # h'(s)
        np.zeros(H),  # g(net_c)
        np.zeros(H),  # g'(net_c)
        z_reset,
    )


@njit(cache=True, inline="always")
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True)
def run_sequence(W_hid, W_out, M_hid, M_out, spec, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """Process one sequence from reset state, learning in place if `learn`; outputs go to out_y (T, K).

    W_hid (U, M), W_out (K, Mo) float64 weights; M_hid, M_out their 0/1 masks; x_index (T,) int64 active
    input unit (one-hot mode, x_dense of shape (T, 0)) ; x_dense (T, I) real inputs otherwise; targets (T, K);
    target_mask (T,) bool. Returns the summed squared error over target steps (for divergence checks).
    """
    z, zo, net, s, y_c, y_in, y_out, dS_in, dS_c, acc_hid, acc_out, e_k, back, e_s, e_out, hs, dhs, gc, dgc, z_reset = ws
    I, K, C, S = spec[SPEC_I], spec[SPEC_K], spec[SPEC_C], spec[SPEC_S]
    out_gate, g1, h_id = spec[SPEC_OUT_GATE] == 1, spec[SPEC_G1] == 1, spec[SPEC_H_ID] == 1
    out_linear, out_deriv, per_step = spec[SPEC_OUT_LINEAR] == 1, spec[SPEC_OUT_DERIV] == 1, spec[SPEC_PER_STEP] == 1
    H = C * S
    U, M = W_hid.shape
    Mo = W_out.shape[1]
    one_hot = x_dense.shape[1] == 0
    rec0 = 1 + I  # first recurrent column of z; first cell column of zo
    if spec[SPEC_LR_SCALE] == 1:
        lr = lr / length
    elif spec[SPEC_LR_SCALE] == 2:
        lr = lr * length
    # reset: all activations and traces to 0 (the sources the first step sees: z_reset)
    z[:] = z_reset
    zo[:] = 0.0
    zo[0] = 1.0
    s[:] = 0.0
    if learn:
        dS_in[:, :] = 0.0
        dS_c[:, :] = 0.0
        if not per_step:
            acc_hid[:, :] = 0.0
            acc_out[:, :] = 0.0
    sse = 0.0
    xi = -1
    for t in range(length):
        # 1. input units: z's recurrent part still holds t-1 activations
        if one_hot:
            xi = x_index[t]
        else:
            for i in range(I):
                z[1 + i] = x_dense[t, i]
                zo[1 + i] = x_dense[t, i]
        # 2. hidden units: net inputs from bias, x(t) and hidden(t-1)
        for u in range(U):
            a = W_hid[u, 0]
            if one_hot:
                a += W_hid[u, 1 + xi]
            else:
                for i in range(I):
                    a += W_hid[u, 1 + i] * z[1 + i]
            for m in range(rec0, M):
                a += W_hid[u, m] * z[m]
            net[u] = a
        for j in range(C):
            y_in[j] = _sigmoid(net[H + j])  # (7)
            y_out[j] = _sigmoid(net[H + C + j]) if out_gate else 1.0  # (8)
        for v in range(H):
            sg = _sigmoid(net[v])
            if g1:
                gc[v] = sg
                dgc[v] = sg * (1.0 - sg)
            else:
                gc[v] = 4.0 * sg - 2.0
                dgc[v] = 4.0 * sg * (1.0 - sg)
        if learn:
            for v in range(H):
                j = v // S
                a_in = gc[v] * y_in[j] * (1.0 - y_in[j])  # (25) factor g f'_in
                a_c = dgc[v] * y_in[j]  # (27) factor g' y^in
                dS_in[v, 0] += a_in
                dS_c[v, 0] += a_c
                if one_hot:
                    dS_in[v, 1 + xi] += a_in
                    dS_c[v, 1 + xi] += a_c
                else:
                    for i in range(I):
                        dS_in[v, 1 + i] += a_in * z[1 + i]
                        dS_c[v, 1 + i] += a_c * z[1 + i]
                for m in range(rec0, M):
                    dS_in[v, m] += a_in * z[m]
                    dS_c[v, m] += a_c * z[m]
        for v in range(H):
            j = v // S
            s[v] += y_in[j] * gc[v]  # (9) the CEC
            if h_id:
                hs[v] = s[v]
                dhs[v] = 1.0
            else:
                sh = _sigmoid(s[v])
                hs[v] = 2.0 * sh - 1.0
                dhs[v] = 2.0 * sh * (1.0 - sh)
            zo[rec0 + v] = y_out[j] * hs[v]
        # 3. output units from x(t) (if connected) and the cells of time t
        for k in range(K):
            a = W_out[k, 0]
            if one_hot:
                a += W_out[k, 1 + xi]
            else:
                for i in range(I):
                    a += W_out[k, 1 + i] * zo[1 + i]
            for v in range(H):
                a += W_out[k, rec0 + v] * zo[rec0 + v]
            out_y[t, k] = a if out_linear else _sigmoid(a)
        if target_mask[t]:
            for k in range(K):
                d = targets[t, k] - out_y[t, k]
                sse += d * d
                if out_linear or not out_deriv:
                    e_k[k] = d
                else:
                    e_k[k] = out_y[t, k] * (1.0 - out_y[t, k]) * d  # (19)
        if learn and target_mask[t]:
            for v in range(H):
                a = 0.0
                for k in range(K):
                    a += W_out[k, rec0 + v] * e_k[k]
                back[v] = a
            for j in range(C):
                e_out[j] = 0.0
            for v in range(H):
                j = v // S
                e_out[j] += hs[v] * back[v]
                e_s[v] = y_out[j] * dhs[v] * back[v]  # (23)
            for j in range(C):
                e_out[j] *= y_out[j] * (1.0 - y_out[j])  # (21)
            # every delta below uses the weights of time t; they are applied after (per step) or summed
            if per_step:
                _apply_hidden(W_hid, M_hid, lr, z, one_hot, xi, I, H, C, S, M, e_s, e_out, dS_in, dS_c)
                for k in range(K):
                    ek = lr * e_k[k]
                    W_out[k, 0] += ek * M_out[k, 0]  # (22)
                    if one_hot:
                        W_out[k, 1 + xi] += ek * M_out[k, 1 + xi]
                    else:
                        for i in range(I):
                            W_out[k, 1 + i] += ek * zo[1 + i] * M_out[k, 1 + i]
                    for m in range(rec0, Mo):
                        W_out[k, m] += ek * zo[m] * M_out[k, m]
            else:
                _apply_hidden(acc_hid, M_hid, 1.0, z, one_hot, xi, I, H, C, S, M, e_s, e_out, dS_in, dS_c)
                for k in range(K):
                    acc_out[k, 0] += e_k[k]
                    if one_hot:
                        acc_out[k, 1 + xi] += e_k[k]
                    else:
                        for i in range(I):
                            acc_out[k, 1 + i] += e_k[k] * zo[1 + i]
                    for m in range(rec0, Mo):
                        acc_out[k, m] += e_k[k] * zo[m]
        # the hidden activations of t become the recurrent sources of t+1
        for v in range(H):
            z[rec0 + v] = zo[rec0 + v]
        for j in range(C):
            z[rec0 + H + j] = y_in[j]
            z[rec0 + H + C + j] = y_out[j]
    if learn and not per_step:
        for u in range(U):
            for m in range(M):
                W_hid[u, m] += lr * acc_hid[u, m] * M_hid[u, m]
        for k in range(K):
            for m in range(Mo):
                W_out[k, m] += lr * acc_out[k, m] * M_out[k, m]
    return sse


@njit(cache=True)
def _apply_hidden(W, mask, lr, z, one_hot, xi, I, H, C, S, M, e_s, e_out, dS_in, dS_c):
    """Add lr * (eqs. 26, 28, 22) to the hidden rows of W (weights, or the sequence-end accumulator)."""
    for v in range(H):
        a = lr * e_s[v]
        if a != 0.0:
            for m in range(M):
                W[v, m] += a * dS_c[v, m] * mask[v, m]  # (28)
    for j in range(C):
        row = H + j
        for v in range(j * S, (j + 1) * S):
            a = lr * e_s[v]
            if a != 0.0:
                for m in range(M):
                    W[row, m] += a * dS_in[v, m] * mask[row, m]  # (26)
    for j in range(C):
        row = H + C + j
        a = lr * e_out[j]
        W[row, 0] += a * mask[row, 0]  # (22) output gates
        if one_hot:
            W[row, 1 + xi] += a * mask[row, 1 + xi]
        else:
            for i in range(I):
                W[row, 1 + i] += a * z[1 + i] * mask[row, 1 + i]
        for m in range(1 + I, M):
            W[row, m] += a * z[m] * mask[row, m]


@njit(cache=True)
def train_pool(W_hid, W_out, M_hid, M_out, spec, ws, x_index, x_dense, targets, target_mask, lengths, order, lr, seq_sse, out_y):
    """Train online on pool sequences in `order` (no stopping test); seq_sse[i] gets presentation i's error.

    x_index (n, T) int64 and x_dense (n, T, I) (one-hot pools pass x_dense of shape (n, T, 0)).
    """
    for i in range(order.shape[0]):
        n = order[i]
        seq_sse[i] = run_sequence(W_hid, W_out, M_hid, M_out, spec, ws, x_index[n], x_dense[n], targets[n], target_mask[n], lengths[n], lr, True, out_y)
