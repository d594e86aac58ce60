"""A frozen 1997 net on many sequences at once: the sequences in the SIMD lanes of one loop (Section 5, tests).

For the tests that only read a frozen net's end outputs (Exp 3's check set, the final tests of Exps 2c-6):
every end output equals kernel.step's with learn=False, bit for bit (tests/test_frozen_batch.py). Details:
docs/throughput.md, "Frozen tests in lanes (models/lstm97/frozen_batch.py)".

Scope: the 1997 step (kernel.step: two gates per block, any Setup). Shapes: U hidden rows, M hidden columns,
K outputs, Mo output columns, H cells, C blocks (arch.py), L lanes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.models import vexp
from cerepro.models.lstm97 import frozen

LANES = 64  # sequences per batch at most


class Batch(NamedTuple):
    """A frozen net's transposed weights and room for the activations of up to LANES sequences. The lane arrays
    are flat: a batch of L lanes views them as C-contiguous (rows, L) arrays, lanes last."""

    WT_hid: np.ndarray  # (M, U) W_hid transposed
    WT_out: np.ndarray  # (Mo, K) W_out transposed
    z: np.ndarray  # (M * LANES,) hidden sources per lane
    zo: np.ndarray  # (Mo * LANES,) output sources per lane
    net: np.ndarray  # (U * LANES,) net inputs
    sig: np.ndarray  # (U * LANES,) their logistic
    s: np.ndarray  # (H * LANES,) cell states
    y: np.ndarray  # (K * LANES,) outputs
    ex: np.ndarray  # (R * LANES,) exps, R = max(U, H, K), and vexp.exp_neg's scratch:
    r_buf: np.ndarray  # (R * LANES,)
    k_buf: np.ndarray  # (R * LANES,) int64
    tail_buf: np.ndarray  # (R * LANES,) int64
    scale_buf: np.ndarray  # (R * LANES,) int64
    xi: np.ndarray  # (LANES,) int64 active input unit of each lane at this tick (one-hot tasks)


def batch(net) -> Batch:
    """Scratch for a net of this shape, with its current weights (call `freeze` after the weights change)."""
    U, M = net.W_hid.shape
    K, Mo = net.W_out.shape
    H = net.setup.n_blocks * net.setup.block_size
    R = max(U, H, K)
    z = np.zeros
    b = Batch(z((M, U)), z((Mo, K)), z(M * LANES), z(Mo * LANES), z(U * LANES), z(U * LANES), z(H * LANES),
              z(K * LANES), z(R * LANES), z(R * LANES), z(R * LANES, np.int64), z(R * LANES, np.int64),
              z(R * LANES, np.int64), z(LANES, np.int64))
    freeze(net, b)
    return b


def empty() -> Batch:
    """A Batch of no size, of the same types: the argument a caller passes where no lanes run (other models)."""
    z, i = np.zeros(0), np.zeros(0, np.int64)
    return Batch(np.zeros((0, 0)), np.zeros((0, 0)), z, z, z, z, z, z, z, z, i, i, i, i)


@njit(cache=True)
def freeze(net, b):
    """Take the net's current weights (transposed)."""
    frozen.transpose_weights(net, b.WT_hid, b.WT_out)


@njit(cache=True, inline="always")
def _lanes(flat, rows, L):
    """The first rows * L values of a flat lane array as a C-contiguous (rows, L) array."""
    return flat[: rows * L].reshape((rows, L))


@njit(cache=True, inline="always")
def _exp_neg(x, ex, b, L, fast_exp):
    """ex = exp(-x) for (rows, L) lane arrays (math.exp's bits); fast_exp is a constant of each caller."""
    rows = x.shape[0]
    if fast_exp:
        vexp.exp_neg(x, ex, rows, vexp.TABLE, _lanes(b.r_buf, rows, L), _lanes(b.k_buf, rows, L),
                     _lanes(b.tail_buf, rows, L), _lanes(b.scale_buf, rows, L))
    else:
        for r in range(rows):
            for k in range(L):
                ex[r, k] = math.exp(-x[r, k])


@njit(cache=True, inline="always")
def _reset(b, c, z_reset, L):
    """Every lane from the reset state (kernel.step): the sources of the first step, empty cells, the output
    bias source."""
    M, Mo, H = b.WT_hid.shape[0], b.WT_out.shape[0], c.n_blocks * c.block_size
    z, zo, s = _lanes(b.z, M, L), _lanes(b.zo, Mo, L), _lanes(b.s, H, L)
    for k in range(L):
        for m in range(M):
            z[m, k] = z_reset[m]
        for m in range(Mo):
            zo[m, k] = 0.0
        zo[0, k] = 1.0
        for v in range(H):
            s[v, k] = 0.0


@njit(cache=True, inline="always")
def _dot_lanes(out, WT, src, xi, I, end, one_hot, L):
    """out[r, k] = sum_m WT[m, r] src[m, k] for every row r and lane k, each in ops.dot_row's order: the bias,
    the inputs (one-hot: lane k's unit xi[k]; else src's rows 1..I), then the columns 1 + I .. end - 1."""
    R = out.shape[0]
    for r in range(R):
        w = WT[0, r]
        for k in range(L):
            out[r, k] = w
    if one_hot:
        for r in range(R):
            for k in range(L):
                out[r, k] += WT[1 + xi[k], r]
    else:
        for i in range(I):
            for r in range(R):
                w = WT[1 + i, r]
                for k in range(L):
                    out[r, k] += w * src[1 + i, k]
    for m in range(1 + I, end):
        for r in range(R):
            w = WT[m, r]
            for k in range(L):
                out[r, k] += w * src[m, k]


