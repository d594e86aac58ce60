"""Faults: workers die with their parent, two runs into one folder share the work, written files get the usual modes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cerepro import cli
from cerepro.ledger import Ledger


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and stat[0] != "Z":
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_workers_exit_within_seconds_when_the_run_is_killed(tmp_path):
    cmd = [sys.executable, "-m", "cerepro.cli", "run", "reber", "--rows", "lstm-3x2-lr0.1", "--trials", "50",
           "--max-sequences", "100000", "--workers", "2", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.time() + 180
        while time.time() < deadline and len(workers) < 2:
            time.sleep(0.5)
            workers = _children(proc.pid)
        assert len(workers) == 2, "the pool did not start"
        time.sleep(1.0)  # the workers are in their first trials
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not any(_alive(w) for w in workers), "orphaned workers kept running"
    finally:
        for pid in {proc.pid, *workers, *_children(proc.pid)}:  # whatever the outcome, nothing of it keeps running
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _claim(out: Path, plan, trials: list[int], owner) -> None:
    row = plan.rows[0]
    ledger = Ledger(out / "ledger.sqlite")
    try:
        assert ledger.claim(row.experiment, row.name, row.variant, row.config_hash(), plan.seed, trials, owner) == ({}, set())
    finally:
        ledger.close()


def test_a_run_leaves_trials_claimed_by_a_live_run_to_it_and_waits_for_them(tmp_path, monkeypatch):
    from cerepro import plan as planner, runner
    from cerepro.ledger import Owner, _process_start

    monkeypatch.setattr(runner, "WAIT_S", 0.1)
    plan = planner.plan("reber", rows="lstm-3x2-lr0.5", trials=3, max_sequences=200)
    other = subprocess.Popen(["sleep", "60"])
    try:
        _claim(tmp_path, plan, [0, 1], Owner(socket.gethostname(), other.pid, _process_start(other.pid)))
        reference = tmp_path / "reference"
        records = {e.data["trial"]: e.data["record"] for e in runner.run(plan, 1, reference) if e.kind == "trial"}

        def finish_the_other_run():  # the other run records its two trials a little later
            time.sleep(1.0)
            ledger = Ledger(tmp_path / "ledger.sqlite")
            row = plan.rows[0]
            for t in (0, 1):
                ledger.add({"experiment": row.experiment, "row": row.name, "variant": row.variant, "model": row.config.model,
                            "config_hash": row.config_hash(), "run_seed": plan.seed, "trial": t}, records[t], "test")
            ledger.close()

        threading.Thread(target=finish_the_other_run).start()
        events = list(runner.run(plan, 1, tmp_path))
    finally:
        other.kill()
        other.wait()
    assert events[0].data["waiting"] == {f"{socket.gethostname()}:{other.pid}": 2}
    assert [e.data["trial"] for e in events if e.kind == "trial" and "trial" in e.data] == [2]  # computed here: trial 2 only
    assert events[-1].data["trials_run"] == 1 and events[-1].data["table"]["trials"].tolist() == [3]


def test_trials_claimed_by_a_run_that_died_are_taken_over(tmp_path):
    from cerepro import plan as planner, runner
    from cerepro.ledger import Owner

    plan = planner.plan("reber", rows="lstm-3x2-lr0.5", trials=2, max_sequences=200)
    dead = subprocess.Popen(["true"])
    dead.wait()
    _claim(tmp_path, plan, [0, 1], Owner(socket.gethostname(), dead.pid, "1"))
    events = list(runner.run(plan, 1, tmp_path))
    assert events[0].data["waiting"] == {} and events[-1].data["trials_run"] == 2


def test_a_trial_finished_after_the_runner_looked_is_not_claimed_again(tmp_path):
    """The race behind a trial computed twice: run B reads the finished trials, run A then records trial 0
    (dropping its claim), B claims. The claim itself must see that trial 0 is done."""
    from cerepro import plan as planner, runner
    from cerepro.ledger import Owner

    plan = planner.plan("reber", rows="lstm-3x2-lr0.5", trials=2, max_sequences=200)
    row = plan.rows[0]
    record = next(e.data["record"] for e in runner.run(plan, 1, tmp_path / "ref") if e.kind == "trial")
    group = (row.experiment, row.name, row.variant, row.config_hash(), plan.seed)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        stale_view = ledger.finished(*group)  # B looks: nothing finished yet
        ledger.add({"experiment": row.experiment, "row": row.name, "variant": row.variant, "model": row.config.model,
                    "config_hash": row.config_hash(), "run_seed": plan.seed, "trial": 0},
                   record, "test")  # A records trial 0
        todo = [t for t in range(2) if t not in stale_view]
        others, finished = ledger.claim(*group, todo, Owner.me())
        assert (others, finished) == ({}, {0})
        held = {t for (t,) in ledger.db.execute("SELECT trial FROM claims")}
        assert held == {1}
    finally:
        ledger.close()


def test_two_real_runs_into_one_folder_compute_each_trial_once(tmp_path):
    cmd = [sys.executable, "-m", "cerepro.cli", "run", "reber", "--rows", "lstm-3x2-lr0.5", "--trials", "6",
           "--max-sequences", "40000", "--workers", "1", "--out", str(tmp_path)]  # trials long enough to overlap
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (tmp_path / "ledger.sqlite").exists():
        time.sleep(0.1)
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    _, first_err = first.communicate(timeout=300)
    runs = [int(re.search(r"(\d+) trials? in ", text).group(1)) for text in (first_err, second.stderr)]
    assert sum(runs) == 6, (first_err, second.stderr)
    assert any("another cerepro run into this folder" in text for text in (first_err, second.stderr))


def test_written_tables_get_the_modes_of_any_new_file(tmp_path):
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(cli.main, ["run", "exp6a", "--trials", "1", "--max-sequences", "20", "--workers", "1",
                                               "--out", str(tmp_path)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    for name in ("exp6a.csv", "exp6a.md", "exp6a.trials.csv"):
        assert oct((tmp_path / name).stat().st_mode & 0o777) == oct(0o644), name
