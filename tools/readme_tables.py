"""Rewrite the README's two generated tables from a results folder: the faithful rows beside the paper's, and
the cost table ("What a full run costs").

    .venv/bin/python tools/readme_tables.py [--out results] [--check]

The faithful rows are `cerepro compare`'s (compare.experiment_comparison: ours, the paper's, a verdict per row).
The costs are REPORT.md's cost columns (cerepro/cost.py: the trials' own times, and the computed wall time of
`make all-experiments` on 2, 16 and 64 cores), one line per experiment, the total, the hypothesis rows of
`cerepro explain`, and the estimate of what is still to run (cost.pending). --check: exit 1 if either README
table differs from what the folder gives, and write nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cerepro import compare, cost, hypotheses, report
from cerepro.text import number

ROOT = Path(__file__).resolve().parent.parent
RESULTS_HEAD = "| experiment | paper table | faithful rows: ours vs paper (success %, mean sequences) | verdicts |"
COSTS_HEAD = "| experiment | trials | CPU hours | wall hours, 2 cores | 16 cores | 64 cores |"
CORES = report.CORES


# ---------------------------------------------------------------------------------------------- faithful rows


def ours_vs_paper(row: dict[str, Any]) -> str:
    """`q50-p50: 95 % / 157,485 vs 30,000`: our success % and mean sequences, then the paper's (its success % only
    where it gives one); `not run` for a row without results; no `vs` where the paper has no number."""
    if row["verdict"] == "not run":
        return f"{row['row']}: not run"
    text = f"{row['row']}: {number(row['success_pct'])} % / {number(row['seq_mean'])}"
    if row.get("paper_success_pct") is not None:
        return f"{text} vs {number(row['paper_success_pct'])} % / {number(row.get('paper_seq_mean'))}"
    if row.get("paper_seq_mean") is not None:
        return f"{text} vs {number(row['paper_seq_mean'])}"
    return text


def verdicts(summary: dict[str, int]) -> str:
    return ", ".join(f"{summary[v]} {v}" for v in compare.VERDICTS if summary.get(v))


def results_table(out_dir: Path) -> list[str]:
    """One line per experiment with success rows (the error-flow measurements have none)."""
    lines = [RESULTS_HEAD, "|---|---|---|---|"]
    for exp in sorted(compare.all_experiments(), key=lambda e: e.name):
        if exp.protocol == "errorflow":
            continue
        doc = compare.experiment_comparison(exp, out_dir)
        faithful = [ours_vs_paper(r) for r in doc["rows"] if r["variant"] == "paper"]
        lines.append(f"| [{exp.name}](results/{exp.name}.md) | {exp.paper_table} | {'<br>'.join(faithful)} | "
                     f"{verdicts(doc['summary'])} |")
    return lines


# ---------------------------------------------------------------------------------------------- costs


def hours(h: float) -> str:
    return f"{h:.1g}" if h < 0.95 else f"{h:.1f}"  # one significant digit below an hour


def cost_line(name: str, c: dict) -> str:
    return f"| {name} | {c['trials']:,} | " + " | ".join(hours(c[k]) for k in ["cpu_h"] + [f"wall_h_{p}" for p in CORES]) + " |"


def costs_table(out_dir: Path) -> list[str]:
    names = sorted(e.name for e in compare.all_experiments())
    rows = cost.summary(out_dir, names, CORES)
    lines = [COSTS_HEAD, "|---|---|---|---|---|---|"] + [cost_line(c["experiment"], c) for c in rows]
    lines.append(cost_line("**all tables**", cost.total(rows, CORES)))
    explained = cost.hypotheses_summary(out_dir, hypotheses.PREFIX, CORES)
    if explained:
        lines.append(cost_line("hypothesis rows (`cerepro explain`)", explained))
    left = cost.pending_summary(out_dir, names, CORES)
    for kind, label in report.PENDING:
        if left.get(kind, {}).get("trials"):
            lines.append(cost_line(f"still to run: {label} (estimate, at most)", left[kind]))
    return lines


# ---------------------------------------------------------------------------------------------- the README


def replaced(text: list[str], head: str, table: list[str]) -> list[str]:
    """`text` with the markdown table that starts at the line `head` replaced by `table`."""
    start = text.index(head)
    stop = next(i for i in range(start, len(text)) if not text[i].startswith("|"))
    return text[:start] + table + text[stop:]


def rewritten(readme: str, out_dir: Path) -> str:
    text = readme.splitlines()
    text = replaced(text, RESULTS_HEAD, results_table(out_dir))
    text = replaced(text, COSTS_HEAD, costs_table(out_dir))
    return "\n".join(text) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "results"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    path = ROOT / "README.md"
    old = path.read_text()
    new = rewritten(old, Path(args.out))
    if args.check:
        return int(new != old)
    path.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
