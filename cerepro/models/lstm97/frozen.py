"""A frozen net's forward pass in array form, the pieces shared with the forget-gate LSTM's (models/lstm_forget/
frozen.py: CERG's test streams).

kernel.step computes each net input as one chain of additions, row after row (latency-bound on a small net);
here all rows advance together over the columns (W transposed once per frozen net, `freeze`), so the chains
interleave and vectorise, and each row still adds its terms in kernel.step's order: bias, input, then the
recurrent columns. The squashing functions use math.exp or its vectorised copy where that gives the same bits
(models/vexp.py). Table 1's test runs the 1997 net's pass written out per net shape instead
(models/lstm97/unrolled.py).

Scope: one-hot inputs.
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
    """Whether the frozen passes may use the vectorised exp (the same bits as math.exp here: vexp.available())."""
    return vexp.available()
