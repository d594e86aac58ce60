"""Gers, Schmidhuber & Cummins (2000) Table 2: the continual embedded Reber grammar (CERG; SPEC section 9).

Embedded Reber strings are concatenated into streams that never reset the net (except in the "external
reset" row, which resets at every string start). At every step the net predicts the next symbol.

Protocol (SPEC 9; all UNVERIFIED except Table 2 itself, each a field of `CergRow` with the default below):
a training stream runs until the first wrong prediction or 10^6 symbols, learning online at every step;
after each training stream the frozen net is tested on 10 fresh test streams, each stopping at the first
error or after 100,000 correct predictions; a net is "perfect" (Table 2 column a, and our trial `success`)
when all 10 test streams are predicted without error, and the trial stops there; otherwise training goes on
until 30,000 training streams (`max_sequences`). A net that is not perfect is "good" (b) when the mean
error-free length of its last test exceeds 1000 symbols, else "rest" (c). A prediction is correct when every
output unit is within 0.49 of its target.

Streams are generated in pieces (cerg_kernel.walk) from the trial's numpy streams: `train` for training
streams, `test` for test streams, `init` for the weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from cerepro import models, seeding
from cerepro.protocols.cerg_kernel import STATUS_DIVERGED, STATUS_ERROR, edge_tables, run_stream, walk
from cerepro.protocols.common import BaseRow
from cerepro.tasks.reber import ALPHABET, TARGET_CODINGS

N_SYMBOLS = len(ALPHABET)
LR_SCHEDULES = ("none", "stream", "string")
MAX_PIECE = 1 << 16  # symbols per kernel call: bounds memory; pieces start small because most streams end early
FIRST_PIECE = 64


@dataclass(frozen=True)
class CergRow(BaseRow):
    """One row of Gers et al. 2000 Table 2. `max_sequences` counts training streams."""

    model: str = "lstm-forget"
    reset: str = "stream"  # stream: reset only when a new stream starts | string: also at every string start
    targets: str = "legal"  # legal: all legal next symbols (multi-hot) | one-hot: the actual next symbol
    threshold: float = 0.49  # correct prediction: every output within this of its target (UNVERIFIED)
    train_stream_length: int = 1_000_000  # a training stream stops here if no error came first
    test_streams: int = 10  # test streams after each training stream
    test_stream_length: int = 100_000  # correct predictions of a test stream that count as "perfect"
    test_every: int = 1  # test after every n-th training stream (paper: 1)
    good_length: float = 1000.0  # "good": mean error-free test length above this (Table 2 footnote b)
    lr_decay: float = 1.0  # "sequential alpha decay" factor (0.99, UNVERIFIED); 1.0 = none
    lr_schedule: str = "none"  # none | stream: lr *= decay after each training stream | string: after each
    #                            correctly predicted string of a training stream, lr back to `lr` at each new stream

    def validate(self) -> None:
        super().validate()
        for key, allowed in (("reset", ("stream", "string")), ("targets", TARGET_CODINGS), ("lr_schedule", LR_SCHEDULES)):
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {getattr(self, key)!r}")
        for key in ("train_stream_length", "test_streams", "test_stream_length", "test_every"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if getattr(models.get(self.model), "CONTINUAL_SLOT", None) is None:
            raise ValueError(f"model {self.model!r} cannot run continual streams (it always resets)")

    def n_weights(self) -> int:
        return models.get(self.model).n_weights(self, N_SYMBOLS, N_SYMBOLS)


class _Streams:
    """Generates stream pieces from one numpy stream of random bits and feeds them to run_stream."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.sym, self.nxt = edge_tables()
        self.codes = np.zeros(MAX_PIECE + 1, dtype=np.int64)  # (piece + 1,): slot 0 carries the last symbol
        self.legal = np.zeros(MAX_PIECE + 1, dtype=np.int64)  # bit masks of the legal successors
        self.starts = np.zeros(MAX_PIECE + 1, dtype=np.bool_)
        self.wst = np.zeros(3, dtype=np.int64)

    def run(self, net, cont_slot: int, cfg: CergRow, cap: int, learn: bool, lr_state: np.ndarray) -> tuple[int, int]:
        """One stream from reset: predictions until the first error or `cap` correct ones -> (correct, status)."""
        self.wst[:] = 0  # a stream begins with a whole string
        walk(self.wst, self.rng.integers(0, 2, 1, dtype=np.int64), self.sym, self.nxt, self.codes, self.legal, self.starts, 0, 1)
        done, size, fresh, status = 0, FIRST_PIECE, True, 0
        while done < cap:
            n = min(size, cap - done)
            bits = self.rng.integers(0, 2, n, dtype=np.int64)  # at most one bit per symbol; unused ones are dropped
            walk(self.wst, bits, self.sym, self.nxt, self.codes, self.legal, self.starts, 1, n)
            k, status = run_stream(net.step, *net.args(), cont_slot, self.codes, self.legal, self.starts, n + 1, fresh,
                                   cfg.reset == "string", cfg.targets == "legal", cfg.threshold, lr_state,
                                   cfg.lr_decay if cfg.lr_schedule == "string" else 1.0, learn)
            done += k
            if status != 0:
                break
            self.codes[0], self.legal[0], self.starts[0] = self.codes[n], self.legal[n], self.starts[n]
            fresh, size = False, min(2 * size, MAX_PIECE)
        return done, status


