"""Experiment 2 (Section 5.2): noise-free and noisy sequences with long time lags (tasks 2a, 2b, 2c).

Task 2a (noise-free). p+1 symbols a_1 .. a_{p-1}, a_p = x, a_{p+1} = y, one-hot over p+1 units in that order
(unit i-1 <-> a_i, unit p-1 <-> x, unit p <-> y). Only two sequences exist, each drawn with probability 0.5:
(y, a_1, ..., a_{p-1}, y) and (x, a_1, ..., a_{p-1}, x), length p+1. At step t the net sees element t and must
predict element t+1, so a Batch has p steps (inputs: elements 0..p-1, targets: elements 1..p), with a target
at every step; the final prediction (step p-1) is the one that needs the p-step memory.

Task 2b (no local regularities). As 2a, but the middle part is a random sequence i_1 .. i_{p-1}, each element
drawn uniformly and independently from {a_1 .. a_{p-1}} (with replacement; our reading of "random
subsequence"). Targets are still given at every step (the paper: "every next element must be predicted"),
but only the last is predictable, so `info["final_mask"]`/`info["final_step"]` mark it for protocols that
score only the sequence end.

Task 2c (very long lags). p+4 symbols, input units ordered a_1 .. a_p (distractors, units 0..p-1),
e (trigger, unit p), b (unit p+1), x (unit p+2), y (unit p+3). Generation follows the paper's PROCEDURE
(SPEC section 3; the printed subscript bound q and the expected-length formula are misprints):
  1. prefix of length q+2: b, then x or y (probability 0.5 each), then q distractors;
  2. each further element is a distractor with probability 9/10, or e with probability 1/10 (then stop);
  3. after e comes the same x or y as the second element.
Distractors are uniform over a_1 .. a_p, independently, with replacement. So k, the number of extra
distractors, is geometric: P(k) = 0.1 * 0.9^k, k >= 0 (mean 9, expected full length q+13). The full sequence
has q+k+4 elements; the Batch holds the q+k+3 inputs (b .. e), and the only target is given at the last
step (where e is input): 2 outputs, unit 0 = x, unit 1 = y, one-hot. p and q are independent parameters.
"""

from __future__ import annotations

import numpy as np

from cerepro.tasks.base import Batch

EXTRA_2C = ("e", "b", "x", "y")  # units p .. p+3 of task 2c, after the p distractors


def unit_names_2ab(p: int) -> tuple[str, ...]:
    """Names of the p+1 input/output units of tasks 2a/2b: a1 .. a{p-1}, x, y."""
    return tuple(f"a{i}" for i in range(1, p)) + ("x", "y")


def unit_names_2c(p: int) -> tuple[str, ...]:
    """Names of the p+4 input units of task 2c: a1 .. a{p}, e, b, x, y."""
    return tuple(f"a{i}" for i in range(1, p + 1)) + EXTRA_2C


def _encode_2ab(first: np.ndarray, middle: np.ndarray, p: int) -> Batch:
    """Sequences (first, middle..., first) -> next-symbol-prediction Batch with a target at every step."""
    n = first.shape[0]
    seq = np.concatenate([first[:, None], middle, first[:, None]], axis=1)  # (n, p+1) unit indices
    steps = np.arange(p)
    targets = np.zeros((n, p, p + 1))  # (n, p, p+1) one-hot next symbol
    targets[np.arange(n)[:, None], steps[None, :], seq[:, 1:]] = 1.0
    final_mask = np.zeros((n, p), dtype=bool)  # (n, p): only the step predicting the last element
    final_mask[:, p - 1] = True
    return Batch(
        input_index=seq[:, :-1].copy(),  # (n, p)
        inputs=None,
        targets=targets,
        target_mask=np.ones((n, p), dtype=bool),  # (n, p): a target at every step
        lengths=np.full(n, p, dtype=np.int64),  # (n,)
        n_in=p + 1,
        symbols=None,  # use unit_names_2ab(p) to render
        info={
            "first": first.copy(),  # (n,) unit of the first (and last) element: p-1 = x, p = y
            "final_step": np.full(n, p - 1, dtype=np.int64),  # (n,) step whose target is the last element
            "final_mask": final_mask,  # (n, p) bool
        },
    )


def generate_2a(rng: np.random.Generator, n: int, p: int = 100) -> Batch:
    """Task 2a: n sequences, each (y, a_1..a_{p-1}, y) or (x, a_1..a_{p-1}, x) with probability 0.5."""
    if p < 2:
        raise ValueError("p must be at least 2")
    first = (p - 1) + rng.integers(0, 2, size=n)  # (n,) x = unit p-1, y = unit p
    middle = np.broadcast_to(np.arange(p - 1, dtype=np.int64), (n, p - 1))  # (n, p-1) a_1 .. a_{p-1}
    return _encode_2ab(first.astype(np.int64), middle, p)


def generate_2b(rng: np.random.Generator, n: int, p: int = 100) -> Batch:
    """Task 2b: as 2a but the middle p-1 elements are drawn uniformly from a_1..a_{p-1}."""
    if p < 2:
        raise ValueError("p must be at least 2")
    first = (p - 1) + rng.integers(0, 2, size=n)  # (n,)
    middle = rng.integers(0, p - 1, size=(n, p - 1))  # (n, p-1) i.i.d. uniform over a_1 .. a_{p-1}
    return _encode_2ab(first.astype(np.int64), middle.astype(np.int64), p)


def generate_2c(rng: np.random.Generator, n: int, p: int = 100, q: int = 100, p_trigger: float = 0.1) -> Batch:
    """Task 2c: n sequences (b, x|y, q+k distractors, e) with the target x|y at the step where e is input."""
    if p < 1 or q < 0:
        raise ValueError("need p >= 1 and q >= 0")
    e, b, x = p, p + 1, p + 2
    label = rng.integers(0, 2, size=n)  # (n,) 0 = x, 1 = y (also the output unit)
    k = rng.geometric(p_trigger, size=n) - 1  # (n,) extra distractors before e; P(k) = 0.1 * 0.9^k
    lengths = (q + k + 3).astype(np.int64)  # (n,) inputs b, x|y, q+k distractors, e
    T = int(lengths.max())
    steps = np.arange(T)[None, :]  # (1, T)
    idx = rng.integers(0, p, size=(n, T))  # (n, T) distractor candidates
    idx[:, 0] = b
    idx[:, 1] = x + label
    last = lengths[:, None] - 1  # (n, 1) step where e is input
    idx = np.where(steps == last, e, idx)
    idx = np.where(steps > last, -1, idx).astype(np.int64)  # -1 past the end
    rows = np.arange(n)
    targets = np.zeros((n, T, 2))  # (n, T, 2) outputs (x, y)
    targets[rows, lengths - 1, label] = 1.0
    mask = np.zeros((n, T), dtype=bool)  # (n, T): only at the step where e is input
    mask[rows, lengths - 1] = True
    return Batch(
        input_index=idx,
        inputs=None,
        targets=targets,
        target_mask=mask,
        lengths=lengths,
        n_in=p + 4,
        symbols=None,  # use unit_names_2c(p) to render
        info={"label": label.astype(np.int64), "k": k.astype(np.int64), "final_step": lengths - 1},
    )
