"""Trial order, engine choice and the idle fraction (cerepro.scheduling); a run's records do not depend on them."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest

from cerepro import config, runner, scheduling
from cerepro.plan import Plan
from cerepro.protocols.common import untimed


def _rows(experiment: str, **settings):
    exp = config.resolve(experiment)
    return exp, tuple(dataclasses.replace(r, config=dataclasses.replace(r.config, **settings)) for r in exp.rows)


def test_longest_expected_first_from_the_ledger_history_and_the_caps():
    exp, rows = _rows("exp2c")
    short, long_ = rows[0], rows[1]  # q50-p50, q100-p100
    past = {(short.name, 0): [50_000], (short.name, 1): [400_000], short.name: [50_000, 400_000], long_.name: [3_000_000]}
    jobs = [(short, 0), (short, 1), (long_, 0), (short, 2)]
    ordered = scheduling.order("longlag", jobs, past)
    assert ordered[0] == (long_, 0)  # longer sequences (q) and a longer history
    assert ordered.index((short, 1)) < ordered.index((short, 2)) < ordered.index((short, 0))  # own history, row mean
    capped = dataclasses.replace(short, config=dataclasses.replace(short.config, max_sequences=10_000))
    assert scheduling.expected_cost("longlag", capped, 1, past) == scheduling.expected_cost("longlag", capped, 0, past)


def test_plan_puts_served_rows_in_lanes_only_where_asked_and_worth_it():
    exp, rows = _rows("exp4")
    jobs = [(rows[0], t) for t in range(10)]
    lanes = scheduling.plan("online", jobs, "lanes", 2, {})
    assert len(lanes) == 1 and lanes[0].lanes and lanes[0].width == 5 and sorted(lanes[0].trials) == list(range(10))
    assert not any(w.lanes for w in scheduling.plan("online", jobs, "one", 2, {}))
    assert not any(w.lanes for w in scheduling.plan("online", jobs, "auto", 2, {}))  # 5 trials per worker
    assert any(w.lanes for w in scheduling.plan("online", jobs, "auto", 1, {}))  # 10
    exp2c, lag_rows = _rows("exp2c")
    long_lag = {r.name: r for r in lag_rows}
    assert not any(w.lanes for w in scheduling.plan("longlag", [(long_lag["q100-p100"], t) for t in range(14)], "auto", 2, {}))
    assert any(w.lanes for w in scheduling.plan("longlag", [(long_lag["q100-p100"], t) for t in range(16)], "auto", 2, {}))
    assert any(w.lanes for w in scheduling.plan("longlag", [(long_lag["q1000-p50"], t) for t in range(20)], "auto", 2, {}))
    exp1, reber_rows = _rows("exp1")
    assert not any(w.lanes for w in scheduling.plan("reber", [(reber_rows[0], t) for t in range(30)], "lanes", 2, {}))


def test_idle_fraction():
    assert scheduling.idle_fraction(30.0, 2, 20.0) == pytest.approx(0.25)
    assert scheduling.idle_fraction(50.0, 2, 20.0) == 0.0
    assert scheduling.idle_fraction(1.0, 2, 0.0) == 0.0


def _ledger_records(path) -> dict:
    with sqlite3.connect(path) as db:
        return {(row, trial): untimed(json.loads(rec))
                for row, trial, rec in db.execute("SELECT row, trial, record FROM trials")}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_run_gives_the_same_ledger_with_either_engine(tmp_path, workers):
    exp, rows = _rows("exp4", trials=6, max_sequences=700, window=50, st3_beta=0.2, abs_threshold=0.3, test_set_size=40)
    done = {}
    for engine in ("one", "lanes"):
        events = list(runner.run(Plan(exp, rows[:1], exp.seed), workers, tmp_path / engine, engine=engine))
        done[engine] = events[-1].data
        assert sum(e.data["sequences"] for e in events if e.kind == "progress") > 0
    assert _ledger_records(tmp_path / "one" / "ledger.sqlite") == _ledger_records(tmp_path / "lanes" / "ledger.sqlite")
    assert all(0.0 <= d["idle_fraction"] <= 1.0 for d in done.values())
    assert len(_ledger_records(tmp_path / "lanes" / "ledger.sqlite")) == 6


def test_auto_runs_check_set_rows_one_net_per_call():
    """Exp 3's ST1/ST2 rows test their check set with the sequences in lanes on one net, which the trial lanes
    (one check sequence per lane and tick) do not match: auto keeps them on one net; --engine lanes still may."""
    check_set = next(r for r in config.resolve("exp3a").rows if r.name == "lstm-T100-N3")
    window = next(r for r in config.resolve("exp4").rows if r.name == "lstm-T100")
    assert check_set.config.stop == "st1st2" and window.config.stop != "st1st2"
    assert not scheduling.uses_lanes("online", check_set, "auto", 32, 1)
    assert scheduling.uses_lanes("online", check_set, "lanes", 32, 1)
    assert scheduling.uses_lanes("online", window, "auto", 32, 1)
    assert not scheduling.uses_lanes("online", window, "auto", 7, 1)
