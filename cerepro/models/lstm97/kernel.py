"""Compiled (numba) LSTM step: reference.py's online rule, loop by loop (eqs. 7-28, docs/paper.md).

One step (lstm_step) for the 1997 net and for the forget-gate / peephole net of models/lstm_forget, which is this
one plus a forget gate row per block, peephole columns and a carried state (`gates` 2 or 3 rows per block).
Without its forget gate (y^phi = state_decay = 1.0) and peepholes the forget-gate net computes the 1997 step.
One-hot inputs (x_dense with no columns) cost one weight column: `x_index[t]` names the active input unit.
step_wide is step with the output units' logistic functions 8 at a time (nets with many outputs: step_for).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.models.lstm97.arch import LSTMArch
from cerepro.models.lstm97.settings import LR_SCALES
from cerepro.models.numba_noalias import fast_jit
from cerepro.models.ops import add_outer_row, apply_changes, dot_row, output_errors, sigmoid
from cerepro.models.vexp import WIDE_OUTPUTS, logistic_in_place


class Setup(NamedTuple):
    """The net's sizes and switches, as the kernel reads them."""

    n_in: int  # I
    n_out: int  # K
    n_blocks: int  # C
    block_size: int  # S
    output_gate: bool  # False: y^out is 1 ("no og", Exp 2a/2b)
    g1: bool  # g logistic in [0, 1] (else g2 in [-2, 2])
    h_id: bool  # h the identity (else h1 in [-1, 1])
    out_linear: bool  # linear output units (a variant)
    out_deriv: bool  # e_k keeps f'_k (eq. 19)
    per_step: bool  # apply each step's change at once (else the sum at the sequence end)
    lr_scale: int  # index into LR_SCALES: the lr as given, divided by, or multiplied by the sequence length
    forget: bool  # a forget gate per block (else y^phi = state_decay)
    state_decay: float  # y^phi without a forget gate (1.0: the CEC)
    peep: bool  # peephole columns: the gates see their block's states
    gate_rec: bool  # gates 3 only: gates and cells also see the gate outputs of t-1 (the 1997 layout always does)


class Workspace(NamedTuple):
    """Scratch arrays and carried state of one net, allocated once per trial."""

    z: np.ndarray  # (M,) hidden sources [1, x(t), y^c(t-1), gate outputs (t-1) | peephole sources s]
    zo: np.ndarray  # (Mo,) output sources [1, x(t), y^c(t)]
    net: np.ndarray  # (U,) net inputs of cells and gates
    s: np.ndarray  # (H,) cell states
    y_in: np.ndarray  # (C,)
    y_phi: np.ndarray  # (C,)
    y_out: np.ndarray  # (C,)
    dS_in: np.ndarray  # (H, M) ds_c/dw_{in_j(c), m}
    dS_c: np.ndarray  # (H, M) ds_c/dw_{c, m}
    dS_phi: np.ndarray  # (H, M) ds_c/dw_{phi_j(c), m}; (0, 0) without forget gates
    acc_hid: np.ndarray  # (U, M) summed weight changes (update at sequence end)
    acc_out: np.ndarray  # (K, Mo)
    e_k: np.ndarray  # (K,)
    back: np.ndarray  # (H,) sum_k w_{k,c} e_k
    e_s: np.ndarray  # (H,)
    e_out: np.ndarray  # (C,)
    hs: np.ndarray  # (H,) h(s)
    dhs: np.ndarray  # (H,) h'(s)
    gc: np.ndarray  # (H,) g(net_c)
    dgc: np.ndarray  # (H,) g'(net_c)
    z_reset: np.ndarray  # (M,) the sources the first step of a sequence sees
    carry: np.ndarray  # (1,) int64: 1 = continue from the last call's state (continual streams), 0 = reset


def make_setup(arch: LSTMArch, per_step: bool = True, output_derivative: bool = True, lr_scale: str = "none") -> Setup:
    return Setup(arch.n_in, arch.n_out, arch.n_blocks, arch.block_size, arch.output_gate, arch.g == "g1",
                 arch.h == "id", arch.output_act == "linear", output_derivative, per_step, LR_SCALES.index(lr_scale),
                 False, 1.0, False, True)


