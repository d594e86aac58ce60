"""Many 1997-LSTM nets in the SIMD lanes of one compiled loop: the one-net step (kernel.py) lane by lane.

Each lane performs kernel.step's float operations in the same order on its own net and data: bit-identical
numbers (tests/test_lanes.py). Shapes: trailing lane axis L on every array.
Details: docs/throughput.md, "The lane kernel (models/lstm97/lanes.py)".
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.models import vexp
from cerepro.models.lstm97.kernel import Setup, make_setup
from cerepro.models.numba_noalias import fast_jit
from cerepro.models.packed import pack


class LaneSetup(NamedTuple):
    """The one-net kernel's Setup (the architecture and learning switches), shared by all lanes, and two lane
    switches."""

    net: Setup  # kernel.make_setup: per_step is always True here
    one_hot: bool  # inputs are one-hot: one active input unit per step
    fast_exp: bool  # vexp.exp_neg instead of math.exp (same bits; only if vexp.available())


class Lanes(NamedTuple):
    """The nets: weights per lane, connectivity shared."""

    W_hid: np.ndarray  # (U, M, L)
    W_out: np.ndarray  # (K, Mo, L)
    M_hid: np.ndarray  # (U, M) 0/1
    M_out: np.ndarray  # (K, Mo)
    z_reset: np.ndarray  # (M,) the sources the first step of a sequence sees (kernel.make_workspace)


class LaneWork(NamedTuple):
    """Activations, traces and scratch of every lane (the one-net Workspace with a lane axis)."""

    z: np.ndarray  # (M, L) hidden sources [1, x(t), y^c(t-1), y^in(t-1), y^out(t-1)]
    zo: np.ndarray  # (Mo, L) output sources [1, x(t), y^c(t)]
    net: np.ndarray  # (U, L) net inputs of cells and gates
    s: np.ndarray  # (H, L) cell states
    y_in: np.ndarray  # (C, L)
    y_out: np.ndarray  # (C, L)
    gc: np.ndarray  # (H, L) g(net_c)
    dgc: np.ndarray  # (H, L) g'(net_c)
    hs: np.ndarray  # (H, L) h(s)
    dhs: np.ndarray  # (H, L) h'(s)
    a_in: np.ndarray  # (H, L) trace factors of eq. 25
    a_c: np.ndarray  # (H, L) and eq. 27
    dS_in: np.ndarray  # (H, M, L) ds_c/dw_{in_j(c), m}
    dS_c: np.ndarray  # (H, M, L) ds_c/dw_{c, m}
    y: np.ndarray  # (K, L) outputs of the step
    sse: np.ndarray  # (L,) summed squared error of the lane's sequence so far
    e_k: np.ndarray  # (K,) scratch of one lane's learning step
    back: np.ndarray  # (H,)
    e_s: np.ndarray  # (H,)
    e_out: np.ndarray  # (C,)
    ex: np.ndarray  # (U, L) exps, and the scratch of vexp.exp_neg
    r_buf: np.ndarray
    k_buf: np.ndarray  # int64
    tail_buf: np.ndarray  # int64
    scale_buf: np.ndarray  # int64


def lane_setup(arch, per_step: bool, output_derivative: bool, lr_scale: str, one_hot: bool, fast_exp: bool | None = None) -> LaneSetup:
    """The setup of a row's nets (arch: models/lstm97/arch.py LSTMArch). Lanes learn per step only."""
    if not per_step:
        raise ValueError("the lane kernel applies each step's change at once (update: step) only")
    return LaneSetup(make_setup(arch, True, bool(output_derivative), lr_scale), bool(one_hot),
                     vexp.available() if fast_exp is None else bool(fast_exp))


def lanes(W_hid: np.ndarray, W_out: np.ndarray, M_hid: np.ndarray, M_out: np.ndarray, z_reset: np.ndarray) -> Lanes:
    """Lanes from stacked weights (U, M, L), (K, Mo, L); masks and z_reset as one net has them (packed copies)."""
    return Lanes(*pack([W_hid, W_out, M_hid, M_out, z_reset]))


