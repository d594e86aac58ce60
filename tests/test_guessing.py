"""Random weight guessing (`guess`): draws, kernel vs numpy reference, determinism, behaviour on 3a and 2a,
weight counts, the spec rows, bad configs and the command line."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cerepro import bench, cli, config, dispatch, guessing, models, seeding
from cerepro.config import SpecError
from cerepro.generators import longlag as longlag_tasks
from cerepro.generators import twoseq
from cerepro.generators.base import dense_inputs
from cerepro.models import guess as guess_model
from cerepro.models.common import Net
from cerepro.models.guess import arch as guess
from cerepro.models.guess import kernel as guess_kernel
from cerepro.models.guess import reference as guess_reference
from cerepro.models.rtrl import arch as rtrl
from cerepro.models.rtrl.kernel import make_setup
from cerepro.protocols.common import BaseRow, untimed
from cerepro.protocols.longlag import trial as longlag
from cerepro.protocols.online import trial as online
from cerepro.protocols.online.settings import OnlineRow

A1 = dict(model="guess", hidden_units=1, bias="b1", outputs_recurrent=True, input_to_output=True, weight_range=100.0)
TABLE2 = dict(model="guess", hidden_units=1, bias="none", recurrent=False, input_to_output=True, weight_range=100.0,
              sequential_construction=False)


def guess_row(name: str) -> config.Row:
    exp = config.resolve("exp3a" if name.startswith("guess-T") else "exp2a")
    return next(r for r in exp.baselines if r.name == name)


def a1(n: int = 1) -> rtrl.RNNArch:
    return guess_model.architecture(BaseRow(**{**A1, "hidden_units": n}), 1, 1)


def table2(p: int) -> rtrl.RNNArch:
    return guess_model.architecture(BaseRow(**{k: v for k, v in TABLE2.items() if k != "sequential_construction"}), p + 1, p + 1)


def strip(record: dict) -> dict:
    return untimed(record)


# ---------------------------------------------------------------- the nets and their weight counts
@pytest.mark.parametrize("n,count", [(1, 7), (2, 14), (3, 23)])
def test_a1_has_n_squared_plus_4n_plus_2_weights(n, count):
    """Schmidhuber & Hochreiter's A1: every non-input unit sees the input and all n+1 units; hidden units biased."""
    assert rtrl.n_weights(a1(n)) == count == n * n + 4 * n + 2
    assert guess_model.n_weights(BaseRow(**{**A1, "hidden_units": n}), 1, 1) == count


def test_the_spec_rows_have_the_right_weight_counts():
    for name in ("guess-T100-N3", "guess-T100-N1", "guess-T1000-N3"):
        assert guess_row(name).config.n_weights() == 7
    assert guess_row("guess-p4").config.n_weights() == 36  # (p+2)^2: the RTRL rows' net
    assert guess_row("guess-p100").config.n_weights() == 10404
    rtrl_p4 = next(r for r in config.resolve("exp2a").baselines if r.name == "rtrl-p4-lr1")
    assert rtrl_p4.config.n_weights() == guess_row("guess-p4").config.n_weights()


def test_draws_are_rows_of_one_stream_in_range_and_zero_where_no_connection():
    a = a1(2)
    whole = guess.draw(np.random.default_rng(4), a, 100.0, 10)  # (10, D)
    rng = np.random.default_rng(4)
    parts = np.vstack([guess.draw(rng, a, 100.0, 3), guess.draw(rng, a, 100.0, 7)])
    np.testing.assert_array_equal(whole, parts)  # guess g does not depend on the block size
    mask = guess.flat_mask(a)
    np.testing.assert_array_equal(whole, np.random.default_rng(4).uniform(-100.0, 100.0, whole.shape) * mask)
    assert (whole[:, mask == 0] == 0).all() and (np.abs(whole) <= 100.0).all() and np.abs(whole).max() > 50
    params = guess.unpack(whole[0], a)
    assert params["W_hid"].shape == (3, 5) and params["W_out"].shape == (1, 0)
    assert {k: (v != 0).sum() for k, v in params.items()} == {"W_hid": 14, "W_out": 0}


