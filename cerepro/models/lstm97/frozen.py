"""The 1997 LSTM's forward pass for a frozen net, cheap: for tests that only read outputs (Section 5.1).

kernel.step computes each net input as one chain of additions, row after row (latency-bound on a small net);
here all rows advance together over the columns (W transposed once per frozen net), so the chains interleave
and vectorise, and each row still adds its terms in kernel.step's order: bias, input, then columns 1+I..M-1.
The squashing functions use math.exp or its vectorised copy where that gives the same bits (models/vexp.py).
So every output equals kernel.step's with learn=False, bit for bit (tests/test_reber_success.py); a sequence
stops at its first wrong prediction (Exp 1's success test), and steps before a given one may skip the
output units.

Scope: the 1997 layout (Setup.gates == 2) with one-hot inputs (Exp 1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.models import vexp
from cerepro.models.numba_noalias import fast_jit


class Frozen(NamedTuple):
    """A frozen net's transposed weights and the activations of the sequence it runs."""

    WT_hid: np.ndarray  # (M, U) W_hid transposed
    WT_out: np.ndarray  # (Mo, K) W_out transposed
    z: np.ndarray  # (M,) hidden sources
    zo: np.ndarray  # (Mo,) output sources
    net: np.ndarray  # (1, U) net inputs (rows of one, as vexp.exp_neg takes them)
    s: np.ndarray  # (1, H) cell states
    y: np.ndarray  # (1, K) outputs
    sig: np.ndarray  # (max(U, K),) logistic of each net input
    ex: np.ndarray  # (1, max(U, K)) exps, and the scratch of vexp.exp_neg
    r_buf: np.ndarray
    k_buf: np.ndarray  # int64
    tail_buf: np.ndarray  # int64
    scale_buf: np.ndarray  # int64


def frozen(U: int, M: int, K: int, Mo: int, H: int) -> Frozen:
    n = max(U, K)
    z = np.zeros
    return Frozen(z((M, U)), z((Mo, K)), z(M), z(Mo), z((1, U)), z((1, H)), z((1, K)), z(n), z((1, n)), z((1, n)),
                  z((1, n), np.int64), z((1, n), np.int64), z((1, n), np.int64))


@fast_jit(cache=True)
def freeze(net, fz):
    """Take the net's current weights (transposed)."""
    transpose_weights(net, fz.WT_hid, fz.WT_out)


@njit(cache=True, inline="always")
def transpose_weights(net, WT_hid, WT_out):
    """WT_hid (M, U) = W_hid transposed, WT_out (Mo, K) = W_out transposed."""
    U, M = net.W_hid.shape
    K, Mo = net.W_out.shape
    for u in range(U):
        for m in range(M):
            WT_hid[m, u] = net.W_hid[u, m]
    for k in range(K):
        for m in range(Mo):
            WT_out[m, k] = net.W_out[k, m]


@njit(cache=True, inline="always")
def _exp_neg(x, ex, r_buf, k_buf, tail_buf, scale_buf, fast_exp):
    """ex[0, :n] = exp(-x[0, :n]) for a (1, n) row x (math.exp's bits); fast_exp is a constant of each caller."""
    if fast_exp:
        vexp.exp_neg(x, ex, 1, vexp.TABLE, r_buf, k_buf, tail_buf, scale_buf)
    else:
        for i in range(x.shape[1]):
            ex[0, i] = math.exp(-x[0, i])


@njit(cache=True, inline="always", error_model="numpy")
def outputs(fz, c, xi, fast_exp):
    """fz.y[0] = the output units from the active input xi and the sources fz.zo (bias, input, then the cell
    columns in order: ops.dot_row's), squashed unless linear; shared by the frozen passes of both LSTMs."""
    WO, zo, y, ex = fz.WT_out, fz.zo, fz.y, fz.ex
    Mo, K = WO.shape
    for k in range(K):
        y[0, k] = WO[0, k]
    for k in range(K):
        y[0, k] += WO[1 + xi, k]
    for m in range(1 + c.n_in, Mo):
        zm = zo[m]
        for k in range(K):
            y[0, k] += WO[m, k] * zm
    if not c.out_linear:
        _exp_neg(y, ex, fz.r_buf, fz.k_buf, fz.tail_buf, fz.scale_buf, fast_exp)
        for k in range(K):
            y[0, k] = 1.0 / (1.0 + ex[0, k])


