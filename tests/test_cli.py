"""The command line: output, files written, exit codes, determinism and resuming."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
from click.testing import CliRunner

from cerepro import cli, config, runner

CONTRACT = ("experiment,row,model,variant,weights,lr,trials,successes,success_pct,seq_mean,seq_median,seq_min,seq_max,"
            "paper_success_pct,paper_seq_mean,scale").split(",")
TINY = ["--rows", "lstm-3x2-lr0.5,lstm-4x1-lr0.1", "--trials", "2", "--max-sequences", "400"]


def invoke(*args):
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def test_list_names_experiments_and_models():
    result = invoke("list")
    assert result.exit_code == 0
    assert "exp1" in result.output and "reber" in result.output and "lstm97" in result.output


def test_sample_prints_json_lines_and_is_deterministic():
    result = invoke("sample", "reber", "--n", "5", "--seed", "1")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 5
    for line in lines:
        assert {"symbols", "inputs", "targets", "target_mask"} <= set(line)
        assert line["symbols"][0] == "B" and line["symbols"][-1] == "E"
        assert len(line["inputs"]) == len(line["symbols"]) - 1 == len(line["targets"])
    assert invoke("sample", "reber", "--n", "5", "--seed", "1").output == result.output
    assert invoke("sample", "reber", "--n", "5", "--seed", "2").output != result.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "rebr"], "Error: unknown experiment 'rebr' (did you mean 'reber'?); see 'cerepro list'"),
        (["run", "reber", "--rows", "lstm-3x2-lr05"], "Error: unknown row 'lstm-3x2-lr05' of exp1 (did you mean 'lstm-3x2-lr0.5'?)"),
        (["run", "reber", "--variants", "legal-target"], "Error: unknown variant 'legal-target' for exp1 (did you mean 'legal-targets'?)"),
        (["sample", "rebr"], "Error: unknown task 'rebr' (did you mean 'reber'?)"),
        (["show", "exp9"], "Error: unknown experiment 'exp9'"),
    ],
)
def test_bad_names_exit_2_with_one_line_and_a_hint(args, message):
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2
    assert result.output.startswith(message)
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_bad_option_values_exit_2():
    for args in (["run", "reber", "--trials", "0"], ["run", "reber", "--workers", "-1"], ["sample", "reber", "--n", "0"]):
        assert CliRunner().invoke(cli.main, args).exit_code == 2


def test_unwritable_out_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(cli.main, ["run", "reber", *TINY, "--out", str(blocker / "sub")])
    assert result.exit_code == 2 and "cannot write to --out" in result.output


def test_run_writes_the_results_contract(tmp_path):
    result = invoke("run", "reber", *TINY, "--workers", "1", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    df = pd.read_csv(tmp_path / "exp1.csv")
    assert list(df.columns[: len(CONTRACT)]) == CONTRACT
    assert df["row"].tolist() == ["lstm-4x1-lr0.1", "lstm-3x2-lr0.5"]
    assert set(df["scale"]) == {"reduced"} and set(df["variant"]) == {"paper"}
    assert df["trials"].tolist() == [2, 2] and df["weights"].tolist() == [264, 276]
    assert df["paper_success_pct"].tolist() == [100, 100] and df["paper_seq_mean"].tolist() == [39740, 8440]
    assert (tmp_path / "exp1.md").read_text().startswith("# Experiment 1")
    assert len(pd.read_csv(tmp_path / "exp1.trials.csv")) == 4
    assert "lstm-3x2-lr0.5" in result.output  # the table is printed


def test_same_seed_same_tables_whatever_the_workers(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    invoke("run", "reber", *TINY, "--workers", "1", "--seed", "3", "--out", str(a))
    invoke("run", "reber", *TINY, "--workers", "2", "--seed", "3", "--out", str(b))
    invoke("run", "reber", *TINY, "--workers", "1", "--seed", "4", "--out", str(c))
    ta, tb, tc = (pd.read_csv(p / "exp1.csv").drop(columns="wall_s") for p in (a, b, c))
    pd.testing.assert_frame_equal(ta, tb)
    assert (a / "exp1.trials.csv").read_text() == (b / "exp1.trials.csv").read_text()
    assert (a / "exp1.trials.csv").read_text() != (c / "exp1.trials.csv").read_text()


def test_interrupted_run_keeps_finished_trials_and_resumes(tmp_path):
    from cerepro import plan as planner

    plan = planner.plan("reber", rows="lstm-4x1-lr0.1,lstm-3x2-lr0.1", trials=3, max_sequences=300, seed=5)
    events = runner.run(plan, 1, tmp_path)
    finished = 0
    for event in events:
        if event.kind == "trial":
            finished += 1
            if finished == 2:
                break
    events.close()  # as an interrupt would
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0  # an interrupted run leaves no claim behind
    kinds = [e for e in runner.run(plan, 1, tmp_path)]
    assert kinds[0].data["skipped"] == 2 and kinds[0].data["trials"] == 4
    assert kinds[-1].data["table"]["trials"].tolist() == [3, 3]


def test_a_worker_killed_from_outside_is_one_line_and_exit_130(tmp_path, monkeypatch):
    """`pkill cerepro` also reaches the pool's workers: the run says so in one line, not a traceback."""
    from concurrent.futures.process import BrokenProcessPool

    def broken(*args, **kwargs):
        yield from ()
        raise BrokenProcessPool("A process in the process pool was terminated abruptly")

    monkeypatch.setattr(runner, "run", broken)
    result = invoke("run", "exp6a", "--trials", "1", "--max-sequences", "100", "--out", str(tmp_path))
    assert result.exit_code == 130
    assert "A worker process was killed: finished trials are kept in" in result.output
    assert "Traceback" not in result.output


