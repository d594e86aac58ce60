"""Re-run committed trials from the ledger's seeds and compare the records field by field (all but their timing).

The proof that a change kept every number: `python tools/recompute.py` picks, for every row configuration in
results/ledger.sqlite whose cheapest trial took at most --max-wall seconds, that trial (plus the rows named in
ALWAYS, so that every protocol and every model is covered), runs it again with the code of this checkout and
prints one line per trial. Exit status 1 if any record differs.

Every trained number is compared bit for bit. The error-flow records (`cerepro run error-flow`) are numpy
computations whose last bits follow the code numpy and its BLAS pick for the CPU at hand (products, exp): there a
float may differ by ROUNDING (relative), and a check's residual (finite differences, closed forms: rounding
noise itself) only by which side of its limit it falls on; such a record is reported CLOSE, not DIFF.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

from cerepro import config, hypotheses
from cerepro.config import SpecError
from cerepro.dispatch import run_trial
from cerepro.models import MODELS
from cerepro.protocols.common import untimed


# (experiment, row, variant) re-run even if slower than --max-wall: the protocols and models nothing cheaper covers
ALWAYS = (
    ("exp1", "elm-15", "baseline"),  # elman
    ("cerg", "lstm-external-reset", "paper"),  # cerg protocol, forget-gate kernel without forget gate, string resets
    ("cerg", "forget-gates", "paper"),  # cerg with forget gates
    ("exp4", "lstm-T100", "linear-output"),  # online ST3
    ("exp3a", "lstm-T100-N3", "paper"),  # online ST1/ST2: the check set in lanes (models/lstm97/frozen_batch.py)
    ("exp2c", "q50-p50", "lr-x100"),  # long-lag 2c: the final test in lanes
    ("exp2a", "lstm-p100", "g2-no-output-derivative"),  # longlag 2a with sequential construction
    ("exp2a", "guess-p4", "baseline"),  # guessing on the longlag protocol
)
CAPS = (3_000, 20_000, 100_000, 300_000, 500_000, 1_000_000, 5_000_000)  # caps of reduced and paper-scale runs


def _rows(exp_name: str, cache: dict) -> dict:
    """(row, variant) -> Row of the experiment as this checkout's spec gives it, --model and hypothesis variants included."""
    if exp_name not in cache:
        exp = config.resolve(exp_name)
        rows = list(exp.rows + exp.variants + exp.baselines)
        for model in MODELS:
            try:
                rows += config.with_model(exp.rows, model)
            except SpecError:
                pass
        found, screen = hypotheses.load()  # hypothesis rows (`cerepro explain`) at screening and paper scale
        for scale in ("screen", "paper") if exp_name in hypotheses.EXPERIMENTS_1997 else ():
            rows += hypotheses.plan(found, exp, scale, screen)[0]
        cache[exp_name] = (exp, {(r.name, r.variant): r for r in rows})
    return cache[exp_name]


def _resolve(group: tuple, records: list[dict], cache: dict):
    """The Row whose config hash is the ledger's (trying the caps a reduced run may have used), or None."""
    experiment, row_name, variant, config_hash = group
    exp, rows = _rows(experiment, cache)
    row = rows.get((row_name, variant))
    if row is None:
        return exp, None
    caps = {row.config.max_sequences, *CAPS}
    caps |= {r[k] for r in records for k in ("sequences", "presented") if isinstance(r.get(k), int) and r[k] > 0}
    for cap in sorted(caps):
        candidate = row if cap == row.config.max_sequences else config.with_overrides((row,), max_sequences=cap)[0]
        if candidate.config_hash() == config_hash:
            return exp, candidate
    return exp, None


ROUNDING = 1e-12  # error-flow floats: the relative difference numpy's CPU-dependent code paths may leave


def close(now, then, path: str = "") -> bool:
    """An error-flow record equal to another up to rounding: the same structure and every non-float value,
    floats within ROUNDING (relative), and each check residual on the same side of its limit."""
    from cerepro.protocols.errorflow import CHECK_LIMITS

    if isinstance(now, dict) and isinstance(then, dict):
        if not path:  # the record itself: its timing differs between runs
            now, then = untimed(now), untimed(then)
        return now.keys() == then.keys() and all(close(now[k], then[k], f"{path}.{k}") for k in now)
    if isinstance(now, list) and isinstance(then, list):
        return len(now) == len(then) and all(close(a, b, path) for a, b in zip(now, then))
    if isinstance(now, float) and isinstance(then, float):
        check = path.rsplit(".", 1)[-1]
        if path.startswith(".checks.") and check in CHECK_LIMITS:
            return (now <= CHECK_LIMITS[check]) == (then <= CHECK_LIMITS[check])
        return abs(now - then) <= ROUNDING * max(abs(now), abs(then))
    return now == then


def _canonical(record: dict) -> str:
    return json.dumps(untimed(record), sort_keys=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", default=str(Path(__file__).resolve().parent.parent / "results" / "ledger.sqlite"))
    parser.add_argument("--max-wall", type=float, default=2.5, help="re-run a row if its cheapest trial took at most this (s)")
    parser.add_argument("--only", default="", help="only experiments whose name contains this")
    args = parser.parse_args(argv)
    db = sqlite3.connect(f"file:{args.ledger}?mode=ro", uri=True)
    groups: dict[tuple, list] = {}
    for experiment, row, variant, config_hash, seed, trial, record in db.execute(
            "SELECT experiment, row, variant, config_hash, run_seed, trial, record FROM trials ORDER BY 1, 2, 3, 4, 6"):
        groups.setdefault((experiment, row, variant, config_hash, seed), []).append((trial, json.loads(record)))
    cache: dict = {}
    checked = differ = skipped = rounded = 0
    for (experiment, row_name, variant, config_hash, seed), trials in groups.items():
        if args.only and args.only not in experiment:
            continue
        trial, record = min(trials, key=lambda tr: tr[1].get("wall_s", 0.0))
        if record.get("wall_s", 0.0) > args.max_wall and (experiment, row_name, variant) not in ALWAYS:
            continue
        exp, row = _resolve((experiment, row_name, variant, config_hash), [r for _, r in trials], cache)
        label = f"{experiment}/{row_name}/{variant} [{config_hash}] trial {trial}"
        if row is None:
            skipped += 1
            print(f"SKIP  {label}: no row of this checkout's spec has that config hash", flush=True)
            continue
        start = time.perf_counter()
        now = json.loads(json.dumps(run_trial(exp.protocol, row.config, seed, row.seed_key, trial)))
        checked += 1
        if _canonical(now) == _canonical(record):
            print(f"OK    {label}: {record.get('outcome')} after {record.get('sequences'):,} sequences "
                  f"({time.perf_counter() - start:.1f} s)", flush=True)
            continue
        if exp.protocol == "errorflow" and close(now, record):
            print(f"CLOSE {label}: equal up to numpy's rounding on this CPU (relative {ROUNDING:g}; check residuals on "
                  "the same side of their limits)", flush=True)
            rounded += 1
            continue
        differ += 1
        keys = sorted(set(untimed(now)) | set(untimed(record)))
        diffs = [k for k in keys if json.dumps(now.get(k)) != json.dumps(record.get(k))]
        print(f"DIFF  {label}: " + "; ".join(f"{k}: ledger {record.get(k)!r} now {now.get(k)!r}"[:200] for k in diffs),
              flush=True)
    print(f"{checked} trials re-computed: {checked - differ - rounded} identical, "
          + (f"{rounded} error-flow records equal up to rounding, " if rounded else "")
          + f"{differ} differ; {skipped} rows not found")
    return 1 if differ or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
