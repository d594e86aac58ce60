"""What the committed results cost: CPU time per experiment, and the wall time of re-running them on P cores.

Both come from the trial times the ledger holds for the rows of each results table (`seconds`: every trial
records its CPU time, `cpu_s`, and its wall time, `wall_s`, on the machine that ran it; trials recorded before
2026-12-05 have only the wall time, which is more than the CPU time where the machine was busier than its
cores). The wall time on P cores is computed, not
measured: `make all-experiments` runs one experiment after the other, each on a pool of P workers, so the
estimate is the sum over experiments of the makespan of the greedy schedule that hands the longest trial to
the first free worker (within 4/3 of the best possible schedule). A trial run in SIMD lanes counts its share of
its engine's time, as if it ran so on any number of cores; where a row leaves fewer trials per worker than lanes
pay for (scheduling.uses_lanes), its trials run one net per call, up to about 2x slower (`make bench`), so the
estimate is low there (2c on 16 and 64 cores). What is still to run (`pending`) is estimated
from the same ledger: every trial a spec asks for and the ledger lacks, at its cap and its row's time per
sequence (an upper bound).
"""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cerepro.ledger import SECONDS, Ledger


def makespan(times: list[float], cores: int) -> float:
    """Finishing time of `times` on `cores` identical workers, each job to the first free worker, longest first."""
    free = [0.0] * max(1, cores)
    for t in sorted(times, reverse=True):
        heapq.heapreplace(free, free[0] + t)
    return max(free)


def seconds(record: dict[str, Any]) -> float:
    """A trial's compute time: its CPU seconds, or its wall seconds if its record predates them."""
    value = record.get("cpu_s")
    return float(value if value is not None else record.get("wall_s") or 0.0)


def trial_times(out_dir: Path, experiment: str) -> list[float]:
    """Compute seconds (`seconds`) of every trial of the rows in <out_dir>/<experiment>.csv: from the ledger, or (a row the
    ledger lacks, or no ledger) the row's summed `wall_s` spread evenly over its trials."""
    table = pd.read_csv(out_dir / f"{experiment}.csv")
    ledger = Ledger.existing(out_dir / "ledger.sqlite")
    try:
        times = []
        for r in table.itertuples():
            done = ledger.done(experiment, r.row, r.variant, r.config_hash, int(r.run_seed)) if ledger else {}
            mine = [seconds(rec) for t, rec in sorted(done.items()) if t < r.trials]
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
        times = ledger.trial_seconds(prefix)
    finally:
        ledger.close()
    if not times:
        return None
    entry: dict[str, Any] = {"experiment": "explain", "trials": len(times), "cpu_h": sum(times) / 3600}
    entry.update({f"wall_h_{p}": makespan(times, p) / 3600 for p in cores})
    return entry


def total(entries: list[dict[str, Any]], cores: tuple[int, ...] = (2, 16, 64)) -> dict[str, Any]:
    """The sum of `summary` entries (one experiment after the other: their wall times add up too)."""
    return {k: sum(e[k] for e in entries) for k in ["trials", "cpu_h"] + [f"wall_h_{p}" for p in cores]}


def per_sequence(ledger: Ledger, experiment: str, seed: int) -> dict[tuple[str, str] | str, float]:
    """Median compute seconds (`seconds`) per presented sequence of the ledger's trials of an experiment: per (row, variant), and
    per row over every variant and configuration."""
    pooled: dict[tuple[str, str] | str, list[float]] = {}
    cur = ledger.db.execute(f"SELECT row, variant, {SECONDS}, "
                            "COALESCE(json_extract(record, '$.presented'), json_extract(record, '$.sequences')) "
                            "FROM trials WHERE experiment = ? AND run_seed = ?", (experiment, seed))
    for row, variant, spent, presented in cur:
        if spent and presented:
            pooled.setdefault((row, variant), []).append(spent / presented)
            pooled.setdefault(row, []).append(spent / presented)
    return {k: float(np.median(v)) for k, v in pooled.items()}


def pending(out_dir: Path, experiment: str) -> dict[str, dict[str, Any]]:
    """The trials `make all-experiments` would still run for an experiment, per kind of row ("paper": its rows
    of the paper's tables, "baselines", "variants"): every row of the spec at the spec's trials and cap whose
    trials the ledger lacks, each estimated as running to its cap at its row's median time per sequence in the
    ledger (same variant, else any): an upper bound, since a trial that succeeds stops early. Per kind:
    {"trials", "unknown" (trials of rows with nothing to time them by), "times" (estimated seconds)}."""
    from cerepro import config

    exp = config.resolve(experiment)
    ledger = Ledger.existing(out_dir / "ledger.sqlite")
    out: dict[str, dict[str, Any]] = {k: {"trials": 0, "unknown": 0, "times": []} for k in ("paper", "baselines", "variants")}
    try:
        rate = per_sequence(ledger, exp.name, exp.seed) if ledger else {}
        for kind, rows in (("paper", exp.rows), ("baselines", exp.baselines), ("variants", exp.variants)):
            for row in rows:
                done = ledger.finished(exp.name, row.name, row.variant, row.config_hash(), exp.seed) if ledger else set()
                missing = sum(t not in done for t in range(row.config.trials))
                if not missing:
                    continue
                per = rate.get((row.name, row.variant), rate.get(row.name))
                out[kind]["trials"] += missing
                if per is None:
                    out[kind]["unknown"] += missing
                else:
                    out[kind]["times"] += [per * row.config.max_sequences] * missing
    finally:
        if ledger is not None:
            ledger.close()
    return out


def pending_summary(out_dir: Path, experiments: list[str], cores: tuple[int, ...] = (2, 16, 64)) -> dict[str, dict[str, Any]]:
    """`pending` over experiments, per kind of row: trials, unknown, CPU hours and the computed wall hours on each
    core count (one experiment after the other, as `summary`)."""
    out: dict[str, dict[str, Any]] = {}
    for name in experiments:
        for kind, p in pending(out_dir, name).items():
            entry = out.setdefault(kind, {"trials": 0, "unknown": 0, "cpu_h": 0.0, **{f"wall_h_{c}": 0.0 for c in cores}})
            entry["trials"] += p["trials"]
            entry["unknown"] += p["unknown"]
            entry["cpu_h"] += sum(p["times"]) / 3600
            for c in cores:
                entry[f"wall_h_{c}"] += makespan(p["times"], c) / 3600 if p["times"] else 0.0
    return out
