"""Where a row's trial runs: its protocol's trial loop, or random weight guessing for rows of a model that is
not trained (`model: guess`). The one place that knows both; the runner and the executors call it.
"""

from __future__ import annotations

from typing import Callable

from cerepro import config, models
from cerepro.protocols import PROTOCOLS
from cerepro.protocols.common import register_experiments

register_experiments(config.resolve)  # where a worker's trial finds another experiment's rows (protocols/errorflow.py)


def run_trial(protocol: str, cfg, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None) -> dict:
    """One trial of a row: a pure function of (row settings, run seed, row key, trial index)."""
    if not models.get(cfg.model).trains:
        from cerepro import guessing  # the search, built on the protocols' own tests

        return guessing.TRIALS[protocol](cfg, seed, row_key, trial, progress)
    return PROTOCOLS[protocol].trial().run_trial(cfg, seed, row_key, trial, progress)


def summarize(protocol: str, cfg, records: list[dict]) -> dict:
    """The extra table columns of a row: its protocol's, and the guessing counts of a guess row."""
    columns = dict(getattr(PROTOCOLS[protocol].trial(), "summarize", lambda cfg, records: {})(cfg, records))
    if not models.get(cfg.model).trains:
        from cerepro import guessing

        columns.update(guessing.summarize(records))
    return columns
