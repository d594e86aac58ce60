"""compare and report: verdicts, exact terminal text on a fixture table, --json, NO_COLOR, figures."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from cerepro import cli, compare, config
from cerepro.results import COLUMNS


def fixture_table(tmp_path):
    base = {c: None for c in COLUMNS} | {"experiment": "exp1", "model": "lstm97", "scale": "paper", "run_seed": 1,
                                         "config_hash": "x", "version": "0", "wall_s": 1.0, "cap": 100000, "diverged": 0}
    rows = [
        base | dict(row="lstm-4x1-lr0.1", variant="paper", weights=264, lr=0.1, trials=30, successes=29, success_pct=96.7,
                    seq_mean=41000.0, paper_success_pct=100, paper_seq_mean=39740),
        base | dict(row="lstm-3x2-lr0.1", variant="paper", weights=276, lr=0.1, trials=30, successes=3, success_pct=10.0,
                    seq_mean=55000.0, paper_success_pct=100, paper_seq_mean=21730),
        base | dict(row="lstm-3x2-lr0.5", variant="paper", weights=276, lr=0.5, trials=3, successes=3, success_pct=100.0,
                    seq_mean=8000.0, paper_success_pct=100, paper_seq_mean=8440, scale="reduced"),
        base | dict(row="lstm-3x2-lr0.5", variant="legal-targets", weights=276, lr=0.5, trials=30, successes=30,
                    success_pct=100.0, seq_mean=7000.0, paper_success_pct=100, paper_seq_mean=8440),
    ]
    pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp_path / "exp1.csv", index=False)
    return tmp_path


@pytest.mark.parametrize(
    "row,expected",
    [
        ({"success_pct": 95, "paper_success_pct": 100, "seq_mean": 50000, "paper_seq_mean": 39740}, ("reproduced", "success -5 points; sequences x1.26")),
        ({"success_pct": 80, "paper_success_pct": 100, "seq_mean": 40000, "paper_seq_mean": 39740}, ("differs", "success -20 points; sequences x1.01")),
        ({"success_pct": 100, "paper_success_pct": None, "seq_mean": 70000, "paper_seq_mean": 30000}, ("differs", "sequences x2.33")),
        ({"success_pct": 0, "paper_success_pct": 100, "seq_mean": None, "paper_seq_mean": 100}, ("differs", "success -100 points; no successful trial")),
        ({"success_pct": 100, "paper_success_pct": 100, "seq_mean": 8000, "paper_seq_mean": 8440, "scale": "reduced"}, ("reduced scale", "success +0 points; sequences x0.95")),
        ({"success_pct": 50, "paper_success_pct": None, "seq_mean": 10, "paper_seq_mean": None}, ("no paper number", "")),
    ],
)
def test_verdicts(row, expected):
    assert compare.verdict(row) == expected


def test_compare_prints_the_expected_table(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    result = CliRunner().invoke(cli.main, ["compare", "reber", "--out", str(fixture_table(tmp_path))])
    assert result.exit_code == 0
    lines = [line.rstrip() for line in result.output.splitlines()]
    assert lines[0].startswith("Experiment 1: embedded Reber grammar (paper Table 1); bold = best method")
    body = [line for line in lines if line.startswith("│")]
    assert [cell.strip() for cell in body[0].split("│")[1:-1]] == [
        "lstm-4x1-lr0.1", "paper", "lstm97", "264", "0.1", "30", "96.7", "100", "41,000", "39,740", "reproduced",
        "success -3 points; sequences x1.03"]
    verdicts = [[c.strip() for c in line.split("│")[1:-1]][10] for line in body]
    assert verdicts == ["reproduced", "differs", "not run", "not run", "reduced scale", "reproduced", "quoted"]  # RCC
    assert "\x1b[" not in result.output  # no ANSI codes off a terminal or with NO_COLOR


def test_compare_json_is_one_document(tmp_path):
    result = CliRunner().invoke(cli.main, ["compare", "reber", "--json", "--out", str(fixture_table(tmp_path))])
    doc = json.loads(result.output)
    assert doc["experiment"] == "exp1"
    assert doc["summary"] == {"reproduced": 1, "differs": 1, "reduced scale": 1, "not run": 2, "no paper number": 0}
    best = [r for r in doc["rows"] if r["best"]]
    assert [(r["row"], r["variant"]) for r in best] == [("lstm-3x2-lr0.5", "legal-targets")]
    for r in doc["rows"]:
        assert {"row", "variant", "model", "verdict", "detail", "best"} <= set(r)


def test_compare_without_argument_summarises_every_experiment(tmp_path):
    result = CliRunner().invoke(cli.main, ["compare", "--json", "--out", str(fixture_table(tmp_path))])
    names = [d["experiment"] for d in json.loads(result.output)["experiments"]]
    assert "exp1" in names and names == sorted(names)


def test_report_writes_markdown_and_nonempty_figures(tmp_path):
    out = fixture_table(tmp_path)
    pd.DataFrame({"experiment": ["exp1"] * 3, "row": ["lstm-4x1-lr0.1"] * 3, "variant": ["paper"] * 3, "trial": [0, 1, 2],
                  "seed": [1, 2, 3], "set_pair": [0, 1, 2], "outcome": ["success", "success", "cap"],
                  "sequences": [30000, 52000, 100000], "reason": ["", "", ""]}).to_csv(out / "exp1.trials.csv", index=False)
    result = CliRunner().invoke(cli.main, ["report", "--no-mechanism", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "REPORT.md").read_text()
    table = pd.read_csv(out / "exp1.csv")
    assert f"| [exp1](#exp1) | 1 | 1 | 1 | 1 | 2 | {table['trials'].sum()} | {table['wall_s'].sum():.0f} s |" in text
    assert "figures/exp1_sequences.png" in text
    png = out / "figures" / "exp1_sequences.png"
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"


def test_every_command_has_help():
    for name, command in cli.main.commands.items():
        result = CliRunner().invoke(cli.main, [name, "--help"])
        assert result.exit_code == 0 and command.help and len(result.output) > 100, name


def test_paper_rows_we_do_not_rerun_are_listed_as_quoted_with_their_source(tmp_path):
    doc = compare.experiment_comparison(config.resolve("exp2a"), tmp_path)
    quoted = [r for r in doc["rows"] if r["variant"] == "quoted"]
    assert [(r["model"], r["paper_success_pct"], r["paper_seq_mean"], r["weights"]) for r in quoted] == [("CH", 33, 32400, 10506)]
    assert {r["source"] for r in doc["rows"] if r["variant"] != "quoted"} == {"ours"}
    assert doc["summary"]["not run"] == 1  # quoted rows are not counted as ours
    rcc = [r for r in compare.experiment_comparison(config.resolve("exp1"), tmp_path)["rows"] if r["variant"] == "quoted"]
    assert [(r["model"], r["source"]) for r in rcc] == [("RCC", "Fahlman 1991")]  # RTRL and ELM are re-run by us
    assert "quoted from Fahlman 1991" in rcc[0]["detail"]