def work(setup: LaneSetup, U: int, M: int, Mo: int, L: int) -> LaneWork:
    """Zeroed activations and scratch for L lanes (packed)."""
    K, C, H = setup.net.n_out, setup.net.n_blocks, setup.net.n_blocks * setup.net.block_size
    n_ex = (U, L)  # exps of the net inputs (U rows) and of the cell states (H <= U rows)
    z = np.zeros
    return LaneWork(*pack([z((M, L)), z((Mo, L)), z((U, L)), z((H, L)), z((C, L)), z((C, L)), z((H, L)), z((H, L)),
                    z((H, L)), z((H, L)), z((H, L)), z((H, L)), z((H, M, L)), z((H, M, L)), z((K, L)), z(L), z(K),
                    z(H), z(H), z(C), z(n_ex), z(n_ex), z(n_ex, dtype=np.int64), z(n_ex, dtype=np.int64),
                    z(n_ex, dtype=np.int64)]))


LANE_AXIS = tuple(name for name in LaneWork._fields if name not in ("e_k", "back", "e_s", "e_out"))  # fields with a lane axis


@njit(cache=True, inline="always")
def reset_lane(nets, w, k, learn):
    """Lane k starts a sequence: activations to z_reset / 0, traces to 0 if it learns (kernel.step's reset)."""
    M, Mo = w.z.shape[0], w.zo.shape[0]
    for m in range(M):
        w.z[m, k] = nets.z_reset[m]
    for m in range(Mo):
        w.zo[m, k] = 0.0
    w.zo[0, k] = 1.0
    H = w.s.shape[0]
    for v in range(H):
        w.s[v, k] = 0.0
    if learn:
        for v in range(H):
            for m in range(M):
                w.dS_in[v, m, k] = 0.0
                w.dS_c[v, m, k] = 0.0
    w.sse[k] = 0.0


@njit(cache=True, inline="always", error_model="numpy")
def exp_rows(x, out, rows, fast, r_buf, k_buf, tail_buf, scale_buf):
    """out[:rows] = exp(-x[:rows]), rows of lanes: math.exp's bits (vexp.exp_neg if `fast`, else math.exp)."""
    if fast:
        vexp.exp_neg(x, out, rows, vexp.TABLE, r_buf, k_buf, tail_buf, scale_buf)
    else:
        for i in range(rows):
            for k in range(x.shape[1]):
                out[i, k] = math.exp(-x[i, k])


