"""What every protocol shares: the row settings, the statuses of the protocol kernels, and the trial skeleton.

A row is BaseRow (TrialSettings plus every model's settings, models/__init__.py) extended by its protocol's
settings. A trial (`Trial`): the trial seed and its named streams, the net built from stream "init", the loop
over blocks of training sequences with progress reports, and the record with its learning curve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from cerepro import checks, models, seeding

RUNNING, SUCCESS, DIVERGED = 0, 1, 2  # every protocol kernel's status: training on | the stop rule held | non-finite
OUTCOMES = {SUCCESS: "success", DIVERGED: "diverged"}  # a trial that ends RUNNING ran into its cap


@dataclass(frozen=True)
class TrialSettings:
    """The settings of a row's trials, whatever the model and the protocol."""

    model: str = "lstm97"  # the learner (see `cerepro list`)
    trials: int = 10  # independent trials per row (paper: 30 for Exp 1, 10-20 elsewhere)
    max_sequences: int = 100_000  # cap on training sequences per trial; below the experiment's = reduced scale
    lr: float = 0.1  # learning rate alpha (plain SGD: no momentum, no clipping)
    paper_cap: int | None = None  # the paper's cap where an experiment deliberately runs a lower one: the row is labelled reduced
    chunk: int = 2_000  # sequences per progress report, and per kernel call where a protocol trains in chunks

    def check(self) -> None:
        checks.at_least(self, 1, "trials", "max_sequences", "chunk")
        checks.positive(self, "lr")
        models.get(self.model)  # an unknown model raises, naming the models


@dataclass(frozen=True)
class BaseRow(*models.settings_classes(), TrialSettings):
    """Settings every row has: its trials' and every model's (so that any model can run any protocol)."""

    def validate(self) -> None:
        """Raise ValueError for impossible values (the message names the key); protocols add their own checks."""
        for group in reversed(type(self).__mro__):  # TrialSettings first, then each model's settings
            if "check" in vars(group):
                vars(group)["check"](self)
        if not models.get(self.model).trains:  # searched, not trained: needs a success test on a fixed batch
            why = self.untrained_test()
            if why:
                raise ValueError(f"model {self.model} trains nothing, so {why}")
            self.n_weights()  # an impossible net (bias ga, no hidden unit, ...) raises here

    def sizes(self) -> tuple[int, int]:
        """(input units, output units) of the row's net."""
        raise NotImplementedError

    def n_weights(self) -> int:
        return models.get(self.model).n_weights(self, *self.sizes())

    def uncounted(self) -> int:
        """Presentations after the last one a successful trial's `sequences` counts (the cap applies to all)."""
        return 0

    def untrained_test(self) -> str:
        """Why this row's success test cannot judge a net that is not trained ("" if it can: a fixed batch)."""
        return "it needs a protocol whose success test is a fixed batch of sequences (online with stop st1st2, longlag)"


_EXPERIMENTS: list[Callable[[str], Any]] = []  # cerepro.config.resolve (config and dispatch register it)


def register_experiments(resolve: Callable[[str], Any]) -> None:
    """Called by cerepro.config and cerepro.dispatch: a protocol that uses another experiment's rows (the error
    flow of a trained net) looks them up through this, without importing config, which imports the protocols."""
    _EXPERIMENTS[:] = [resolve]


def experiment(name: str) -> Any:
    """An experiment (config.Experiment) by name."""
    if not _EXPERIMENTS:
        raise RuntimeError("no experiments registered: cerepro.config registers them when it reads a spec")
    return _EXPERIMENTS[0](name)


TIMING = ("wall_s", "cpu_s")  # a record's wall and CPU seconds (the trial's thread): all that differs between runs


def untimed(record: dict) -> dict:
    """The record without its timing: what every run of the trial gives alike."""
    return {k: v for k, v in record.items() if k not in TIMING}


class Trial:
    """One trial of a row: its seed and named streams, its net, the block loop with progress, its record."""

    def __init__(self, cfg: BaseRow, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None,
                 build: bool = True):
        self.cfg, self.trial, self.progress = cfg, trial, progress
        self.start, self.cpu_start = time.perf_counter(), time.thread_time()
        self.seed = seeding.trial_seed(seed, row_key, trial)
        if build:
            self.net, self.ws, self.step = self.build()

    def build(self) -> tuple[Any, Any, Any]:
        """(net, workspace, step) of the trial's initial weights, drawn from its "init" stream."""
        return models.get(self.cfg.model).build(self.stream("init"), self.cfg, *self.cfg.sizes())

    def stream(self, *name: str | int) -> np.random.Generator:
        """The trial's random stream of that name (seeding.stream)."""
        return seeding.stream(self.seed, *name)

    def run(self, train: Callable[[int, int], tuple[int, int]], block: int) -> tuple[int, int]:
        """Call train(done, n) -> (status, sequences it took) with n <= block until the status is not RUNNING or
        max_sequences are done, reporting progress every `chunk` sequences; returns (status, sequences done)."""
        cap, done, status, unreported = self.cfg.max_sequences, 0, RUNNING, 0
        while done < cap and status == RUNNING:
            status, k = train(done, min(block, cap - done))
            done += k
            unreported += k
            if self.progress is not None and unreported and (unreported >= self.cfg.chunk or status != RUNNING or done >= cap):
                self.progress(unreported)
                unreported = 0
        return status, done

    def record(self, status: int, sequences: int, curve_of: np.ndarray | None = None, **fields: Any) -> dict:
        """The trial record: outcome, sequences to success (or to the cap), the protocol's fields, its timing
        (TIMING) and the learning curve of the per-sequence values `curve_of` (none if None)."""
        outcome = OUTCOMES.get(status, "cap")
        record = {"trial": self.trial, "seed": self.seed, "outcome": outcome, "success": outcome == "success",
                  "sequences": sequences, "reason": "NaN/inf in outputs" if outcome == "diverged" else "", **fields}
        record["wall_s"] = time.perf_counter() - self.start
        record["cpu_s"] = time.thread_time() - self.cpu_start
        if curve_of is not None:
            record["curve"] = curve(curve_of)
        return record


def curve_block(values: np.ndarray) -> np.ndarray:
    """A block of per-sequence values at the record's precision (float32: half the memory). A diverging net's error
    beyond float32's range becomes inf, which is what the curve should show, so the cast's overflow is not warned."""
    with np.errstate(over="ignore"):
        return values.astype(np.float32)


def curve(values: np.ndarray, points: int = 50) -> list[float]:
    """A per-sequence series compressed to the means of `points` equal windows (the learning curve)."""
    if values.size == 0:
        return []
    edges = np.linspace(0, values.size, min(points, values.size) + 1).astype(int)
    return [float(np.mean(values[a:b], dtype=np.float64)) for a, b in zip(edges[:-1], edges[1:])]
