"""Which engine runs a run's trials, in which order, and how busy the workers were (docs/throughput.md).

Details: docs/throughput.md, "Engines, order and idle time (scheduling.py)".
"""

from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing as mp
import os
import queue
import signal
import sqlite3
import time
import traceback
from typing import Any, Callable, Iterator

from cerepro import interrupts

ENGINES = ("auto", "one", "lanes")
MAX_LANES = 32  # lanes per engine (a worker's share of a row, at most)
# auto: fewer trials of a row per worker than this do not pay for the lanes (make bench: lanes vs one net at
# K = 8 and 16 were 1.69x / 2.18x on the adding row, 1.40x / 1.79x on 2c q = p = 50; 1.5x at K = 8 on
# q = p = 100; docs/throughput.md)
MIN_LANES = {"online": 8, "longlag": 8}
# auto: online rows with Exp 3's check set (stop st1st2) stay one net per call: one net tests its check set with
# the sequences in lanes (online/kernel.evaluate_lanes), the trial lanes one check sequence per lane and tick
# (10 trials of 3a T = 100: lanes 0.67x the one-net engine; docs/throughput.md)


# ---------------------------------------------------------------------------------------------- expected costs


def history(ledger: Any, experiment: str, seed: int) -> dict[str, Any]:
    """Finished trials of the experiment in the ledger, any variant: {(row, trial): [sequences], row: [sequences]}."""
    out: dict[Any, list[int]] = {}
    try:
        cur = ledger.db.execute("SELECT row, trial, record FROM trials WHERE experiment=? AND run_seed=?", (experiment, seed))
        for row, trial, record in cur:
            r = json.loads(record)
            n = int(r.get("presented", r.get("sequences", 0)) or 0)
            out.setdefault((row, trial), []).append(n)
            out.setdefault(row, []).append(n)
    except (AttributeError, sqlite3.Error):  # no ledger, or another schema: caps only
        pass
    return out


def steps_per_sequence(protocol: str, cfg: Any) -> float:
    """Mean sequence length of a row (the tasks' definitions, docs/paper.md)."""
    task = getattr(cfg, "task", "")
    if protocol == "reber" or protocol == "cerg":
        return 11.5
    if task == "2c":
        return cfg.q + 12.0
    if task in ("2a", "2b"):
        return float(cfg.p)
    if task in ("6a", "6b"):
        return 105.0
    return getattr(cfg, "T", 100) * 1.05


def expected_cost(protocol: str, row: Any, trial: int, past: dict[Any, list[int]]) -> float:
    """Expected CPU cost of a trial, in weight-steps (ordering only)."""
    cfg = row.config
    cap = cfg.max_sequences
    same = past.get((row.name, trial))
    others = past.get(row.name)
    if same:
        n = sum(same) / len(same)
    elif others:
        n = sum(others) / len(others)
    else:
        n = cap / 2
    try:
        weights = cfg.n_weights()
    except Exception:  # a row whose net cannot be sized here: equal weights
        weights = 100
    return min(n, cap) * steps_per_sequence(protocol, cfg) * weights


def order(protocol: str, jobs: list[tuple[Any, int]], past: dict[Any, list[int]]) -> list[tuple[Any, int]]:
    """The jobs, longest expected first (stable: equal costs keep their order)."""
    return sorted(jobs, key=lambda job: -expected_cost(protocol, job[0], job[1], past))


def idle_fraction(busy_s: float, workers: int, wall_s: float) -> float:
    """1 - busy / (workers x wall): the share of the workers' time no trial used."""
    if wall_s <= 0 or workers <= 0:
        return 0.0
    return max(0.0, 1.0 - busy_s / (workers * wall_s))


# ---------------------------------------------------------------------------------------------- engines


def uses_lanes(protocol: str, row: Any, engine: str, trials: int, workers: int) -> bool:
    """Whether a row's trials run in lanes: `lanes` wherever served; `auto` where they pay."""
    from cerepro.protocols.lanes import serves

    if engine == "one" or serves(protocol, row.config):
        return False
    if engine == "lanes":
        return True
    if protocol == "online" and row.config.stop == "st1st2":  # one net tests its check set in lanes: faster
        return False
    return trials / max(workers, 1) >= MIN_LANES[protocol]


@dataclasses.dataclass
class Work:
    """A unit of the shared list: one row's trials, in order; `lanes` rows are worked by lane engines."""

    row: Any
    trials: list[int]
    lanes: bool
    width: int = 1  # lanes per engine
    index: int = 0
    cost: float = dataclasses.field(default=0.0, compare=False)
    resume: Any = None  # a suspended engine's file (cerepro/checkpoints.py): its trials go on in it
    refill: int | None = None  # a resumed engine fills its idle lanes from this unit (the row's lane unit)


