"""The hypothesis matrix: every hypothesis against every 1997 LSTM row, built from the ledger alone.

A cell is the best-scale run the ledger holds for (hypothesis, row): the paper-scale row if all its trials
are there, else the screening row (labelled screen), else whatever part exists (partial). Its verdict uses
compare.verdict's tolerances (10 points of success rate, a factor 1.5 in mean sequences); where the paper
gives no success rate (Tables 3-9 report means over all trials, none failing) 100 % is implied.
explain_report writes it out (results/HYPOTHESES.md, hypotheses.json, figures/hypotheses.png).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from cerepro import compare, config, explain_report, hypotheses as hyp, tables
from cerepro.config import Row, SpecError
from cerepro.ledger import Ledger
from cerepro.specfile import hint

IMPLIED_SUCCESS = 100.0  # Tables 3-9: means over all trials, no failures reported


def select(names: list[str], experiments: list[str], only_rows: list[str] | None, scale: str, trials: int | None = None,
           max_sequences: int | None = None) -> tuple[list[tuple[config.Experiment, tuple[Row, ...]]], hyp.Screen]:
    """What `cerepro explain` runs: per experiment, its hypothesis rows (SpecError for unknown names)."""
    hypotheses, screen = hyp.load()
    chosen = hyp.select(hypotheses, names)
    for name in experiments:
        if name not in hyp.EXPERIMENTS_1997:
            raise SpecError(f"--experiments: {name!r} is not a 1997 experiment{hint(name, hyp.EXPERIMENTS_1997)}; "
                            f"experiments: {', '.join(hyp.EXPERIMENTS_1997)}")
    exps = [config.resolve(e) for e in experiments or hyp.EXPERIMENTS_1997]
    if only_rows:
        known = {r.name for e in exps for r in hyp.lstm_rows(e)}
        for name in only_rows:
            if name not in known:
                raise SpecError(f"--rows: no LSTM row {name!r} in these experiments{hint(name, known)}")
    return [(e, hyp.plan(chosen, e, scale, screen, only_rows, trials, max_sequences)[0]) for e in exps], screen


def runs(selected: list[tuple[config.Experiment, tuple[Row, ...]]], scale: str, workers: int, out_dir: Path,
         version: str, engine: str = "auto", until_decided: bool = False,
         screen: hyp.Screen | None = None) -> Iterator[tuple[str, Any]]:
    """The work of `cerepro explain`, as (kind, data) for the CLI to render: ("adopted", (experiment, n)),
    ("paper only", (experiment, rows only the paper's cap can decide)), ("bound", (experiment, [(hypothesis on
    row, trials, cap)])), ("experiment", (experiment, rows to run)), ("run", (label, the runner's events)). Screening runs in rounds (`rounds`), and so do the paper
    scale if `until_decided` and the bound scale (`bound_rows`, until out of reach); `engine` as `cerepro run
    --engine` (the numbers are the same)."""
    from cerepro import runner
    from cerepro.plan import Plan

    screen = screen or hyp.load()[1]
    for exp, rows in selected:
        todo, adopted = prepare(out_dir, rows, exp.seed, version, exp.protocol)
        settled = None
        if scale == "bound":
            todo, paper_only, more = bound_rows(todo, screen, out_dir, exp.seed, version, exp.protocol)
            adopted += more
            settled = _still_open(screen, exp.seed)
            if paper_only:
                yield "paper only", (exp.name, paper_only)
            if todo:
                yield "bound", (exp.name, [(_label(r), r.config.trials, r.config.max_sequences) for r in todo])
        if adopted:
            yield "adopted", (exp.name, adopted)
        if not todo:
            continue
        yield "experiment", (exp.name, len(todo))
        # bound rows are few and their trials long (failures at caps of millions): a round of one trial per worker
        step = workers if scale == "bound" else None
        batches = rounds(todo, out_dir, exp.seed, settled, step) if scale != "paper" or until_decided else iter([(None, todo)])
        for k, batch in batches:
            label = exp.name if k is None else f"{exp.name}, up to {k} trials per row"
            yield "run", (label, runner.run(Plan(exp, batch, exp.seed), workers, out_dir, write=False, engine=engine))


def rebuild(out_dir: Path) -> tuple[dict[str, Any], list[Path]]:
    """The matrix of every shipped hypothesis on every 1997 LSTM row, from the ledger; written to out_dir."""
    hypotheses, screen = hyp.load()
    doc = matrix(out_dir, hypotheses, screen, [config.resolve(e) for e in hyp.EXPERIMENTS_1997])
    return doc, explain_report.write(out_dir, doc)


def prepare(out_dir: Path, rows: tuple[Row, ...], seed: int, version: str, protocol: str) -> tuple[tuple[Row, ...], int]:
    """Rows still to run, and the number of trials adopted from the ledger.

    A trial of the same configuration (config hash) recorded under another variant name, e.g. the `output-bias`
    variant of tasks/exp1.yaml, is the trial this row would compute (trial seeds depend on the paper row, not the
    variant): it is recorded again under the hypothesis's variant instead of being re-run, with the row's
    settings (`_adopt`). A screening row whose paper-scale row is complete in the ledger is not run, and of rows
    that coincide (two hypotheses that set a row the same way) only the first."""
    ledger = Ledger(out_dir / "ledger.sqlite")
    adopted, todo, planned = 0, [], set()
    try:
        for row in rows:
            if _again(row, planned):
                continue
            full = hyp.at_spec_scale(row)
            adopted += _adopt(ledger, full, seed, version, protocol)
            if row.config != full.config:
                if _complete(ledger, full, seed):
                    continue  # the paper-scale row is there: no screening needed
                adopted += _adopt(ledger, row, seed, version, protocol)
            if not _complete(ledger, row, seed):
                todo.append(row)
    finally:
        ledger.close()
    return tuple(todo), adopted


def _again(row: Row, planned: set[tuple[str, str]]) -> bool:
    """Whether an earlier row of this plan has `row`'s configuration (another hypothesis that sets the row the
    same way: its run serves both, `_same_configuration`); notes `row`'s otherwise."""
    key = (row.name, row.config_hash())
    if key in planned:
        return True
    planned.add(key)
    return False


def _done(ledger: Ledger, row: Row, seed: int) -> dict[int, dict]:
    return ledger.done(row.experiment, row.name, row.variant, row.config_hash(), seed)


def _complete(ledger: Ledger, row: Row, seed: int) -> bool:
    done = _done(ledger, row, seed)
    return all(t in done for t in range(row.config.trials))


def _adopt(ledger: Ledger, row: Row, seed: int, version: str, protocol: str) -> int:
    have = _done(ledger, row, seed)
    found = {t: r for t, r in ledger.equivalent(row.experiment, row.name, row.config_hash(), seed).items()
             if t not in have and t < row.config.trials}
    return _record(ledger, row, seed, found, version, protocol)


def _record(ledger: Ledger, row: Row, seed: int, records: dict[int, dict], version: str, protocol: str) -> int:
    """Record trials (index -> record) computed under another configuration of the same numbers as `row`'s, and
    `row`'s settings beside them (a hypothesis row: out of the experiment's tables), as a run of `row` would
    have; returns their number."""
    if records:
        ledger.record_config(tables.stored(row, seed, protocol, version=version, tabled=False))
    for trial, record in records.items():
        ledger.add({"experiment": row.experiment, "row": row.name, "variant": row.variant, "model": row.config.model,
                    "config_hash": row.config_hash(), "run_seed": seed, "trial": trial}, record, version)
    return len(records)


def failures_allowed(paper_pct: float, planned: int) -> int:
    """The most failed trials a row of `planned` trials may have and still be within SUCCESS_POINTS of the paper."""
    need = max(0.0, paper_pct - compare.SUCCESS_POINTS) / 100.0
    return int(math.floor(planned * (1.0 - need) + 1e-9))


def decided(records: list[dict], paper_pct: float | None, planned: int) -> bool:
    """True once the failures among `records` exceed what `planned` trials allow: the verdict is `differs`
    whatever the remaining trials do (so screening may stop there; the success rate over the trials run is
    then at or below the final one)."""
    return paper_pct is not None and sum(not r["success"] for r in records) > failures_allowed(paper_pct, planned)


def rounds(rows: tuple[Row, ...], out_dir: Path, seed: int,
           settled: Callable[[Ledger, Row, list[dict]], bool] | None = None,
           step: int | None = None) -> Iterator[tuple[int, tuple[Row, ...]]]:
    """Screening in rounds of 2, 4, 8, ... trials per row (`step` given: step, 2 step, 3 step, ...): yields
    (trials, rows still to run with that many trials); a row drops out as soon as it is decided (see `decided`;
    or `settled(ledger, row, its records)`) or has all its trials."""
    settled = settled or (lambda _, row, records: decided(records, _paper(row)[1], row.config.trials))
    k = step or 2
    while True:
        todo = []
        ledger = Ledger(out_dir / "ledger.sqlite")
        try:
            for row in rows:
                done = _done(ledger, row, seed)
                records = [done[t] for t in sorted(done) if t < row.config.trials]
                if row.to_run(done) and not settled(ledger, row, records):
                    todo.append(dataclasses.replace(row, config=dataclasses.replace(row.config, trials=min(k, row.config.trials))))
        finally:
            ledger.close()
        if not todo:
            return
        yield k, tuple(todo)
        k = k + step if step else 2 * k


BOUND_MARGIN = 4  # a bound row's new failures beyond those the paper's success rate allows (more: a lower cap)


def bound_rows(rows: tuple[Row, ...], screen: hyp.Screen, out_dir: Path, seed: int, version: str, protocol: str
               ) -> tuple[tuple[Row, ...], list[str], int]:
    """`--scale bound`: (rows to run, names of the rows only the paper's cap can decide, trials adopted).

    Each planned row (a hypothesis's row at paper scale, under its hyp- variant) gets the cap (rounded up to
    1,000) and trial count of the cheapest run whose failures would take the configuration out of reach at
    paper scale (`_bounding_cap`, over every run the ledger holds): a failure at a lower cap is only a lower
    bound, but enough of them leave even the best case too slow, and a success is final at any cap. Rows
    already out of reach or without open trials are left out, and so are rows whose failures would not decide
    them below the paper's cap (run those with --scale paper --until-decided). Earlier successes that stop
    before the new cap are recorded under the new configuration instead of being run again (a success's record
    does not depend on the cap); those that stop beyond it are not run again either, nor are trials that failed
    at a cap at least as high (Row.skip: the trial can only fail at the new cap, `_fails_at`). Trials of the
    bound configuration under another variant name are recorded under this one (`_adopt`), and rows that
    coincide run once (`_again`)."""
    ledger = Ledger(out_dir / "ledger.sqlite")
    out, paper_only, adopted, planned = [], [], 0, set()
    try:
        for row in rows:
            full, hrow, known = _planned_known(ledger, row, screen, seed)
            cap = _bounding_cap(known, full)
            if cap is None:
                continue
            if cap[0] is None:
                paper_only.append(_label(row))
                continue
            uncounted = full.config.uncounted()  # row.config: lower than full's only in a smoke run (--trials, --max-sequences)
            bound = dataclasses.replace(hrow, spec=full.config, config=dataclasses.replace(
                hrow.config, max_sequences=min(row.config.max_sequences, hyp.round_up(cap[0] + uncounted)),
                trials=min(cap[1], row.config.trials), paper_cap=full.config.paper_cap or full.config.max_sequences))
            if _again(bound, planned):
                continue
            adopted += _adopt(ledger, bound, seed, version, protocol)
            done = _done(ledger, bound, seed)
            taken, beyond = {}, set()
            for t, tried in known.items():
                if t >= cap[1] or t in done:
                    continue
                wins = [r for r, _ in tried if r["success"]]
                if wins and not _beyond_cap(wins[0], bound):
                    taken[t] = wins[0]
                elif any(_fails_at(r, ran_at, bound) for r, ran_at in tried):
                    beyond.add(t)
            adopted += _record(ledger, bound, seed, taken, version, protocol)
            out.append(dataclasses.replace(bound, skip=frozenset(beyond)))
    finally:
        ledger.close()
    return tuple(out), paper_only, adopted


def _label(row: Row) -> str:
    return f"{row.variant.removeprefix(hyp.PREFIX)} on {row.name}"


def _bounding_cap(known: dict[int, list[tuple[dict, int]]], full: Row) -> tuple[int | None, int] | None:
    """(cap, trials) of the cheapest bound run of `full`: a cap in the records' count, and a trial count n, such
    that if every trial of range(n) that the run would compute fails at the cap, `full` is out of reach. A run
    computes every trial of range(n) except those the ledger already has at that cap and the successes (taken
    over if they stop before it, else left out: a success is final at any cap). Candidates: each lower cap the
    configuration already ran at (more trials there), and the lowest cap at which the next open trials (as many
    as the paper's success rate allows to fail, plus BOUND_MARGIN) would do; the cheaper in trials x cap wins,
    the higher cap on a tie. (None, n) if not even failures at the paper's cap would close it; None if it is out of reach already or has no open trial."""
    ref_mean, ref_pct = _paper(full)
    planned, cap = full.config.trials, full.config.max_sequences - full.config.uncounted()
    if not reachable(known, planned, cap, ref_mean, ref_pct):
        return None
    final = {t for t, tried in known.items() if any(r["success"] or c >= cap for r, c in tried)}
    open_trials = [t for t in range(planned) if t not in final]
    if not open_trials:
        return None
    allowed = planned if ref_pct is None else failures_allowed(ref_pct, planned)
    margin_n = open_trials[: allowed + BOUND_MARGIN][-1] + 1

    def computed(c: int, n: int) -> list[int]:  # the trials a run at cap c with n trials computes: not those with a
        # success (final) or a run at c or above (a failure at a higher cap is one at c: the record does not depend on it)
        return [t for t in range(n) if not any(c_run >= c or r["success"] for r, c_run in known.get(t, []))]

    def closes(c: int, n: int) -> bool:
        failing = {t: [*known.get(t, []), ({"success": False, "sequences": c}, c)] for t in computed(c, n)}
        return not reachable({**known, **failing}, planned, cap, ref_mean, ref_pct)

    options = []  # (cost, -cap, cap, trials)
    for c in sorted({c for tried in known.values() for _, c in tried if c < cap}):
        n = next((n for n in range(1, planned + 1) if closes(c, n)), None)
        if n is not None:
            options.append((len(computed(c, n)) * c, -c, c, n))
    if closes(cap, margin_n):
        lo, hi = 0, cap  # closes(hi, margin_n); the lowest such cap by bisection (a higher cap only helps)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if closes(mid, margin_n) else (mid, hi)
        options.append((len(computed(hi, margin_n)) * hi, -hi, hi, margin_n))
    if not options:
        return None, margin_n
    _, _, c, n = min(options)
    return c, n


def _beyond(known: dict[int, list[tuple[dict, int]]], row: Row, done: dict[int, dict]) -> list[dict]:
    """The trials of `row` it did not run because another run says they fail at its cap (Row.skip: `_fails_at`),
    as what they are at that cap: failures."""
    return [{"trial": t, "outcome": "cap", "success": False, "sequences": row.config.max_sequences}
            for t in range(row.config.trials)
            if t not in done and any(_fails_at(r, ran_at, row) for r, ran_at in known.get(t, []))]


def _fails_at(record: dict, ran_at: int, row: Row) -> bool:
    """Whether a trial's record, from a run at cap `ran_at` (in the records' count), says it fails at `row`'s cap:
    it succeeded only beyond that cap, or it failed at a cap at least as high (a trial's record up to a cap does
    not depend on the cap it runs under)."""
    return _beyond_cap(record, row) if record["success"] else ran_at >= row.config.max_sequences - row.config.uncounted()


def _beyond_cap(record: dict, row: Row) -> bool:
    """Whether a trial's record counts more presentations than `row`'s cap allows (at that cap it would fail)."""
    return record["sequences"] + row.config.uncounted() > row.config.max_sequences


def _still_open(screen: hyp.Screen, seed: int) -> Callable[[Ledger, Row, list[dict]], bool]:
    """`rounds`' stop test for bound rows: settled once the configuration is out of reach at paper scale."""
    def settled(ledger: Ledger, row: Row, _records: list[dict]) -> bool:
        full, _, known = _planned_known(ledger, row, screen, seed)
        return not _reachable_at_paper(known, full)
    return settled


def _planned_known(ledger: Ledger, row: Row, screen: hyp.Screen, seed: int) -> tuple[Row, Row, dict[int, list[tuple[dict, int]]]]:
    """For a planned row: (its paper-scale row, the same under the planned row's variant, `_known` over every
    configuration of the pair the ledger holds)."""
    full = hyp.at_spec_scale(row)
    hrow = dataclasses.replace(full, variant=row.variant)
    return full, hrow, _known(_configurations(ledger, full, hrow, screen, seed), full)


def _reachable_at_paper(known: dict[int, list[tuple[dict, int]]], full: Row) -> bool:
    """`reachable` for the paper-scale row `full` (its trials, its cap in the records' count, the paper's numbers)."""
    return reachable(known, full.config.trials, full.config.max_sequences - full.config.uncounted(), *_paper(full))


def cell(ledger: Ledger, h: hyp.Hypothesis, base: Row, screen: hyp.Screen, seed: int) -> dict[str, Any]:
    """One matrix cell: our numbers for row `base` under `h`, the paper's, and the verdict."""
    entry: dict[str, Any] = {"hypothesis": h.name, "experiment": base.experiment, "row": base.name}
    ref_mean, ref_pct = _paper(base)
    entry.update(paper_seq_mean=ref_mean, paper_success_pct=ref_pct)
    why = hyp.why_no_meaning(h, base)
    if why is not None:
        return {**entry, "status": "no meaning", "verdict": "no meaning", "detail": why}
    hrow = hyp.hypothesis_row(h, base)
    full = base if h.name == "faithful" else hrow
    configurations = _configurations(ledger, full, hrow, screen, seed)
    known = _known(configurations, full)
    best = None
    for scale, row, done in configurations:
        records = [done[t] for t in sorted(done) if t < row.config.trials]
        if not records:
            continue
        records += _beyond(known, row, done)
        complete = len(records) == row.config.trials or decided(records, ref_pct, row.config.trials)
        rank = (complete, scale == "paper", row.config.max_sequences, len(records))
        if best is None or rank > best[0]:
            best = (rank, scale if complete else "partial", row, records)
    reach = _reachable_at_paper(known, full)
    if best is None:
        return {**entry, "status": "not run", "verdict": "not run", "reachable": reach}
    _, scale, row, records = best
    seqs = np.array([r["sequences"] for r in records if r["success"]], dtype=float)
    stats = {
        "status": "run", "scale": scale, "variant": row.variant, "config_hash": row.config_hash(), "cap": row.config.max_sequences,
        "trials": len(records), "trials_planned": row.config.trials, "successes": int(seqs.size),
        "success_pct": 100.0 * seqs.size / len(records), "seq_mean": float(seqs.mean()) if seqs.size else None,
        "diverged": sum(r["outcome"] == "diverged" for r in records),
        "decided": len(records) < row.config.trials and scale != "partial",  # stopped once no verdict but `differs` was left
    }
    stats["ratio"] = stats["seq_mean"] / ref_mean if (stats["seq_mean"] and ref_mean) else None
    verdict, detail = compare.verdict({"success_pct": stats["success_pct"], "seq_mean": stats["seq_mean"],
                                        "paper_success_pct": ref_pct, "paper_seq_mean": ref_mean})
    stats["success_miss"] = ref_pct is not None and stats["success_pct"] < ref_pct - compare.SUCCESS_POINTS
    return {**entry, **stats, "verdict": verdict, "detail": detail, "reachable": reach}


def reachable(known: dict[int, list[tuple[dict, int]]], planned: int, cap: int, ref_mean: float | None,
              ref_pct: float | None) -> bool:
    """Whether the row at paper scale (`planned` trials, cap `cap`) could still come out reproduced, whatever
    the trials not yet run at that scale do. known: trial -> [(record, the cap it ran under)], from every
    scale the ledger holds; caps in the records' count (`sequences`: the cap less the row's uncounted()).

    A trial's record does not depend on the cap it ran under as long as it succeeds before it (the trial's
    seed depends on the paper row and the trial index only), so a success at any cap is final; a failure is
    final at the paper's cap, and at a lower cap says only that success would take more than that cap. The
    bound lets every open trial succeed as cheaply as it could: trials not run at all after 0 sequences,
    trials that failed a lower cap just after it; the row is out of reach if even then more trials fail than
    compare.SUCCESS_POINTS allow, or the mean over the successes exceeds compare.SEQ_FACTOR x the paper's; and
    too fast if even every open trial succeeding at the paper's cap leaves the mean below 1 / SEQ_FACTOR of it."""
    if ref_mean is None and ref_pct is None:
        return True
    succeeded, failed, above = [], 0, []  # sequences of final successes; final failures; lower caps failed
    for t in range(planned):
        tried = known.get(t, [])
        wins = [r["sequences"] for r, _ in tried if r["success"]]
        if wins:
            succeeded.append(wins[0])
        elif any(c >= cap for _, c in tried):
            failed += 1
        elif tried:
            above.append(max(c for _, c in tried) + 1)
    unknown = planned - len(succeeded) - failed - len(above)
    allowed = planned if ref_pct is None else failures_allowed(ref_pct, planned)
    if failed > allowed:
        return False
    if ref_mean is None:
        return True
    total, n = sum(succeeded), len(succeeded)
    most = len(above) + unknown  # open trials: at most the paper's cap each
    slowest = [(total + x * cap) / (n + x) for x in (max(0, failed + most - allowed), most) if n + x]
    if not slowest or max(slowest) < ref_mean / compare.SEQ_FACTOR:
        return False
    above.sort()
    least = max(0, failed + len(above) - allowed)  # of the open failures, at least this many must succeed
    means = [(total + sum(above[:x])) / (n + x + unknown) for x in range(least, len(above) + 1) if n + x + unknown]
    return bool(means) and min(means) <= compare.SEQ_FACTOR * ref_mean


def matrix(out_dir: Path, hypotheses: tuple[hyp.Hypothesis, ...], screen: hyp.Screen,
           experiments: list[config.Experiment]) -> dict[str, Any]:
    """Cells for every hypothesis x every 1997 LSTM row of `experiments`, and each hypothesis's score."""
    ledger = Ledger(out_dir / "ledger.sqlite")
    try:
        columns = [r for e in experiments for r in hyp.lstm_rows(e)]
        seeds = {e.name: e.seed for e in experiments}
        cells = [cell(ledger, h, base, screen, seeds[base.experiment]) for h in hypotheses for base in columns]
    finally:
        ledger.close()
    faithful = {(c["experiment"], c["row"]): c for c in cells if c["hypothesis"] == "faithful"}
    scores = []
    for h in hypotheses:
        mine = [c for c in cells if c["hypothesis"] == h.name]
        run = [c for c in mine if c["status"] == "run" and c["scale"] != "partial"]
        ok = [c for c in run if c["verdict"] == "reproduced"]
        fixes = [f"{c['experiment']}/{c['row']}" for c in ok if faithful.get((c["experiment"], c["row"]), {}).get("verdict") != "reproduced"]
        breaks = [f"{c['experiment']}/{c['row']}" for c in run if c["verdict"] != "reproduced"
                  and faithful.get((c["experiment"], c["row"]), {}).get("verdict") == "reproduced"]
        scales = sorted({c["scale"] for c in run})
        same = [faithful.get((c["experiment"], c["row"]), {}) for c in mine if c["status"] == "no meaning"]  # = the faithful net
        same_ok = sum(f.get("verdict") == "reproduced" and f.get("scale") != "partial" for f in same)
        in_reach = sum(c["reachable"] for c in mine if c["status"] != "no meaning") + sum(f.get("reachable", True) for f in same)
        scores.append({"hypothesis": h.name, "title": h.title, "parts": list(h.parts), "reproduced": len(ok), "run": len(run),
                       "reproduced_with_faithful": len(ok) + same_ok, "at_most": in_reach,
                       "no_meaning": sum(c["status"] == "no meaning" for c in mine), "not_run": sum(c["status"] == "not run" for c in mine),
                       "partial": sum(c["status"] == "run" and c["scale"] == "partial" for c in mine),
                       "rows": len(mine), "scales": scales, "fixes": fixes, "breaks": breaks})
    return {"columns": [{"experiment": r.experiment, "row": r.name, "paper_table": _table(experiments, r.experiment)} for r in columns],
            "rows": [_row_summary(r, [c for c in cells if (c["experiment"], c["row"]) == (r.experiment, r.name)])
                     for r in columns],
            "hypotheses": [{"name": h.name, "title": h.title, "source": h.source, "rationale": h.rationale, "parts": list(h.parts),
                            "settings": h.settings} for h in hypotheses],
            "cells": cells, "scores": scores}


def _row_summary(row: Row, cells: list[dict[str, Any]]) -> dict[str, Any]:
    """One paper row across the hypotheses: which reproduce it, how many ran it (finished or decided), and the
    closest miss (the run cell nearest the paper: success-rate shortfall first, then |log ratio|)."""
    run = [c for c in cells if c["status"] == "run" and c["scale"] != "partial"]
    ok = [{"hypothesis": c["hypothesis"], "scale": c["scale"]} for c in run if c["verdict"] == "reproduced"]

    def distance(c: dict[str, Any]) -> tuple[float, float]:
        short = max(0.0, (c["paper_success_pct"] or 100.0) - c["success_pct"])
        return short, abs(np.log(c["ratio"])) if c.get("ratio") else np.inf

    closest = min(run, key=distance) if run else None
    done = {h["hypothesis"] for h in ok}
    still = [c["hypothesis"] for c in cells if c["status"] != "no meaning" and c.get("reachable", True) and c["hypothesis"] not in done]
    return {"experiment": row.experiment, "row": row.name, "reproduced_by": ok, "run": len(run), "open_for": still,
            "not_run": sum(c["status"] == "not run" or c.get("scale") == "partial" for c in cells),
            "closest": None if closest is None else {k: closest.get(k) for k in ("hypothesis", "ratio", "success_pct", "scale")}}


def _configurations(ledger: Ledger, full: Row, hrow: Row, screen: hyp.Screen, seed: int) -> list[tuple[str, Row, dict[int, dict]]]:
    """(scale, row, its finished trials) for every configuration of one (hypothesis, paper row) the ledger may hold:
    the paper-scale row `full`, the screening row, and the lower caps of reduced, smoke or `bound` runs (named as
    `full` or as `hrow`, which is hyp-faithful for the faithful row); each configuration once, with its trials
    under any variant name (`_same_configuration`)."""
    rows = [("paper", full), ("screen", hyp.screen_row(hrow, screen))]
    held = ledger.caps(full.experiment, full.name, None, seed)
    for named in {full.variant: full, hrow.variant: hrow}.values():
        rows += [("reduced", r) for r in _reduced_configs(held, named, full)]
    seen, out = set(), []
    for scale, row in rows:
        if row.config_hash() not in seen:
            seen.add(row.config_hash())
            out.append((scale, row, _same_configuration(ledger, row, seed)))
    return out


def _same_configuration(ledger: Ledger, row: Row, seed: int) -> dict[int, dict]:
    """The finished trials of `row`'s configuration under any variant name: another hypothesis that sets the row
    the same way (output-gate-bias and gate-biases on the adding rows, whose input gates the paper biases), or
    a variant of the experiment's spec. Their trials are the ones this row computes (the seeds depend on the
    paper row only)."""
    return ledger.equivalent(row.experiment, row.name, row.config_hash(), seed)


def _known(configurations: list[tuple[str, Row, dict[int, dict]]], full: Row) -> dict[int, list[tuple[dict, int]]]:
    """`reachable`'s input: trial -> [(record, the cap it ran under, in the records' count)] over `configurations`
    (a failure at cap c says that a success would count more than c less the row's uncounted presentations)."""
    known: dict[int, list[tuple[dict, int]]] = {}
    uncounted = full.config.uncounted()
    for _, row, done in configurations:
        for t in done:
            if t < full.config.trials:
                known.setdefault(t, []).append((done[t], row.config.max_sequences - uncounted))
    return known


def _reduced_configs(held: dict[str, set[int]], named: Row, full: Row) -> list[Row]:
    """`named` (a row under some variant name) at the caps below `full`'s that the ledger holds its configuration
    with under any variant name, found by config hash in `held` (Ledger.caps of the row, every variant: the caps
    the row's configurations were stored with or its trials ended at)."""
    out = []
    for cap in sorted(set().union(*held.values())):
        row = dataclasses.replace(named, config=dataclasses.replace(named.config, max_sequences=cap,
                                                                     paper_cap=full.config.paper_cap or full.config.max_sequences))
        if cap < full.config.max_sequences and row.config_hash() in held:
            out.append(row)
    return out


def _paper(row: Row) -> tuple[float | None, float | None]:
    from cerepro import paper

    ref = paper.find(row.paper) if row.paper else None
    if not ref:
        return None, None
    pct = paper.number(ref.get("success_pct"))
    return paper.number(ref.get("sequences_to_success")), IMPLIED_SUCCESS if pct is None else pct


def _table(experiments: list[config.Experiment], name: str) -> str:
    return next(e.paper_table for e in experiments if e.name == name)
