"""Speed of whole rows beside the kernels (make bench): the trial loops end to end, and the lane engine.

Row rate: training time-steps per second of CPU time of whole trials (data, stop rule, success test, final
test, bookkeeping) on the nets of Tables 1, 2, 3, 4 (Exp 3's check set), 7 and 9, against the bare 1997 kernel
(the net's step in a loop: kernel.step_for) on the same net and sequences of the same task. Lane rate: K trials
of a row trained together in K lanes (protocols/lanes.py) against the same K trials one net at a time; K = 1, 8,
16, 32. Rows run at reduced caps (and lane rows with a reduced final test), so that a bench takes about a
minute; the labels say so. CPU time of this process (time.process_time), the best of `reps` interleaved
repetitions: the machine may be shared.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, NamedTuple

import numpy as np

from cerepro import config, seeding
from cerepro.dispatch import run_trial
from cerepro.generators import TASKS
from cerepro.generators.base import as_sequences


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
    RowCase("1", "reber", "exp1", "lstm-4x1-lr0.1", (2,), 20_000),  # fails every test: the test's worst case
    RowCase("1", "reber", "exp1", "lstm-3x2-lr0.5", (12, 14), 20_000),  # succeeds after 15,076 and 12,630 strings
    RowCase("2", "2a", "exp2a", "lstm-p100", (0,), 20_000),  # 101 outputs; the cell added after 3,600, no success
    RowCase("3", "2c", "exp2c", "q50-p50", (2, 9), 100_000),  # succeed after 83,296 and 77,719 sequences
    RowCase("4", "3a", "exp3a", "lstm-T100-N3", (0,), 12_000),  # passes ST1, then ST2 after 9,500: the check set's cost
    RowCase("7", "adding", "exp4", "lstm-T100", (0,), 30_000),
    RowCase("9", "temporal", "exp6a", "lstm-2x2", (5, 10), 30_000),  # succeed after 21,729 and 20,411 sequences
)
LANE_ROWS = (RowCase("7", "adding", "exp4", "lstm-T100", (), 1_000), RowCase("3", "2c", "exp2c", "q50-p50", (), 1_500))
LANE_COUNTS = (1, 8, 16, 32)  # K; a lane row's trials are 0 .. K-1


def _row(experiment: str, name: str):
    exp = config.resolve(experiment)
    return exp, next(r for r in exp.rows if r.name == name)


def trained_steps(protocol: str, cfg: Any, seed: int, row_key: str, trial: int, record: dict) -> int:
    """The time steps a trial trained on, from its streams (as its loop drew them) and its record."""
    tseed = seeding.trial_seed(seed, row_key, trial)
    n = int(record.get("presented", record["sequences"]))
    if protocol == "online":
        from cerepro.protocols.online import trial as online

        steps, block = 0, 0
        while n > 0:
            lengths = online.draw(cfg, seeding.stream(tseed, "train", block), online.DATA_BLOCK).lengths[:n]
            steps, n, block = steps + int(lengths.sum()), n - lengths.shape[0], block + 1
        return steps
    if protocol == "longlag":
        from cerepro.protocols.longlag import source as longlag

        return int(longlag.Source(cfg, seeding.stream(tseed, "train")).take(n).lengths.sum()) if n else 0
    from cerepro.generators import reber
    from cerepro.protocols.reber import trial as reber_trial

    train, _ = reber_trial.set_pair(seed, trial % cfg.set_pairs, cfg)
    lengths = reber.encode(train).lengths
    rng, steps, left = seeding.stream(tseed, "train"), 0, n
    while left > 0:
        order = rng.integers(0, lengths.shape[0], size=min(cfg.chunk, cfg.max_sequences - (n - left)))
        steps += int(lengths[order[: min(left, order.shape[0])]].sum())
        left -= order.shape[0]
    return steps


def kernel_rate(cfg: Any, rng: np.random.Generator, steps: int) -> float:
    """Time steps per CPU second of the bare kernel, on fresh sequences of the row's task (about `steps` of them)."""
    from cerepro import models
    from cerepro.bench import train_loop

    net, ws, step = models.get("lstm97").build(np.random.default_rng(0), cfg, *cfg.sizes())
    task = TASKS[getattr(cfg, "task", "reber")]
    probe = task.sample(rng, 50, cfg)
    n = max(50, int(steps / max(probe.lengths.mean(), 1)))
    seqs = as_sequences(task.sample(rng, n, cfg))
    out_y = np.zeros((seqs.targets.shape[1], seqs.targets.shape[2]))
    train_loop(step, net, ws, as_sequences(probe), cfg.lr, out_y)  # compile outside the timing
    t0 = time.process_time()
    train_loop(step, net, ws, seqs, cfg.lr, out_y)
    return int(seqs.lengths.sum()) / (time.process_time() - t0)


def rows(reps: int = 2, only: str = "") -> list[dict]:
    """Per row (whose name contains `only`): end-to-end and bare-kernel time steps per second, and their ratio."""
    out = []
    for case in (c for c in ROWS if only in c.name):
        exp, row = _row(case.experiment, case.row)
        cfg = dataclasses.replace(row.config, max_sequences=case.cap)
        run_trial(exp.protocol, dataclasses.replace(cfg, max_sequences=2, chunk=1), exp.seed, row.seed_key, 0)  # compile
        best_row, best_kernel, steps, records = 0.0, 0.0, 0, []
        for _ in range(reps):
            t0 = time.process_time()
            records = [run_trial(exp.protocol, cfg, exp.seed, row.seed_key, t) for t in case.trials]
            elapsed = time.process_time() - t0
            steps = sum(trained_steps(exp.protocol, cfg, exp.seed, row.seed_key, t, r) for t, r in zip(case.trials, records))
            best_row = max(best_row, steps / elapsed)
            best_kernel = max(best_kernel, kernel_rate(cfg, np.random.default_rng(1), min(steps, 3_000_000)))
        out.append({"table": case.table, "row": f"{case.experiment} {case.row}", "trials": len(case.trials),
                    "cap": case.cap, "sequences": sum(int(r.get("presented", r["sequences"])) for r in records),
                    "row_steps_per_s": best_row, "kernel_steps_per_s": best_kernel, "ratio": best_row / best_kernel})
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
               Column("row"), Column("bare kernel"), Column("row / kernel")]
    cells = [[r["table"], r["row"], str(r["trials"]), number(r["sequences"]), number(r["row_steps_per_s"]),
              number(r["kernel_steps_per_s"]), f"{r['ratio']:.0%}"] for r in records]
    return fitted("Whole rows, one core (time-steps per CPU second; reduced caps)", columns, cells, width)


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