# ---------------------------------------------------------------- kernel against the numpy reference
def _kernel_outputs(a, params, x_index, x_dense, L):
    net, ws = Net.of(params, rtrl.masks(a), make_setup(a)), guess_kernel.make_workspace(a)
    out_y = np.zeros((L, a.n_out))
    targets, mask = np.zeros((L, a.n_out)), np.zeros(L, dtype=np.bool_)
    mask[-1] = True
    sse = guess_kernel.step(net, ws, x_index, x_dense, targets, mask, L, 1.0, True, out_y)
    return out_y, sse


@pytest.mark.parametrize("r", [3.0, 100.0])
def test_forward_kernel_matches_the_numpy_reference(r):
    rng = np.random.default_rng(1)
    batch = twoseq.generate(rng, 4, T=30, N=1)
    for n in (1, 3):
        a = a1(n)
        for vec in guess.draw(rng, a, r, 5):
            params = guess.unpack(vec, a)
            before = {k: v.copy() for k, v in params.items()}
            for i in range(batch.n):
                L = int(batch.lengths[i])
                y, sse = _kernel_outputs(a, params, np.zeros(1, np.int64), batch.inputs[i, :L], L)
                ref = guess_reference.forward(params, a, batch.inputs[i, :L])
                np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-14)
                assert sse == pytest.approx(float(ref[-1, 0] ** 2), rel=1e-12, abs=1e-14)
            for k in params:  # the step never learns, even when asked to
                np.testing.assert_array_equal(params[k], before[k])
    a = table2(4)  # one-hot inputs, a separate output layer
    batch = longlag_tasks.generate_2a(rng, 2, p=4)
    x = dense_inputs(batch)
    for vec in guess.draw(rng, a, r, 5):
        params = guess.unpack(vec, a)
        for i in range(batch.n):
            L = int(batch.lengths[i])
            y, _ = _kernel_outputs(a, params, batch.input_index[i, :L], np.zeros((L, 0)), L)
            np.testing.assert_allclose(y, guess_reference.forward(params, a, x[i, :L]), rtol=1e-12, atol=1e-14)


def _search_batch(n: int, T: int, seed: int):
    """A 3a batch in both forms: the kernel's arrays and the reference's lists."""
    cfg = OnlineRow(task="3a", T=T, N=1, stop="st1st2", **A1)
    b = online.draw(cfg, np.random.default_rng(seed), n)
    kb = guessing.online_batch(b)
    x_index, x_dense, t_row, t_table, lengths = kb
    xs = [x_dense[i, : lengths[i]] for i in range(n)]
    targets = [np.repeat(t_table[i][None, :], lengths[i], axis=0) for i in range(n)]
    judged = [t_row[i, : lengths[i]] >= 0 for i in range(n)]
    return kb, (xs, targets, judged)


@pytest.mark.parametrize("max_wrong,cap", [(0, 10**9), (2, 10**9), (0, 50)])
def test_search_kernel_matches_the_numpy_reference(max_wrong, cap):
    """Same winner, same counts of guesses, sequences and steps (and the same cap behaviour)."""
    a = a1(1)
    kb, (xs, targets, judged) = _search_batch(24, 20, 5)
    draws = guess.draw(np.random.default_rng(6), a, 100.0, 3000)
    counts = np.zeros(3, dtype=np.int64)
    g = guess_kernel.search(draws, a.n_rec * a.n_hidden_cols, make_setup(a), guess_kernel.make_workspace(a), *kb,
                            0.2, max_wrong, cap, counts, np.zeros((kb[2].shape[1], 1)))
    ref_g, ref_counts = guess_reference.search(draws, a, xs, targets, judged, 0.2, max_wrong, cap)
    assert counts.tolist() == ref_counts
    if cap == 50:  # below the winner's cost (its 24 sequences and one per earlier guess)
        assert g == guess_kernel.CAP_REACHED and ref_g == -1 and counts[guess_kernel.C_SEQUENCES] == 50
    else:
        assert g == ref_g >= 0, "no guess of 3000 solved a 24-sequence 3a batch (T=20, N=1)"
        params = guess.unpack(draws[g], a)  # the winner passes the whole batch by the reference's forward pass
        wrong = sum(not guess_reference.sequence_passes(params, a, x, t, j, 0.2)[0] for x, t, j in zip(xs, targets, judged))
        assert wrong <= max_wrong


