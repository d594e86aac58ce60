"""Experiment 6 (Section 5.6): temporal order, tasks 6a (two relevant symbols) and 6b (three); docs/paper.md.

One-hot inputs over E, B, a, b, c, d, X, Y (unit k <-> UNITS[k]). A sequence of length 100..110 starts with E
and ends with the trigger B; positions t1, t2 (, t3) hold X or Y (probability 0.5 each), all others a..d.
Positions are 1-based with inclusive ranges: 6a t1 in [10, 20], t2 in [50, 60]; 6b t1 in [10, 20], t2 in
[33, 43], t3 in [66, 76]. The class is the X/Y pattern read as a binary number (X = 0, first symbol most
significant), which is the paper's listing order Q, R, S, U (, V, A, B, C); one-hot target at the last step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cerepro.generators.base import Batch, end_batch

UNITS = "EBabcdXY"  # unit k <-> UNITS[k]
INDEX = {c: k for k, c in enumerate(UNITS)}
WINDOWS_6A = ((10, 20), (50, 60))  # 1-based inclusive ranges of t1, t2
WINDOWS_6B = ((10, 20), (33, 43), (66, 76))
CLASS_NAMES = {2: "QRSU", 3: "QRSUVABC"}  # class index -> paper name, by number of relevant symbols
_UNIT_BYTES = np.frombuffer(UNITS.encode("ascii"), dtype=np.uint8)  # unit k -> its character's byte


def generate(
    rng: np.random.Generator,
    n: int,
    windows: tuple[tuple[int, int], ...] = WINDOWS_6A,
    length: tuple[int, int] = (100, 110),
) -> Batch:
    """n temporal-order sequences; relevant positions drawn from the 1-based inclusive `windows`."""
    k = len(windows)
    lo_len, hi_len = length
    bounds = [w for pair in windows for w in pair]
    if k < 1 or any(a > b for a, b in windows) or min(bounds) < 2 or max(bounds) > lo_len - 1:
        raise ValueError("windows must lie strictly between the first and the last position")
    if any(windows[i][1] >= windows[i + 1][0] for i in range(k - 1)):
        raise ValueError("windows must be ordered and disjoint")
    lengths = rng.integers(lo_len, hi_len + 1, size=n).astype(np.int64)  # (n,)
    T = int(lengths.max())
    rows = np.arange(n)
    idx = rng.integers(INDEX["a"], INDEX["d"] + 1, size=(n, T))  # (n, T) random a..d
    idx[:, 0] = INDEX["E"]
    idx[rows, lengths - 1] = INDEX["B"]
    positions = np.stack([rng.integers(a, b + 1, size=n) - 1 for a, b in windows], axis=1)  # (n, k) 0-based
    bits = rng.integers(0, 2, size=(n, k))  # (n, k) 0 = X, 1 = Y
    idx[rows[:, None], positions] = INDEX["X"] + bits
    idx[np.arange(T)[None, :] >= lengths[:, None]] = -1  # padding
    idx = idx.astype(np.int64)
    classes = (bits * (1 << np.arange(k - 1, -1, -1))).sum(axis=1).astype(np.int64)  # (n,) binary, X=0 Y=1
    return end_batch(np.eye(1 << k)[classes], lengths, T, input_index=idx, n_in=len(UNITS),  # one-hot class (2**k) at the end
                     symbols=Texts(idx, lengths),
                     info={"classes": classes, "positions": positions.astype(np.int64), "class_names": CLASS_NAMES.get(k)})


class Texts(Sequence):
    """The sequences as strings, each decoded when it is read (the trial loops read none of them)."""

    def __init__(self, idx: np.ndarray, lengths: np.ndarray):
        self.idx, self.lengths = idx, lengths

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        i = range(len(self))[i]  # negative indices; IndexError past the end
        return _UNIT_BYTES[self.idx[i, : self.lengths[i]]].tobytes().decode("ascii")

    def __eq__(self, other) -> bool:  # as the tuple of strings it stands for
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None


def generate_6a(rng: np.random.Generator, n: int) -> Batch:
    """Task 6a: two relevant symbols, 4 classes."""
    return generate(rng, n, windows=WINDOWS_6A)


def generate_6b(rng: np.random.Generator, n: int) -> Batch:
    """Task 6b: three relevant symbols, 8 classes."""
    return generate(rng, n, windows=WINDOWS_6B)