def test_show_prints_the_resolved_spec():
    import yaml

    result = invoke("show", "reber")
    doc = yaml.safe_load(result.output)
    assert doc["experiment"] == "exp1"
    first = doc["rows"][0]
    assert first["weights"] == 264 and first["lr"] == 0.1 and first["output_gate_bias"] == [-1, -2, -3, -4]


def test_bench_prints_kernel_and_reference_rates(monkeypatch):
    from cerepro import bench_rows

    # the rows and lanes parts at a smaller workload than make bench's (the same code)
    monkeypatch.setattr(bench_rows, "ROWS", tuple(c._replace(cap=2_000) for c in bench_rows.ROWS))
    monkeypatch.setattr(bench_rows, "LANE_ROWS", tuple(c._replace(cap=200) for c in bench_rows.LANE_ROWS))
    monkeypatch.setattr(bench_rows, "LANE_COUNTS", (1, 8))
    result = invoke("bench", "--seconds", "0.05", "--only", "adding")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    line = next(line for line in lines if "lstm97 adding T=100" in line)
    cells = [c.strip() for c in line.split("│")[1:-1]]
    assert cells[1] == "93" and cells[4].endswith("x")
    assert float(cells[2].replace(",", "")) > float(cells[3].replace(",", ""))  # the kernel beats the reference
    row_lines = [line for line in lines if "exp4 lstm-T100" in line]
    assert len(row_lines) == 3  # the row, then its lanes at K = 1, 8
    row_cells = [c.strip() for c in row_lines[0].split("│")[1:-1]]
    low, high = (int(c.rstrip("%")) for c in row_cells[-1].split("-"))  # the reps' own ratios, lowest-highest
    assert row_cells[-2].endswith("%") and low <= high
    assert [c.strip() for c in row_lines[2].split("│")[1:-1]][3] == "8" and row_lines[2].rstrip(" │").endswith("x")
    assert not any(name in result.output for name in ("exp2c", "exp1 ", "exp6a", "reber"))  # --only filters every part


def test_one_hot_inputs_cost_one_column_so_2c_p1000_runs_like_p50():
    from cerepro import bench

    rates = {r["case"]: r for r in bench.run(0.2, only="2c")}
    small, big = rates["lstm97 2c p=q=50"], rates["lstm97 2c p=q=1000"]
    assert (small["weights"], big["weights"]) == (364, 6064)  # Table 3
    assert big["kernel_steps_per_s"] > 0.3 * small["kernel_steps_per_s"]  # a dense product would be ~20x slower


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_interrupting_a_real_run_exits_130_and_keeps_finished_trials(tmp_path, sig):
    import signal
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "cerepro.cli", "run", "reber", "--rows", "lstm-3x2-lr0.5", "--trials", "200",
           "--max-sequences", "2000", "--workers", "2", "--out", str(tmp_path)]
    # as from a terminal: a shell's background job (and so a test run started as one) inherits SIGINT ignored
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    ledger, deadline = tmp_path / "ledger.sqlite", time.time() + 120
    finished = 0
    while time.time() < deadline and finished < 2:
        time.sleep(0.5)
        if ledger.exists():
            try:
                with sqlite3.connect(ledger) as db:
                    finished = db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
            except sqlite3.OperationalError:  # the file exists a moment before its tables do
                pass
    proc.send_signal(getattr(signal, sig))
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "run the same command again to resume" in stderr and "Traceback" not in stderr
    with sqlite3.connect(ledger) as db:
        kept = db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    assert 2 <= kept < 200


