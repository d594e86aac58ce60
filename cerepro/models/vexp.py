"""exp(x) that LLVM can vectorise and that gives the same bits as `math.exp` here, or is not used: over arrays
(exp_neg), on one value (exp_neg_one), and inside the logistic function on 4 or 8 lanes of LLVM vector IR
(logistic_lanes, for a handful of values that the vectorisers would leave scalar).

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


@lru_cache(maxsize=None)
def logistic_lanes(n: int):
    """An intrinsic logistic(src, src_at, dst, dst_at, table) -> bool: dst[dst_at + i] = 1 / (1 + exp(-src[src_at
    + i])) for i < n (contiguous 1-d float64 arrays; dst may be src), exp_neg_one's operations on n lanes of LLVM
    vector IR (the loop vectoriser leaves a handful of values scalar, models/lstm97/unrolled.py needs them in one
    vector). Returns True if a lane needs the library's exp (|x| >= 512, inf, NaN): such a lane of dst gets x
    itself, and the caller computes it with math.exp."""
    VD, VI, I32 = ir.VectorType(ir.DoubleType(), n), ir.VectorType(ir.IntType(64), n), ir.IntType(32)

    def splat(ty, v):
        return ir.Constant(ty, [v] * n)

    @intrinsic
    def logistic(typingctx, src, src_at, dst, dst_at, table):
        if not all(isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C" for a in (src, dst)):
            return None  # the lanes are loaded and stored as whole vectors
        sig = types.boolean(src, src_at, dst, dst_at, table)

        def codegen(context, builder, signature, args):
            fma_v = cgutils.get_or_insert_function(builder.module, ir.FunctionType(VD, [VD, VD, VD]),
                                                   f"llvm.fma.v{n}f64")

            def fma_(a, b, c):
                return builder.call(fma_v, [a, b, c])

            def data(k):
                return context.make_array(signature.args[k])(context, builder, args[k]).data

            x = builder.load(builder.bitcast(builder.gep(data(0), [args[1]]), VD.as_pointer()), align=8)
            a = builder.fneg(x)
            kd = fma_(a, splat(VD, INV_LN2_N), splat(VD, SHIFT))  # exp_neg_one, step by step
            k = builder.bitcast(kd, VI)
            kd = builder.fsub(kd, splat(VD, SHIFT))
            r = fma_(kd, splat(VD, NEG_LN2_LO_N), fma_(kd, splat(VD, NEG_LN2_HI_N), a))
            idx = builder.shl(builder.and_(k, splat(VI, 127)), splat(VI, 1))
            tab = data(4)
            tail, head = ir.Constant(VI, None), ir.Constant(VI, None)
            for i in range(n):  # the table lookups, lane by lane
                j = builder.extract_element(idx, ir.Constant(I32, i))
                tail = builder.insert_element(tail, builder.load(builder.gep(tab, [j])), ir.Constant(I32, i))
                j1 = builder.add(j, ir.Constant(ir.IntType(64), 1))
                head = builder.insert_element(head, builder.load(builder.gep(tab, [j1])), ir.Constant(I32, i))
            scale = builder.bitcast(builder.add(head, builder.shl(k, splat(VI, 45))), VD)
            r2 = builder.fmul(r, r)
            p = fma_(fma_(r, splat(VD, C3), splat(VD, C2)), r2, builder.fadd(r, builder.bitcast(tail, VD)))
            tmp = fma_(builder.fmul(r2, r2), fma_(r, splat(VD, C5), splat(VD, C4)), p)
            e = builder.and_(builder.ashr(builder.bitcast(a, VI), splat(VI, 52)), splat(VI, 0x7FF))
            ex = builder.select(builder.icmp_signed("<", e, splat(VI, 0x3C9)), builder.fadd(splat(VD, 1.0), a),
                                fma_(scale, tmp, scale))
            y = builder.fdiv(splat(VD, 1.0), builder.fadd(splat(VD, 1.0), ex))
            rare = builder.icmp_signed(">", e, splat(VI, 0x407))
            builder.store(builder.select(rare, x, y), builder.bitcast(builder.gep(data(2), [args[3]]), VD.as_pointer()),
                          align=8)
            return builder.icmp_unsigned("!=", builder.bitcast(rare, ir.IntType(n)), ir.Constant(ir.IntType(n), 0))

        return sig, codegen

    return logistic


_logistic8 = logistic_lanes(8)
WIDE_OUTPUTS = 32  # nets with at least this many logistic output units compute them as vectors, where available


@njit(cache=True, inline="always", error_model="numpy")
def logistic_in_place(row, n):
    """row[:n] = 1 / (1 + exp(-row[:n])) with math.exp's bits where lanes_available(): 8 lanes at a time
    (logistic_lanes), the last n % 8 and any lane the library must take one by one. row: contiguous 1-d."""
    full = n - n % 8
    for k0 in range(0, full, 8):
        if _logistic8(row, k0, row, k0, TABLE):
            for k in range(k0, k0 + 8):
                if not abs(row[k]) < 512.0:  # a lane that kept its argument (a logistic value is in [0, 1])
                    row[k] = 1.0 / (1.0 + math.exp(-row[k]))
    for k in range(full, n):
        row[k] = 1.0 / (1.0 + math.exp(-row[k]))


_logistic4 = logistic_lanes(4)


@njit(cache=True, error_model="numpy")
def _logistic_lanes_array(x, out8, out4):
    """out8 = 1 / (1 + exp(-x)) by logistic_in_place; out4 the same by logistic_lanes(4), rare lanes by math.exp."""
    out8[:] = x
    logistic_in_place(out8, out8.shape[0])
    n = x.shape[0] - x.shape[0] % 4
    for i in range(0, n, 4):
        if _logistic4(x, i, out4, i, TABLE):
            for j in range(i, i + 4):
                out4[j] = 1.0 / (1.0 + math.exp(-x[j]))
    for j in range(n, x.shape[0]):
        out4[j] = 1.0 / (1.0 + math.exp(-x[j]))


@njit(cache=True, error_model="numpy")
def _logistic_libm_array(x, out):
    for i in range(x.shape[0]):
        out[i] = 1.0 / (1.0 + math.exp(-x[i]))


@lru_cache(maxsize=1)
def lanes_available() -> bool:
    """True if logistic_lanes (8 and 4 lanes) and logistic_in_place compile here and give the bits of
    1 / (1 + math.exp(-x)) on every probe value."""
    x = probe_values()
    try:
        lanes8, lanes4, libm = np.empty_like(x), np.empty_like(x), np.empty_like(x)
        _logistic_lanes_array(x, lanes8, lanes4)
    except Exception:  # an llvmlite or numba that cannot build the vector code: the scalar forms
        return False
    _logistic_libm_array(x, libm)
    return all(np.array_equal(lanes.view(np.int64), libm.view(np.int64)) for lanes in (lanes8, lanes4))


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
