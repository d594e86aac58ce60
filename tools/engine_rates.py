"""Aggregate time-steps per CPU second of 32 trials of a row: one net per call, or the lane engine (K = 32).

For comparing engines across commits in one window (docs/throughput.md, "Against the code of the issue's
time"): run it with each checkout's own interpreter, alternately, background runs paused, e.g.

    (cd OLD && .venv/bin/python /path/to/tools/engine_rates.py one)   # any commit with config.resolve
    .venv/bin/python tools/engine_rates.py lanes
    .venv/bin/python tools/engine_rates.py steps                      # the time steps the trials train on

Prints one JSON document: per row, the CPU seconds of the 32 trials and their sequence counts and successes
(equal across engines and commits if the numbers are), or (`steps`) the trained time steps, computed by this
checkout (cerepro.bench_rows.trained_steps). Rows: adding T = 100 (Table 7), cap 8,000; 2c q = p = 100
(Table 3), cap 3,000 (no trial of either stops before its cap, so `steps` counts every trial to the cap);
final tests of cap / 50 sequences.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

from cerepro import config

ROWS = (("exp4", "lstm-T100", 8000), ("exp2c", "q100-p100", 3000))
K = 32


def _one(protocol, cfg, seed, row_key, trials):
    try:
        from cerepro.dispatch import run_trial
    except ImportError:  # commits before the protocols were dispatched (e.g. 2011c82)
        from cerepro.protocols import PROTOCOLS

        def run_trial(protocol, cfg, seed, row_key, trial):
            return PROTOCOLS[protocol][0].run_trial(cfg, seed, row_key, trial)
    run_trial(protocol, dataclasses.replace(cfg, max_sequences=2), seed, row_key, 0)  # compile
    t0 = time.process_time()
    records = {t: run_trial(protocol, cfg, seed, row_key, t) for t in trials}
    return time.process_time() - t0, records


def _lanes(protocol, cfg, seed, row_key, trials):
    from cerepro.protocols.lanes import LaneEngine

    warm = [0]
    list(LaneEngine(protocol, dataclasses.replace(cfg, max_sequences=2), seed, row_key, 1).run(
        lambda: warm.pop() if warm else None))
    todo = list(trials)
    t0 = time.process_time()
    records = dict(LaneEngine(protocol, cfg, seed, row_key, lanes=len(trials)).run(lambda: todo.pop(0) if todo else None))
    return time.process_time() - t0, records


def main(mode: str) -> dict:
    out = {}
    for experiment, name, cap in ROWS:
        exp = config.resolve(experiment)
        row = next(r for r in exp.rows if r.name == name)
        cfg = dataclasses.replace(row.config, max_sequences=cap, test_set_size=max(1, cap // 50))
        trials = list(range(K))
        if mode == "steps":
            from cerepro.bench_rows import trained_steps

            out[f"{experiment} {name}"] = sum(trained_steps(exp.protocol, cfg, exp.seed, row.seed_key, t,
                                                            {"sequences": cap}) for t in trials)
            continue
        seconds, records = (_lanes if mode == "lanes" else _one)(exp.protocol, cfg, exp.seed, row.seed_key, trials)
        out[f"{experiment} {name}"] = {"cpu_s": seconds,
                                       "sequences": [int(records[t].get("presented", records[t]["sequences"])) for t in trials],
                                       "success": [bool(records[t]["success"]) for t in trials]}
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("one", "lanes", "steps"):
        sys.exit("usage: engine_rates.py one|lanes|steps")
    print(json.dumps(main(sys.argv[1])))
