"""Rewrite the README's cost table ("What a full run costs") from a results folder's ledger.

    .venv/bin/python tools/readme_costs.py [--out results] [--check]

The same numbers as REPORT.md's cost columns (cerepro/cost.py: the trials' own wall times, and the computed wall
time of `make all-experiments` on 2, 16 and 64 cores), one line per experiment, the total, the hypothesis rows
of `cerepro explain`, and the estimate of what is still to run (cost.pending). --check: exit 1 if the README's table differs, write nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cerepro import compare, cost, hypotheses, report

ROOT = Path(__file__).resolve().parent.parent
HEAD = "| experiment | trials | CPU hours | wall hours, 2 cores | 16 cores | 64 cores |"
CORES = report.CORES


def hours(h: float) -> str:
    return f"{h:.1g}" if h < 0.95 else f"{h:.1f}"  # one significant digit below an hour


def line(name: str, c: dict) -> str:
    return f"| {name} | {c['trials']:,} | " + " | ".join(hours(c[k]) for k in ["cpu_h"] + [f"wall_h_{p}" for p in CORES]) + " |"


def table(out_dir: Path) -> list[str]:
    names = sorted(e.name for e in compare.all_experiments())
    rows = cost.summary(out_dir, names, CORES)
    lines = [HEAD, "|---|---|---|---|---|---|"] + [line(c["experiment"], c) for c in rows]
    lines.append(line("**all tables**", cost.total(rows, CORES)))
    explained = cost.hypotheses_summary(out_dir, hypotheses.PREFIX, CORES)
    if explained:
        lines.append(line("hypothesis rows (`cerepro explain`)", explained))
    left = cost.pending_summary(out_dir, names, CORES)
    for kind, label in report.PENDING:
        if left.get(kind, {}).get("trials"):
            lines.append(line(f"still to run: {label} (estimate, at most)", left[kind]))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "results"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    readme = ROOT / "README.md"
    text = readme.read_text().splitlines()
    start = text.index(HEAD)
    stop = next(i for i in range(start, len(text)) if not text[i].startswith("|"))
    new = text[:start] + table(Path(args.out)) + text[stop:]
    if args.check:
        return int(new != text)
    readme.write_text("\n".join(new) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
