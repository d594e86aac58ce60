"""Did it reproduce? Verdicts of our rows against the paper's, from the results tables.

A faithful row is `reproduced` when its success rate is within 10 points of the paper's and its mean
sequences to success within a factor 1.5 (each where the paper gives the number), `differs` otherwise (with
the ratio), `reduced scale` when the run used fewer trials or a lower cap than the paper's protocol, and
`not run` when the table has no such row. Variant and baseline rows get the same test against the paper row
they re-run, for information; the headline is the faithful row. Paper rows that none of our rows re-runs (the
chunker, RCC) are listed as `quoted`, with their source; every row says whether its numbers are ours.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from cerepro import catalog, paper
from cerepro.catalog import Outline
from cerepro.text import to_float

SUCCESS_POINTS = 10.0  # within 10 points of success rate
SEQ_FACTOR = 1.5  # within a factor 1.5 in mean sequences to success
VERDICTS = ("reproduced", "differs", "reduced scale", "not run", "no paper number")


def verdict(row: dict[str, Any]) -> tuple[str, str]:
    """(verdict, detail) of one results row; a row below the spec's scale says so first, paper number or not."""
    ours_pct, paper_pct = to_float(row.get("success_pct")), to_float(row.get("paper_success_pct"))
    ours_seq, paper_seq = to_float(row.get("seq_mean")), to_float(row.get("paper_seq_mean"))
    details, ok = [], True
    if paper_pct is not None and ours_pct is not None:
        details.append(f"success {ours_pct - paper_pct:+.0f} points")
        ok &= abs(ours_pct - paper_pct) <= SUCCESS_POINTS
    if paper_seq is not None:
        if ours_seq is None:
            details.append("no successful trial")
            ok = False
        else:
            ratio = ours_seq / paper_seq
            details.append(f"sequences x{ratio:.2f}")
            ok &= 1.0 / SEQ_FACTOR <= ratio <= SEQ_FACTOR
    if row.get("scale") == "reduced":
        return "reduced scale", "; ".join(details)
    if paper_pct is None and paper_seq is None:
        return "no paper number", ""
    return ("reproduced" if ok else "differs"), "; ".join(details)


def best_rows(table: list[dict[str, Any]]) -> set[int]:
    """Indices of the best method's row(s): highest success rate, then fewest mean sequences."""
    key = [(to_float(r.get("success_pct")) or 0.0, -(to_float(r.get("seq_mean")) or math.inf)) for r in table]
    if not key or max(k[0] for k in key) <= 0:
        return set()  # nothing succeeded: no best method
    best = max(key)
    return {i for i, k in enumerate(key) if k == best}


def read_table(path: Path) -> list[dict[str, Any]]:
    """The rows of a results CSV, each column typed as a whole as pandas would (all whole numbers: int; numbers
    and empty cells: float, None for empty; else text, None for empty); [] if there is no such file."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        lines = list(reader)
        columns = {name: _column([line[name] for line in lines]) for name in reader.fieldnames or []}
    return [{name: values[i] for name, values in columns.items()} for i in range(len(lines))]


def _column(cells: list[str]) -> list[Any]:
    for kind in (int, float):
        try:
            if kind is int and "" in cells:
                continue
            return [None if c == "" or (kind is float and math.isnan(float(c))) else kind(c) for c in cells]
        except ValueError:
            continue
    return [c if c != "" else None for c in cells]


def has_results(out_dir: Path, outlines: list[Outline]) -> bool:
    """Whether `out_dir` holds the table of at least one of these experiments."""
    return any((out_dir / f"{o.name}.csv").is_file() for o in outlines)


def experiment_comparison(exp: Outline, out_dir: Path) -> dict[str, Any]:
    """Every faithful row of the spec, then every other row of the table, with our numbers (if any), the
    paper's, and a verdict; then the paper's rows that none of ours re-runs."""
    table = read_table(out_dir / f"{exp.name}.csv")
    best = best_rows(table)
    have = {(r["row"], r["variant"]): i for i, r in enumerate(table)}
    order = [(name, "paper", model) for name, model, _ in exp.rows]
    order += [(name, "baseline", model) for name, model, _ in exp.baselines if (name, "baseline") in have]
    listed = {(name, variant) for name, variant, _ in order}
    order += [(r["row"], r["variant"], r["model"]) for r in table if (r["row"], r["variant"]) not in listed]
    rows = []
    for name, variant, model in order:
        entry: dict[str, Any] = {"row": name, "variant": variant, "model": model, "source": "ours"}
        if (name, variant) not in have:
            entry.update(verdict="not run", detail="", best=False)
        else:
            r = table[have[name, variant]]
            entry.update({k: r.get(k) for k in ("model", "weights", "lr", "trials", "successes", "success_pct", "seq_mean",
                                                "seq_median", "paper_success_pct", "paper_seq_mean", "scale")})
            v, detail = verdict(r)
            entry.update(verdict=v, detail=detail, best=have[name, variant] in best)
        rows.append(entry)
    rows += quoted_rows(exp)
    faithful = [r for r in rows if r["variant"] == "paper"]
    counts = {v: sum(r["verdict"] == v for r in faithful) for v in VERDICTS}
    return {"experiment": exp.name, "title": exp.title, "paper_table": exp.paper_table, "rows": rows, "summary": counts}


def quoted_rows(exp: Outline) -> list[dict[str, Any]]:
    """The paper's rows for this experiment that no row of the spec re-runs, as `quoted` entries."""
    rerun = {id(paper.find(ref)) for _, _, ref in exp.rows + exp.baselines if ref}
    key = exp.name.removeprefix("exp").lower()
    out = []
    for ref in paper.paper_rows():
        if str(ref.get("exp", "")).lower() != key or id(ref) in rerun:
            continue
        settings = ref.get("settings") or {}
        label = " ".join([str(ref["method"])] + [f"{k}={settings[k]}" for k in ("p", "T", "hidden_units") if k in settings])
        texts = [f"{what} {ref[k]}" for k, what in (("success_pct", "success"), ("sequences_to_success", "sequences"))
                 if ref.get(k) is not None and paper.number(ref[k]) is None]
        origin = f"quoted from {ref['source']}" if ref.get("source") else "quoted from the paper, not re-run"
        texts += [str((ref.get("other") or {})["note"])] if "note" in (ref.get("other") or {}) else []
        out.append({"row": label, "variant": "quoted", "model": str(ref["method"]), "weights": settings.get("weights"),
                    "lr": paper.number(settings.get("lr")), "paper_success_pct": paper.number(ref.get("success_pct")),
                    "paper_seq_mean": paper.number(ref.get("sequences_to_success")), "verdict": "quoted",
                    "detail": "; ".join([origin] + texts), "best": False, "source": ref.get("source") or "paper"})
    return out


def all_experiments() -> list[Outline]:
    """Every shipped experiment, once (aliases folded), by name."""
    return [catalog.outline(path) for path in catalog.experiments()]
