"""Experiment 1 (Section 5.1, Table 1): the embedded Reber grammar with the 1997 LSTM.

Protocol (SPEC section 2): 3 training/test set pairs of 256 strings x 10 initialisations = 30 trials per row;
training strings drawn at random from the training set; all activations reset at each string; weights
updated online; success when every symbol of every training and test string is predicted correctly; cap
100,000 training strings. "Sequences to success" counts training strings presented up to the passing test.

Every setting the paper leaves open is a field of `ReberRow` with the faithful choice as default; the
choices are argued in docs/decisions.md and their effect is measured by the variant rows of tasks/exp1.yaml.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cerepro import models, seeding
from cerepro.protocols.common import BaseRow
from cerepro.protocols.reber_kernel import STATUS_DIVERGED, STATUS_SUCCESS, train_until_success
from cerepro.tasks import reber


@dataclass(frozen=True)
class ReberRow(BaseRow):
    """One row of Table 1 (defaults: the faithful reading; the net's settings are BaseRow's)."""

    targets: str = "one-hot"  # one-hot next symbol (Smith & Zipser, Cleeremans) | legal: all legal successors
    check_every: int = 1  # success test after every n training strings
    training_strings: str = "set"  # set: drawn from the 256-string training set | fresh: a new string each time
    train_set_size: int = 256  # Fahlman's protocol
    test_set_size: int = 256
    set_pairs: int = 3  # training/test set pairs, shared by all rows; trial i uses pair i % set_pairs

    def validate(self) -> None:
        super().validate()
        for key, allowed in (("targets", reber.TARGET_CODINGS), ("training_strings", ("set", "fresh"))):
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {getattr(self, key)!r}")
        for key in ("check_every", "train_set_size", "test_set_size", "set_pairs"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")

    def n_weights(self) -> int:
        return models.get(self.model).n_weights(self, N_SYMBOLS, N_SYMBOLS)


N_SYMBOLS = len(reber.ALPHABET)


def set_pair(seed: int, index: int, cfg: ReberRow) -> tuple[list[str], list[str]]:
    """Training/test set pair `index` of a run: a function of (seed, index) only, shared by every row."""
    return reber.training_and_test_sets(seeding.stream(seed, "exp1-sets", index), cfg.train_set_size, cfg.test_set_size)


def run_trial(cfg: ReberRow, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None) -> dict:
    """Train one net of a row; return its trial record (see results.py for the fields)."""
    start = time.perf_counter()
    tseed = seeding.trial_seed(seed, row_key, trial)
    init_rng, train_rng = seeding.stream(tseed, "init"), seeding.stream(tseed, "train")
    pair = trial % cfg.set_pairs
    train_strings, test_strings = set_pair(seed, pair, cfg)
    net = models.get(cfg.model).build(init_rng, cfg, N_SYMBOLS, N_SYMBOLS)

    check = reber.encode(sorted(set(train_strings) | set(test_strings)), targets=cfg.targets)  # distinct strings
    chk_order = np.arange(check.n, dtype=np.int64)
    pool = reber.encode(train_strings, targets=cfg.targets) if cfg.training_strings == "set" else None
    T_max = max(check.input_index.shape[1], pool.input_index.shape[1] if pool else 0)
    seq_sse = np.zeros(cfg.max_sequences)  # (max_sequences,) error of each presentation: the learning curve
    done, status = 0, 0
    while done < cfg.max_sequences and status == 0:
        n = min(cfg.chunk, cfg.max_sequences - done)
        if pool is None:  # variant: a fresh random string at every presentation
            chunk_pool = reber.generate(train_rng, n, targets=cfg.targets)
            order = np.arange(n, dtype=np.int64)
        else:
            chunk_pool = pool
            order = train_rng.integers(0, pool.n, size=n).astype(np.int64)
        out_y = np.zeros((max(T_max, chunk_pool.input_index.shape[1]), N_SYMBOLS))
        status, k = train_until_success(
            net.step, *net.args(),
            chunk_pool.input_index, chunk_pool.targets, chunk_pool.target_mask, chunk_pool.lengths, order,
            check.input_index, check.info["legal"], check.lengths, chk_order,
            cfg.lr, cfg.check_every, done, seq_sse[done:], out_y,
        )
        done += k
        if progress is not None:
            progress(k)
    outcome = {STATUS_SUCCESS: "success", STATUS_DIVERGED: "diverged"}.get(status, "cap")
    return {
        "trial": trial,
        "seed": tseed,
        "set_pair": pair,
        "outcome": outcome,
        "success": outcome == "success",
        "sequences": done,
        "reason": "NaN/inf in outputs" if outcome == "diverged" else "",
        "wall_s": time.perf_counter() - start,
        "curve": _curve(seq_sse[:done]),
    }


def _curve(seq_sse: np.ndarray, points: int = 50) -> list[float]:
    """The learning curve, compressed: mean error per presentation over `points` equal windows."""
    if seq_sse.size == 0:
        return []
    edges = np.linspace(0, seq_sse.size, min(points, seq_sse.size) + 1).astype(int)
    return [float(np.mean(seq_sse[a:b])) for a, b in zip(edges[:-1], edges[1:])]
