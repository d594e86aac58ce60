"""The README's generated tables (tools/readme_tables.py): the faithful rows' wording, and that the committed README
shows what the committed results give."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "readme_tables.py"


def tool():
    spec = importlib.util.spec_from_file_location("readme_tables", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_faithful_row_says_ours_then_the_papers_numbers_it_has():
    t = tool()
    row = {"row": "q50-p50", "verdict": "differs", "success_pct": 95.0, "seq_mean": 157485.05,
           "paper_success_pct": None, "paper_seq_mean": 30000}
    assert t.ours_vs_paper(row) == "q50-p50: 95 % / 157,485 vs 30,000"
    assert t.ours_vs_paper({**row, "success_pct": 16.67, "paper_success_pct": 100.0}) == "q50-p50: 17 % / 157,485 vs 100 % / 30,000"
    assert t.ours_vs_paper({**row, "success_pct": 0, "seq_mean": None, "paper_success_pct": 0, "paper_seq_mean": None}) \
        == "q50-p50: 0 % / - vs 0 % / -"
    assert t.ours_vs_paper({**row, "paper_seq_mean": None}) == "q50-p50: 95 % / 157,485"  # no paper number: no "vs"
    assert t.ours_vs_paper({"row": "q1000-p100", "verdict": "not run"}) == "q1000-p100: not run"
    assert t.verdicts({"reproduced": 1, "differs": 2, "not run": 0}) == "1 reproduced, 2 differs"


def test_rewriting_replaces_the_two_tables_and_nothing_else():
    t = tool()
    readme = (ROOT / "README.md").read_text()
    lines = t.replaced(readme.splitlines(), t.RESULTS_HEAD, [t.RESULTS_HEAD, "|---|---|---|---|", "| [exp0](x) | 0 | old | 9 differs |"])
    lines = t.replaced(lines, t.COSTS_HEAD, [t.COSTS_HEAD, "|---|---|---|---|---|---|", "| exp0 | 1 | 99.9 | 1 | 1 | 1 |"])
    stale = "\n".join(lines) + "\n"
    new = t.rewritten(stale, ROOT / "results")
    assert "old | 9 differs" not in new and "99.9" not in new
    assert new == t.rewritten(readme, ROOT / "results")  # the same text around the tables


def _committed_state() -> bool:
    """Whether README.md and results/ are as git's HEAD has them (a run into results/ changes the tables)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return False
    done = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "README.md", "results"],
                          capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.strip() == ""


def test_the_committed_readme_shows_the_committed_tables():
    if not _committed_state():
        pytest.skip("README.md or results/ differ from the commit (or no git checkout): nothing committed to check")
    assert tool().main(["--check"]) == 0, "README tables are stale: .venv/bin/python tools/readme_tables.py"
