"""Speed of the model kernels, measured against the plain-numpy reference in the same run.

Time-steps per second of online training (forward, traces, weight update at every target step), on one
core, for the nets of the paper: the Reber nets of Table 1 (264 and 276 weights, a target at every step)
and the adding net of Table 7 (93 weights, T = 100, a target at the sequence end only).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cerepro.models import lstm97, lstm97_reference
from cerepro.models.lstm97_kernel import make_spec, make_workspace, train_pool
from cerepro.tasks import reber
from cerepro.tasks.base import Batch, dense_inputs


@dataclass(frozen=True)
class BenchCase:
    name: str
    arch: lstm97.LSTMArch
    make_batch: Callable[[np.random.Generator, int], Batch]
    lr: float


def _adding_like(rng: np.random.Generator, n: int, T: int = 100) -> Batch:
    """Adding-problem-shaped data (2 real inputs, target at the end) for timing only."""
    x = np.zeros((n, T, 2))
    x[:, :, 0] = rng.uniform(-1, 1, (n, T))
    x[:, [0, -1], 1] = -1.0
    mask = np.zeros((n, T), dtype=bool)
    mask[:, -1] = True
    return Batch(None, x, rng.uniform(0, 1, (n, T, 1)), mask, np.full(n, T, dtype=np.int64), 2)


CASES = (
    BenchCase("reber-4x1 (264 w)", lstm97.LSTMArch(7, 7, 4, 1), lambda rng, n: reber.generate(rng, n), 0.1),
    BenchCase("reber-3x2 (276 w)", lstm97.LSTMArch(7, 7, 3, 2), lambda rng, n: reber.generate(rng, n), 0.1),
    BenchCase("adding T=100 (93 w)", lstm97.LSTMArch(2, 1, 2, 2, bias="all"), _adding_like, 0.5),
)


def _kernel_rate(case: BenchCase, batch: Batch, repeats: int) -> float:
    rng = np.random.default_rng(0)
    params, masks = lstm97.init(rng, case.arch, lstm97.LSTMInit(0.1)), lstm97.masks(case.arch)
    spec, ws = make_spec(case.arch), make_workspace(case.arch)
    one_hot = batch.inputs is None
    x_index = batch.input_index if one_hot else np.zeros(batch.target_mask.shape, dtype=np.int64)
    x_dense = np.zeros(batch.target_mask.shape + (0,)) if one_hot else batch.inputs
    order = np.arange(batch.n, dtype=np.int64)
    sse, out_y = np.zeros(batch.n), np.zeros((batch.target_mask.shape[1], case.arch.n_out))
    args = (params["W_hid"], params["W_out"], masks["W_hid"], masks["W_out"], spec, ws, x_index, x_dense,
            batch.targets, batch.target_mask, batch.lengths)
    train_pool(*args, order[:2], case.lr, sse, out_y)  # compile (or load from cache) outside the timing
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        train_pool(*args, order, case.lr, sse, out_y)
        best = max(best, batch.lengths.sum() / (time.perf_counter() - t0))
    return best


def _reference_rate(case: BenchCase, batch: Batch) -> float:
    rng = np.random.default_rng(0)
    params, masks = lstm97.init(rng, case.arch, lstm97.LSTMInit(0.1)), lstm97.masks(case.arch)
    x = dense_inputs(batch)
    t0 = time.perf_counter()
    for n in range(batch.n):
        L = batch.lengths[n]
        lstm97_reference.run_sequence(params, masks, case.arch, x[n, :L], batch.targets[n, :L], batch.target_mask[n, :L], case.lr)
    return batch.lengths.sum() / (time.perf_counter() - t0)


def run(kernel_steps: int = 2_000_000, reference_steps: int = 20_000) -> list[dict[str, float | str]]:
    """One record per case: kernel and reference time-steps per second and their ratio."""
    out = []
    for case in CASES:
        rng = np.random.default_rng(1)
        probe = case.make_batch(rng, 50)
        per_seq = probe.lengths.mean()
        big = case.make_batch(rng, max(1, int(kernel_steps / per_seq)))
        small = case.make_batch(rng, max(1, int(reference_steps / per_seq)))
        k, r = _kernel_rate(case, big, repeats=3), _reference_rate(case, small)
        out.append({"case": case.name, "weights": lstm97.n_weights(case.arch), "kernel_steps_per_s": k,
                    "reference_steps_per_s": r, "speedup": k / r})
    return out
