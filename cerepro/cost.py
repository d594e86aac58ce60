"""What the committed results cost: CPU time per experiment, and the wall time of re-running them on P cores.

Both come from the trial times the ledger holds for the rows of each results table (every trial records its
own wall time, `wall_s`, measured on the machine that ran it). The wall time on P cores is computed, not
measured: `make all-experiments` runs one experiment after the other, each on a pool of P workers, so the
estimate is the sum over experiments of the makespan of the greedy schedule that hands the longest trial to
the first free worker (within 4/3 of the best possible schedule).
"""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Any

import pandas as pd

from cerepro.ledger import Ledger


def makespan(times: list[float], cores: int) -> float:
    """Finishing time of `times` on `cores` identical workers, each job to the first free worker, longest first."""
    free = [0.0] * max(1, cores)
    for t in sorted(times, reverse=True):
        heapq.heapreplace(free, free[0] + t)
    return max(free)


def trial_times(out_dir: Path, experiment: str) -> list[float]:
    """Wall seconds of every trial of the rows in <out_dir>/<experiment>.csv: from the ledger, or (a row the
    ledger lacks, or no ledger) the row's summed `wall_s` spread evenly over its trials."""
    table = pd.read_csv(out_dir / f"{experiment}.csv")
    ledger = Ledger.existing(out_dir / "ledger.sqlite")
    try:
        times = []
        for r in table.itertuples():
            done = ledger.done(experiment, r.row, r.variant, r.config_hash, int(r.run_seed)) if ledger else {}
            mine = [rec["wall_s"] for t, rec in sorted(done.items()) if t < r.trials]
            if not mine and r.trials > 0:
                wall = 0.0 if pd.isna(r.wall_s) else float(r.wall_s)
                mine = [wall / r.trials] * int(r.trials)
            times += mine
    finally:
        if ledger is not None:
            ledger.close()
    return times


def summary(out_dir: Path, experiments: list[str], cores: tuple[int, ...] = (2, 16, 64)) -> list[dict[str, Any]]:
    """Per experiment with a results table: trials, CPU hours, and the computed wall hours on each core count."""
    out = []
    for name in experiments:
        if not (out_dir / f"{name}.csv").exists():
            continue
        times = trial_times(out_dir, name)
        entry: dict[str, Any] = {"experiment": name, "trials": len(times), "cpu_h": sum(times) / 3600}
        entry.update({f"wall_h_{p}": makespan(times, p) / 3600 for p in cores})
        out.append(entry)
    return out


def hypotheses_summary(out_dir: Path, prefix: str, cores: tuple[int, ...] = (2, 16, 64)) -> dict[str, Any] | None:
    """The same for every trial of the hypothesis rows (variants `prefix`...) that `cerepro explain` ran."""
    ledger = Ledger.existing(out_dir / "ledger.sqlite")
    if ledger is None:
        return None
    try:
        times = ledger.wall_times(prefix)
    finally:
        ledger.close()
    if not times:
        return None
    entry: dict[str, Any] = {"experiment": "explain", "trials": len(times), "cpu_h": sum(times) / 3600}
    entry.update({f"wall_h_{p}": makespan(times, p) / 3600 for p in cores})
    return entry