@njit(cache=True, inline="always", error_model="numpy")  # numpy: no zero-division checks (they stop 1 / (1 + e) vectorising)
def _tick(nets, w, setup, xi, xd, at_end, has_target, target, learn, lr):
    """One time step of every lane (kernel.step's loop body, eqs. 7-28).

    xi (L,) int64 the active input unit (one-hot) | xd (I, L) the inputs (dense); at_end (L,) bool: the lane's
    sequence ends at this step; has_target (L,) bool; target (K, L) the targets where has_target; learn (L,) bool;
    lr (L,) the lane's lr for this sequence (lr_scale applied). Outputs go to w.y (K, L), in the lanes at_end
    only (the output units feed nothing back; the driver reads them there); w.sse[k] accumulates the squared
    errors of target steps."""
    W_hid, W_out = nets.W_hid, nets.W_out
    I, K, C, S = setup.net.n_in, setup.net.n_out, setup.net.n_blocks, setup.net.block_size
    H = C * S
    U, M, L = W_hid.shape
    Mo = W_out.shape[1]
    one_hot = setup.one_hot
    rec0 = 1 + I  # first recurrent column of z; first cell column of zo
    z, zo, net = w.z, w.zo, w.net
    # 1. input units
    if not one_hot:
        for i in range(I):
            for k in range(L):
                z[1 + i, k] = xd[i, k]
                zo[1 + i, k] = xd[i, k]
    # 2. net inputs of cells and gates: bias, x(t), hidden(t-1), summed in kernel.step's order
    for u in range(U):
        for k in range(L):
            net[u, k] = W_hid[u, 0, k]
        if one_hot:
            for k in range(L):
                net[u, k] += W_hid[u, 1 + xi[k], k]
        else:
            for i in range(I):
                for k in range(L):
                    net[u, k] += W_hid[u, 1 + i, k] * z[1 + i, k]
        for m in range(rec0, M):
            for k in range(L):
                net[u, k] += W_hid[u, m, k] * z[m, k]
    ex = w.ex
    exp_rows(net, ex, U, setup.fast_exp, w.r_buf, w.k_buf, w.tail_buf, w.scale_buf)
    y_in, y_out, gc, dgc = w.y_in, w.y_out, w.gc, w.dgc
    for j in range(C):
        for k in range(L):
            y_in[j, k] = 1.0 / (1.0 + ex[H + j, k])  # (7)
            y_out[j, k] = 1.0 / (1.0 + ex[H + C + j, k]) if setup.net.output_gate else 1.0  # (8)
    for v in range(H):
        for k in range(L):
            sg = 1.0 / (1.0 + ex[v, k])
            if setup.net.g1:
                gc[v, k] = sg
                dgc[v, k] = sg * (1.0 - sg)
            else:
                gc[v, k] = 4.0 * sg - 2.0
                dgc[v, k] = 4.0 * sg * (1.0 - sg)
    # traces (eqs. 25, 27), in every lane: a lane that does not learn resets them before it learns again
    a_in, a_c, dS_in, dS_c = w.a_in, w.a_c, w.dS_in, w.dS_c
    for v in range(H):
        j = v // S
        for k in range(L):
            a_in[v, k] = gc[v, k] * y_in[j, k] * (1.0 - y_in[j, k])  # (25) factor g f'_in
            a_c[v, k] = dgc[v, k] * y_in[j, k]  # (27) factor g' y^in
        for k in range(L):
            dS_in[v, 0, k] += a_in[v, k]
            dS_c[v, 0, k] += a_c[v, k]
        if one_hot:
            for k in range(L):
                dS_in[v, 1 + xi[k], k] += a_in[v, k]
                dS_c[v, 1 + xi[k], k] += a_c[v, k]
        else:
            for i in range(I):
                for k in range(L):
                    dS_in[v, 1 + i, k] += a_in[v, k] * z[1 + i, k]
                    dS_c[v, 1 + i, k] += a_c[v, k] * z[1 + i, k]
        for m in range(rec0, M):
            for k in range(L):
                dS_in[v, m, k] += a_in[v, k] * z[m, k]
                dS_c[v, m, k] += a_c[v, k] * z[m, k]
    s, hs, dhs = w.s, w.hs, w.dhs
    for v in range(H):
        j = v // S
        for k in range(L):
            s[v, k] += y_in[j, k] * gc[v, k]  # (9) the CEC
    if not setup.net.h_id:
        exp_rows(s, ex, H, setup.fast_exp, w.r_buf, w.k_buf, w.tail_buf, w.scale_buf)
    for v in range(H):
        j = v // S
        for k in range(L):
            if setup.net.h_id:
                hs[v, k] = s[v, k]
                dhs[v, k] = 1.0
            else:
                sh = 1.0 / (1.0 + ex[v, k])
                hs[v, k] = 2.0 * sh - 1.0
                dhs[v, k] = 2.0 * sh * (1.0 - sh)
            zo[rec0 + v, k] = y_out[j, k] * hs[v, k]
    # 3. output units from x(t) (if connected) and the cells of time t, in the lanes whose sequence ends here
    for k in range(L):
        if at_end[k]:
            _outputs_lane(W_out, w.y, zo, k, xi[k], one_hot, I, H, K, setup.net.out_linear)
    for k in range(L):
        if has_target[k]:
            _learn_lane(nets, w, setup, k, xi[k], target, learn[k], lr[k])
    # the hidden activations of t become the recurrent sources of t+1
    for v in range(H):
        for k in range(L):
            z[rec0 + v, k] = zo[rec0 + v, k]
    for j in range(C):
        for k in range(L):
            z[rec0 + H + j, k] = y_in[j, k]
            z[rec0 + H + C + j, k] = y_out[j, k]


@njit(cache=True, inline="always", error_model="numpy")
def _outputs_lane(W_out, y, zo, k, xi, one_hot, I, H, K, out_linear):
    """Lane k's output units (kernel.step's sums in its order: bias, inputs, cells; then the sigmoid)."""
    rec0 = 1 + I
    for o in range(K):
        a = W_out[o, 0, k]
        if one_hot:
            a += W_out[o, 1 + xi, k]
        else:
            for i in range(I):
                a += W_out[o, 1 + i, k] * zo[1 + i, k]
        for v in range(H):
            a += W_out[o, rec0 + v, k] * zo[rec0 + v, k]
        y[o, k] = a if out_linear else 1.0 / (1.0 + math.exp(-a))


