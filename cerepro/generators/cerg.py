"""Continual embedded Reber grammar (CERG; Gers, Schmidhuber & Cummins 2000; docs/paper.md, CERG).

Embedded Reber strings (generators.reber) concatenated with no separator and no reset: ... T E B P B T ...
At step t the net sees symbol t and must predict symbol t+1, across string boundaries too (after a string's
final E the legal set is {B}). `walk` writes a stream symbol by symbol from random bits (one bit per choice
point), carrying its place in the grammar, so `Stream` can make a 10^6-symbol stream in pieces. The CERG
protocol runs `walk` compiled (protocols/cerg/kernel.py); `generate` (`cerepro sample cerg`) runs it as is.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cerepro.generators.base import Batch, pad
from cerepro.generators.reber import ALPHABET, INDEX, REBER_EDGES, TARGET_CODINGS

_B, _E, _T, _P = INDEX["B"], INDEX["E"], INDEX["T"], INDEX["P"]
FIRST_PIECE, MAX_PIECE = 64, 1 << 16  # symbols per piece: small first (most training streams end early), then doubling


class Grammar(NamedTuple):
    """REBER_EDGES as arrays for `walk` (inner automaton states 1..5; 6 = its end)."""

    symbol: np.ndarray  # (7, 2) int64: symbol emitted on edge `bit` out of a state
    next_state: np.ndarray  # (7, 2) int64
    follow: np.ndarray  # (7,) int64: bit mask of the symbols that may follow when the automaton is in a state


def grammar() -> Grammar:
    sym, nxt, follow = np.full((7, 2), -1, np.int64), np.full((7, 2), -1, np.int64), np.zeros(7, np.int64)
    for state, edges in REBER_EDGES.items():
        for bit, (symbol, target) in enumerate(edges):
            sym[state, bit], nxt[state, bit] = INDEX[symbol], target
        follow[state] = (1 << sym[state, 0]) | (1 << sym[state, 1])
    follow[6] = 1 << _E
    return Grammar(sym, nxt, follow)


def walk(wst, bits, g, codes, legal, starts, offset, n):
    """Write n stream symbols at codes[offset:offset+n]; legal[i] = bit mask of the symbols that may follow
    codes[i]; starts[i] = codes[i] is the first B of an embedded string. Uses at most n bits; returns how many.

    wst (3,) int64 carries [phase, inner state, branch symbol]; all zeros = at the start of a string.
    Phases: 0 outer B, 1 branch T/P, 2 inner B, 3 inner Reber symbols, 4 inner E, 5 branch again, 6 outer E.
    """
    b = 0
    for i in range(offset, offset + n):
        phase = wst[0]
        starts[i] = phase == 0
        if phase == 0:
            codes[i], legal[i], wst[0] = _B, (1 << _T) | (1 << _P), 1
        elif phase == 1:
            wst[2] = _T if bits[b] == 0 else _P
            b += 1
            codes[i], legal[i], wst[0] = wst[2], 1 << _B, 2
        elif phase == 2:
            wst[1] = 1
            codes[i], legal[i], wst[0] = _B, g.follow[1], 3
        elif phase == 3:
            state = wst[1]
            codes[i] = g.symbol[state, bits[b]]
            wst[1] = g.next_state[state, bits[b]]
            b += 1
            legal[i] = g.follow[wst[1]]
            if wst[1] == 6:
                wst[0] = 4
        elif phase == 4:
            codes[i], legal[i], wst[0] = _E, 1 << wst[2], 5
        elif phase == 5:
            codes[i], legal[i], wst[0] = wst[2], 1 << _E, 6
        else:
            codes[i], legal[i], wst[0] = _E, 1 << _B, 0
    return b


class Stream:
    """A continual stream drawn from `rng` piece by piece: symbol 0 of a piece is the last symbol of the one before."""

    def __init__(self, rng: np.random.Generator, walker=walk):
        self.rng, self.walk, self.g = rng, walker, grammar()
        self.codes = np.zeros(MAX_PIECE + 1, dtype=np.int64)  # (piece + 1,) symbols
        self.legal = np.zeros(MAX_PIECE + 1, dtype=np.int64)  # bit masks of the legal successors
        self.starts = np.zeros(MAX_PIECE + 1, dtype=np.bool_)  # first B of an embedded string
        self.wst = np.zeros(3, dtype=np.int64)

    def begin(self) -> None:
        """A new stream: its first symbol (a string's B) at slot 0."""
        self.wst[:] = 0
        self.walk(self.wst, self.rng.integers(0, 2, 1, dtype=np.int64), self.g, self.codes, self.legal, self.starts, 0, 1)

    def extend(self, n: int) -> None:
        """Symbols 1..n of the piece (n bits are drawn, the unused ones are dropped)."""
        bits = self.rng.integers(0, 2, n, dtype=np.int64)
        self.walk(self.wst, bits, self.g, self.codes, self.legal, self.starts, 1, n)

    def shift(self, n: int) -> None:
        """Symbol n becomes symbol 0 of the next piece."""
        self.codes[0], self.legal[0], self.starts[0] = self.codes[n], self.legal[n], self.starts[n]


def piece_sizes():
    """FIRST_PIECE, doubling up to MAX_PIECE, then MAX_PIECE for ever."""
    size = FIRST_PIECE
    while True:
        yield size
        size = min(2 * size, MAX_PIECE)


def generate(rng: np.random.Generator, n: int, n_strings: int = 100, targets: str = "one-hot") -> Batch:
    """n streams of n_strings whole embedded Reber strings each, by the CERG protocol's own pieces.

    `info["legal"]` (n, T, 7) bool holds the legal successor sets, `info["boundaries"]` (n, n_strings) the step
    at which each string's B is the input; targets "one-hot" (the next symbol) or "legal" (multi-hot)."""
    if n_strings < 1:
        raise ValueError("n_strings must be at least 1")
    if targets not in TARGET_CODINGS:
        raise ValueError(f"targets must be one of {TARGET_CODINGS}, not {targets!r}")
    idx, tgt, legal, bounds, texts = [], [], [], [], []
    units = np.arange(len(ALPHABET))
    for _ in range(n):
        stream = Stream(rng)
        stream.begin()
        codes, masks, starts = [stream.codes[:1].copy()], [stream.legal[:1].copy()], [stream.starts[:1].copy()]
        sizes = piece_sizes()
        while sum(int(s.sum()) for s in starts) <= n_strings:  # until the string after the last one has begun
            size = next(sizes)
            stream.extend(size)
            for out, arr in ((codes, stream.codes), (masks, stream.legal), (starts, stream.starts)):
                out.append(arr[1 : size + 1].copy())
            stream.shift(size)
        first = np.flatnonzero(np.concatenate(starts))  # (> n_strings,) steps where a string begins
        code = np.concatenate(codes)[: first[n_strings]]  # (S,) whole strings only
        lg = ((np.concatenate(masks)[: code.size - 1, None] >> units) & 1).astype(bool)  # (S - 1, 7)
        idx.append(code[:-1])
        tgt.append(lg.astype(np.float64) if targets == "legal" else (code[1:, None] == units).astype(np.float64))
        legal.append(lg)
        bounds.append(first[:n_strings])
        texts.append("".join(ALPHABET[c] for c in code))
    input_index = pad(idx, fill=-1)  # (n, T)
    return Batch(
        input_index=input_index,
        inputs=None,
        targets=pad(tgt),  # (n, T, 7)
        target_mask=input_index >= 0,  # (n, T): a target at every step
        lengths=np.array([len(x) - 1 for x in texts], dtype=np.int64),  # (n,)
        n_in=len(ALPHABET),
        symbols=tuple(texts),
        info={"legal": pad(legal, fill=False), "boundaries": np.stack(bounds).astype(np.int64)},  # (n, T, 7), (n, n_strings)
    )