def plan(protocol: str, jobs: list[tuple[Any, int]], engine: str, workers: int, past: dict[Any, list[int]],
         resumed: tuple[tuple[Any, Any], ...] = ()) -> list[Work]:
    """The shared work list: lane rows as one unit each, other trials one by one; longest expected first.
    `resumed`: (row, checkpoints.Suspended) engines taken over by this run, a unit each, first; their rows'
    other trials form the row's unit as usual, from which the resumed engines also fill their lanes."""
    by_row: dict[int, list[int]] = {}
    rows: dict[int, Any] = {}
    going_on = {(id(row), t) for row, s in resumed for t in s.trials}
    for row, trial in order(protocol, jobs, past):
        rows[id(row)] = row
        if (id(row), trial) not in going_on:
            by_row.setdefault(id(row), []).append(trial)
    work: list[Work] = [Work(row, list(s.trials), True, s.lanes, cost=math.inf, resume=s.path) for row, s in resumed]
    for key, trials in by_row.items():
        row = rows[key]
        costs = [expected_cost(protocol, row, t, past) for t in trials]
        if uses_lanes(protocol, row, engine, len(trials), workers):
            width = min(MAX_LANES, max(1, math.ceil(len(trials) / max(workers, 1))))
            work.append(Work(row, trials, True, width, cost=max(costs)))
        else:
            work += [Work(row, [t], False, cost=c) for t, c in zip(trials, costs)]
    work.sort(key=lambda w: -w.cost)
    for i, w in enumerate(work):
        w.index = i
    for w in work:
        if w.resume is not None:
            w.refill = next((u.index for u in work if u.lanes and u.resume is None and u.row is w.row), None)
    return work


# ---------------------------------------------------------------------------------------------- local execution


def execute(protocol: str, jobs: list[tuple[Any, int]], seed: int, workers: int, engine: str,
            past: dict[Any, list[int]], one_net: Callable[..., Iterator], warm_up: Callable[[str, list], None],
            executor: str = "local", scheduler: str | None = None, stats: dict | None = None,
            init_worker: Callable[[], None] | None = None, store: Any = None) -> Iterator[tuple[Any, Any, Any]]:
    """Run the jobs; yield (row, trial, record) as trials finish and (None, None, k) for k more sequences.

    `one_net(protocol, jobs, seed, workers, executor, scheduler)` is the runner's one-net executor (used for
    dask, and for runs without lane rows); `warm_up(protocol, jobs)` compiles the kernels before forking.
    `stats`, if given, receives the run's idle_fraction: trial wall time summed over all trials against the
    workers' time from the start of the first trial (its end minus its wall_s) to the end of the last.
    `init_worker()` runs first in every worker process (the runner's: signals, dying with the parent).
    `store` (checkpoints.Store of the results folder, local runs): lane engines save themselves there, and
    suspended engines holding some of the jobs' trials go on."""
    first, last, busy = None, None, 0.0
    for item in _execute(protocol, jobs, seed, workers, engine, past, one_net, warm_up, executor, scheduler, init_worker,
                         store):
        if item[0] is not None:
            now, wall = time.perf_counter(), float(item[2].get("wall_s", 0.0))
            first = now - wall if first is None else min(first, now - wall)
            last, busy = now, busy + wall
        yield item
    if stats is not None:
        span = (last - first) if first is not None else 0.0
        stats["idle_fraction"] = idle_fraction(busy, min(workers, max(len(jobs), 1)), span)


def _execute(protocol: str, jobs: list[tuple[Any, int]], seed: int, workers: int, engine: str,
             past: dict[Any, list[int]], one_net: Callable[..., Iterator], warm_up: Callable[[str, list], None],
             executor: str, scheduler: str | None, init_worker: Callable[[], None] | None,
             store: Any) -> Iterator[tuple[Any, Any, Any]]:
    jobs = order(protocol, jobs, past)
    if executor != "local":
        store = None
    work = plan(protocol, jobs, engine, workers, past, _take_suspended(store, jobs, seed))
    if executor != "local" or not any(w.lanes for w in work):
        yield from one_net(protocol, jobs, seed, workers, executor, scheduler)
        return
    warm_up(protocol, [(w.row, w.trials[0]) for w in work if not w.lanes])
    _warm_lanes(protocol, [w for w in work if w.lanes], seed)
    if workers <= 1:  # in this process: progress after each trial
        progress: queue.SimpleQueue = queue.SimpleQueue()
        for _, index, trial, record in _worker_items(protocol, work, seed, _Claims(work, None), progress, store):
            k = 0
            while not progress.empty():
                k += progress.get()[1]
            if k:
                yield None, None, k
            yield work[index].row, trial, record
        return
    with interrupts.deferred():  # a signal stops the workers between waits, never inside one (cerepro.interrupts)
        yield from _in_processes(protocol, work, seed, workers, init_worker, store)


