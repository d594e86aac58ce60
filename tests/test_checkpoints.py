"""Suspended lane engines (cerepro/checkpoints.py): a trial stopped in its lanes goes on where it was, with the
record of an uninterrupted run; a file is taken over by one run only, and only by the same code and row."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import sqlite3

import pytest

from cerepro import checkpoints, config, numba_cache, runner, status
from cerepro.dispatch import run_trial
from cerepro.ledger import Ledger
from cerepro.plan import Plan
from cerepro.protocols import lanes
from cerepro.protocols.common import untimed

ADDING = dict(max_sequences=3000, window=50, st3_beta=0.2, abs_threshold=0.3, test_set_size=120)
LAG = dict(max_sequences=3000, test_set_size=100)


class _Stop(Exception):
    pass


def _stop_at_once(engine) -> None:
    """engine.suspend that stops the engine after its first kernel call."""
    raise _Stop


def _row(experiment: str, name: str, **settings):
    exp = config.resolve(experiment)
    row = next(r for r in exp.rows if r.name == name)
    return exp, dataclasses.replace(row, config=dataclasses.replace(row.config, **settings))


def _strip(record: dict) -> dict:
    return json.loads(json.dumps(untimed(record), sort_keys=True))


@pytest.mark.parametrize("experiment, name, settings, stop_after",
                         [("exp4", "lstm-T100", ADDING, 4), ("exp2c", "q50-p50", LAG, 5), ("exp2c", "q50-p50", LAG, 1)])
def test_an_engine_pickled_mid_trial_goes_on_to_the_same_records(experiment, name, settings, stop_after):
    exp, row = _row(experiment, name, **settings)
    trials = 5
    queue = list(range(trials))
    claim = lambda: queue.pop(0) if queue else None
    engine = lanes.LaneEngine(exp.protocol, row.config, exp.seed, row.seed_key, lanes=3)
    saved, calls, got = [], [0], {}

    def suspend(e):
        calls[0] += 1
        saved[:] = [pickle.dumps(e)]
        if calls[0] == stop_after:
            raise _Stop

    engine.suspend = suspend
    with pytest.raises(_Stop):
        for t, record in engine.run(claim):
            got[t] = record
    resumed = pickle.loads(saved[0])
    assert resumed.in_flight() and not set(resumed.in_flight()) & set(got)  # stopped inside trials
    for t, record in resumed.run(claim):
        assert t not in got
        got[t] = record
    assert sorted(got) == list(range(trials))
    for t in range(trials):
        assert _strip(got[t]) == _strip(run_trial(exp.protocol, row.config, exp.seed, row.seed_key, t)), t


def test_a_resumed_engine_drops_the_trials_it_no_longer_holds_and_fills_the_lanes_by_claim():
    exp, row = _row("exp4", "lstm-T100", **ADDING)
    engine = lanes.LaneEngine(exp.protocol, row.config, exp.seed, row.seed_key, lanes=2)
    queue = [0, 1]
    engine.suspend = _stop_at_once
    with pytest.raises(_Stop):
        list(engine.run(lambda: queue.pop(0) if queue else None))
    resumed = pickle.loads(pickle.dumps(engine))
    resumed.keep_only({1})  # trial 0 was finished by another run meanwhile
    assert list(resumed.in_flight()) == [1]
    more = [3]
    got = dict(resumed.run(lambda: more.pop(0) if more else None))
    assert sorted(got) == [1, 3]
    assert _strip(got[3]) == _strip(run_trial(exp.protocol, row.config, exp.seed, row.seed_key, 3))


def _engine_file(store, row, seed, trials):
    exp = config.resolve(row.experiment)
    engine = lanes.LaneEngine(exp.protocol, row.config, seed, row.seed_key, lanes=len(trials))
    queue = list(trials)
    engine.suspend = _stop_at_once
    with pytest.raises(_Stop):
        list(engine.run(lambda: queue.pop(0) if queue else None))
    path = store.new_path(row.config_hash(), seed, row.seed_key)
    checkpoints.save(path, engine)
    return path


def test_a_file_is_taken_by_one_run_only_and_only_for_its_own_code_row_and_trials(tmp_path):
    exp, row = _row("exp4", "lstm-T100", **ADDING)
    store = checkpoints.Store(tmp_path)
    path = _engine_file(store, row, exp.seed, [0, 1])
    key = (row.config_hash(), exp.seed, row.seed_key)
    assert store.take(row.config_hash(), exp.seed + 1, row.seed_key, {0, 1}) == []  # another seed
    assert store.take(*key, {5}) == []  # none of its trials
    other = checkpoints.Store(tmp_path)
    other.source = "0" * 12  # another state of the code: not its file
    assert other.take(*key, {0, 1}) == [] and [h["resumable"] for h in other.suspended()] == [False]
    taken = store.take(*key, {1, 7})
    assert [(s.trials, s.lanes) for s in taken] == [((1,), 2)] and not path.exists() and taken[0].path.exists()
    assert [h["trials"] for h in store.suspended()] == [[0, 1]]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    shown = "\n".join(status.lines(ledger, 5, suspended=store.suspended()))
    ledger.close()
    assert "Suspended in lanes" in shown and f"{row.seed_key} (seed {exp.seed}): trials 0 at " in shown
    store.forget(*key, finished={0})  # trial 1 not finished: kept
    assert taken[0].path.exists()
    cut_short = taken[0].path.with_suffix(".tmp")
    cut_short.write_bytes(b"")
    store.forget(*key, finished={0, 1})
    assert not taken[0].path.exists() and store.suspended() == [] and cut_short.exists()  # a save may be under way
    os.utime(cut_short, (0, 0))
    store.forget(*key, finished={0, 1})
    assert not cut_short.exists()  # not any more


def _ledger(path) -> dict:
    with sqlite3.connect(path) as db:
        return {(row, trial): untimed(json.loads(rec))
                for row, trial, rec in db.execute("SELECT row, trial, record FROM trials")}


def test_a_stopped_lane_run_goes_on_from_its_files_to_the_ledger_of_an_uninterrupted_run(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "EVERY_S", 0.0)  # a save after every kernel call (inherited by forked workers)
    exp = config.resolve("exp4")
    row = next(r for r in exp.rows if r.name == "lstm-T100")
    row = dataclasses.replace(row, config=dataclasses.replace(row.config, trials=4, max_sequences=20_000, test_set_size=40))
    plan = Plan(exp, (row,), exp.seed)
    events = runner.run(plan, 2, tmp_path / "stopped", engine="lanes")
    seen = 0
    for event in events:
        seen += event.kind == "progress"
        if seen == 3:
            break
    events.close()  # the run stops as on Ctrl-C: its workers are terminated
    store = checkpoints.Store(tmp_path / "stopped")
    suspended = store.suspended()
    assert suspended and all(h["trials"] for h in suspended)
    trained = lambda evs: sum(e.data["sequences"] for e in evs if e.kind == "progress")
    resumed = list(runner.run(plan, 2, tmp_path / "stopped", engine="lanes"))
    whole = list(runner.run(plan, 1, tmp_path / "whole", engine="one"))
    assert _ledger(tmp_path / "stopped" / "ledger.sqlite") == _ledger(tmp_path / "whole" / "ledger.sqlite")
    assert len(_ledger(tmp_path / "whole" / "ledger.sqlite")) == 4
    assert trained(resumed) < trained(whole)  # went on: did not start the suspended trials over
    assert store.suspended() == []


def test_suspended_trials_are_kept_through_changes_outside_the_code_a_trial_depends_on(tmp_path):
    package = tmp_path / "pkg"
    shutil.copytree(numba_cache.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    trial_code = lambda: numba_cache.source_hash(package, checkpoints.TRIAL_CODE)
    before = trial_code()
    assert before == checkpoints.Store(tmp_path).source
    for name in ("report.py", "cli.py", "explain.py"):
        (package / name).write_text((package / name).read_text() + "\n# a change in what a trial does not run\n")
    assert trial_code() == before
    for name in ("models/lstm97/lanes.py", "protocols/lanes.py", "generators/longlag.py", "seeding.py"):
        (package / name).write_text((package / name).read_text() + "\n# a change in what a trial runs\n")
        changed = trial_code()
        assert changed != before, name
        before = changed


def test_a_fresh_run_starts_the_suspended_trials_of_its_rows_over(tmp_path):
    exp, row = _row("exp4", "lstm-T100", trials=2, max_sequences=400, test_set_size=10)
    store = checkpoints.Store(tmp_path)
    _engine_file(store, row, exp.seed, [0, 1])
    assert len(store.suspended()) == 1
    trained = lambda out, **kw: sum(e.data["sequences"] for e in runner.run(Plan(exp, (row,), exp.seed), 1, out,
                                                                           engine="lanes", **kw) if e.kind == "progress")
    assert trained(tmp_path, fresh=True) == trained(tmp_path / "clean") > 0  # from the start, not from the file
    assert store.suspended() == []
    assert _ledger(tmp_path / "ledger.sqlite") == _ledger(tmp_path / "clean" / "ledger.sqlite")
