"""Runs the trials of a planned run: in-process, on a process pool or on a dask cluster (executors.py),
recording each one in the ledger, then writes the experiment's tables (tables.py).

`run()` is a generator of progress events for the CLI to render; it prints nothing. A trial is the
unit of work and of recovery: it is a pure function of (row settings, run seed, trial index), so results
do not depend on the number of workers or on which worker ran which trial. Trials are claimed in the
ledger before they run: a second run into the same folder waits for them instead of computing them again.
Pool workers die with their parent (kill -9 of `cerepro run` leaves no orphan computing on).
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import dataclasses
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from cerepro import __version__, checkpoints, interrupts, scheduling, tables
from cerepro.config import Row
from cerepro.ledger import Ledger, Owner
from cerepro.plan import Plan

_progress_queue: Any = None  # set in pool workers by _init_worker
PR_SET_PDEATHSIG = 1  # linux/prctl.h
WAIT_S = 1.0  # how often a run waiting for another run's trials looks at the ledger


@dataclass
class Event:
    kind: str  # "start" | "progress" | "trial" | "waiting" | "done"
    data: dict[str, Any] = field(default_factory=dict)


def _init_worker(progress_queue: Any, parent: int) -> None:
    global _progress_queue
    _progress_queue = progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # and stops workers with SIGTERM
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """Exit when the parent process dies: at once on Linux (the kernel's parent-death signal), and on any
    system within about a second of the parent's end (a thread that watches the parent pid)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="cerepro-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _report(k: int) -> None:
    _progress_queue.put(k)


def _trial_job(protocol: str, row: Row, seed: int, trial: int) -> tuple[Row, int, dict[str, Any]]:
    from cerepro import dispatch

    record = dispatch.run_trial(protocol, row.config, seed, row.seed_key, trial, progress=_report if _progress_queue else None)
    return row, trial, record


def _group(row: Row, seed: int) -> tuple[str, str, str, str, int]:
    return row.experiment, row.name, row.variant, row.config_hash(), seed


def _key(row: Row, seed: int) -> dict[str, Any]:
    return {"experiment": row.experiment, "row": row.name, "variant": row.variant, "model": row.config.model,
            "config_hash": row.config_hash(), "run_seed": seed}


def run(plan: Plan, workers: int, out_dir: Path, fresh: bool = False, executor: str = "local", scheduler: str | None = None,
        tables_only: bool = False, write: bool = True, engine: str = "auto") -> Iterator[Event]:
    """Run the missing trials of the plan's rows, then write the tables. `executor` "dask" ships the trials to
    the dask scheduler at `scheduler` (a LocalCluster of `workers` processes if None). Yields Events; raises
    KeyboardInterrupt after recording finished trials. `tables_only` runs nothing and writes the tables of
    the trials the ledger holds; `write` False leaves the experiment's tables alone, and its rows out of them
    (rows of a table of their own). `engine` one | lanes | auto: how trials are trained and ordered
    (cerepro.scheduling; the records are the same)."""
    exp, rows, seed = plan.experiment, plan.rows, plan.seed
    started = time.perf_counter()
    if tables_only:
        yield Event("start", {"trials": 0, "skipped": 0, "waiting": {}, "rows": len(rows)})
        ledger = Ledger.existing(out_dir / "ledger.sqlite")  # reading creates no ledger
        if ledger is None:
            yield Event("done", {"paths": [], "wall_s": 0.0, "trials_run": 0, "unconfigured": 0})
            return
    else:
        ledger = Ledger(out_dir / "ledger.sqlite")
    owner = Owner.me()
    n_done, stats = 0, {}
    store = checkpoints.Store(out_dir)
    try:
        if not tables_only:
            ledger.record_configs(tables.stored(r, seed, exp.protocol, tabled=write) for r in rows)
            if fresh:
                ledger.forget([_group(r, seed) for r in rows])
            for r in rows:  # suspended trials: all of the row's (fresh), or those finished meanwhile
                store.forget(r.config_hash(), seed, r.seed_key, None if fresh else ledger.finished(*_group(r, seed)))
            jobs, theirs, skipped = _claim(ledger, rows, seed, owner)
            yield Event("start", {"trials": len(jobs) + len(theirs), "skipped": skipped, "waiting": _owners(theirs),
                                  "rows": len(rows)})
            past = scheduling.history(ledger, exp.name, seed)
            while jobs or theirs:
                for row, trial, record in scheduling.execute(exp.protocol, jobs, seed, workers, engine, past, _execute,
                                                             _warm_up, executor, scheduler, stats, _worker_init(), store):
                    if row is None:
                        yield Event("progress", {"sequences": record})
                        continue
                    ledger.add({**_key(row, seed), "trial": trial}, record, __version__)
                    n_done += 1
                    yield Event("trial", {"row": row, "trial": trial, "record": record, "done": n_done})
                jobs, theirs, finished = _wait(ledger, rows, theirs, seed, owner)
                for _ in range(finished):
                    yield Event("trial", {"by_other_run": True})
                if theirs and not jobs:
                    yield Event("waiting", {"waiting": _owners(theirs)})
                    time.sleep(WAIT_S)
        written = tables.write(exp, rows, seed, ledger, out_dir) if write else {"paths": []}
        unconfigured = sum(  # rows of this table whose settings the ledger lacks (cerepro backfill stores them)
            g["experiment"] == exp.name and g["run_seed"] == seed and exp.spec_row(g["row"], g["variant"]) is not None
            for g in ledger.unconfigured())
        yield Event("done", {**written, "wall_s": time.perf_counter() - started, "trials_run": n_done,
                             "unconfigured": unconfigured, "idle_fraction": stats.get("idle_fraction", 0.0)})
    finally:
        try:
            if not tables_only:
                ledger.release(owner)
        finally:
            ledger.close()


def _claim(ledger: Ledger, rows: tuple[Row, ...], seed: int, owner: Owner):
    """Trials to run here, trials another live run is computing ((row index, trial) -> its owner), trials done."""
    jobs: list[tuple[Row, int]] = []
    theirs: dict[tuple[int, int], Owner] = {}
    skipped = 0
    for i, row in enumerate(rows):
        done = ledger.finished(*_group(row, seed))
        todo = row.to_run(done)
        skipped += row.config.trials - len(todo)
        others, now_done = ledger.claim(*_group(row, seed), todo, owner) if todo else ({}, set())
        skipped += len(now_done)  # finished by another run since `done` was read
        jobs += [(row, t) for t in todo if t not in others and t not in now_done]
        theirs.update({(i, t): o for t, o in others.items()})
    return jobs, theirs, skipped


def _wait(ledger: Ledger, rows: tuple[Row, ...], theirs: dict[tuple[int, int], Owner], seed: int, owner: Owner):
    """After this run's own trials: the trials to take over from runs that died, the trials others still
    compute, and how many of theirs have finished since the last look."""
    jobs: list[tuple[Row, int]] = []
    still: dict[tuple[int, int], Owner] = {}
    finished = 0
    for i in sorted({i for i, _ in theirs}):
        row = rows[i]
        done = ledger.finished(*_group(row, seed))
        waited = [t for (j, t) in theirs if j == i]
        open_trials = [t for t in waited if t not in done]
        others, now_done = ledger.claim(*_group(row, seed), open_trials, owner) if open_trials else ({}, set())
        open_trials = [t for t in open_trials if t not in now_done]  # finished since `done` was read
        finished += len(waited) - len(open_trials)
        jobs += [(row, t) for t in open_trials if t not in others]
        still.update({(i, t): o for t, o in others.items()})
    return jobs, still, finished


def _owners(theirs: dict[tuple[int, int], Owner]) -> dict[str, int]:
    """"host:pid" of each other run -> the number of its trials this run waits for."""
    out: dict[str, int] = {}
    for o in theirs.values():
        name = f"{o.host}:{o.pid}"
        out[name] = out.get(name, 0) + 1
    return out


def _worker_init() -> Any:
    """What a pool worker of cerepro.scheduling runs first: the same as this module's workers."""
    parent = os.getpid()
    return lambda: _init_worker(None, parent)


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
    with interrupts.deferred():  # a signal stops the pool between waits, never inside one (cerepro.interrupts)
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                       initargs=(progress_queue, os.getpid()))
        try:
            pending = {pool.submit(_trial_job, protocol, row, seed, trial) for row, trial in jobs}
            while pending:
                interrupts.check()
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
    from cerepro import dispatch

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
