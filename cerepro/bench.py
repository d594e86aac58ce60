"""Speed of every model kernel, measured against its plain-numpy reference in the same run.

Time-steps per second of online training (forward pass, gradient, weight update) on one core, for the nets of
the paper: the Reber nets of Table 1 (a target at every step), the adding net of Table 7 (a target at the end
only), the 2c nets of Table 3 at p = 50 and 1000 (one-hot inputs: one weight column per step), the RTRL/BPTT
nets of Tables 1 and 2, the later variants, and the nets random weight guessing draws (forward only). Each
kernel runs for about `seconds` seconds (after compiling), its reference (the registry's) about a tenth of that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit

from cerepro import models
from cerepro.generators import longlag, reber, twoseq
from cerepro.generators.base import Batch, as_sequences, dense_inputs
from cerepro.protocols.common import BaseRow


@dataclass(frozen=True)
class BenchCase:
    name: str
    cfg: BaseRow
    make_batch: Callable[[np.random.Generator, int], Batch]


def _adding_like(rng: np.random.Generator, n: int, T: int = 100) -> Batch:
    """Adding-problem-shaped data (2 real inputs, target at the end) for timing only."""
    x = np.zeros((n, T, 2))
    x[:, :, 0] = rng.uniform(-1, 1, (n, T))
    x[:, [0, -1], 1] = -1.0
    mask = np.zeros((n, T), dtype=bool)
    mask[:, -1] = True
    return Batch(None, x, rng.uniform(0, 1, (n, T, 1)), mask, np.full(n, T, dtype=np.int64), 2)


def _reber(rng, n):
    return reber.generate(rng, n)


def _two_a(p):
    return lambda rng, n: longlag.generate_2a(rng, n, p=p)


def _two_c(p):
    return lambda rng, n: longlag.generate_2c(rng, n, p=p, q=p)


def _three_a(rng, n):
    return twoseq.generate(rng, n, T=100, N=1)


LSTM_REBER = dict(weight_range=0.2, bias="ga")
RTRL_T1 = dict(model="rtrl", bias="none", input_to_output=True, outputs_recurrent=True, weight_range=0.2)
RTRL_T2 = dict(bias="none", input_to_output=True, recurrent=False, hidden_units=1, weight_range=0.2)
LSTM_2A = dict(bias="none", recurrent=False, input_to_output=True, output_gate=False, g="g1", h="id", lr=1.0,
               weight_range=0.2)  # Table 2: 10,504 weights, 101 outputs (kernel.step_wide)
LSTM_2C = dict(blocks=2, block_size=1, bias="none", recurrent=True, lr=0.01, weight_range=0.2)  # Table 3: 6p+64 weights
GUESS_A1 = dict(model="guess", hidden_units=1, bias="b1", outputs_recurrent=True, input_to_output=True, weight_range=100.0)
CASES = (
    BenchCase("lstm97 reber 4x1", BaseRow(blocks=4, **LSTM_REBER), _reber),
    BenchCase("lstm97 reber 3x2", BaseRow(blocks=3, block_size=2, **LSTM_REBER), _reber),
    BenchCase("lstm97 adding T=100", BaseRow(blocks=2, block_size=2, bias="all", lr=0.5), _adding_like),
    BenchCase("lstm97 2a p=100", BaseRow(**LSTM_2A), _two_a(100)),
    BenchCase("lstm97 2c p=q=50", BaseRow(**LSTM_2C), _two_c(50)),
    BenchCase("lstm97 2c p=q=1000", BaseRow(**LSTM_2C), _two_c(1000)),
    BenchCase("lstm-full reber 3x2", BaseRow(model="lstm-full", blocks=3, block_size=2, **LSTM_REBER), _reber),
    BenchCase("lstm-forget reber 3x2", BaseRow(model="lstm-forget", blocks=3, block_size=2, **LSTM_REBER), _reber),
    BenchCase("rtrl reber 3 units", BaseRow(hidden_units=3, **RTRL_T1), _reber),
    BenchCase("rtrl reber 12 units", BaseRow(hidden_units=12, **RTRL_T1), _reber),
    BenchCase("elman reber 15 units", BaseRow(model="elman", hidden_units=15, bias="none", weight_range=0.2), _reber),
    BenchCase("rtrl 2a p=4", BaseRow(model="rtrl", **RTRL_T2), _two_a(4)),
    BenchCase("rtrl 2a p=100", BaseRow(model="rtrl", **RTRL_T2), _two_a(100)),
    BenchCase("bptt 2a p=100", BaseRow(model="bptt", update="sequence", **RTRL_T2), _two_a(100)),
    BenchCase("guess 3a T=100 A1 n=1", BaseRow(**GUESS_A1), _three_a),
    BenchCase("guess 2a p=100", BaseRow(model="guess", **{**RTRL_T2, "weight_range": 100.0}), _two_a(100)),
)


@njit
def train_loop(step, net, ws, seqs, lr, out_y):
    """Online training over a pool of sequences (generators.base.Sequences) with any model's step."""
    x_index, x_dense, targets, target_mask, lengths = seqs
    for n in range(lengths.shape[0]):
        step(net, ws, x_index[n], x_dense[n], targets[n], target_mask[n], lengths[n], lr, True, out_y)


def _kernel_rate(case: BenchCase, rng: np.random.Generator, seconds: float) -> float:
    n_in, n_out = _sizes(case)
    net, ws, step = models.get(case.cfg.model).build(np.random.default_rng(0), case.cfg, n_in, n_out)
    out_y = np.zeros((4096, n_out))
    train_loop(step, net, ws, as_sequences(case.make_batch(rng, 2)), case.cfg.lr, out_y)  # compile outside the timing
    n, best = 8, 0.0
    while True:
        batch = case.make_batch(rng, n)
        t0 = time.perf_counter()
        train_loop(step, net, ws, as_sequences(batch), case.cfg.lr, out_y)
        elapsed = time.perf_counter() - t0
        best = max(best, batch.lengths.sum() / elapsed)
        if elapsed > seconds or n > 1_000_000:
            return best
        n *= 4 if elapsed < seconds / 8 else 2


def _reference_rate(case: BenchCase, rng: np.random.Generator, seconds: float) -> float:
    n_in, n_out = _sizes(case)
    model = models.get(case.cfg.model)
    net = model.build(np.random.default_rng(0), case.cfg, n_in, n_out).net
    ref, arch = model.reference(), model.architecture(case.cfg, n_in, n_out)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        batch = case.make_batch(rng, 1)
        L = int(batch.lengths[0])
        ref.run_sequence(net, arch, dense_inputs(batch)[0, :L], batch.targets[0, :L], batch.target_mask[0, :L], case.cfg.lr)
        steps += L
    return steps / (time.perf_counter() - t0)


def _sizes(case: BenchCase) -> tuple[int, int]:
    probe = case.make_batch(np.random.default_rng(0), 1)
    return probe.n_in, probe.targets.shape[2]


def run(seconds: float = 1.0, only: str = "") -> list[dict[str, float | str]]:
    """One record per case: kernel and reference time-steps per second and their ratio."""
    out = []
    for case in CASES:
        if only and only not in case.name:
            continue
        rng = np.random.default_rng(1)
        n_in, n_out = _sizes(case)
        k = _kernel_rate(case, rng, seconds)
        r = _reference_rate(case, rng, seconds / 10)
        out.append({"case": case.name, "model": case.cfg.model,
                    "weights": models.get(case.cfg.model).n_weights(case.cfg, n_in, n_out),
                    "kernel_steps_per_s": k, "reference_steps_per_s": r, "speedup": k / r})
    return out
