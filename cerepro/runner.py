"""Runs the trials of an experiment: in-process, on a process pool or on a dask cluster (executors.py),
recording each one in the ledger.

`run()` is a generator of progress events for the CLI to render; it prints nothing. A trial is the
unit of work and of recovery: it is a pure function of (row settings, run seed, trial index), so results
do not depend on the number of workers or on which worker ran which trial.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing as mp
import queue
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from cerepro import __version__, dispatch, results, scheduling
from cerepro.config import Experiment, Row
from cerepro.ledger import Ledger

_progress_queue: Any = None  # set in pool workers by _init_worker


@dataclass
class Event:
    kind: str  # "start" | "progress" | "trial" | "done"
    data: dict[str, Any] = field(default_factory=dict)


def _init_worker(progress_queue: Any) -> None:
    global _progress_queue
    _progress_queue = progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # and stops workers with SIGTERM


def _report(k: int) -> None:
    _progress_queue.put(k)


def _trial_job(protocol: str, row: Row, seed: int, trial: int) -> tuple[Row, int, dict[str, Any]]:
    record = dispatch.run_trial(protocol, row.config, seed, row.seed_key, trial, progress=_report if _progress_queue else None)
    return row, trial, record


def _key(row: Row, seed: int) -> dict[str, Any]:
    return {"experiment": row.experiment, "row": row.name, "variant": row.variant, "model": row.config.model,
            "config_hash": row.config_hash(), "run_seed": seed}


def run(
    exp: Experiment,
    rows: tuple[Row, ...],
    spec_rows: tuple[Row, ...],
    seed: int,
    workers: int,
    out_dir: Path,
    fresh: bool = False,
    executor: str = "local",
    scheduler: str | None = None,
    tables_only: bool = False,
    write: bool = True,
    engine: str = "auto",
) -> Iterator[Event]:
    """Run the missing trials of `rows`, then write the tables. `spec_rows` are the rows as the spec has them
    (for the paper/reduced label). `executor` "dask" ships the trials to the dask scheduler at `scheduler`
    (a LocalCluster of `workers` processes if None). Yields Events; raises KeyboardInterrupt after recording
    finished trials. `tables_only` runs nothing and writes the tables of the trials the ledger holds; `write`
    False leaves the experiment's tables alone (hypothesis rows have a table of their own, cerepro.explain).
    `engine` one | lanes | auto: how trials are trained and ordered (cerepro.scheduling; the records are the same)."""
    ledger = Ledger(out_dir / "ledger.sqlite")
    started = time.perf_counter()
    try:
        if fresh:
            ledger.forget([tuple(_key(r, seed)[k] for k in ("experiment", "row", "variant", "config_hash", "run_seed")) for r in rows])
        jobs: list[tuple[Row, int]] = []
        skipped = 0
        for row in rows:
            done = ledger.done(row.experiment, row.name, row.variant, row.config_hash(), seed)
            todo = [] if tables_only else [t for t in range(row.config.trials) if t not in done]
            skipped += len(done) if tables_only else row.config.trials - len(todo)
            jobs += [(row, t) for t in todo]
        total_sequences = sum(r.config.trials * r.config.max_sequences for r in rows)
        yield Event("start", {"trials": len(jobs), "skipped": skipped, "rows": len(rows), "max_sequences": total_sequences})
        n_done, stats = 0, {}
        past = scheduling.history(ledger, exp.name, seed)
        for row, trial, record in scheduling.execute(exp.protocol, jobs, seed, workers, engine, past, _execute, _warm_up,
                                                     executor, scheduler, stats):
            if row is None:
                yield Event("progress", {"sequences": record})
                continue
            ledger.add({**_key(row, seed), "trial": trial}, record, __version__)
            n_done += 1
            yield Event("trial", {"row": row, "trial": trial, "record": record, "done": n_done})
        wall_s = time.perf_counter() - started
        idle = {"idle_fraction": stats.get("idle_fraction", 0.0)}
        yield Event("done", {**write_tables(exp, rows, spec_rows, seed, ledger, out_dir, wall_s, n_done), **idle} if write
                    else {"wall_s": wall_s, "trials_run": n_done, **idle})
    finally:
        ledger.close()


def _execute(protocol: str, jobs: list[tuple[Row, int]], seed: int, workers: int, executor: str = "local",
             scheduler: str | None = None) -> Iterator[tuple[Row, int, Any]]:
    """Yield (row, trial, record) as trials finish, and (None, None, k) for k more sequences trained
    (local executor only: a dask cluster reports finished trials, not sequences)."""
    if executor == "dask":
        from cerepro import executors  # dask is an optional extra, imported only when asked for

        yield from executors.dask_trials(protocol, jobs, seed, workers, scheduler)
        return
    if workers <= 1 or len(jobs) <= 1:
        global _progress_queue
        _progress_queue = queue.SimpleQueue()  # in-process: progress is reported after each trial
        try:
            for row, trial in jobs:
                result = _trial_job(protocol, row, seed, trial)
                yield from _drain(_progress_queue)
                yield result
        finally:
            _progress_queue = None
        return
    _warm_up(protocol, jobs)
    ctx = mp.get_context("fork")
    progress_queue = ctx.Queue()
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(progress_queue,))
    try:
        pending = {pool.submit(_trial_job, protocol, row, seed, trial) for row, trial in jobs}
        while pending:
            finished, pending = cf.wait(pending, timeout=0.25, return_when=cf.FIRST_COMPLETED)
            yield from _drain(progress_queue)
            for fut in finished:
                yield fut.result()
        yield from _drain(progress_queue)
    finally:
        for proc in list(getattr(pool, "_processes", {}).values()):  # stop trials in flight at once
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _warm_up(protocol: str, jobs: list[tuple[Row, int]]) -> None:
    """Compile each model's protocol kernels once in the parent, so that forked workers inherit them.

    Protocol kernels take the model's step function as an argument, and numba's on-disk cache does not
    serve such kernels across processes; without this every worker would compile them again."""
    seen: set[str] = set()
    for row, _ in jobs:
        if row.config.model not in seen:
            seen.add(row.config.model)
            dispatch.run_trial(protocol, dataclasses.replace(row.config, max_sequences=1, chunk=1), 0, "warm-up", 0)


def _drain(progress_queue: Any) -> Iterator[tuple[None, None, int]]:
    total = 0
    while True:
        try:
            total += progress_queue.get_nowait()
        except queue.Empty:
            break
    if total:
        yield None, None, total


def write_tables(exp: Experiment, rows: tuple[Row, ...], spec_rows: tuple[Row, ...], seed: int, ledger: Ledger,
                 out_dir: Path, wall_s: float, n_run: int) -> dict[str, Any]:
    """Build the experiment's tables from the ledger (trials 0..trials-1 of each row) and write them."""
    spec_by_key = {(r.name, r.variant): r for r in spec_rows}
    entries, per_row = [], []
    for row in rows:
        done = ledger.done(row.experiment, row.name, row.variant, row.config_hash(), seed)
        records = [done[t] for t in sorted(done) if t < row.config.trials]
        if not records:
            continue
        extra = dispatch.summarize(exp.protocol, row.config, records)
        entries.append(results.table_row(row, spec_by_key.get((row.name, row.variant), row), records, seed, __version__, extra))
        per_row.append((row, records))
    table = results.build_table(entries)
    paths = results.write(table, results.trial_table(per_row), out_dir, exp.name, f"{exp.title} (paper Table {exp.paper_table})")
    return {"table": table, "paths": paths, "wall_s": wall_s, "trials_run": n_run}
