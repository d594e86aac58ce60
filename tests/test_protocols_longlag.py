"""Experiment 2 protocol: ABS test, plateau rule, sequential construction, determinism, weight counts, and the
compiled trial loop against a plain loop over the numpy reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cerepro import config, paper
from cerepro.models import lstm97
from cerepro.models.common import Net
from cerepro.models.lstm97 import reference as lstm97_reference
from cerepro.protocols.longlag import kernel
from cerepro.protocols.longlag import trial as proto
from cerepro.protocols.longlag.settings import LongLagRow
from cerepro.protocols.common import untimed

EXPERIMENTS = ("exp2a", "exp2b", "exp2c")
ROW_2C = LongLagRow(task="2c", p=5, q=5, blocks=2, bias="none", lr=0.5, weight_range=0.2, tolerance=0.2,
                          judged_steps="end", max_sequences=300, chunk=100, test_set_size=50, success_window=50)
ROW_2A = LongLagRow(task="2a", p=6, blocks=1, bias="none", recurrent=False, input_to_output=True, output_gate=False,
                          g="g1", h="id", lr=1.0, weight_range=0.2, tolerance=0.25, judged_steps="all",
                          max_sequences=400, chunk=150, test_set_size=20, success_window=50,
                          sequential_construction=True, plateau_window=20, plateau_min_improvement=0.01)
NO_CHK = kernel.Compact(np.zeros((0, 1), np.int64), np.zeros((0, 1), np.int64), np.zeros((0, 1), bool), np.zeros(0, np.int64))


def build(cfg, seed):
    return lstm97.build(np.random.default_rng(seed), cfg, *cfg.sizes())


def _loop(cfg, built, data, state, before=0):
    """One call of the compiled trial loop on `data` (online success test)."""
    net, ws, step = built
    T, n_out = data.x_index.shape[1], net.W_out.shape[0]
    growth = kernel.Growth(net.M_hid.copy(), net.M_out.copy(), net.W_hid.copy(), net.W_out.copy())
    rule = kernel.Rule(cfg.tolerance, cfg.success_window, kernel.ONLINE, 1, cfg.plateau_window, cfg.plateau_min_improvement)
    return kernel.train_until_success(step, net, ws, data, cfg.lr, rule, growth, NO_CHK, np.zeros(0, np.int64), before, state,
                                 np.zeros(data.lengths.shape[0], np.float32), proto._scratch(T, n_out), np.zeros(0))


def test_max_abs_error_scores_only_the_chosen_steps_and_all_units():
    out = np.array([[0.9, 0.1], [0.3, 0.6], [0.5, 0.5]])
    tgt = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert kernel.max_abs_error(out, tgt, np.array([True, True, False]), 3) == pytest.approx(0.4)  # step 1, unit 1
    assert kernel.max_abs_error(out, tgt, np.array([True, False, True]), 2) == pytest.approx(0.1)  # step 2 is past the end
    assert np.isnan(kernel.max_abs_error(np.array([[np.nan, 0.0]]), np.array([[1.0, 0.0]]), np.array([True]), 1))


def test_set_targets_writes_and_clears_one_hot_rows():
    targets, mask = np.zeros((4, 3)), np.zeros(4, bool)
    t_index = np.array([2, -1, 0, 1])
    kernel.set_targets(targets, mask, t_index, 3, True)
    np.testing.assert_array_equal(targets, [[0, 0, 1], [0, 0, 0], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(mask, [True, False, True, False])
    kernel.set_targets(targets, mask, t_index, 3, False)
    assert not targets.any() and not mask.any()


def test_online_success_needs_a_full_window_of_successive_passing_sequences():
    """A net whose outputs are fixed at 0.5 passes ABS(0.6) always and ABS(0.4) never (all weights 0, lr 0)."""
    cfg = dataclasses.replace(ROW_2C, lr=0.0, success_window=30)
    built = build(cfg, 0)
    built.net.W_hid[:] = 0.0
    built.net.W_out[:] = 0.0
    data = proto.Source(cfg, np.random.default_rng(1)).take(100)
    assert _loop(dataclasses.replace(cfg, tolerance=0.6), built, data, kernel.new_state(False)) == (kernel.SUCCESS, 30)
    state = kernel.new_state(False)
    state["run"] = 25  # a run carried over from the previous chunk counts on
    assert _loop(dataclasses.replace(cfg, tolerance=0.6), built, data, state) == (kernel.SUCCESS, 5)
    state = kernel.new_state(False)
    assert _loop(dataclasses.replace(cfg, tolerance=0.4), built, data, state) == (kernel.RUNNING, 100)
    assert state[0]["run"] == 0


def _plateau_point(curve, window, min_improvement):
    state = kernel.new_state(True)
    for i, e in enumerate(curve):
        if kernel.plateau_reached(state[0], e, window, min_improvement):
            return i + 1
    return None


def test_plateau_rule_fires_at_the_end_of_the_first_block_that_is_not_enough_better():
    window = 10
    blocks = [10.0 * 0.9**b for b in range(6)] + [10.0 * 0.9**5 * 0.995, 1.0]  # -10% per block, then -0.5%
    curve = np.repeat(blocks, window)
    assert _plateau_point(curve, window, 0.01) == 7 * window  # block 7 is only 0.5% better than block 6
    assert _plateau_point(curve, window, 0.004) is None  # 0.5% is enough at a 0.4% threshold
    assert _plateau_point(np.ones(5 * window), window, 0.0) == 2 * window  # flat: fires after two blocks
    assert _plateau_point(np.ones(window), window, 0.0) is None  # one block alone has nothing to compare to


def test_sequential_construction_adds_the_cell_and_records_when():
    rec = proto.run_trial(ROW_2A, 3, "exp2a/test", 0)
    assert rec["cell_added_at"] is not None and rec["cell_added_at"] % ROW_2A.plateau_window == 0
    off = proto.run_trial(dataclasses.replace(ROW_2A, sequential_construction=False), 3, "exp2a/test", 0)
    assert off["cell_added_at"] is None


def test_pre_cell_net_has_no_hidden_layer_and_the_final_net_has_all_weights():
    """Before the plateau the hidden layer is masked out and silent; after it, the full net with its init."""
    cfg = dataclasses.replace(ROW_2A, plateau_window=10**6)  # never fires
    n_in, n_out = cfg.sizes()
    built = build(cfg, 0)
    net = built.net
    final = kernel.Growth(net.M_hid.copy(), net.M_out.copy(), net.W_hid.copy(), net.W_out.copy())
    net.M_hid[:] = 0.0
    net.W_hid[:] = 0.0
    net.M_out[:, 1 + n_in :] = 0.0
    net.W_out[:, 1 + n_in :] = 0.0
    assert net.M_hid.sum() + net.M_out.sum() == n_out * n_in  # outputs from inputs only: 6 x 7
    data = proto.Source(cfg, np.random.default_rng(1)).take(50)
    _loop(cfg, built, data, kernel.new_state(True))
    assert not net.W_hid.any() and not net.W_out[:, 1 + n_in :].any()
    kernel.add_hidden_layer(net, final)
    assert net.M_hid.sum() + net.M_out.sum() == cfg.n_weights()
    np.testing.assert_array_equal(net.W_hid, final.W_hid)
    np.testing.assert_array_equal(net.W_out[:, 1 + n_in :], final.W_out[:, 1 + n_in :])


@pytest.mark.parametrize("cfg", [ROW_2A, ROW_2C], ids=["2a", "2c"])
def test_same_seed_same_record_and_chunking_does_not_matter(cfg):
    a = proto.run_trial(cfg, 5, "exp2/test", 0)
    b = proto.run_trial(dataclasses.replace(cfg, chunk=37), 5, "exp2/test", 0)
    c = proto.run_trial(cfg, 5, "exp2/test", 1)
    a, b, c = (untimed(rec) for rec in (a, b, c))
    assert a == b
    assert a["curve"] != c["curve"]


def test_weight_counts_of_every_row_match_the_paper():
    expected = {"exp2a": [10504], "exp2b": [10504], "exp2c": [364, 664, 1264, 3064, 6064, 3064, 1264, 664, 364]}
    for name in EXPERIMENTS:
        exp = config.resolve(name)
        assert [r.config.n_weights() for r in exp.rows] == expected[name]
        for row in exp.rows:
            ref = paper.find(row.paper)
            assert ref is not None and ref["method"] == "LSTM"
            assert ref["settings"]["weights"] == row.config.n_weights()
            if name == "exp2c":
                assert (ref["settings"]["p"], ref["settings"]["q"]) == (row.config.p, row.config.q)


def test_2c_inputs_stay_one_hot_at_p_1000():
    cfg = config.resolve("exp2c").rows[4].config
    x, t, s, L = proto.Source(cfg, np.random.default_rng(0)).take(3)
    assert x.dtype == np.int64 and x.ndim == 2  # (n, T) unit indices, never (n, T, 1004)
    assert (x[:, 0] == cfg.p + 1).all() and (t >= 0).sum() == 3 and s.sum() == 3


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_smoke_run_of_each_spec(name):
    """One trial of every faithful row and variant at a tiny scale runs and yields a complete record."""
    exp = config.resolve(name)
    for row in exp.select("all")[:3]:
        cfg = dataclasses.replace(row.config, max_sequences=60, chunk=40, test_set_size=20, check_every=20)
        rec = proto.run_trial(cfg, 1, row.seed_key, 0)
        assert rec["outcome"] == "cap" and rec["sequences"] == 60 and len(rec["curve"]) == 50
        assert 0.0 <= rec["test_ok_pct"] <= 100.0
    assert set(proto.summarize(cfg, [rec])) >= {"cell_added_mean", "test_ok_pct_mean"}


def test_kernel_training_matches_the_numpy_reference_on_2c():
    cfg = dataclasses.replace(ROW_2C, success_window=10**6)
    n_in, n_out = cfg.sizes()
    built = build(cfg, 3)
    net = built.net
    ref = Net.of(net.weights(), {"W_hid": net.M_hid, "W_out": net.M_out})
    data = proto.Source(cfg, np.random.default_rng(4)).take(40)
    assert _loop(cfg, built, data, kernel.new_state(False)) == (kernel.RUNNING, 40)
    arch = lstm97.architecture(cfg, n_in, n_out)
    x_index, t_index, _, lengths = data
    for i in range(40):
        L = lengths[i]
        targets, mask = np.zeros((L, n_out)), t_index[i, :L] >= 0
        targets[np.nonzero(mask)[0], t_index[i, :L][mask]] = 1.0
        lstm97_reference.run_sequence(ref, arch, np.eye(n_in)[x_index[i, :L]], targets, mask, cfg.lr)
    np.testing.assert_allclose(net.W_hid, ref.W_hid, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.W_out, ref.W_out, rtol=0, atol=1e-12)
    assert np.abs(ref.W_hid).sum() > 0 and not np.allclose(ref.W_out, build(cfg, 3).net.W_out)


def test_a_successful_online_trial_reports_the_window_start():
    """Easy 2c (short lag, large lr): success, and `sequences` is the presentations before the window."""
    cfg = dataclasses.replace(ROW_2C, lr=1.0, max_sequences=20_000, chunk=2000, success_window=200)
    for trial in range(5):
        rec = proto.run_trial(cfg, 2, "exp2c/easy", trial)
        if rec["success"]:
            break
    assert rec["success"], "no trial of 5 solved 2c with q = p = 5 at lr 1.0 within 20,000 sequences"
    assert rec["sequences"] == rec["presented"] - cfg.success_window
    assert rec["test_ok_pct"] > 90.0
