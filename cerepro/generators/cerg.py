"""Continual embedded Reber grammar (CERG; Gers, Schmidhuber & Cummins 2000, Section 4; SPEC section 9).

A stream is the concatenation of `n_strings` embedded Reber strings (cerepro.tasks.reber, Exp 1), with no
separator and no reset in between: ... T E B P B T ... At step t the net sees stream symbol t and must predict
symbol t+1, at every step, including across string boundaries. A stream of total length S gives S-1 steps.

Legal successor sets: inside each string they are reber.legal_successors. After the final E of a string that
is not the last of the stream, the next symbol is always the B of the next string, so the legal set there is
{B} (the stream is a sequence of whole strings; our choice, since a continual stream has no end). The final E
of the last string is never an input, so the stream's last step predicts that E.

Targets: "one-hot" (the actual next symbol; default) or "legal" (multi-hot legal set), as in reber.encode.
`info["legal"]` (n, T, 7) bool always holds the legal sets; `info["boundaries"]` (n, n_strings) int64 the
0-based stream step at which each string's initial B is the input (string j occupies steps
boundaries[j] .. boundaries[j+1]-1). `symbols` are the whole streams as strings.
"""

from __future__ import annotations

import numpy as np

from cerepro.tasks.base import Batch, pad
from cerepro.tasks.reber import ALPHABET, INDEX, TARGET_CODINGS, embedded_reber_string, legal_successors

_K = len(ALPHABET)


def _set_row(symbols: str) -> np.ndarray:
    """(7,) bool row with the units of `symbols` set."""
    row = np.zeros(_K, dtype=bool)
    row[[INDEX[c] for c in symbols]] = True
    return row


def stream_legal(strings: list[str]) -> list[str]:
    """Legal successor sets for each step of the concatenation of `strings` (length: total symbols - 1)."""
    sets: list[str] = []
    for j, s in enumerate(strings):
        sets.extend(legal_successors(s))
        if j < len(strings) - 1:
            sets.append("B")  # after a string's final E comes the next string's B
    return sets


def encode_streams(streams: list[list[str]], targets: str = "one-hot") -> Batch:
    """Turn lists of embedded Reber strings (one list per stream) into a next-symbol-prediction Batch."""
    if targets not in TARGET_CODINGS:
        raise ValueError(f"targets must be one of {TARGET_CODINGS}, not {targets!r}")
    idx, tgt, legal, starts, texts = [], [], [], [], []
    rows: dict[str, np.ndarray] = {}  # legal-set string -> (7,) bool row, local to this call
    for strings in streams:
        text = "".join(strings)
        codes = np.fromiter((INDEX[c] for c in text), dtype=np.int64, count=len(text))  # (S,)
        L = len(text) - 1
        sets = stream_legal(strings)
        lg = np.stack([rows[s] if s in rows else rows.setdefault(s, _set_row(s)) for s in sets])  # (L, 7) bool
        if targets == "one-hot":
            t = np.zeros((L, _K))  # (L, 7)
            t[np.arange(L), codes[1:]] = 1.0
        else:
            t = lg.astype(np.float64)
        idx.append(codes[:-1])
        tgt.append(t)
        legal.append(lg)
        starts.append(np.cumsum([0] + [len(s) for s in strings[:-1]]).astype(np.int64))
        texts.append(text)
    input_index = pad(idx, fill=-1)  # (n, T)
    return Batch(
        input_index=input_index,
        inputs=None,
        targets=pad(tgt),  # (n, T, 7)
        target_mask=input_index >= 0,  # (n, T): a target at every step
        lengths=np.array([len(x) - 1 for x in texts], dtype=np.int64),  # (n,)
        n_in=_K,
        symbols=tuple(texts),
        info={"legal": pad(legal, fill=False), "boundaries": np.stack(starts)},  # (n, T, 7), (n, n_strings)
    )


def generate(rng: np.random.Generator, n: int, n_strings: int = 100, targets: str = "one-hot") -> Batch:
    """n streams, each the concatenation of n_strings random embedded Reber strings."""
    if n_strings < 1:
        raise ValueError("n_strings must be at least 1")
    streams = [[embedded_reber_string(rng) for _ in range(n_strings)] for _ in range(n)]
    return encode_streams(streams, targets=targets)
