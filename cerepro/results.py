"""Results tables: built from trial records by pure functions, written atomically as CSV and Markdown.

Contract (other tools rely on it): results/<experiment>.csv has one line per table row with at least
experiment,row,model,variant,weights,lr,trials,successes,success_pct,seq_mean,seq_median,seq_min,seq_max,
paper_success_pct,paper_seq_mean,scale. Sequence statistics are over successful trials only. `scale` is
"reduced" when the run used fewer trials or a lower cap than the spec. results/<experiment>.trials.csv
holds one line per trial (seed, outcome, sequences), so every number can be traced to a run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cerepro import paper
from cerepro.config import Row
from cerepro.text import compact, number

COLUMNS = [
    "experiment", "row", "model", "variant", "weights", "lr", "trials", "successes", "success_pct",
    "seq_mean", "seq_median", "seq_min", "seq_max", "paper_success_pct", "paper_seq_mean", "scale",
    "cap", "diverged", "run_seed", "config_hash", "version", "wall_s", "note",
]
TRIAL_COLUMNS = ["experiment", "row", "variant", "trial", "seed", "set_pair", "outcome", "sequences", "reason"]


def table_row(row: Row, records: list[dict[str, Any]], run_seed: int, version: str,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Summarise the trial records of one row against the paper; `extra` adds the protocol's own columns."""
    seqs = np.array([r["sequences"] for r in records if r["success"]], dtype=float)
    ref = paper.find(row.paper) if row.paper else None
    cfg = row.config
    return {
        "experiment": row.experiment,
        "row": row.name,
        "model": cfg.model,
        "variant": row.variant,
        "weights": cfg.n_weights(),
        "lr": cfg.lr,
        "trials": len(records),
        "successes": int(seqs.size),
        "success_pct": 100.0 * seqs.size / len(records) if records else np.nan,
        "seq_mean": seqs.mean() if seqs.size else np.nan,
        "seq_median": np.median(seqs) if seqs.size else np.nan,
        "seq_min": seqs.min() if seqs.size else np.nan,
        "seq_max": seqs.max() if seqs.size else np.nan,
        "paper_success_pct": paper.number(ref.get("success_pct")) if ref else None,
        "paper_seq_mean": paper.number(ref.get("sequences_to_success")) if ref else None,
        "scale": "reduced" if row.reduced(len(records)) else "paper",
        "cap": cfg.max_sequences,
        "diverged": sum(r["outcome"] == "diverged" for r in records),
        "run_seed": run_seed,
        "config_hash": row.config_hash(),
        "version": version,
        "wall_s": sum(r["wall_s"] for r in records),
        "note": row.note,
        **(extra or {}),
    }


def build_table(entries: list[dict[str, Any]]) -> pd.DataFrame:
    """The table of an experiment from table_row() dicts, in spec order (faithful rows, then variants).

    Protocol-specific columns (e.g. test-set errors) follow the contract columns, in first-seen order."""
    extras = [k for e in entries for k in e if k not in COLUMNS]
    return pd.DataFrame(entries, columns=COLUMNS + list(dict.fromkeys(extras)))


def trial_table(rows_records: list[tuple[Row, list[dict[str, Any]]]]) -> pd.DataFrame:
    """One line per trial, for tracing and for distributions."""
    lines = [
        {"experiment": row.experiment, "row": row.name, "variant": row.variant, **{k: r.get(k, "") for k in TRIAL_COLUMNS[3:]}}
        for row, records in rows_records
        for r in sorted(records, key=lambda r: r["trial"])
    ]
    return pd.DataFrame(lines, columns=TRIAL_COLUMNS)


def to_markdown(df: pd.DataFrame, title: str) -> str:
    """A readable Markdown rendering: ours beside the paper's, one line per row, then the protocol's own columns."""
    extras = [c for c in df.columns if c not in COLUMNS]
    head = "| row | variant | weights | lr | trials | success % (paper) | mean seq. (paper) | median | min-max | scale |"
    lines = [f"# {title}", "", head + "".join(f" {c} |" for c in extras), "|" + "---|" * (10 + len(extras))]
    for r in df.itertuples():
        faithful = r.variant == "paper"
        succ = f"{number(r.success_pct, 1)} ({number(r.paper_success_pct) if faithful else '-'})"
        mean = f"{number(r.seq_mean)} ({number(r.paper_seq_mean) if faithful else '-'})"
        span = f"{number(r.seq_min)}-{number(r.seq_max)}" if r.successes else "-"
        lines.append(
            f"| {r.row} | {r.variant} | {r.weights} | {r.lr:g} | {r.trials} | {succ} | {mean} | "
            f"{number(r.seq_median)} | {span} | {r.scale} |" + "".join(f" {compact(getattr(r, c))} |" for c in extras)
        )
    lines += ["", "Sequence statistics are over successful trials; a trial that reached the cap counts as a failure.",
              "Paper numbers are shown on the faithful rows only (variant `paper`).", ""]
    return "\n".join(lines)


def write_atomic(path: Path, text: str) -> None:
    """Write text to path via a temp file in the same folder and os.replace: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a table gets what any new file would (0644 usually)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write(df: pd.DataFrame, trials: pd.DataFrame, out_dir: Path, name: str, title: str) -> list[Path]:
    """Write <name>.csv, <name>.md and <name>.trials.csv; return their paths."""
    paths = [out_dir / f"{name}.csv", out_dir / f"{name}.md", out_dir / f"{name}.trials.csv"]
    write_atomic(paths[0], df.to_csv(index=False, float_format="%.10g", lineterminator="\n"))
    write_atomic(paths[1], to_markdown(df, title))
    write_atomic(paths[2], trials.to_csv(index=False, lineterminator="\n"))
    return paths


DOCS = Path(__file__).resolve().parent.parent / "docs"  # in a checkout; an installed wheel has no docs


def doc_link(name: str, out_dir: Path) -> str:
    """A Markdown link to docs/<name> that works from a file in `out_dir`; plain text where there is no docs
    folder (an installed wheel)."""
    if not (DOCS / name).is_file():
        return f"docs/{name} in the cerepro repository"
    return f"[docs/{name}]({Path(os.path.relpath(DOCS / name, out_dir.resolve())).as_posix()})"
