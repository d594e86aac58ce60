"""exp(x) that LLVM can vectorise and that gives the same bits as `math.exp` here, or is not used.

Details: docs/throughput.md, "A vectorisable exp with the C library's bits (models/vexp.py)".
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal, getcontext
from fractions import Fraction
from functools import lru_cache

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c with one rounding (llvm.fma: the hardware instruction, or a correctly rounded libm call)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(d, [d, d, d]), "llvm.fma.f64")
        return builder.call(fn, args)

    return sig, codegen


@intrinsic
def as_bits(typingctx, x):
    """The bits of a float64 as an int64."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def from_bits(typingctx, i):
    """The float64 with the bits of an int64."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


def _table() -> np.ndarray:
    """(256,) int64: for i < 128, [2i] the bits of the tail T_i, [2i+1] the bits of H_i minus i << 45, where
    H_i = 2^(i/128) rounded and T_i = (2^(i/128) - H_i) / H_i rounded (glibc's __exp_data.tab)."""
    getcontext().prec = 60
    out = np.zeros(256, dtype=np.int64)
    for i in range(128):
        exact = Fraction(Decimal(2) ** (Decimal(i) / Decimal(128)))
        head = float(exact)  # float(Fraction) rounds to nearest
        tail = float((exact - Fraction(head)) / Fraction(head))
        out[2 * i] = struct.unpack("<q", struct.pack("<d", tail))[0]
        out[2 * i + 1] = struct.unpack("<q", struct.pack("<d", head))[0] - (i << 45)
    return out


TABLE = _table()
INV_LN2_N = float.fromhex("0x1.71547652b82fep0") * 128  # 128 / ln 2
SHIFT = float.fromhex("0x1.8p52")  # rounds k to an integer in the low bits
NEG_LN2_HI_N = float.fromhex("-0x1.62e42fefa0000p-8")  # -ln2/128, split in two
NEG_LN2_LO_N = float.fromhex("-0x1.cf79abc9e3b3ap-47")
C2 = float.fromhex("0x1.ffffffffffdbdp-2")  # exp(r) - 1 ~ r + C2 r^2 + C3 r^3 + C4 r^4 + C5 r^5
C3 = float.fromhex("0x1.555555555543cp-3")
C4 = float.fromhex("0x1.55555cf172b91p-5")
C5 = float.fromhex("0x1.1111167a4d017p-7")


@njit(cache=True, inline="always")
def exp_neg(x, out, rows, table, r_buf, k_buf, tail_buf, scale_buf):
    """out[i, k] = exp(-x[i, k]) for i < rows, every k: the bits of math.exp (see the module docstring).

    x, out, r_buf (float64) and k_buf, tail_buf, scale_buf (int64) are 2-d with the same number of columns and
    at least `rows` rows. Three passes, so that the two arithmetic passes vectorise (the table lookup in
    between would stop the vectoriser: it rates AVX2 gathers as too dear)."""
    n = x.shape[1]
    rare = False
    for i in range(rows):  # k = round(x 128/ln2), r = x - k ln2/128
        for j in range(n):
            a = -x[i, j]
            kd = fma(a, INV_LN2_N, SHIFT)
            k_buf[i, j] = as_bits(kd)
            kd = kd - SHIFT
            r = fma(kd, NEG_LN2_HI_N, a)
            r_buf[i, j] = fma(kd, NEG_LN2_LO_N, r)
            rare |= ((as_bits(a) >> 52) & 0x7FF) > 0x407  # |x| >= 512, inf or NaN
    for i in range(rows):  # 2^(k/128) ~ scale (1 + tail)
        for j in range(n):
            idx = 2 * (k_buf[i, j] & 127)
            tail_buf[i, j] = table[idx]
            scale_buf[i, j] = table[idx + 1] + (k_buf[i, j] << 45)
    for i in range(rows):  # scale + scale (tail + r + C2 r^2 + ... + C5 r^5); |x| < 2^-54: 1 + x
        for j in range(n):
            r = r_buf[i, j]
            r2 = r * r
            p = fma(fma(r, C3, C2), r2, r + from_bits(tail_buf[i, j]))
            tmp = fma(r2 * r2, fma(r, C5, C4), p)
            scale = from_bits(scale_buf[i, j])
            a = -x[i, j]
            out[i, j] = 1.0 + a if ((as_bits(a) >> 52) & 0x7FF) < 0x3C9 else fma(scale, tmp, scale)
    if rare:  # huge, inf, NaN: the library itself
        for i in range(rows):
            for j in range(n):
                a = -x[i, j]
                if ((as_bits(a) >> 52) & 0x7FF) > 0x407:
                    out[i, j] = math.exp(a)


@njit(cache=True, inline="always")
def exp_neg_one(x, table):
    """exp(-x) for one value: exp_neg's operations on a single element (math.exp's bits where available())."""
    a = -x
    kd = fma(a, INV_LN2_N, SHIFT)
    k = as_bits(kd)
    kd = kd - SHIFT
    r = fma(kd, NEG_LN2_HI_N, a)
    r = fma(kd, NEG_LN2_LO_N, r)
    idx = 2 * (k & 127)
    scale = from_bits(table[idx + 1] + (k << 45))
    r2 = r * r
    p = fma(fma(r, C3, C2), r2, r + from_bits(table[idx]))
    tmp = fma(r2 * r2, fma(r, C5, C4), p)
    e = (as_bits(a) >> 52) & 0x7FF
    if e > 0x407:  # |x| >= 512, inf or NaN: the library itself
        return math.exp(a)
    return 1.0 + a if e < 0x3C9 else fma(scale, tmp, scale)


@njit(cache=True)
def _exp_neg_one_array(x, out):
    for i in range(x.shape[0]):
        out[i] = exp_neg_one(x[i], TABLE)


@njit(cache=True)
def _exp_neg_array(x, out):
    x2, out2 = x.reshape(1, x.shape[0]), out.reshape(1, x.shape[0])
    exp_neg(x2, out2, 1, TABLE, np.empty_like(x2), np.empty(x2.shape, np.int64), np.empty(x2.shape, np.int64),
            np.empty(x2.shape, np.int64))


@njit(cache=True)
def _libm_exp_neg_array(x, out):
    for i in range(x.shape[0]):
        out[i] = math.exp(-x[i])


def probe_values() -> np.ndarray:
    """Arguments that reach every table entry, both sides of the reduction's rounding boundaries, the edges of
    the main path, and the ranges the kernels see."""
    rng = np.random.default_rng(1997)
    k = np.arange(-66_000, 66_000, dtype=np.float64)  # x = k ln2/128 up to |x| = 357
    grid = k / 128 * math.log(2)
    half = (k + 0.5) / 128 * math.log(2)
    edges = np.array([0.0, -0.0, 2.0**-54, -(2.0**-54), 2.0**-55, 1e-300, 5e-324, 511.999, -511.999, 512.0, -512.0,
                      700.0, -745.0, 1000.0, np.inf, -np.inf, np.nan])
    return np.concatenate([grid, np.nextafter(half, np.inf), np.nextafter(half, -np.inf), edges,
                           rng.uniform(-1, 1, 200_000), rng.normal(0, 8, 200_000), rng.uniform(-40, 40, 200_000)])


@lru_cache(maxsize=1)
def available() -> bool:
    """True if exp_neg and exp_neg_one give the bits of math.exp on every probe value (then the kernels may use
    them)."""
    x = probe_values()
    fast, one, libm = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    _exp_neg_array(x, fast)
    _exp_neg_one_array(x, one)
    _libm_exp_neg_array(x, libm)
    return bool(np.array_equal(fast.view(np.int64), libm.view(np.int64)) and np.array_equal(one.view(np.int64), libm.view(np.int64)))