def workspace(U: int, M: int, Mo: int, H: int, C: int, K: int, z_reset: np.ndarray, forget: bool) -> Workspace:
    """The scratch arrays of a net with U hidden rows, M hidden columns, Mo output columns."""
    return Workspace(np.zeros(M), np.zeros(Mo), np.zeros(U), np.zeros(H), np.zeros(C), np.zeros(C), np.zeros(C),
                     np.zeros((H, M)), np.zeros((H, M)), np.zeros((H, M) if forget else (0, 0)),
                     np.zeros((U, M)), np.zeros((K, Mo)), np.zeros(K), np.zeros(H), np.zeros(H), np.zeros(C),
                     np.zeros(H), np.zeros(H), np.zeros(H), np.zeros(H), z_reset, np.zeros(1, dtype=np.int64))


def make_workspace(arch: LSTMArch, reset_activation: float = 0.0) -> Workspace:
    """reset_activation: every cell and gate output the first step of a sequence sees as its t-1 source (paper: 0;
    the JKU simulator: 0.5)."""
    z_reset = np.full(arch.n_hidden_cols, reset_activation)
    z_reset[0] = 1.0  # the bias source
    z_reset[1 : 1 + arch.n_in] = 0.0  # inputs are set at every step
    return workspace(arch.n_hidden_rows, arch.n_hidden_cols, arch.n_output_cols, arch.n_cells, arch.n_blocks,
                     arch.n_out, z_reset, False)


@njit(cache=True, inline="always")
def squash_g(x, g1):
    """(g, g') of a cell's net input: logistic in [0, 1] (g1) or 4 f - 2 in [-2, 2] (eq. 5)."""
    sg = sigmoid(x)
    if g1:
        return sg, sg * (1.0 - sg)
    return 4.0 * sg - 2.0, 4.0 * sg * (1.0 - sg)


@njit(cache=True, inline="always")
def squash_h(x, h_id):
    """(h, h') of a cell state: the identity, or 2 f - 1 in [-1, 1] (eq. 4)."""
    if h_id:
        return x, 1.0
    sh = sigmoid(x)
    return 2.0 * sh - 1.0, 2.0 * sh * (1.0 - sh)


@njit(cache=True, inline="always")
def apply_hidden(W, mask, lr, z, one_hot, xi, c, out0, rend, e_s, e_out, dS_c, dS_in, dS_phi, forget, peep):
    """Add lr * (eqs. 28, 26, the forget gate's rule, 22) to the hidden rows of W (weights or sequence-end sums)."""
    I, C, S = c.n_in, c.n_blocks, c.block_size
    H, M = C * S, W.shape[1]
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
    if not c.output_gate:
        return
    P = M - H  # first peephole column (gates 3)
    for j in range(C):
        row = out0 + j
        add_outer_row(W, row, e_out[j], z, I, one_hot, xi, mask, lr, rend)  # (22) output gates
        if peep:
            a = lr * e_out[j]
            for v in range(j * S, (j + 1) * S):
                W[row, P + v] += a * z[P + v] * mask[row, P + v]  # peephole from s(t)


@fast_jit(cache=True)
def step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """One sequence of the 1997 net from reset state; learns in place if `learn`; returns the summed squared error
    over the target steps; outputs to out_y at every step, or, learning, at the target steps only (models/common.py)."""
    return lstm_step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y, 2, False, False, False)


def step_for(setup: Setup):
    """The 1997 step for a net: step_wide for many logistic outputs (2a, 2b: 101) where models/vexp.py gives
    math.exp's bits in vector lanes, else step. Both compute the same numbers."""
    from cerepro.models import vexp

    wide = setup.n_out >= WIDE_OUTPUTS and not setup.out_linear and vexp.available() and vexp.lanes_available()
    return step_wide if wide else step


def is_1997_step(f) -> bool:
    """Whether f is one of the 1997 steps (step, step_wide): the same numbers."""
    return f is step or f is step_wide