def test_tables_only_runs_nothing_and_rebuilds_from_the_ledger(tmp_path):
    invoke("run", "reber", *TINY, "--workers", "1", "--out", str(tmp_path))
    (tmp_path / "exp1.csv").unlink()
    result = invoke("run", "reber", "--rows", "lstm-3x2-lr0.5,lstm-4x1-lr0.1", "--max-sequences", "400", "--tables-only",
                    "--out", str(tmp_path))
    assert result.exit_code == 0 and "trials in" not in result.output and "trials/s" not in result.output
    df = pd.read_csv(tmp_path / "exp1.csv")
    assert df["trials"].tolist() == [2, 2] and set(df["scale"]) == {"reduced"}  # 2 of the spec's 30 trials
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 4


def test_per_row_caps_and_trials_touch_only_the_named_rows(tmp_path):
    result = invoke("run", "reber", "--rows", "lstm-3x2-lr0.5,lstm-4x1-lr0.1", "--trials", "lstm-4x1-lr0.1=1,lstm-3x2-lr0.5=2",
                    "--max-sequences", "lstm-4x1-lr0.1=300,lstm-3x2-lr0.5=200", "--workers", "1", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "exp1.csv").set_index("row")
    assert table.loc["lstm-3x2-lr0.5", "trials"] == 2 and table.loc["lstm-3x2-lr0.5", "cap"] == 200
    assert table.loc["lstm-4x1-lr0.1", "trials"] == 1 and table.loc["lstm-4x1-lr0.1", "cap"] == 300
    assert set(table["scale"]) == {"reduced"}


def test_per_row_caps_keep_the_spec_cap_elsewhere_and_reject_unknown_rows():
    exp = config.resolve("reber")
    rows = config.with_overrides(exp.rows[:2], max_sequences={exp.rows[0].name: 123})
    assert rows[0].config.max_sequences == 123 and rows[1].config.max_sequences == exp.rows[1].config.max_sequences
    result = CliRunner().invoke(cli.main, ["run", "reber", "--max-sequences", "lstm-3x2-lr05=100"])
    assert result.exit_code == 2 and "did you mean 'lstm-3x2-lr0.5'" in result.output
    for bad in ("lstm-3x2-lr0.5=", "=5", "lstm-3x2-lr0.5=0", "lstm-3x2-lr0.5=x"):
        result = CliRunner().invoke(cli.main, ["run", "reber", "--max-sequences", bad])
        assert result.exit_code == 2 and "Traceback" not in result.output, (bad, result.output)


def test_the_paper_cap_label_does_not_change_the_config_hash():
    import dataclasses
    row = config.resolve("exp2a").rows[0]
    labelled = dataclasses.replace(row, config=dataclasses.replace(row.config, paper_cap=5_000_000))
    assert labelled.config_hash() == row.config_hash()