# ---------------------------------------------------------------- trials: determinism and behaviour
def test_guessing_is_deterministic_for_a_seed(monkeypatch):
    cfg = dataclasses.replace(guess_row("guess-T100-N1").config, max_sequences=20_000)
    a = dispatch.run_trial("online", cfg, 3, "exp3a/guess-T100-N1", 0)
    b = dispatch.run_trial("online", dataclasses.replace(cfg, chunk=7), 3, "exp3a/guess-T100-N1", 0)  # progress granularity only
    monkeypatch.setattr(guess, "BLOCK_DOUBLES", 24)  # 3 guesses per draw instead of 8192: the same guesses
    c = dispatch.run_trial("online", cfg, 3, "exp3a/guess-T100-N1", 0)
    assert strip(a) == strip(b) == strip(c)
    d = dispatch.run_trial("online", cfg, 3, "exp3a/guess-T100-N1", 1)
    assert (d["guesses"], d["sequences"]) != (a["guesses"], a["sequences"])


def test_guessing_solves_3a_t100_n1_within_a_small_cap():
    """Section 5.3: random guessing solves 3a quickly. A1 with one hidden unit, weights in [-100, 100]."""
    row = guess_row("guess-T100-N1")
    cfg = dataclasses.replace(row.config, max_sequences=20_000)
    seen: list[int] = []
    records = [dispatch.run_trial("online", cfg, 1997, row.seed_key, t, progress=seen.append) for t in range(3)]
    for rec in records:
        assert rec["success"] and rec["outcome"] == "success", rec
        assert rec["batch_wrong"] == 0  # the protocol's own ST1 test agrees with the search kernel
        assert rec["st1"] == rec["sequences"] >= cfg.check_set_size  # the winner was tested on the whole batch
        assert rec["guesses"] <= rec["sequences"] < 20_000
        assert rec["test_n"] == 2560 and rec["test_wrong"] < 0.02 * 2560  # and it generalises to fresh sequences
    assert sum(seen) == sum(r["sequences"] for r in records)
    cols = dispatch.summarize("online", cfg, records)
    assert cols["guesses_mean"] == np.mean([r["guesses"] for r in records]) and cols["st1_mean"] > 0


def test_a_trial_at_the_cap_has_no_winner_and_no_test():
    cfg = dataclasses.replace(guess_row("guess-T100-N3").config, max_sequences=5)
    rec = dispatch.run_trial("online", cfg, 1997, "exp3a/guess-T100-N3", 0)
    assert rec["outcome"] == "cap" and not rec["success"] and rec["sequences"] == 5 and rec["test_wrong"] is None
    assert 1 <= rec["guesses"] <= 5 and rec["st1"] is None


def test_guessing_solves_2a_at_p2_and_fails_p4_within_a_small_cap():
    """The longlag path: a tiny 2a (p = 2, 16 weights) is guessable; the p = 4 row is not within 100,000 sequences."""
    cfg = dataclasses.replace(guess_row("guess-p4").config, p=2, max_sequences=3_000_000, success_window=500,
                              test_set_size=50)
    rec = dispatch.run_trial("longlag", cfg, 1997, "exp2a/guess-p2", 0)
    assert rec["success"] and rec["batch_wrong"] == 0 and rec["test_ok_pct"] == 100.0, rec
    assert rec["presented"] == rec["sequences"] >= 500 and rec["steps"] >= 2 * 500
    cap = dataclasses.replace(guess_row("guess-p4").config, max_sequences=100_000)
    rec = dispatch.run_trial("longlag", cap, 1997, "exp2a/guess-p4", 0)
    assert rec["outcome"] == "cap" and rec["sequences"] == 100_000 and "test_ok_pct" not in rec
    assert set(dispatch.summarize("longlag", cap, [rec])) >= {"guesses_tried_mean", "test_ok_pct_mean"}


