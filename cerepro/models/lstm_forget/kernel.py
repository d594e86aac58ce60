"""Compiled (numba) step of the forget-gate / peephole LSTM: lstm_forget_reference.py, loop by loop.

Same calling convention as lstm97_kernel.run_sequence (the common model interface), with one addition for
continual streams: if spec[SPEC_CONTINUE] is 1 the call does NOT reset activations and traces, so a stream
can be fed step by step (or piece by piece) by a protocol kernel that sets the slot to 0 whenever it wants
a reset (a new stream, or the "external reset" of Gers et al. 2000 Table 2 at string boundaries).

Without a forget gate (spec[SPEC_FORGET] = 0) y^phi is the constant held in the workspace's last array
(1.0: the 1997 cell, whose results equal lstm97_kernel's on the same weights; 0.9: "LSTM with state decay").
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cerepro.models.lstm_forget import ForgetArch

(SPEC_I, SPEC_K, SPEC_C, SPEC_S, SPEC_OUT_GATE, SPEC_G1, SPEC_H_ID, SPEC_OUT_LINEAR, SPEC_OUT_DERIV, SPEC_PER_STEP,
 SPEC_FORGET, SPEC_PEEP, SPEC_GATE_REC, SPEC_CONTINUE) = range(14)


def make_spec(arch: ForgetArch, per_step: bool = True, output_derivative: bool = True) -> np.ndarray:
    """Pack the architecture and learning switches into the kernel's int64 spec (SPEC_CONTINUE starts at 0)."""
    return np.array(
        [arch.n_in, arch.n_out, arch.n_blocks, arch.block_size, int(arch.output_gate), int(arch.g == "g1"),
         int(arch.h == "id"), int(arch.output_act == "linear"), int(output_derivative), int(per_step),
         int(arch.forget_gate), int(arch.peepholes), int(arch.gate_recurrence), 0],
        dtype=np.int64,
    )


def make_workspace(arch: ForgetArch) -> tuple:
    """Scratch arrays and the carried state of one net."""
    H, C, K = arch.n_cells, arch.n_blocks, arch.n_out
    U, M, Mo = arch.n_hidden_rows, arch.n_hidden_cols, arch.n_output_cols
    return (
        np.zeros(M),  # z: [1, x(t), y^c(t-1), y^in, y^phi, y^out (t-1), s peephole sources]
        np.zeros(Mo),  # zo: [1, x(t), y^c(t)]
        np.zeros(U),  # net
        np.zeros(H),  # s: cell states (carried)
        np.zeros(H),  # s_prev
        np.zeros(C),  # y_in
        np.zeros(C),  # y_phi
        np.zeros(C),  # y_out
        np.zeros((H, M)),  # dS_in  (carried)
        np.zeros((H, M)),  # dS_c   (carried)
        np.zeros((H, M)),  # dS_phi (carried)
        np.zeros((U, M)),  # acc_hid (update at sequence end)
        np.zeros((K, Mo)),  # acc_out
        np.zeros(K),  # e_k
        np.zeros(H),  # back
        np.zeros(H),  # e_s
        np.zeros(C),  # e_out
        np.zeros(H),  # h(s)
        np.zeros(H),  # h'(s)
        np.zeros(H),  # g(net_c)
        np.zeros(H),  # g'(net_c)
        np.array([arch.state_decay]),  # decay: y^phi without a forget gate
    )