@njit(cache=True, inline="always", error_model="numpy")
def _tick(b, c, x_index, x_dense, seqs, t, L, fast_exp):
    """Step t of every lane (lane k: sequence seqs[k]): its outputs into b.y's (K, L) view, then the activations
    of t become the recurrent sources of t+1. Lanes past their end read input unit -1 (W's column 0) or the
    padding: computed, never read."""
    WT, WO = b.WT_hid, b.WT_out
    M, U = WT.shape
    Mo, K = WO.shape
    I, C, S = c.n_in, c.n_blocks, c.block_size
    H = C * S
    z, zo, net, sig = _lanes(b.z, M, L), _lanes(b.zo, Mo, L), _lanes(b.net, U, L), _lanes(b.sig, U, L)
    s, y = _lanes(b.s, H, L), _lanes(b.y, K, L)
    ex_u, ex_h, ex_k = _lanes(b.ex, U, L), _lanes(b.ex, H, L), _lanes(b.ex, K, L)
    rec0 = 1 + I
    one_hot = x_dense.shape[2] == 0
    if one_hot:
        for k in range(L):
            b.xi[k] = x_index[seqs[k], t]
    else:
        for i in range(I):
            for k in range(L):
                z[1 + i, k] = x_dense[seqs[k], t, i]
                zo[1 + i, k] = z[1 + i, k]
    _dot_lanes(net, WT, z, b.xi, I, M, one_hot, L)  # net inputs
    _exp_neg(net, ex_u, b, L, fast_exp)
    for u in range(U):
        for k in range(L):
            sig[u, k] = 1.0 / (1.0 + ex_u[u, k])
    for v in range(H):  # (9) s(t) = s(t-1) + y^in g(net_c): g1 the logistic, else 4 f - 2
        j = H + v // S
        for k in range(L):
            g = sig[v, k] if c.g1 else 4.0 * sig[v, k] - 2.0
            s[v, k] = s[v, k] + sig[j, k] * g
    if not c.h_id:
        _exp_neg(s, ex_h, b, L, fast_exp)
    for v in range(H):  # y^c = y^out h(s): h the identity, or 2 f - 1
        j = H + C + v // S
        for k in range(L):
            hs = s[v, k] if c.h_id else 2.0 * (1.0 / (1.0 + ex_h[v, k])) - 1.0
            zo[rec0 + v, k] = (sig[j, k] if c.output_gate else 1.0) * hs
    _dot_lanes(y, WO, zo, b.xi, I, Mo, one_hot, L)  # outputs from the cells of time t
    if not c.out_linear:
        _exp_neg(y, ex_k, b, L, fast_exp)
        for kk in range(K):
            for k in range(L):
                y[kk, k] = 1.0 / (1.0 + ex_k[kk, k])
    for v in range(H):  # the activations of t become the recurrent sources of t+1
        for k in range(L):
            z[rec0 + v, k] = zo[rec0 + v, k]
    for j in range(C):
        for k in range(L):
            z[rec0 + H + j, k] = sig[H + j, k]
            z[rec0 + H + C + j, k] = sig[H + C + j, k] if c.output_gate else 1.0


@njit(cache=True, inline="always", error_model="numpy")
def _end_outputs(b, c, z_reset, x_index, x_dense, lengths, seqs, L, out_end, fast_exp):
    """end_outputs' loop, inlined with fast_exp a constant: where both exps are compiled into one function, the
    forward step runs at half the speed."""
    K = b.WT_out.shape[1]
    y = _lanes(b.y, K, L)
    _reset(b, c, z_reset, L)
    T = 0
    for k in range(L):
        T = max(T, lengths[seqs[k]])
    for t in range(T):
        _tick(b, c, x_index, x_dense, seqs, t, L, fast_exp)
        for k in range(L):  # a lane at its last step: its end outputs
            if t == lengths[seqs[k]] - 1:
                for kk in range(K):
                    out_end[k, kk] = y[kk, k]


@njit(cache=True, error_model="numpy")
def _end_outputs_vexp(b, c, z_reset, x_index, x_dense, lengths, seqs, L, out_end):
    _end_outputs(b, c, z_reset, x_index, x_dense, lengths, seqs, L, out_end, True)


@njit(cache=True, error_model="numpy")
def _end_outputs_libm(b, c, z_reset, x_index, x_dense, lengths, seqs, L, out_end):
    _end_outputs(b, c, z_reset, x_index, x_dense, lengths, seqs, L, out_end, False)


@njit(cache=True)
def end_outputs(b, c, z_reset, x_index, x_dense, lengths, seqs, out_end, fast_exp):
    """out_end[k] = the frozen net's outputs at the last step of sequence seqs[k], k < len(seqs) <= LANES, each
    from the reset state (z_reset: the sources its first step sees), as kernel.step with learn=False gives them.
    x_index (n, T) one-hot inputs or x_dense (n, T, I) real ones (the other empty, as generators.base.Sequences);
    c: kernel.Setup; fast_exp: vexp.available()."""
    if fast_exp:
        _end_outputs_vexp(b, c, z_reset, x_index, x_dense, lengths, seqs, seqs.shape[0], out_end)
    else:
        _end_outputs_libm(b, c, z_reset, x_index, x_dense, lengths, seqs, seqs.shape[0], out_end)