def test_model_option_adds_each_faithful_row_trained_by_another_model(tmp_path):
    result = invoke("run", "exp6a", "--model", "lstm-forget", "--trials", "1", "--max-sequences", "30", "--workers", "1",
                    "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "exp6a.csv")
    assert list(zip(table["variant"], table["model"])) == [("paper", "lstm97"), ("model-lstm-forget", "lstm-forget")]
    rows = config.with_model(config.resolve("exp2a").rows, "lstm-forget")  # only lstm97 grows its cell
    assert [r.config.sequential_construction for r in rows] == [False] and "no sequential construction" in rows[0].note
    result = CliRunner().invoke(cli.main, ["run", "exp6a", "--model", "lstm-forgt"])
    assert result.exit_code == 2 and "did you mean 'lstm-forget'" in result.output


def test_a_run_shows_the_rows_it_ran_a_verdict_per_row_and_the_compare_hint(tmp_path):
    tiny = ["--trials", "1", "--max-sequences", "20", "--workers", "1", "--out", str(tmp_path)]
    assert invoke("run", "exp6a", "--variants", "all", *tiny).exit_code == 0
    result = invoke("run", "exp6a", "--fresh", *tiny)  # as `make run` re-runs the faithful rows of Table 1
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    body = [line for line in lines if line.startswith("│")]
    assert [line.split("│")[1].strip() for line in body] == ["lstm-2x2"]  # the variants stay in the table, not on screen
    assert [line for line in lines if line.startswith("lstm-2x2")] == ["lstm-2x2: reduced scale (no successful trial)"]
    assert lines[-1] == f"Beside the paper, with every row of the table: cerepro compare exp6a --out {tmp_path}"
    assert len(pd.read_csv(tmp_path / "exp6a.csv")) == 4


def test_a_run_into_a_log_file_says_each_finished_trial_on_a_line(tmp_path):
    # no live progress bar outside a terminal (nohup ... > log): one line per trial instead, with its outcome
    result = invoke("run", "reber", *TINY, "--workers", "1", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("exp1 lstm-")]
    records = pd.read_csv(tmp_path / "exp1.trials.csv")
    assert len(lines) == len(records) == 4
    for row, trial, sequences, outcome in records[["row", "trial", "sequences", "outcome"]].itertuples(index=False):
        what = f"success after {sequences:,} sequences" if outcome == "success" else f"no success within {sequences:,}"
        assert any(line.startswith(f"exp1 {row} trial {trial}: {what}") for line in lines), (row, trial, lines)
    assert sorted(line.rsplit("(", 1)[1] for line in lines) == ["1 of 4)", "2 of 4)", "3 of 4)", "4 of 4)"]


def test_status_says_what_is_claimed_by_whom_and_what_finished_lately(tmp_path):
    import socket
    import time

    from cerepro.ledger import Ledger, Owner

    ledger = Ledger(tmp_path / "ledger.sqlite")
    key = {"experiment": "exp2c", "row": "q50-p50", "model": "lstm97", "config_hash": "abc", "run_seed": 1997}
    ledger.add({**key, "variant": "paper", "trial": 0}, {"outcome": "success", "success": True, "sequences": 41210,
                                                          "wall_s": 12.4, "cpu_s": 12.1}, "test")
    ledger.add({**key, "variant": "lr-x10", "trial": 1}, {"outcome": "cap", "success": False, "sequences": 5_000_000,
                                                           "wall_s": 845.0, "cpu_s": 512.0}, "test")
    ledger.db.execute("UPDATE trials SET finished_at=? WHERE trial=1", (time.time() - 3 * 3600,))  # long ago
    ledger.claim("exp2c", "q100-p100", "paper", "def", 1997, [2, 3], Owner.me())
    ledger.claim("exp2b", "lstm-p100", "paper", "ghi", 1997, [17], Owner(socket.gethostname(), 2**22 + 7, "1"))
    ledger.close()
    result = invoke("status", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{tmp_path / 'ledger.sqlite'}: 2 finished trials (1 successful)"
    assert lines[2].startswith("  exp2c q100-p100: 2 trials (2, 3), claimed ") and lines[2].endswith(
        f"by pid {Owner.me().pid} on {socket.gethostname()} (running)")
    assert lines[3].startswith("  exp2b lstm-p100: 1 trial (17), claimed ") and lines[3].endswith("(gone)")
    assert lines[4] == "Finished in the last 60 minutes: 1 trial:"
    assert lines[5].endswith(" exp2c q50-p50 trial 0: success after 41,210 sequences, 12 s") and len(lines) == 6
    older = invoke("status", "--out", str(tmp_path), "--since", "240").output.splitlines()
    assert older[4] == "Finished in the last 240 minutes: 2 trials:"
    assert older[5].endswith(" exp2c q50-p50 [lr-x10] trial 1: no success within 5,000,000 sequences (the cap), "
                             "845 s (512 s CPU)")  # it waited for a busy machine


def test_status_without_a_ledger_exits_2_with_one_line_and_writes_nothing(tmp_path):
    result = invoke("status", "--out", str(tmp_path / "none"))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1 and "no ledger at" in result.output
    assert not (tmp_path / "none").exists()


def test_version_and_python_dash_m():
    import subprocess
    import sys

    from cerepro import __version__

    assert invoke("--version").output.strip() == f"cerepro, version {__version__}"
    result = subprocess.run([sys.executable, "-m", "cerepro", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"cerepro, version {__version__}"
    result = subprocess.run([sys.executable, "-m", "cerepro", "run"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr == "Error: Missing argument 'EXPERIMENT' (see 'cerepro run --help')\n"


def test_help_says_where_results_go():
    for command in ([], ["run"], ["compare"], ["report"]):
        assert "./results of the working folder" in " ".join(invoke(*command, "--help").output.split())


def test_make_test_leaves_out_the_slow_tests_and_make_test_all_runs_them():
    import shlex
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    for target, runs_slow in (("test", False), ("test-all", True)):
        recipe = subprocess.run(["make", "-n", "-C", str(repo), target], capture_output=True, text=True).stdout
        pytest_args = shlex.split(next(line for line in recipe.splitlines() if "pytest" in line))[1:]
        collected = subprocess.run([str(repo / ".venv/bin/pytest"), *pytest_args, "--collect-only", "tests/test_wheel.py"],
                                   cwd=repo, capture_output=True, text=True).stdout
        assert ("1 test collected" in collected) == runs_slow, (target, collected)
