"""Speed of whole rows beside the kernels (make bench): the trial loops end to end, and the lane engine.

Row rate: training time-steps per second of CPU time of whole trials (data, stop rule, success test, final
test, bookkeeping) on the nets of Tables 1, 2, 3, 4 (Exp 3's check set), 7 and 9, against the bare kernel (the
net's step in a loop) doing the same training work: each trial's initial net on that trial's own sequences
(replay_seconds). Row and kernel alternate `reps` times; rates and share come from the best time of each (CPU
time of this process, time.process_time), since a shared machine only ever adds time; the spread of the reps'
own ratios is reported beside it. Lane rate: K trials of a row trained together in K lanes (protocols/lanes.py)
against the same K trials one net at a time; K = 1, 8, 16, 32. Rows run at reduced caps (and lane rows with a reduced final test), so that a bench takes a
few minutes; the labels say so.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Iterator, NamedTuple

import numpy as np

from cerepro import config, seeding
from cerepro.dispatch import run_trial
from cerepro.generators.base import Sequences, as_sequences
from cerepro.protocols.common import Trial


class RowCase(NamedTuple):
    table: str  # the paper's table
    task: str  # the task's word in the kernels' names (bench.CASES), for --only
    experiment: str
    row: str
    trials: tuple[int, ...]  # trial indices (a row's own seeds)
    cap: int  # training sequences per trial at most (reduced)

    @property
    def name(self) -> str:
        """What --only matches, as a kernel case's name: model, task, experiment, row."""
        return f"lstm97 {self.task} {self.experiment} {self.row}"


ROWS = (
    RowCase("1", "reber", "exp1", "lstm-4x1-lr0.1", (2,), 100_000),  # fails every test up to the row's cap: the test's worst case
    RowCase("1", "reber", "exp1", "lstm-3x2-lr0.5", (12, 14), 20_000),  # succeeds after 15,076 and 12,630 strings
    RowCase("2", "2a", "exp2a", "lstm-p100", (0,), 20_000),  # 101 outputs; the cell added after 3,600, no success
    RowCase("3", "2c", "exp2c", "q50-p50", (2, 9), 100_000),  # succeed after 83,296 and 77,719 sequences
    RowCase("4", "3a", "exp3a", "lstm-T100-N3", (0,), 12_000),  # passes ST1, then ST2 after 9,500: the check set's cost
    RowCase("7", "adding", "exp4", "lstm-T100", (0,), 30_000),
    RowCase("9", "temporal", "exp6a", "lstm-2x2", (5, 10), 30_000),  # succeed after 21,729 and 20,411 sequences
)
LANE_ROWS = (RowCase("7", "adding", "exp4", "lstm-T100", (), 1_000), RowCase("3", "2c", "exp2c", "q50-p50", (), 1_500),
             RowCase("3", "2c", "exp2c", "q1000-p1000", (), 300))
LANE_COUNTS = (1, 8, 16, 32)  # K; a lane row's trials are 0 .. K-1


def _row(experiment: str, name: str):
    exp = config.resolve(experiment)
    return exp, next(r for r in exp.rows if r.name == name)


def trained_chunks(protocol: str, cfg: Any, seed: int, row_key: str, trial: int, record: dict) -> Iterator[Sequences]:
    """The sequences a trial trained on, in its order (as its loop drew them; how many: from its record), in
    chunks in the kernels' layout."""
    tseed = seeding.trial_seed(seed, row_key, trial)
    n = int(record.get("presented", record["sequences"]))
    if protocol == "online":
        from cerepro.protocols.online import trial as online

        block = 0
        while n > 0:
            seqs = as_sequences(online.draw(cfg, seeding.stream(tseed, "train", block), online.DATA_BLOCK))
            yield Sequences(*(a[:n] for a in seqs))
            n, block = n - seqs.lengths.shape[0], block + 1
    elif protocol == "longlag":
        from cerepro.protocols.longlag import source as longlag

        src = longlag.Source(cfg, seeding.stream(tseed, "train"))
        while n > 0:
            x_index, t_index, _, lengths = src.take(min(n, cfg.chunk))
            rows, steps = np.nonzero(t_index >= 0)
            targets = np.zeros(t_index.shape + (cfg.sizes()[1],))  # (n, T, K) one-hot where a target is set
            targets[rows, steps, t_index[rows, steps]] = 1.0
            yield Sequences(x_index, np.zeros(t_index.shape + (0,)), targets, t_index >= 0, lengths)
            n -= lengths.shape[0]
    else:
        from cerepro.protocols.reber import trial as reber_trial

        _, pool = reber_trial._encoded(seed, trial % cfg.set_pairs, cfg)
        rng, done = seeding.stream(tseed, "train"), 0
        while done < n:  # the trial draws each chunk's order whole, then may stop within it
            order = rng.integers(0, pool.lengths.shape[0], size=min(cfg.chunk, cfg.max_sequences - done))
            yield Sequences(*(a[order[: n - done]] for a in pool))
            done += order.shape[0]


def trained_steps(protocol: str, cfg: Any, seed: int, row_key: str, trial: int, record: dict) -> int:
    """The time steps a trial trained on."""
    return sum(int(c.lengths.sum()) for c in trained_chunks(protocol, cfg, seed, row_key, trial, record))


def replay_seconds(protocol: str, cfg: Any, seed: int, row_key: str, trials: tuple[int, ...], records: list[dict]) -> float:
    """CPU seconds of the bare kernel (the net's step in a loop) training each trial's initial net on that trial's
    own sequences: the row's training work without its data generation, tests and bookkeeping."""
    from cerepro.bench import train_loop

    spent = 0.0
    for t, record in zip(trials, records):
        net, ws, step = Trial(cfg, seed, row_key, t, build=False).build()
        for chunk in trained_chunks(protocol, cfg, seed, row_key, t, record):
            out_y = np.zeros((chunk.targets.shape[1], chunk.targets.shape[2]))
            t0 = time.process_time()
            train_loop(step, net, ws, chunk, cfg.lr, out_y)
            spent += time.process_time() - t0
    return spent