@njit(cache=True, inline="always", error_model="numpy")
def _first_wrong(fz, c, x_row, legal_row, start, length, out, fast_exp):
    """first_wrong's loop; inlined with fast_exp a constant: where both exps are compiled into one function, the
    forward step runs at half the speed."""
    WT, WO, z, zo, net, s, y, sig, ex, r_buf, k_buf, tail_buf, scale_buf = fz
    M, U = WT.shape
    K = WO.shape[1]
    I, C, S = c.n_in, c.n_blocks, c.block_size
    H = C * S
    rec0 = 1 + I
    for t in range(length):
        xi = x_row[t]
        for u in range(U):  # bias, then the active input (ops.dot_row's order) ...
            net[0, u] = WT[0, u]
        for u in range(U):
            net[0, u] += WT[1 + xi, u]
        for m in range(rec0, M):  # ... then the recurrent columns in order, all rows at once
            zm = z[m]
            for u in range(U):
                net[0, u] += WT[m, u] * zm
        _exp_neg(net, ex, r_buf, k_buf, tail_buf, scale_buf, fast_exp)
        for u in range(U):
            sig[u] = 1.0 / (1.0 + ex[0, u])
        for v in range(H):
            g = sig[v] if c.g1 else 4.0 * sig[v] - 2.0
            s[0, v] = c.state_decay * s[0, v] + sig[H + v // S] * g  # (9): y^phi s + y^in g(net_c)
        for j in range(C):
            z[rec0 + H + j] = sig[H + j]  # y^in, a source of t+1
            z[rec0 + H + C + j] = sig[H + C + j] if c.output_gate else 1.0  # y^out
        if not c.h_id:
            _exp_neg(s, ex, r_buf, k_buf, tail_buf, scale_buf, fast_exp)
            for v in range(H):
                sig[v] = 1.0 / (1.0 + ex[0, v])
        for v in range(H):
            hs = s[0, v] if c.h_id else 2.0 * sig[v] - 1.0
            zo[rec0 + v] = z[rec0 + H + C + v // S] * hs
        if t < start:  # outputs feed nothing back: not needed before `start`
            for v in range(H):
                z[rec0 + v] = zo[rec0 + v]
            continue
        outputs(fz, c, xi, fast_exp)
        for v in range(H):  # the cells of t become sources of t+1
            z[rec0 + v] = zo[rec0 + v]
        lo = np.inf  # kernel.string_correct's rule: the legal units strictly on top
        hi = -np.inf
        for k in range(K):
            out[t, k] = y[0, k]
            if legal_row[t, k]:
                if y[0, k] < lo:
                    lo = y[0, k]
            elif y[0, k] > hi:
                hi = y[0, k]
        if not lo > hi:
            return t
    return -1


@fast_jit(cache=True, error_model="numpy")
def _first_wrong_vexp(fz, c, x_row, legal_row, start, length, out):
    return _first_wrong(fz, c, x_row, legal_row, start, length, out, True)


@fast_jit(cache=True, error_model="numpy")
def _first_wrong_libm(fz, c, x_row, legal_row, start, length, out):
    return _first_wrong(fz, c, x_row, legal_row, start, length, out, False)


@fast_jit(cache=True)
def first_wrong(fz, c, z_reset, x_row, legal_row, start, length, out, fast_exp):
    """From the reset state, steps 0..length-1 of one sequence (inputs x_row) up to the first step t >= start whose
    outputs do not put the legal units of legal_row[t] strictly on top (kernel.string_correct's rule): that
    step, or -1 if none. Steps before `start` run without the output units (not checked). The outputs of
    every checked step are written to out[t] (c: kernel.Setup; fast_exp: models/vexp.py)."""
    reset(fz.z, fz.zo, fz.s, z_reset)
    if fast_exp:
        return _first_wrong_vexp(fz, c, x_row, legal_row, start, length, out)
    return _first_wrong_libm(fz, c, x_row, legal_row, start, length, out)


@njit(cache=True, inline="always")
def reset(z, zo, s, z_reset):
    """The sources and states a sequence starts from (kernel.step's reset)."""
    for m in range(z_reset.shape[0]):
        z[m] = z_reset[m]
    for m in range(zo.shape[0]):
        zo[m] = 0.0
    zo[0] = 1.0
    for v in range(s.shape[1]):
        s[0, v] = 0.0


def fast_exp() -> bool:
    """Whether forward_step may use the vectorised exp (the same bits as math.exp here: vexp.available())."""
    return vexp.available()