# ---------------------------------------------------------------- specs, bad configs, command line, bench
def test_the_specs_have_guessing_rows_with_the_lstm_caps():
    exp = config.resolve("exp3a")
    lstm = {(r.config.T, r.config.N): r.config for r in exp.rows}
    guessed = [r for r in exp.baselines if r.config.model == "guess"]
    assert [r.name for r in guessed] == ["guess-T100-N3", "guess-T100-N1", "guess-T1000-N3"]
    for row in guessed:
        cfg = row.config
        assert cfg.weight_range == 100.0 and cfg.check_set_size == 256 and cfg.abs_threshold == 0.2
        assert cfg.max_sequences == lstm[(cfg.T, cfg.N)].max_sequences and cfg.trials == 10
    exp = config.resolve("exp2a")
    guessed = {r.name: r.config for r in exp.baselines if r.config.model == "guess"}
    assert set(guessed) == {"guess-p4", "guess-p100"}
    assert all(c.max_sequences == 5_000_000 and c.paper_cap is None for c in guessed.values())  # the paper's scale
    assert all(c.success_window == 10_000 and c.tolerance == 0.25 and c.trials == 18 for c in guessed.values())


@pytest.mark.parametrize("protocol,row,message", [
    ("online", {"task": "adding", "stop": "st3"}, "needs stop st1st2"),
    ("online", {"task": "3a", "stop": "st1st2", "bias": "ga"}, "no gates"),
    ("online", {"task": "3a", "stop": "st1st2", "hidden_units": 0}, "hidden_units must be at least 1"),
    ("longlag", {"task": "2a", "success_test": "test-set"}, "success_test: online"),
    ("reber", {}, "a protocol whose success test is a fixed batch of sequences (online with stop st1st2, longlag)"),
])
def test_bad_guess_rows_are_one_line_spec_errors(tmp_path, protocol, row, message):
    settings = {**A1, **row}
    if protocol != "online":
        settings.pop("outputs_recurrent")
    spec = {"experiment": "mine", "protocol": protocol, "rows": [{"name": "g", **settings}]}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError, match=re.escape(message)):
        config.load(path)
    result = CliRunner().invoke(cli.main, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1


def test_list_shows_the_model_and_run_writes_guessing_columns(tmp_path):
    result = CliRunner().invoke(cli.main, ["list"])
    assert result.exit_code == 0 and "guess" in result.output and "guess" in models.MODELS
    args = ["run", "exp3a", "--baselines", "--rows", "guess-T100-N1", "--trials", "2", "--max-sequences", "20000",
            "--workers", "1", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli.main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    df = pd.read_csv(tmp_path / "exp3a.csv")
    assert df["row"].tolist() == ["guess-T100-N1"] and df["model"].tolist() == ["guess"] and df["weights"].tolist() == [7]
    assert df["variant"].tolist() == ["baseline"] and df["scale"].tolist() == ["reduced"]  # 2 trials, lower cap
    assert df["success_pct"].tolist() == [100.0]
    assert df["guesses_mean"].iloc[0] > 0 and df["test_misclassified_fraction"].iloc[0] < 0.02
    assert len(pd.read_csv(tmp_path / "exp3a.trials.csv")) == 2


def test_bench_covers_guessing_against_its_reference():
    records = bench.run(seconds=0.05, only="guess")
    assert {r["case"] for r in records} == {"guess 3a T=100 A1 n=1", "guess 2a p=100"}
    for r in records:
        assert r["model"] == "guess" and r["kernel_steps_per_s"] > r["reference_steps_per_s"] > 0
    assert {r["weights"] for r in records} == {7, 10404}


def test_the_trial_seed_streams_are_the_documented_ones():
    """Guesses come from the trial's "init" stream: the first guess of a trial is row 0 of that stream."""
    cfg = guess_row("guess-T100-N3").config
    tseed = seeding.trial_seed(1997, "exp3a/guess-T100-N3", 0)
    a = guess_model.architecture(cfg, 1, 1)
    first = guess.draw(seeding.stream(tseed, "init"), a, cfg.weight_range, 1)[0]
    net, _, _ = guess_model.build(seeding.stream(tseed, "init"), cfg, 1, 1)
    np.testing.assert_array_equal(net.W_hid, guess.unpack(first, a)["W_hid"])