def rows(reps: int = 5, only: str = "") -> list[dict]:
    """Per row (whose name contains `only`): end-to-end and bare-kernel time steps per second on the same work
    (replay_seconds), alternately `reps` times; the share is the best kernel time over the best row time, with
    the lowest and highest of the reps' own ratios."""
    out = []
    for case in (c for c in ROWS if only in c.name):
        exp, row = _row(case.experiment, case.row)
        cfg = dataclasses.replace(row.config, max_sequences=case.cap)
        first = run_trial(exp.protocol, dataclasses.replace(cfg, max_sequences=2, chunk=1), exp.seed, row.seed_key, 0)
        replay_seconds(exp.protocol, cfg, exp.seed, row.seed_key, (0,), [first])  # compile outside the timing
        row_s, kernel_s, records = [], [], []
        for _ in range(reps):
            t0 = time.process_time()
            records = [run_trial(exp.protocol, cfg, exp.seed, row.seed_key, t) for t in case.trials]
            row_s.append(time.process_time() - t0)
            kernel_s.append(replay_seconds(exp.protocol, cfg, exp.seed, row.seed_key, case.trials, records))
        steps = sum(trained_steps(exp.protocol, cfg, exp.seed, row.seed_key, t, r) for t, r in zip(case.trials, records))
        ratios = [k / r for k, r in zip(kernel_s, row_s)]
        out.append({"table": case.table, "row": f"{case.experiment} {case.row}", "trials": len(case.trials),
                    "cap": case.cap, "sequences": sum(int(r.get("presented", r["sequences"])) for r in records),
                    "row_steps_per_s": steps / min(row_s), "kernel_steps_per_s": steps / min(kernel_s),
                    "ratio": min(kernel_s) / min(row_s), "ratio_range": (min(ratios), max(ratios))})
    return out


def lanes(reps: int = 2, counts: tuple[int, ...] | None = None, only: str = "") -> list[dict]:
    """Per lane row (whose name contains `only`) and K: the one-net and the lane engine's aggregate time steps
    per CPU second on K trials."""
    from cerepro.protocols.lanes import LaneEngine

    out = []
    for table, _, experiment, name, _, cap in (c for c in LANE_ROWS if only in c.name):
        exp, row = _row(experiment, name)
        cfg = dataclasses.replace(row.config, max_sequences=cap, test_set_size=max(1, cap // 50))
        warm = [0]
        list(LaneEngine(exp.protocol, dataclasses.replace(cfg, max_sequences=2), exp.seed, row.seed_key, 1).run(
            lambda: warm.pop() if warm else None))
        run_trial(exp.protocol, dataclasses.replace(cfg, max_sequences=2, chunk=1), exp.seed, row.seed_key, 0)
        for k in counts or LANE_COUNTS:
            trials = list(range(k))
            one_s, lane_s, steps = np.inf, np.inf, 0
            for _ in range(reps):
                t0 = time.process_time()
                records = [run_trial(exp.protocol, cfg, exp.seed, row.seed_key, t) for t in trials]
                one_s = min(one_s, time.process_time() - t0)
                todo = list(trials)
                t0 = time.process_time()
                dict(LaneEngine(exp.protocol, cfg, exp.seed, row.seed_key, lanes=k).run(lambda: todo.pop(0) if todo else None))
                lane_s = min(lane_s, time.process_time() - t0)
            steps = sum(trained_steps(exp.protocol, cfg, exp.seed, row.seed_key, t, r) for t, r in zip(trials, records))
            out.append({"table": table, "row": f"{experiment} {name}", "lanes": k, "cap": cap,
                        "one_steps_per_s": steps / one_s, "lane_steps_per_s": steps / lane_s, "speedup": one_s / lane_s})
    return out


def rows_view(records: list[dict], width: int) -> Any:
    """The rows table (views.fitted: fitted to the console)."""
    from cerepro.text import number
    from cerepro.views import Column, fitted

    columns = [Column("table", "left"), Column("row", "left"), Column("trials", drop=2), Column("sequences", drop=1),
               Column("row"), Column("bare kernel"), Column("row / kernel"), Column("reps", drop=3)]
    cells = [[r["table"], r["row"], str(r["trials"]), number(r["sequences"]), number(r["row_steps_per_s"]),
              number(r["kernel_steps_per_s"]), f"{r['ratio']:.0%}",
              f"{r['ratio_range'][0]:.0%}-{r['ratio_range'][1]:.0%}"] for r in records]
    return fitted("Whole rows, one core (time-steps per CPU second, best of the reps; reduced caps)", columns, cells,
                  width)


def lanes_view(records: list[dict], width: int) -> Any:
    """The lanes table: aggregate time-steps per CPU second of K trials, one net per call and in K lanes."""
    from cerepro.text import number
    from cerepro.views import Column, fitted

    columns = [Column("table", "left"), Column("row", "left"), Column("cap", drop=1), Column("K"),
               Column("one net per call"), Column("lanes"), Column("speed-up")]
    cells = [[r["table"], r["row"], number(r["cap"]), str(r["lanes"]), number(r["one_steps_per_s"]),
              number(r["lane_steps_per_s"]), f"{r['speedup']:.2f}x"] for r in records]
    return fitted("Lanes: K trials of a row in one kernel, aggregate per core (time-steps per CPU second)", columns, cells,
                  width)