@fast_jit(cache=True)
def step_wide(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """step, with the output units' logistic functions computed 8 at a time in place (vexp.logistic_in_place,
    math.exp's bits): on 2a/2b's 101 outputs the scalar exps were about a third of a step."""
    return lstm_step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y, 2, False, False, True)


@njit(cache=True, inline="always")
def lstm_step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y, gates, forget, peep, wide):
    """The LSTM step of both nets; `gates` (2 | 3 gate rows per block), `forget`, `peep` and `wide` (the output
    units' exps as one vexp call: step_wide) are the caller's constants where it knows them, so that the compiled
    1997 step carries no forget-gate code."""
    c = net.setup
    W_hid, W_out, M_hid, M_out = net.W_hid, net.W_out, net.M_hid, net.M_out
    (z, zo, nets, s, y_in, y_phi, y_out, dS_in, dS_c, dS_phi, acc_hid, acc_out, e_k, back, e_s, e_out,
     hs, dhs, gc, dgc, z_reset, carry) = ws
    I, K, C, S = c.n_in, c.n_out, c.n_blocks, c.block_size
    H = C * S
    M, Mo = W_hid.shape[1], W_out.shape[1]
    one_hot = x_dense.shape[1] == 0
    rec0 = 1 + I  # first recurrent column of z; first cell column of zo
    out0 = H + (gates - 1) * C  # first output-gate row
    P = rec0 + H + gates * C  # first peephole column (gates 3)
    rend = M if gates == 2 else (P if c.gate_rec else rec0 + H)  # end of the recurrent columns with weights
    plain = c.out_linear or not c.out_deriv  # e_k = t_k - y_k
    if c.lr_scale == 1:
        lr = lr / length
    elif c.lr_scale == 2:
        lr = lr * length
    if carry[0] == 0:  # reset: activations and traces to 0 (the sources the first step sees: z_reset)
        for m in range(z.shape[0]):  # a loop, not z[:] = z_reset: compiles without reference counts
            z[m] = z_reset[m]
        zo[:] = 0.0
        zo[0] = 1.0
        s[:] = 0.0
        if learn:
            dS_in[:, :] = 0.0
            dS_c[:, :] = 0.0
            if forget:
                dS_phi[:, :] = 0.0
    if learn and not c.per_step:
        acc_hid[:, :] = 0.0
        acc_out[:, :] = 0.0
    sse = 0.0
    xi = -1
    for t in range(length):
        if one_hot:  # 1. input units: z's recurrent part still holds t-1 activations
            xi = x_index[t]
        else:
            for i in range(I):
                z[1 + i] = x_dense[t, i]
                zo[1 + i] = x_dense[t, i]
        if gates == 3:  # peephole sources of the input and forget gates: s(t-1)
            for v in range(H):
                z[P + v] = s[v]
        early = out0 if peep else out0 + C  # output gates wait for s(t) only if their peepholes see it
        for u in range(early):  # 2. net inputs of cells and gates from bias, x(t), hidden(t-1)
            a = dot_row(W_hid, u, z, I, one_hot, xi, rend)
            if peep and u >= H:
                j0 = ((u - H) % C) * S
                for v in range(j0, j0 + S):
                    a += W_hid[u, P + v] * z[P + v]
            nets[u] = a
        for j in range(C):
            y_in[j] = sigmoid(nets[H + j])  # (7)
            y_phi[j] = sigmoid(nets[H + C + j]) if forget else c.state_decay
            if not peep:
                y_out[j] = sigmoid(nets[out0 + j]) if c.output_gate else 1.0  # (8)
        for v in range(H):
            gc[v], dgc[v] = squash_g(nets[v], c.g1)
        if learn:  # the traces (eqs. 25, 27; the forget gate's), decayed by y^phi first
            for v in range(H):
                j = v // S
                d = y_phi[j]
                a_in = gc[v] * y_in[j] * (1.0 - y_in[j])  # (25) factor g f'_in
                a_c = dgc[v] * y_in[j]  # (27) factor g' y^in
                a_phi = s[v] * y_phi[j] * (1.0 - y_phi[j]) if forget else 0.0  # s(t-1) f'_phi
                if gates == 3 and d != 1.0:
                    for m in range(M):
                        dS_c[v, m] *= d
                        dS_in[v, m] *= d
                        if forget:
                            dS_phi[v, m] *= d
                dS_in[v, 0] += a_in
                dS_c[v, 0] += a_c
                if one_hot:
                    dS_in[v, 1 + xi] += a_in
                    dS_c[v, 1 + xi] += a_c
                else:
                    for i in range(I):
                        dS_in[v, 1 + i] += a_in * z[1 + i]
                        dS_c[v, 1 + i] += a_c * z[1 + i]
                for m in range(rec0, rend):
                    dS_in[v, m] += a_in * z[m]
                    dS_c[v, m] += a_c * z[m]
                if forget:
                    dS_phi[v, 0] += a_phi
                    if one_hot:
                        dS_phi[v, 1 + xi] += a_phi
                    else:
                        for i in range(I):
                            dS_phi[v, 1 + i] += a_phi * z[1 + i]
                    for m in range(rec0, rend):
                        dS_phi[v, m] += a_phi * z[m]
                if peep:  # gate peepholes of the own block, source s(t-1); cells have none
                    for w in range(j * S, (j + 1) * S):
                        dS_in[v, P + w] += a_in * z[P + w]
                        dS_phi[v, P + w] += a_phi * z[P + w]
        for v in range(H):
            j = v // S
            s[v] = (y_phi[j] * s[v] if gates == 3 else s[v]) + y_in[j] * gc[v]  # (9) the CEC (forget gate: scaled by y^phi)
            if gates == 3:
                z[P + v] = s[v]
        for j in range(C if peep else 0):  # output gates with peepholes: after s(t), which they see
            if c.output_gate:
                u = out0 + j
                a = dot_row(W_hid, u, z, I, one_hot, xi, rend)
                if peep:
                    for v in range(j * S, (j + 1) * S):
                        a += W_hid[u, P + v] * z[P + v]
                nets[u] = a
                y_out[j] = sigmoid(a)  # (8)
            else:
                y_out[j] = 1.0
        for v in range(H):
            hs[v], dhs[v] = squash_h(s[v], c.h_id)
            zo[rec0 + v] = y_out[v // S] * hs[v]
        if learn and not target_mask[t]:
            pass  # 3. skipped: the output units feed nothing back, so a learning step needs them at its targets only
        elif wide and not c.out_linear:  # 3. output units from x(t) (if connected) and the cells of time t
            for k in range(K):
                out_y[t, k] = dot_row(W_out, k, zo, I, one_hot, xi, Mo)
            logistic_in_place(out_y[t], K)  # sigmoid's operations, 8 outputs at a time (models/vexp.py)
        else:
            for k in range(K):  # 3. output units from x(t) (if connected) and the cells of time t
                a = dot_row(W_out, k, zo, I, one_hot, xi, Mo)
                out_y[t, k] = a if c.out_linear else sigmoid(a)
        if target_mask[t]:
            sse = output_errors(out_y, targets, t, K, plain, e_k, sse)
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
            # every change uses the weights of time t: applied after (per step) or summed
            D_hid, D_out, scale = (W_hid, W_out, lr) if c.per_step else (acc_hid, acc_out, 1.0)
            apply_hidden(D_hid, M_hid, scale, z, one_hot, xi, c, out0, rend, e_s, e_out, dS_c, dS_in, dS_phi, forget, peep)
            for k in range(K):
                add_outer_row(D_out, k, e_k[k], zo, I, one_hot, xi, M_out, scale, Mo)  # (22)
        for v in range(H):  # the hidden activations of t become the recurrent sources of t+1
            z[rec0 + v] = zo[rec0 + v]
        for j in range(C):
            z[rec0 + H + j] = y_in[j]
            if gates == 3:
                z[rec0 + H + C + j] = y_phi[j] if forget else 0.0
            z[rec0 + H + (gates - 1) * C + j] = y_out[j]
    if learn and not c.per_step:
        apply_changes(net.W_hid, net.W_out, net.M_hid, net.M_out, acc_hid, acc_out, lr)
    return sse