@fast_jit(cache=True, error_model="numpy")
def _learn_lane(nets, w, setup, k, xi, target, learn, lr):
    """Lane k at a target step: its errors (eq. 19), and if it learns, the weight changes of kernel.step."""
    W_hid, W_out, M_hid, M_out = nets.W_hid, nets.W_out, nets.M_hid, nets.M_out
    I, K, C, S = setup.net.n_in, setup.net.n_out, setup.net.n_blocks, setup.net.block_size
    H = C * S
    M, Mo = W_hid.shape[1], W_out.shape[1]
    rec0 = 1 + I
    one_hot = setup.one_hot
    y, z, zo, e_k, back, e_s, e_out = w.y, w.z, w.zo, w.e_k, w.back, w.e_s, w.e_out
    plain = setup.net.out_linear or not setup.net.out_deriv
    sse = w.sse[k]
    for o in range(K):
        d = target[o, k] - y[o, k]
        sse += d * d
        if plain:
            e_k[o] = d
        else:
            e_k[o] = y[o, k] * (1.0 - y[o, k]) * d  # (19)
    w.sse[k] = sse
    if not learn:
        return
    for v in range(H):
        a = 0.0
        for o in range(K):
            a += W_out[o, rec0 + v, k] * e_k[o]
        back[v] = a
    for j in range(C):
        e_out[j] = 0.0
    for v in range(H):
        j = v // S
        e_out[j] += w.hs[v, k] * back[v]
        e_s[v] = w.y_out[j, k] * w.dhs[v, k] * back[v]  # (23)
    for j in range(C):
        e_out[j] *= w.y_out[j, k] * (1.0 - w.y_out[j, k])  # (21)
    # every change uses the weights of time t, applied at once (per step)
    for v in range(H):
        a = lr * e_s[v]
        if a != 0.0:
            for m in range(M):
                W_hid[v, m, k] += a * w.dS_c[v, m, k] * M_hid[v, m]  # (28)
    for j in range(C):
        row = H + j
        for v in range(j * S, (j + 1) * S):
            a = lr * e_s[v]
            if a != 0.0:
                for m in range(M):
                    W_hid[row, m, k] += a * w.dS_in[v, m, k] * M_hid[row, m]  # (26)
    if setup.net.output_gate:
        for j in range(C):
            row = H + C + j
            b = lr * e_out[j]
            W_hid[row, 0, k] += b * M_hid[row, 0]  # (22) output gates
            if one_hot:
                W_hid[row, 1 + xi, k] += b * M_hid[row, 1 + xi]
            else:
                for i in range(I):
                    W_hid[row, 1 + i, k] += b * z[1 + i, k] * M_hid[row, 1 + i]
            for m in range(1 + I, M):
                W_hid[row, m, k] += b * z[m, k] * M_hid[row, m]
    for o in range(K):
        b = lr * e_k[o]
        W_out[o, 0, k] += b * M_out[o, 0]  # (22) output units
        if one_hot:
            W_out[o, 1 + xi, k] += b * M_out[o, 1 + xi]
        else:
            for i in range(I):
                W_out[o, 1 + i, k] += b * zo[1 + i, k] * M_out[o, 1 + i]
        for m in range(rec0, Mo):
            W_out[o, m, k] += b * zo[m, k] * M_out[o, m]


@fast_jit(cache=True, error_model="numpy")
def tick(nets, w, setup, xi, xd, at_end, has_target, target, learn, lr):
    """One time step of every lane (_tick), compiled without overlap checks between its arrays where numba
    allows it (models/numba_noalias.py)."""
    _tick(nets, w, setup, xi, xd, at_end, has_target, target, learn, lr)


@njit(cache=True, error_model="numpy")
def tick_portable(nets, w, setup, xi, xd, at_end, has_target, target, learn, lr):
    """The same step, compiled as every other kernel (the path where numba's noalias flag is not available)."""
    _tick(nets, w, setup, xi, xd, at_end, has_target, target, learn, lr)
