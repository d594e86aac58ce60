"""Compiled (numba) 1997 LSTM with the full BPTT gradient: the same rule as lstm_full_reference.py.

Layout and spec array are lstm97's (lstm97.py, lstm97_kernel.make_spec); SPEC_PER_STEP is ignored, the
change is applied at the sequence end. The cache of the forward pass is allocated per call.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cerepro.models.lstm97 import LSTMArch
from cerepro.models.lstm97_kernel import (SPEC_C, SPEC_G1, SPEC_H_ID, SPEC_I, SPEC_K, SPEC_OUT_DERIV, SPEC_OUT_GATE,
                                          SPEC_OUT_LINEAR, SPEC_S)
from cerepro.models.rtrl_kernel import add_outer_row, dot_row


def make_workspace(arch: LSTMArch) -> tuple:
    """Scratch arrays for one net, allocated once per trial."""
    H, C, K = arch.n_cells, arch.n_blocks, arch.n_out
    U, M, Mo = arch.n_hidden_rows, arch.n_hidden_cols, arch.n_output_cols
    return (
        np.zeros(M),  # z: hidden sources [1, x(t), y^c(t-1), y^in(t-1), y^out(t-1)]
        np.zeros(Mo),  # zo: output sources [1, x(t), y^c(t)]
        np.zeros(H),  # s: cell states
        np.zeros(K),  # e_k
        np.zeros(H + 2 * C),  # e_y: -dE/d[y^c, y^in, y^out](t)
        np.zeros(H),  # e_s: -dE/ds(t), carried back along the CEC
        np.zeros(U),  # e_net of t
        np.zeros(U),  # e_net of t+1
        np.zeros((U, M)),  # acc_hid: summed change of W_hid
        np.zeros((K, Mo)),  # acc_out
    )


@njit(cache=True, inline="always")
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True)
def run_sequence(W_hid, W_out, M_hid, M_out, spec, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """Process one sequence from reset state; learn with the full gradient at its end if `learn`.

    Arguments as lstm97_kernel.run_sequence. Returns the summed squared error over target steps.
    """
    z, zo, s, e_k, e_y, e_s, e_net, e_next, acc_hid, acc_out = ws
    I, K, C, S = spec[SPEC_I], spec[SPEC_K], spec[SPEC_C], spec[SPEC_S]
    out_gate, g1, h_id = spec[SPEC_OUT_GATE] == 1, spec[SPEC_G1] == 1, spec[SPEC_H_ID] == 1
    out_linear, out_deriv = spec[SPEC_OUT_LINEAR] == 1, spec[SPEC_OUT_DERIV] == 1
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
    for t in range(length):  # forward, as lstm97_kernel
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
            y_in[r, j] = _sigmoid(a_in)  # (7)
            y_out[r, j] = _sigmoid(a_out) if out_gate else 1.0  # (8)
        for v in range(H):
            j = v // S
            a = W_hid[v, 0]
            for m in range(1, M):
                a += W_hid[v, m] * z[m]
            sg = _sigmoid(a)
            g = sg if g1 else 4.0 * sg - 2.0
            s[v] += y_in[r, j] * g  # (9)
            if h_id:
                hv, dhv = s[v], 1.0
            else:
                sh = _sigmoid(s[v])
                hv, dhv = 2.0 * sh - 1.0, 2.0 * sh * (1.0 - sh)
            zo[rec0 + v] = y_out[r, j] * hv
            if learn:
                gc[t, v] = g
                dgc[t, v] = sg * (1.0 - sg) if g1 else 4.0 * sg * (1.0 - sg)
                hs[t, v] = hv
                dhs[t, v] = dhv
        for k in range(K):
            a = dot_row(W_out, k, zo, I, one_hot, xi)
            out_y[t, k] = a if out_linear else _sigmoid(a)
        if target_mask[t]:
            for k in range(K):
                d = targets[t, k] - out_y[t, k]
                sse += d * d
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
            for k in range(K):
                d = targets[t, k] - out_y[t, k]
                e_k[k] = d if (out_linear or not out_deriv) else out_y[t, k] * (1.0 - out_y[t, k]) * d  # (19)
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
                add_outer_row(acc_out, k, e_k[k], zo, I, one_hot, xi, M_out, 1.0)
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
    for u in range(U):
        for m in range(M):
            W_hid[u, m] += lr * acc_hid[u, m] * M_hid[u, m]
    for k in range(K):
        for m in range(Mo):
            W_out[k, m] += lr * acc_out[k, m] * M_out[k, m]
    return sse
