"""Experiment 4 (Section 5.4, adding) and Experiment 5 (Section 5.5, multiplication): docs/paper.md, Exps 4-5.

Each element is a pair (value, marker): unit 0 = value, unit 1 = marker; lengths uniform in T .. T + T//10.
Two pairs are marked (1.0): one among the first ten pairs, one among the first T//2 - 1 still-unmarked pairs
(0-based steps); the first and final pair have marker -1.0 unless marked. X1, X2 are the marked values in
sequence order; a marked step 0 sets X1 := 0 (adding) / 1.0 (multiplication), its marker stays 1.0. Target at
the last step only: 0.5 + (X1 + X2)/4 or X1 * X2. `info["marked"]` (n, 2): the marked 0-based steps, sorted.
"""

from __future__ import annotations

import numpy as np

from cerepro.generators.base import Batch, end_batch


def sample_lengths(rng: np.random.Generator, n: int, T: int) -> np.ndarray:
    """(n,) int64 lengths uniform over T .. T + T//10 inclusive."""
    return rng.integers(T, T + T // 10 + 1, size=n).astype(np.int64)


def sample_marks(rng: np.random.Generator, n: int, T: int) -> np.ndarray:
    """(n, 2) int64 sorted 0-based marked steps: one in 0..9, one in 0..T//2-1 minus the first."""
    if T // 2 < 10:
        raise ValueError("T must be at least 20")
    first = rng.integers(0, 10, size=n)  # (n,) among the first ten pairs
    j = rng.integers(0, T // 2 - 1, size=n)  # (n,) index among the first T//2 - 1 unmarked pairs
    second = j + (j >= first)  # skip the already-marked step
    return np.sort(np.stack([first, second], axis=1), axis=1).astype(np.int64)


def marker_line(marked: np.ndarray, lengths: np.ndarray, Tmax: int) -> np.ndarray:
    """(n, Tmax) markers: 1.0 at the marked steps, -1.0 at the first and last step otherwise, 0 elsewhere."""
    n = lengths.shape[0]
    rows = np.arange(n)
    m = np.zeros((n, Tmax))
    m[:, 0] = -1.0
    m[rows, lengths - 1] = -1.0
    m[rows, marked[:, 0]] = 1.0
    m[rows, marked[:, 1]] = 1.0
    return m


def _generate(rng: np.random.Generator, n: int, T: int, low: float, first_value: float, problem: str) -> Batch:
    lengths = sample_lengths(rng, n, T)  # (n,)
    Tmax = int(lengths.max())
    values = rng.uniform(low, 1.0, size=(n, Tmax))  # (n, Tmax)
    marked = sample_marks(rng, n, T)  # (n, 2) sorted
    rows = np.arange(n)
    values[marked[:, 0] == 0, 0] = first_value  # first pair marked -> X1 := 0 (adding) / 1 (multiplication)
    x1 = values[rows, marked[:, 0]]  # (n,)
    x2 = values[rows, marked[:, 1]]  # (n,)
    target = 0.5 + (x1 + x2) / 4.0 if problem == "adding" else x1 * x2  # (n,)
    return pair_batch(values, marked, lengths, target, {"X1": x1, "X2": x2})


def pair_batch(values: np.ndarray, marked: np.ndarray, lengths: np.ndarray, target: np.ndarray, info: dict) -> Batch:
    """A Batch of (value, marker) pairs: the values (n, Tmax) zero-padded past each length, the marker line of the
    marked steps (n, 2), the target (n,) at the last step; info["marked"], the extras, info["target"]."""
    Tmax = values.shape[1]
    values[np.arange(Tmax)[None, :] >= lengths[:, None]] = 0.0  # zero padding
    inputs = np.stack([values, marker_line(marked, lengths, Tmax)], axis=2)  # (n, Tmax, 2): (value, marker)
    return end_batch(target[:, None], lengths, Tmax, inputs=inputs, n_in=2, info={"marked": marked, **info, "target": target})


def generate_adding(rng: np.random.Generator, n: int, T: int = 100) -> Batch:
    """Experiment 4: n adding-problem sequences, target 0.5 + (X1 + X2)/4 at the last step."""
    return _generate(rng, n, T, low=-1.0, first_value=0.0, problem="adding")


def generate_multiplication(rng: np.random.Generator, n: int, T: int = 100) -> Batch:
    """Experiment 5: n multiplication-problem sequences, target X1 * X2 at the last step."""
    return _generate(rng, n, T, low=0.0, first_value=1.0, problem="multiplication")


def generate(rng: np.random.Generator, n: int, T: int = 100, problem: str = "adding") -> Batch:
    """Either problem by name: "adding" (Exp 4) or "multiplication" (Exp 5)."""
    if problem == "adding":
        return generate_adding(rng, n, T)
    if problem == "multiplication":
        return generate_multiplication(rng, n, T)
    raise ValueError(f"problem must be 'adding' or 'multiplication', not {problem!r}")