def _in_processes(protocol: str, work: list[Work], seed: int, workers: int, init_worker: Callable[[], None] | None,
                  store: Any) -> Iterator[tuple[Any, Any, Any]]:
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    claims = _Claims(work, ctx)
    procs = [ctx.Process(target=_worker, args=(protocol, work, seed, claims, results, init_worker, store), daemon=True)
             for _ in range(workers)]
    for p in procs:
        p.start()
    try:
        running = len(procs)
        while running:
            interrupts.check()
            try:
                item = results.get(timeout=0.25)
            except queue.Empty:
                if not any(p.is_alive() for p in procs):
                    raise RuntimeError("a worker died without reporting") from None
                continue
            kind = item[0]
            if kind == "end":
                running -= 1
            elif kind == "error":
                raise RuntimeError(f"a worker failed:\n{item[1]}")
            elif kind == "progress":
                yield None, None, item[1]
            else:
                _, index, trial, record = item
                yield work[index].row, trial, record
    finally:
        for p in procs:  # stop trials in flight at once (an interrupt keeps every finished trial)
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join()


class _Claims:
    """Next unclaimed trial of each work unit, shared by the workers."""

    def __init__(self, work: list[Work], ctx: Any):
        self.next = ctx.Array("q", len(work)) if ctx is not None else [0] * len(work)
        self.lock = ctx.Lock() if ctx is not None else None
        self.sizes = [len(w.trials) for w in work]

    def take(self, index: int) -> int | None:
        """The position of the next unclaimed trial of work unit `index`, or None."""
        if self.lock is None:
            return self._take(index)
        with self.lock:
            return self._take(index)

    def take_all(self, index: int) -> bool:
        """Claim every trial of work unit `index` at once (a resumed engine's); False if any was taken."""
        if self.lock is None:
            return self._take_all(index)
        with self.lock:
            return self._take_all(index)

    def _take_all(self, index: int) -> bool:
        if self.next[index] != 0:
            return False
        self.next[index] = self.sizes[index]
        return True

    def _take(self, index: int) -> int | None:
        i = self.next[index]
        if i >= self.sizes[index]:
            return None
        self.next[index] = i + 1
        return i


def _worker(protocol: str, work: list[Work], seed: int, claims: _Claims, results: Any,
            init_worker: Callable[[], None] | None, store: Any) -> None:
    if init_worker is not None:
        init_worker()
    else:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        for item in _worker_items(protocol, work, seed, claims, results, store):
            results.put(item)
    except Exception:
        results.put(("error", traceback.format_exc()))
    results.put(("end",))
    results.close()
    results.join_thread()
    os._exit(0)  # no atexit handlers of the parent's in a forked worker


def _worker_items(protocol: str, work: list[Work], seed: int, claims: _Claims, progress_to: Any,
                  store: Any = None) -> Iterator[tuple]:
    """Work through the shared list: lane units in a lane engine (resumed from its file, or new), others one
    trial at a time."""
    from cerepro import checkpoints, dispatch
    from cerepro.protocols.lanes import LaneEngine

    def progress(k: int) -> None:
        progress_to.put(("progress", k))

    for w in work:
        if w.lanes:
            def claim(u: int | None) -> int | None:
                i = None if u is None else claims.take(u)
                return None if i is None else work[u].trials[i]

            if w.resume is not None:
                if not claims.take_all(w.index):
                    continue
                engine, path, refill = checkpoints.Store.load(w.resume), w.resume, w.refill
                engine.keep_only(set(w.trials))
                engine.progress = progress
            else:
                engine = LaneEngine(protocol, w.row.config, seed, w.row.seed_key, lanes=w.width, progress=progress)
                path, refill = None, w.index
                if store is not None:
                    path = store.new_path(w.row.config_hash(), seed, w.row.seed_key)
            if store is not None:
                engine.suspend = store.saver(path)
            for trial, record in engine.run(lambda: claim(refill)):
                yield "record", w.index, trial, record
            if path is not None:
                checkpoints.discard(path)
        elif claims.take(w.index) is not None:
            trial = w.trials[0]
            record = dispatch.run_trial(protocol, w.row.config, seed, w.row.seed_key, trial, progress=progress)
            yield "record", w.index, trial, record


def _take_suspended(store: Any, jobs: list[tuple[Any, int]], seed: int) -> tuple[tuple[Any, Any], ...]:
    """(row, checkpoints.Suspended) of the suspended engines holding some of the jobs' trials, taken over."""
    if store is None:
        return ()
    by_row: dict[int, tuple[Any, set[int]]] = {}
    for row, trial in jobs:
        by_row.setdefault(id(row), (row, set()))[1].add(trial)
    return tuple((row, s) for row, trials in by_row.values()
                 for s in store.take(row.config_hash(), seed, row.seed_key, trials))


def _warm_lanes(protocol: str, work: list[Work], seed: int) -> None:
    """Compile (or load) the lane kernels once in the parent, so that forked workers inherit them."""
    from cerepro.protocols.lanes import LaneEngine

    done: set[str] = set()
    for w in work:
        key = type(w.row.config).__name__ + str(getattr(w.row.config, "task", ""))
        if key in done:
            continue
        done.add(key)
        cfg = dataclasses.replace(w.row.config, max_sequences=2, chunk=1, test_set_size=1)
        queue_ = [0]
        for _ in LaneEngine(protocol, cfg, seed, "warm-up", lanes=1).run(lambda: queue_.pop() if queue_ else None):
            pass
