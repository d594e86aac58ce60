"""Experiment 2 (Section 5.2): long time lags, tasks 2a, 2b and 2c (docs/paper.md, Exp 2).

2a: p+1 one-hot symbols a_1 .. a_{p-1}, x (unit p-1), y (unit p); the two sequences (y, a_1..a_{p-1}, y) and
(x, a_1..a_{p-1}, x), each with probability 0.5; next-symbol prediction with a target at every one of the p
steps. 2b: the middle drawn uniformly from a_1..a_{p-1}; `info["final_step"]` marks the one predictable step.
2c: p+4 units a_1..a_p, e, b, x, y; b, x|y, q distractors, then each further element a distractor with
probability 9/10 or the trigger e (then stop); the only target (x or y, 2 output units) is given where e is
input. The paper's procedure is followed, not its misprinted length formula (docs/paper.md, errata).
"""

from __future__ import annotations

import numpy as np

from cerepro.generators.base import Batch, end_batch

EXTRA_2C = ("e", "b", "x", "y")  # units p .. p+3 of task 2c, after the p distractors


def unit_names_2ab(p: int) -> tuple[str, ...]:
    """Names of the p+1 input/output units of tasks 2a/2b: a1 .. a{p-1}, x, y."""
    return tuple(f"a{i}" for i in range(1, p)) + ("x", "y")


def unit_names_2c(p: int) -> tuple[str, ...]:
    """Names of the p+4 input units of task 2c: a1 .. a{p}, e, b, x, y."""
    return tuple(f"a{i}" for i in range(1, p + 1)) + EXTRA_2C


def draw_2ab(rng: np.random.Generator, n: int, p: int, random_middle: bool) -> np.ndarray:
    """Tasks 2a/2b's random part: (n, p+1) int64 unit indices of the sequences (first, middle..., first); the
    first element x (unit p-1) or y (unit p) with probability 0.5, the middle a_1..a_{p-1} (2a) or drawn
    uniformly from them (2b, `random_middle`)."""
    if p < 2:
        raise ValueError("p must be at least 2")
    first = ((p - 1) + rng.integers(0, 2, size=n)).astype(np.int64)  # (n,) x = unit p-1, y = unit p
    if random_middle:
        middle = rng.integers(0, p - 1, size=(n, p - 1)).astype(np.int64)  # (n, p-1) i.i.d. over a_1 .. a_{p-1}
    else:
        middle = np.broadcast_to(np.arange(p - 1, dtype=np.int64), (n, p - 1))  # (n, p-1) a_1 .. a_{p-1}
    return np.concatenate([first[:, None], middle, first[:, None]], axis=1)


def _encode_2ab(seq: np.ndarray) -> Batch:
    """Sequences (n, p+1) of unit indices (draw_2ab) -> next-symbol-prediction Batch with a target at every step."""
    n, p = seq.shape[0], seq.shape[1] - 1
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
            "first": seq[:, 0].copy(),  # (n,) unit of the first (and last) element: p-1 = x, p = y
            "final_step": np.full(n, p - 1, dtype=np.int64),  # (n,) step whose target is the last element
            "final_mask": final_mask,  # (n, p) bool
        },
    )


def generate_2a(rng: np.random.Generator, n: int, p: int = 100) -> Batch:
    """Task 2a: n sequences, each (y, a_1..a_{p-1}, y) or (x, a_1..a_{p-1}, x) with probability 0.5."""
    return _encode_2ab(draw_2ab(rng, n, p, random_middle=False))


def generate_2b(rng: np.random.Generator, n: int, p: int = 100) -> Batch:
    """Task 2b: as 2a but the middle p-1 elements are drawn uniformly from a_1..a_{p-1}."""
    return _encode_2ab(draw_2ab(rng, n, p, random_middle=True))


def draw_2c(rng: np.random.Generator, n: int, p: int = 100, q: int = 100, p_trigger: float = 0.1,
            pad: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Task 2c's random part: (input units (n, T) with e at the last step and -1 past the end, label (n,), k (n,),
    lengths (n,)); without `pad`, the inputs lack e and the -1s (the caller writes them: protocols/longlag/source.py).

    generate_2c wraps it into a Batch with dense targets."""
    if p < 1 or q < 0:
        raise ValueError("need p >= 1 and q >= 0")
    e, b, x = p, p + 1, p + 2
    label = rng.integers(0, 2, size=n)  # (n,) 0 = x, 1 = y (also the output unit)
    k = rng.geometric(p_trigger, size=n) - 1  # (n,) extra distractors before e; P(k) = 0.1 * 0.9^k
    lengths = (q + k + 3).astype(np.int64)  # (n,) inputs b, x|y, q+k distractors, e
    T = int(lengths.max())
    idx = rng.integers(0, p, size=(n, T))  # (n, T) distractor candidates
    idx[:, 0] = b
    idx[:, 1] = x + label
    if pad:
        idx[np.arange(n), lengths - 1] = e  # the step where e is input
        idx[np.arange(T)[None, :] >= lengths[:, None]] = -1  # -1 past the end
    return idx, label, k, lengths


def generate_2c(rng: np.random.Generator, n: int, p: int = 100, q: int = 100, p_trigger: float = 0.1) -> Batch:
    """Task 2c: n sequences (b, x|y, q+k distractors, e) with the target x|y at the step where e is input."""
    idx, label, k, lengths = draw_2c(rng, n, p, q, p_trigger)
    return end_batch(np.eye(2)[label], lengths, idx.shape[1], input_index=idx, n_in=p + 4,  # outputs (x, y) where e is input
                     info={"label": label.astype(np.int64), "k": k.astype(np.int64), "final_step": lengths - 1})