def run_trial(cfg: CergRow, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None) -> dict:
    """Train one net on CERG training streams with the paper's tests; return its trial record."""
    start = time.perf_counter()
    tseed = seeding.trial_seed(seed, row_key, trial)
    module = models.get(cfg.model)
    net = module.build(seeding.stream(tseed, "init"), cfg, N_SYMBOLS, N_SYMBOLS)
    train, test = _Streams(seeding.stream(tseed, "train")), _Streams(seeding.stream(tseed, "test"))
    lr_state = np.array([cfg.lr])
    train_len, test_mean = [], []  # per training stream: its error-free length; per test: mean test length
    status, perfect, last_mean, best_mean, symbols, reported = 0, False, 0.0, 0.0, 0, 0
    for i in range(cfg.max_sequences):
        lr_state[0] = cfg.lr * (cfg.lr_decay**i if cfg.lr_schedule == "stream" else 1.0)
        k, status = train.run(net, module.CONTINUAL_SLOT, cfg, cfg.train_stream_length, True, lr_state)
        train_len.append(k)
        symbols += k + (status == STATUS_ERROR)
        if status == STATUS_DIVERGED:
            break
        if (i + 1) % cfg.test_every == 0 or i + 1 == cfg.max_sequences:
            lengths = [test.run(net, module.CONTINUAL_SLOT, cfg, cfg.test_stream_length, False, lr_state)[0] for _ in range(cfg.test_streams)]
            last_mean = float(np.mean(lengths))
            best_mean = max(best_mean, last_mean)
            test_mean.append(last_mean)
            perfect = min(lengths) >= cfg.test_stream_length
        if progress is not None and (i + 1) % cfg.chunk == 0:
            progress(i + 1 - reported)
            reported = i + 1
        if perfect:
            break
    n = len(train_len)
    if progress is not None and n > reported:
        progress(n - reported)
    outcome = "diverged" if status == STATUS_DIVERGED else ("success" if perfect else "cap")
    kind = "perfect" if perfect else ("good" if last_mean > cfg.good_length else "rest")
    return {
        "trial": trial,
        "seed": tseed,
        "outcome": outcome,
        "success": perfect,
        "sequences": n,  # training streams presented (until perfect, or the cap)
        "reason": "NaN/inf in outputs" if outcome == "diverged" else "",
        "wall_s": time.perf_counter() - start,
        "curve": _curve(np.array(train_len, dtype=float)),  # mean error-free training-stream length per window
        "class": kind,  # Table 2: perfect (a), good (b), rest (c)
        "mean_length": last_mean,  # mean error-free length of the last test (the good/rest measure)
        "best_mean_length": best_mean,
        "test_curve": _curve(np.array(test_mean)),
        "train_symbols": int(symbols),
    }


def summarize(cfg: CergRow, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Table 2's columns: % perfect (mean training streams), % good (mean length), % rest (mean length)."""
    n = len(records)

    def part(kind: str, key: str) -> tuple[float, float]:
        sel = [r for r in records if r.get("class") == kind]
        pct = 100.0 * len(sel) / n if n else float("nan")
        return pct, float(np.mean([r[key] for r in sel])) if sel else float("nan")

    perfect_pct, perfect_streams = part("perfect", "sequences")
    good_pct, good_len = part("good", "mean_length")
    rest_pct, rest_len = part("rest", "mean_length")
    return {"perfect_pct": perfect_pct, "perfect_streams_mean": perfect_streams, "good_pct": good_pct,
            "good_len_mean": good_len, "rest_pct": rest_pct, "rest_len_mean": rest_len}


def _curve(values: np.ndarray, points: int = 50) -> list[float]:
    """A series compressed to `points` window means."""
    if values.size == 0:
        return []
    edges = np.linspace(0, values.size, min(points, values.size) + 1).astype(int)
    return [float(np.mean(values[a:b])) for a, b in zip(edges[:-1], edges[1:])]
