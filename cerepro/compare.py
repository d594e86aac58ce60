"""Did it reproduce? Verdicts of our rows against the paper's, from the results tables.

A faithful row is `reproduced` when its success rate is within 10 points of the paper's and its mean
sequences to success within a factor 1.5 (each where the paper gives the number), `differs` otherwise (with
the ratio), `reduced scale` when the run used fewer trials or a lower cap than the paper's protocol, and
`not run` when the table has no such row. Variant and baseline rows get the same test against the paper row
they re-run, for information; the headline is the faithful row. Paper rows that none of our rows re-runs (the
chunker, RCC) are listed as `quoted`, with their source; every row says whether its numbers are ours.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from cerepro import config, paper

SUCCESS_POINTS = 10.0  # within 10 points of success rate
SEQ_FACTOR = 1.5  # within a factor 1.5 in mean sequences to success


def _num(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def verdict(row: dict[str, Any]) -> tuple[str, str]:
    """(verdict, detail) of one results row."""
    ours_pct, paper_pct = _num(row.get("success_pct")), _num(row.get("paper_success_pct"))
    ours_seq, paper_seq = _num(row.get("seq_mean")), _num(row.get("paper_seq_mean"))
    if paper_pct is None and paper_seq is None:
        return "no paper number", ""
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
    return ("reproduced" if ok else "differs"), "; ".join(details)


def best_rows(df: pd.DataFrame) -> set[int]:
    """Index of the best method's row(s): highest success rate, then fewest mean sequences."""
    if df.empty:
        return set()
    key = df.assign(_s=df["success_pct"].fillna(-1), _m=df["seq_mean"].fillna(math.inf))
    if key["_s"].max() <= 0:
        return set()  # nothing succeeded: no best method
    top = key[key["_s"] == key["_s"].max()]
    top = top[top["_m"] == top["_m"].min()]
    return set(top.index)


def experiment_comparison(exp: config.Experiment, out_dir: Path) -> dict[str, Any]:
    """Every row the spec names, with our numbers (if any), the paper's, and a verdict."""
    path = out_dir / f"{exp.name}.csv"
    df = pd.read_csv(path) if path.exists() else pd.DataFrame()
    best = best_rows(df) if not df.empty else set()
    have = {(r["row"], r["variant"]): (i, r) for i, r in df.iterrows()} if not df.empty else {}
    rows = []
    for spec_row in exp.rows + exp.baselines + exp.variants:
        hit = have.get((spec_row.name, spec_row.variant))
        entry: dict[str, Any] = {"row": spec_row.name, "variant": spec_row.variant, "model": spec_row.config.model}
        if hit is None:
            if spec_row.variant != "paper":
                continue  # variants and baselines not run are simply absent
            entry.update(verdict="not run", detail="", best=False)
        else:
            index, r = hit
            entry.update({k: _clean(r.get(k)) for k in ("weights", "lr", "trials", "successes", "success_pct", "seq_mean",
                                                        "seq_median", "paper_success_pct", "paper_seq_mean", "scale")})
            v, detail = verdict(r.to_dict())
            entry.update(verdict=v, detail=detail, best=index in best)
        entry["source"] = "ours"
        rows.append(entry)
    rows += quoted_rows(exp)
    faithful = [r for r in rows if r["variant"] == "paper"]
    counts = {v: sum(r["verdict"] == v for r in faithful) for v in ("reproduced", "differs", "reduced scale", "not run", "no paper number")}
    return {"experiment": exp.name, "title": exp.title, "paper_table": exp.paper_table, "rows": rows, "summary": counts}


def quoted_rows(exp: config.Experiment) -> list[dict[str, Any]]:
    """The paper's rows for this experiment that no row of the spec re-runs, as `quoted` entries."""
    rerun = {id(paper.find(r.paper)) for r in exp.rows + exp.baselines if r.paper}
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


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def all_experiments() -> list[config.Experiment]:
    """Every shipped experiment, once (aliases folded)."""
    seen, out = set(), []
    for path in config.spec_files().values():
        if path not in seen:
            seen.add(path)
            out.append(config.load(path))
    return sorted(out, key=lambda e: e.name)