@njit(cache=True, inline="always")
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True)
def run_sequence(W_hid, W_out, M_hid, M_out, spec, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """Process `length` steps (from reset state unless spec[SPEC_CONTINUE]); learn in place if `learn`.

    Arguments as lstm97_kernel.run_sequence: W_hid (U, M), W_out (K, Mo), masks alike; x_index (T,) one-hot
    inputs when x_dense is (T, 0), else x_dense (T, I); targets (T, K); target_mask (T,); out_y (T, K).
    Returns the summed squared error over target steps.
    """
    (z, zo, net, s, s_prev, y_in, y_phi, y_out, dS_in, dS_c, dS_phi, acc_hid, acc_out,
     e_k, back, e_s, e_out, hs, dhs, gc, dgc, consts) = ws
    I, K, C, S = spec[SPEC_I], spec[SPEC_K], spec[SPEC_C], spec[SPEC_S]
    out_gate, g1, h_id = spec[SPEC_OUT_GATE] == 1, spec[SPEC_G1] == 1, spec[SPEC_H_ID] == 1
    out_linear, out_deriv, per_step = spec[SPEC_OUT_LINEAR] == 1, spec[SPEC_OUT_DERIV] == 1, spec[SPEC_PER_STEP] == 1
    forget, peep, gate_rec = spec[SPEC_FORGET] == 1, spec[SPEC_PEEP] == 1, spec[SPEC_GATE_REC] == 1
    H = C * S
    U, M = W_hid.shape
    Mo = W_out.shape[1]
    one_hot = x_dense.shape[1] == 0
    rec0 = 1 + I  # first recurrent column of z; first cell column of zo
    P = rec0 + H + 3 * C  # first peephole column
    rend = P if gate_rec else rec0 + H  # end of the recurrent columns that can carry weights
    if spec[SPEC_CONTINUE] == 0:  # reset: all activations and traces to 0
        z[:] = 0.0
        zo[:] = 0.0
        s[:] = 0.0
        dS_in[:, :] = 0.0
        dS_c[:, :] = 0.0
        dS_phi[:, :] = 0.0
    z[0] = 1.0
    zo[0] = 1.0
    if learn and not per_step:
        acc_hid[:, :] = 0.0
        acc_out[:, :] = 0.0
    sse = 0.0
    xi = -1
    for t in range(length):
        # 1. inputs; peephole sources of the input and forget gates: s(t-1)
        if one_hot:
            xi = x_index[t]
        else:
            for i in range(I):
                z[1 + i] = x_dense[t, i]
                zo[1 + i] = x_dense[t, i]
        for v in range(H):
            s_prev[v] = s[v]
            z[P + v] = s[v]
        # 2. net inputs of cells, input and forget gates (the output gate waits for s(t))
        for u in range(H + 2 * C):
            a = W_hid[u, 0]
            if one_hot:
                a += W_hid[u, 1 + xi]
            else:
                for i in range(I):
                    a += W_hid[u, 1 + i] * z[1 + i]
            for m in range(rec0, rend):
                a += W_hid[u, m] * z[m]
            if peep and u >= H:
                j0 = ((u - H) % C) * S
                for v in range(j0, j0 + S):
                    a += W_hid[u, P + v] * z[P + v]
            net[u] = a
        for j in range(C):
            y_in[j] = _sigmoid(net[H + j])
            y_phi[j] = _sigmoid(net[H + C + j]) if forget else consts[0]
        for v in range(H):
            sg = _sigmoid(net[v])
            if g1:
                gc[v] = sg
                dgc[v] = sg * (1.0 - sg)
            else:
                gc[v] = 4.0 * sg - 2.0
                dgc[v] = 4.0 * sg * (1.0 - sg)
        if learn:  # traces decay with y^phi, then take this step's term
            for v in range(H):
                j = v // S
                d = y_phi[j]
                a_c = dgc[v] * y_in[j]  # g' y^in
                a_in = gc[v] * y_in[j] * (1.0 - y_in[j])  # g f'_in
                a_phi = s_prev[v] * y_phi[j] * (1.0 - y_phi[j]) if forget else 0.0  # s(t-1) f'_phi
                if d != 1.0:
                    for m in range(M):
                        dS_c[v, m] *= d
                        dS_in[v, m] *= d
                        if forget:
                            dS_phi[v, m] *= d
                dS_c[v, 0] += a_c
                dS_in[v, 0] += a_in
                dS_phi[v, 0] += a_phi
                if one_hot:
                    dS_c[v, 1 + xi] += a_c
                    dS_in[v, 1 + xi] += a_in
                    dS_phi[v, 1 + xi] += a_phi
                else:
                    for i in range(I):
                        dS_c[v, 1 + i] += a_c * z[1 + i]
                        dS_in[v, 1 + i] += a_in * z[1 + i]
                        dS_phi[v, 1 + i] += a_phi * z[1 + i]
                for m in range(rec0, rend):
                    dS_c[v, m] += a_c * z[m]
                    dS_in[v, m] += a_in * z[m]
                    dS_phi[v, m] += a_phi * z[m]
                if peep:  # gate peepholes of the own block, source s(t-1); cells have none
                    for w in range(j * S, (j + 1) * S):
                        dS_in[v, P + w] += a_in * z[P + w]
                        dS_phi[v, P + w] += a_phi * z[P + w]
        # the gated CEC, then the output gate (peeking at s(t)) and the cell outputs
        for v in range(H):
            j = v // S
            s[v] = y_phi[j] * s_prev[v] + y_in[j] * gc[v]
            z[P + v] = s[v]
        for j in range(C):
            if out_gate:
                u = H + 2 * C + j
                a = W_hid[u, 0]
                if one_hot:
                    a += W_hid[u, 1 + xi]
                else:
                    for i in range(I):
                        a += W_hid[u, 1 + i] * z[1 + i]
                for m in range(rec0, rend):
                    a += W_hid[u, m] * z[m]
                if peep:
                    for v in range(j * S, (j + 1) * S):
                        a += W_hid[u, P + v] * z[P + v]
                net[u] = a
                y_out[j] = _sigmoid(a)
            else:
                y_out[j] = 1.0
        for v in range(H):
            j = v // S
            if h_id:
                hs[v] = s[v]
                dhs[v] = 1.0
            else:
                sh = _sigmoid(s[v])
                hs[v] = 2.0 * sh - 1.0
                dhs[v] = 2.0 * sh * (1.0 - sh)
            zo[rec0 + v] = y_out[j] * hs[v]
        # 3. output units
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
            if per_step:
                _apply_hidden(W_hid, M_hid, lr, z, one_hot, xi, I, H, C, S, M, rend, forget, out_gate, e_s, e_out, dS_in, dS_c, dS_phi)
                _apply_output(W_out, M_out, lr, zo, one_hot, xi, I, K, Mo, e_k)
            else:
                _apply_hidden(acc_hid, M_hid, 1.0, z, one_hot, xi, I, H, C, S, M, rend, forget, out_gate, e_s, e_out, dS_in, dS_c, dS_phi)
                _apply_output(acc_out, M_out, 1.0, zo, one_hot, xi, I, K, Mo, e_k)
        # hidden activations of t become the recurrent sources of t+1
        for v in range(H):
            z[rec0 + v] = zo[rec0 + v]
        for j in range(C):
            z[rec0 + H + j] = y_in[j]
            z[rec0 + H + C + j] = y_phi[j] if forget else 0.0
            z[rec0 + H + 2 * C + j] = y_out[j]
    if learn and not per_step:
        for u in range(U):
            for m in range(M):
                W_hid[u, m] += lr * acc_hid[u, m] * M_hid[u, m]
        for k in range(K):
            for m in range(Mo):
                W_out[k, m] += lr * acc_out[k, m] * M_out[k, m]
    return sse


@njit(cache=True)
def _apply_hidden(W, mask, lr, z, one_hot, xi, I, H, C, S, M, rend, forget, out_gate, e_s, e_out, dS_in, dS_c, dS_phi):
    """Add lr * (the truncated gradient step) to the hidden rows of W; z holds s(t) in its peephole columns."""
    for v in range(H):
        a = lr * e_s[v]
        if a != 0.0:
            for m in range(M):
                W[v, m] += a * dS_c[v, m] * mask[v, m]  # (28)
    for j in range(C):
        for v in range(j * S, (j + 1) * S):
            a = lr * e_s[v]
            if a == 0.0:
                continue
            for m in range(M):
                W[H + j, m] += a * dS_in[v, m] * mask[H + j, m]  # (26)
            if forget:
                for m in range(M):
                    W[H + C + j, m] += a * dS_phi[v, m] * mask[H + C + j, m]  # forget gate
    if out_gate:
        for j in range(C):
            row = H + 2 * C + j
            a = lr * e_out[j]
            W[row, 0] += a * mask[row, 0]  # (22)
            if one_hot:
                W[row, 1 + xi] += a * mask[row, 1 + xi]
            else:
                for i in range(I):
                    W[row, 1 + i] += a * z[1 + i] * mask[row, 1 + i]
            for m in range(1 + I, rend):
                W[row, m] += a * z[m] * mask[row, m]
            P = M - H
            for v in range(j * S, (j + 1) * S):
                W[row, P + v] += a * z[P + v] * mask[row, P + v]  # peephole from s(t)


@njit(cache=True)
def _apply_output(W, mask, lr, zo, one_hot, xi, I, K, Mo, e_k):
    """Add lr * (22) to the output weights."""
    for k in range(K):
        ek = lr * e_k[k]
        W[k, 0] += ek * mask[k, 0]
        if one_hot:
            W[k, 1 + xi] += ek * mask[k, 1 + xi]
        else:
            for i in range(I):
                W[k, 1 + i] += ek * zo[1 + i] * mask[k, 1 + i]
        for m in range(1 + I, Mo):
            W[k, m] += ek * zo[m] * mask[k, m]
