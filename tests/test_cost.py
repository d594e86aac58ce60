"""cerepro.cost: CPU time from the ledger and the computed wall time on P cores."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cerepro import cost


def test_makespan_of_the_longest_first_schedule():
    assert cost.makespan([], 4) == 0.0
    assert cost.makespan([5.0, 1.0, 1.0, 1.0], 2) == 5.0  # one long trial bounds the row
    assert cost.makespan([3.0, 3.0, 2.0, 2.0, 2.0], 2) == 7.0  # greedy: (3+2+2 | 3+2); the best split is 6
    times = [float(t) for t in range(1, 40)]
    assert cost.makespan(times, 1) == sum(times)
    for p in (2, 3, 8):  # never below either bound, never above the 4/3 guarantee
        lower = max(max(times), sum(times) / p)
        assert lower <= cost.makespan(times, p) <= 4 / 3 * lower + 1e-9


def test_summary_of_the_committed_results_adds_up_the_trial_times():
    results = Path(__file__).resolve().parent.parent / "results"
    rows = cost.summary(results, ["exp6a", "exp3a"])
    assert [r["experiment"] for r in rows] == ["exp6a", "exp3a"]
    for r in rows:
        assert r["trials"] > 0 and r["cpu_h"] > 0
        assert r["wall_h_64"] <= r["wall_h_16"] <= r["wall_h_2"] <= r["cpu_h"] + 1e-12
        assert r["wall_h_2"] == pytest.approx(r["cpu_h"] / 2, rel=0.5)


def test_rows_the_ledger_lacks_count_their_table_time_spread_over_their_trials(tmp_path):
    pd.DataFrame({"experiment": ["exp6a"] * 2, "row": ["a", "b"], "variant": ["paper"] * 2, "config_hash": ["x", "y"],
                  "run_seed": [1, 1], "trials": [2, 4], "wall_s": [10.0, 4.0]}).to_csv(tmp_path / "exp6a.csv", index=False)
    assert sorted(cost.trial_times(tmp_path, "exp6a")) == [1.0, 1.0, 1.0, 1.0, 5.0, 5.0]
    assert not (tmp_path / "ledger.sqlite").exists()  # reading costs creates no ledger


def test_the_hypothesis_rows_cost_what_their_trials_took(tmp_path):
    from cerepro.ledger import Ledger

    assert cost.hypotheses_summary(tmp_path, "hyp-") is None  # no ledger: nothing, and none created
    assert not (tmp_path / "ledger.sqlite").exists()
    ledger = Ledger(tmp_path / "ledger.sqlite")
    for variant, trial, timing in (("hyp-a", 0, {"wall_s": 3600.0}), ("hyp-b", 0, {"wall_s": 3000.0, "cpu_s": 1800.0}),
                                   ("paper", 0, {"wall_s": 900.0})):
        ledger.add({"experiment": "exp6a", "row": "r", "variant": variant, "model": "lstm97", "config_hash": "h",
                    "run_seed": 1, "trial": trial}, timing, "test")
    ledger.close()
    spent = cost.hypotheses_summary(tmp_path, "hyp-", cores=(1, 2))  # CPU seconds where a record has them
    assert spent["trials"] == 2 and spent["cpu_h"] == 1.5 and spent["wall_h_1"] == 1.5 and spent["wall_h_2"] == 1.0


def test_a_trial_costs_its_cpu_time_where_its_record_has_it_else_its_wall_time():
    assert cost.seconds({"wall_s": 10.0, "cpu_s": 6.0}) == 6.0  # a busier machine than cores: wall > CPU
    assert cost.seconds({"wall_s": 10.0}) == 10.0  # recorded before trials kept their CPU time
    assert cost.seconds({"wall_s": 10.0, "cpu_s": 0.0}) == 0.0


def test_what_is_still_to_run_is_estimated_to_the_cap_at_the_rows_time_per_sequence(tmp_path):
    from cerepro import config
    from cerepro.ledger import Ledger

    exp = config.resolve("exp6a")
    row, variant = exp.rows[0], exp.variants[0]
    assert cost.pending(tmp_path, "exp6a")["paper"] == {"trials": row.config.trials, "unknown": row.config.trials, "times": []}
    ledger = Ledger(tmp_path / "ledger.sqlite")
    key = {"experiment": "exp6a", "row": row.name, "variant": row.variant, "model": "lstm97",
           "config_hash": row.config_hash(), "run_seed": exp.seed}
    ledger.add({**key, "trial": 0}, {"wall_s": 5.0, "cpu_s": 2.0, "sequences": 1_000, "success": True}, "test")  # 2 ms a sequence
    ledger.add({**key, "trial": 1}, {"wall_s": 8.0, "sequences": 1_000, "presented": 2_000, "success": False}, "test")  # 4 ms
    ledger.add({**key, "config_hash": "other", "trial": 2}, {"wall_s": 3.0, "sequences": 1_000, "success": True}, "test")  # 3 ms
    ledger.close()
    left = cost.pending(tmp_path, "exp6a")
    per = 0.003  # the median over the row's trials, any configuration
    assert left["paper"] == {"trials": row.config.trials - 2, "unknown": 0,
                             "times": [pytest.approx(per * row.config.max_sequences)] * (row.config.trials - 2)}
    assert left["variants"]["trials"] >= variant.config.trials and left["variants"]["unknown"] == 0  # timed by its paper row
    total = cost.pending_summary(tmp_path, ["exp6a"], cores=(1, 1000))
    assert total["paper"]["cpu_h"] == pytest.approx(per * row.config.max_sequences * (row.config.trials - 2) / 3600)
    assert total["paper"]["wall_h_1000"] == pytest.approx(per * row.config.max_sequences / 3600)  # one trial each
