"""Experiment 4 (Section 5.4, adding) and Experiment 5 (Section 5.5, multiplication).

Each sequence element is a pair (value, marker): input unit 0 = value, unit 1 = marker. The length L is
uniform over the integers T .. T + floor(T/10), inclusive. Values are uniform in [-1, 1] (adding) or [0, 1]
(multiplication), drawn for every pair. Exactly two pairs are marked (marker 1.0):
  * one chosen uniformly among the first ten pairs (paper positions 1..10; 0-based steps 0..9);
  * one chosen uniformly among the first floor(T/2) - 1 pairs that are still unmarked, i.e. among paper
    positions 1 .. T/2 minus the first choice (0-based steps 0 .. T//2 - 1 minus the first choice). This is
    the literal reading: the set always has exactly T/2 - 1 elements, and the minimal lag is L - T/2 >= T/2.
All other pairs have marker 0.0, except the first and the final pair, which have marker -1.0 (the first pair
keeps marker 1.0 if it is marked; the final pair can never be marked since T/2 < T).

Notation: X1 and X2 are the values of the two marked pairs IN SEQUENCE ORDER (X1 the earlier). The paper's
"if the first pair is marked, X1 is set to 0" (adding) / "X1 = 1.0" (multiplication) then applies exactly when
step 0 is marked, whichever of the two draws marked it; only the value component is changed, the marker stays
1.0. Since both targets are symmetric in X1, X2, sequence order vs draw order matters for nothing else.
Targets, given only at the last step (step L-1, when the final pair is input): adding 0.5 + (X1 + X2)/4,
multiplication X1 * X2. `info["marked"]` (n, 2) holds the two marked 0-based steps, sorted.
"""

from __future__ import annotations

import numpy as np

from cerepro.tasks.base import Batch


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
    values[np.arange(Tmax)[None, :] >= lengths[:, None]] = 0.0  # zero padding
    markers = marker_line(marked, lengths, Tmax)  # (n, Tmax)
    x1 = values[rows, marked[:, 0]]  # (n,)
    x2 = values[rows, marked[:, 1]]  # (n,)
    target = 0.5 + (x1 + x2) / 4.0 if problem == "adding" else x1 * x2  # (n,)
    targets = np.zeros((n, Tmax, 1))  # (n, Tmax, 1)
    targets[rows, lengths - 1, 0] = target
    mask = np.zeros((n, Tmax), dtype=bool)  # (n, Tmax): last step only
    mask[rows, lengths - 1] = True
    return Batch(
        input_index=None,
        inputs=np.stack([values, markers], axis=2),  # (n, Tmax, 2): (value, marker)
        targets=targets,
        target_mask=mask,
        lengths=lengths,
        n_in=2,
        info={"marked": marked, "X1": x1, "X2": x2, "target": target},
    )


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
