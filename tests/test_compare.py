"""compare and report: verdicts, exact terminal text on a fixture table, --json, NO_COLOR, figures."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

from cerepro import cli, compare, config
from cerepro.ledger import Ledger
from cerepro.results import COLUMNS


def fixture_table(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
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
        ({"success_pct": 0, "paper_success_pct": None, "seq_mean": None, "paper_seq_mean": None, "scale": "reduced"}, ("reduced scale", "")),
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
        "lstm-4x1-lr0.1", "paper", "lstm97", "264", "0.1", "30", "96.7 (100)", "41,000 (39,740)", "reproduced",
        "success -3 points; sequences x1.03"]
    verdicts = [[c.strip() for c in line.split("│")[1:-1]][8] for line in body]
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
    # no ledger here: each row's wall_s (1 s) spread over its trials; 2 cores halve the 4 s, 16 leave the longest
    assert f"| [exp1](#exp1) | 1 | 1 | 1 | 1 | 2 | {table['trials'].sum()} | 4 s | 2 s | 0 s | 0 s |" in text
    assert not (out / "ledger.sqlite").exists()
    left = next(line for line in text.splitlines() if line.startswith("| still to run: the paper's rows"))
    assert "untimed)" in left and "| 0 s |" in left  # every trial still to run, none with a trial to time it by
    assert "figures/exp1_sequences.png" in text
    png = out / "figures" / "exp1_sequences.png"
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"


def test_every_command_has_help():
    for name, command in cli.main.commands.items():
        result = CliRunner().invoke(cli.main, [name, "--help"])
        assert result.exit_code == 0 and command.help and len(result.output) > 100, name


def test_paper_rows_we_do_not_rerun_are_listed_as_quoted_with_their_source(tmp_path):
    from cerepro import catalog

    doc = compare.experiment_comparison(catalog.find("exp2a"), tmp_path)
    quoted = [r for r in doc["rows"] if r["variant"] == "quoted"]
    assert [(r["model"], r["paper_success_pct"], r["paper_seq_mean"], r["weights"]) for r in quoted] == [("CH", 33, 32400, 10506)]
    assert {r["source"] for r in doc["rows"] if r["variant"] != "quoted"} == {"ours"}
    assert doc["summary"]["not run"] == 1  # quoted rows are not counted as ours
    rcc = [r for r in compare.experiment_comparison(catalog.find("exp1"), tmp_path)["rows"] if r["variant"] == "quoted"]
    assert [(r["model"], r["source"]) for r in rcc] == [("RCC", "Fahlman 1991")]  # RTRL and ELM are re-run by us
    assert "quoted from Fahlman 1991" in rcc[0]["detail"]


def _spec_rows():
    """Every row every shipped spec defines (the longest row and variant names there are)."""
    from cerepro import catalog

    return [r for path in catalog.experiments() for r in config.load(path).spec_rows()]


def _whole(name: str, line: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", line) is not None


def _rendered(renderable, width: int) -> list[str]:
    console = Console(width=width, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(renderable)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= width
    return lines


@pytest.mark.parametrize("width", [80, 120])
def test_comparison_and_run_tables_fit_the_terminal_with_every_row_name_and_verdict_whole(width):
    from cerepro import views

    verdicts = ["reproduced", "differs", "reduced scale", "no paper number", "not run"]
    rows = [{"row": r.name, "variant": r.variant, "model": r.config.model, "weights": 10404, "lr": r.config.lr, "trials": 30,
             "success_pct": 96.7, "paper_success_pct": 100, "seq_mean": 1163264.0, "paper_seq_mean": 31000,
             "verdict": verdicts[i % 5], "detail": "success -3 points; sequences x37.52", "best": False, "source": "ours"}
            for i, r in enumerate(_spec_rows())]
    lines = _rendered(views.comparison({"title": "Experiment 2c: very long time lags", "paper_table": "3", "rows": rows}, width),
                      width)
    for r in rows:
        assert any(_whole(r["row"], line) and _whole(r["variant"], line) and r["verdict"] in line for line in lines), r
    run_rows = [{**r, "successes": 29, "seq_median": 1000.0, "seq_min": 10.0, "seq_max": 9999999.0, "diverged": i % 2,
                 "scale": "reduced"} for i, r in enumerate(rows)]
    lines = _rendered(views.run_table(run_rows, "Experiment 1: embedded Reber grammar (paper Table 1)", width), width)
    for r in run_rows:
        assert any(_whole(r["row"], line) and _whole(r["variant"], line) and "reduced" in line for line in lines), r
    assert any("diverged" in line for line in lines)  # diverged trials are shown in the terminal, not only in the CSV


def test_summary_counts_rows_without_paper_numbers_in_a_column_of_their_own(tmp_path):
    base = {c: None for c in COLUMNS} | {"experiment": "xor", "model": "lstm97", "scale": "paper", "variant": "paper",
                                         "trials": 5, "successes": 0, "success_pct": 0.0}
    pd.DataFrame([base | {"row": f"lstm-T{t}"} for t in (20, 50, 100)], columns=COLUMNS).to_csv(tmp_path / "xor.csv", index=False)
    result = CliRunner().invoke(cli.main, ["compare", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = [c.strip() for c in next(line for line in lines if "experiment" in line and "┃" in line).split("┃")[1:-1]]
    xor = [c.strip() for c in next(line for line in lines if _whole("xor", line)).split("│")[1:-1]]
    assert dict(zip(header, xor))["no paper number"] == "3"
    from cerepro import views

    for width in (80, 120):
        docs = [compare.experiment_comparison(e, tmp_path) for e in compare.all_experiments()]
        text = _rendered(views.summary(docs, width), width)
        assert all(any(_whole(d["experiment"], line) for line in text) for d in docs)


@pytest.mark.parametrize("args", [["compare"], ["compare", "reber"], ["compare", "--out", "{tmp}/nonexistent"],
                                  ["report", "--out", "{tmp}/empty"]])
def test_no_results_is_one_line_saying_where_it_looked_exit_2(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli.main, [a.format(tmp=tmp_path) for a in args])
    looked = tmp_path / ("nonexistent" if "nonexistent" in " ".join(args) else "empty" if "report" in args else "results")
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: no results found in {looked}") and len(result.output.splitlines()) == 1
    assert not (tmp_path / "results").exists() and not (tmp_path / "nonexistent").exists()
    assert list((tmp_path / "empty").iterdir()) == []


def test_report_links_work_from_any_folder_and_leave_no_wal_files(tmp_path):
    out = fixture_table(tmp_path / "deep" / "er")
    Ledger(out / "ledger.sqlite").close()  # an empty ledger, in WAL mode
    result = CliRunner().invoke(cli.main, ["report", "--no-mechanism", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "REPORT.md").read_text()
    links = re.findall(r"\]\(([^)#]+\.md)\)", text)
    assert links and all((out / link).resolve().is_file() for link in links), links
    assert sorted(p.name for p in out.iterdir() if "ledger" in p.name) == ["ledger.sqlite"]
    assert oct((out / "REPORT.md").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_report_and_compare_link_the_hypothesis_matrix_when_there_is_one(tmp_path):
    out = fixture_table(tmp_path)
    result = CliRunner().invoke(cli.main, ["report", "--no-mechanism", "--out", str(out)])
    assert "## One explanation?" not in (out / "REPORT.md").read_text()  # no matrix, no section
    assert "HYPOTHESES.md" not in CliRunner().invoke(cli.main, ["compare", "--out", str(out)]).output
    score = {"hypothesis": "output-layer", "reproduced": 2, "run": 9, "reproduced_with_faithful": 3, "rows": 31, "at_most": 13,
             "fixes": ["exp1/lstm-4x1-lr0.1"], "breaks": []}
    rows = [{"experiment": "exp1", "row": "lstm-4x1-lr0.1", "run": 9, "reproduced_by": [{"hypothesis": "output-layer", "scale": "paper"}]},
            {"experiment": "exp4", "row": "lstm-T100", "run": 8, "reproduced_by": []},
            {"experiment": "exp4", "row": "lstm-T1000", "run": 0, "reproduced_by": []}]
    (out / "hypotheses.json").write_text(json.dumps({"scores": [score], "rows": rows}))
    (out / "HYPOTHESES.md").write_text("# matrix\n")
    result = CliRunner().invoke(cli.main, ["report", "--no-mechanism", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "REPORT.md").read_text()
    assert "[HYPOTHESES.md](HYPOTHESES.md)" in text
    assert "| `output-layer` | 2 / 9 | 3 / 31 | 13 / 31 | exp1/lstm-4x1-lr0.1 | - |" in text
    assert "No configuration can reach the goal of 25 of 31 rows any more: the most any could still reproduce is 13" in text
    assert "1 of 3 rows reproduce. Rows that resist every hypothesis run on them (1): exp4 lstm-T100." in text
    compared = CliRunner().invoke(cli.main, ["compare", "--out", str(out)])
    assert compared.exit_code == 0 and "HYPOTHESES.md (cerepro explain)" in compared.output
