"""On-line protocol (Exps 3-6, XOR): stop rules, kernel vs numpy reference, determinism, every spec runs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cerepro import config, models, paper, seeding
from cerepro.generators.base import as_sequences, dense_inputs
from cerepro.models.common import Net
from cerepro.models.lstm97 import architecture
from cerepro.models.lstm97 import reference as lstm97_reference
from cerepro.models.lstm97 import frozen_batch
from cerepro.protocols.online import kernel
from cerepro.protocols.online import trial as proto
from cerepro.protocols.online.settings import OnlineRow
from cerepro.protocols.common import curve_block, untimed

EXPERIMENTS = ("exp3a", "exp3b", "exp3c", "exp4", "exp5", "exp6a", "exp6b", "xor")
ADDING = OnlineRow(task="adding", blocks=2, block_size=2, bias="all", input_gate_bias=(-3.0, -6.0), lr=0.5, max_sequences=600)


def _first_stop(rule: int, errs: np.ndarray, wrong: np.ndarray, window: int, beta: float, n_seq: int) -> int | None:
    """Index of the first sequence after which the rule holds, pushing the sequences through the kernel's ring."""
    win = kernel.new_window(window)
    rule = kernel.Rule(rule, 0, 1, n_seq, 0, 0.5, beta, 0.01)
    for i, (e, w) in enumerate(zip(errs, wrong)):
        kernel.ring_push(win, float(e), int(w))
        if kernel.window_rule_met(rule, win):
            return i
    return None


def _first_stop_reference(rule: int, errs, wrong, window, beta, n_seq) -> int | None:
    """The same rule restated with slices: the window is the last `window` sequences, once that many exist."""
    for i in range(window - 1, len(errs)):
        w, e = wrong[i - window + 1 : i + 1], errs[i - window + 1 : i + 1]
        if (rule == kernel.NSEQ and w.sum() < n_seq) or (rule == kernel.ST3 and w.sum() == 0 and e.mean() < beta):
            return i
    return None


def test_st3_stops_exactly_when_the_last_2000_are_correct_and_their_mean_error_is_below_beta():
    errs = np.full(6000, 0.005)
    wrong = np.zeros(6000, dtype=np.int64)
    wrong[0:2501:500] = 1  # a wrong sequence every 500 up to 2500: the first window without one ends at 4500
    errs[wrong == 1] = 0.5
    assert _first_stop(kernel.ST3, errs, wrong, 2000, 0.01, 0) == 4500
    assert _first_stop(kernel.NSEQ, errs, wrong, 2000, 0.01, 2) == 4000  # NSEQ(2): only the one at 2500 left in the window
    errs[:] = 0.0101  # all correct, but the average is above beta ...
    wrong[:] = 0
    errs[3000:] = 0.0098  # ... until at most 1333 of the window's 2000 are high: 0.0003 * 1333 < 0.4 < 0.0003 * 1334
    assert _first_stop(kernel.ST3, errs, wrong, 2000, 0.01, 0) == 3666
    assert _first_stop(kernel.ST3, errs[:1999], wrong[:1999] * 0, 2000, 1.0, 0) is None  # never before a full window


@pytest.mark.parametrize("rule", [kernel.ST3, kernel.NSEQ])
def test_window_rules_match_a_slice_restatement_on_random_error_streams(rule):
    rng = np.random.default_rng(3)
    for _ in range(3):
        n = 9000
        p_wrong = np.linspace(0.1, 0.0, n) ** 2 * 10  # wrong sequences get rarer, as in training ...
        p_wrong[-2500:] = 0.0  # ... and stop, so both rules fire
        wrong = (rng.random(n) < p_wrong).astype(np.int64)
        errs = np.where(wrong == 1, 0.3, rng.uniform(0.0, 0.0205, n))  # mean near beta: the exact average decides
        got = _first_stop(rule, errs, wrong, 2000, 0.0105, 13)
        assert got == _first_stop_reference(rule, errs, wrong, 2000, 0.0105, 13)
        assert got is not None


@pytest.mark.parametrize("lanes", [False, True], ids=["one-per-call", "lanes"])
def test_evaluate_early_exit_and_move_to_front(lanes):
    """Both tests of a frozen net (one sequence per step call, and the 1997 step's lanes) against the reference."""
    cfg = ADDING
    net, ws, step = models.get("lstm97").build(np.random.default_rng(0), cfg, 2, 1)
    tester, fz, fast_exp = proto.tester(net, step) if lanes else (kernel.evaluate, frozen_batch.empty(), False)
    assert (tester is kernel.evaluate_lanes) == lanes
    batch = proto.draw(cfg, np.random.default_rng(1), 40)
    tests = proto.tests(batch)
    x_dense, lengths, end_target = tests.x_dense, tests.lengths, tests.end_target
    out_y, no_t, no_mask = np.zeros((batch.targets.shape[1], 1)), np.zeros((1, 1)), np.zeros(batch.targets.shape[1], dtype=bool)
    full = tester(step, net, ws, tests, 0.04, 40, out_y, no_t, no_mask, fz, fast_exp)
    assert full[1] == 40 and 0 < full[0] < 40  # an untrained net gets some right, most wrong
    y = np.array([lstm97_reference.run_sequence(net, architecture(cfg, 2, 1), x_dense[i, : lengths[i]],
                                                batch.targets[i, : lengths[i]], batch.target_mask[i, : lengths[i]], 0.0,
                                                learn=False)[-1, 0] for i in range(40)])
    assert full[0] == np.sum(~(np.abs(end_target[:, 0] - y) < 0.04))
    assert np.isclose(full[2], np.abs(end_target[:, 0] - y).sum()) and np.isclose(full[3], ((end_target[:, 0] - y) ** 2).sum())
    order = np.arange(40)
    first_bad = int(np.flatnonzero(~(np.abs(end_target[:, 0] - y) < 0.04))[0])
    wrong, tested, _, _ = tester(step, net, ws, tests._replace(order=order), 0.04, 0, out_y, no_t, no_mask, fz, fast_exp)
    assert (wrong, tested, order[0]) == (1, first_bad + 1, first_bad)


@pytest.mark.parametrize("task,io,kw", [
    ("adding", (2, 1), dict(blocks=2, block_size=2, bias="all", input_gate_bias=(-3.0, -6.0), lr=0.5)),
    ("6a", (8, 4), dict(blocks=2, block_size=2, bias="all", input_gate_bias=(-2.0, -4.0), lr=0.5)),
    ("3c", (1, 1), dict(blocks=3, block_size=1, bias="b1", input_gate_bias=(-1.0, -3.0, -5.0), output_gate_bias=(-2.0, -4.0, -6.0), lr=1.0)),
])
def test_kernel_training_matches_the_numpy_reference(task, io, kw):
    cfg = OnlineRow(task=task, T=20 if task == "3c" else 100, **kw)
    net, ws, step = models.get("lstm97").build(np.random.default_rng(5), cfg, *io)
    ref = Net.of(net.weights(), {"W_hid": net.M_hid, "W_out": net.M_out})
    batch = proto.draw(cfg, np.random.default_rng(6), 40)
    block = as_sequences(batch)
    targets, mask, lengths = block.targets, block.target_mask, block.lengths
    rule = kernel.Rule(0, 0, 1, 140, 0, 0.04, 0.01, 0.01)
    empty = np.zeros(0, dtype=np.int64)
    check = kernel.Tests(np.zeros((0, 1), dtype=np.int64), np.zeros((0, 1, block.x_dense.shape[2])), np.zeros((0, io[1])), empty, empty)
    seq_err = np.zeros(40)
    status, k = kernel.train_online(step, net, ws, block, cfg.lr, rule, kernel.new_window(cfg.window), check,
                               np.zeros((targets.shape[1], io[1])), seq_err, *proto.tester(net, step))
    assert (status, k) == (kernel.RUNNING, 40)
    arch, x = architecture(cfg, *io), dense_inputs(batch)
    ref_err = []
    for i in range(40):
        L = lengths[i]
        y = lstm97_reference.run_sequence(ref, arch, x[i, :L], targets[i, :L], mask[i, :L], cfg.lr)
        ref_err.append(np.mean(np.abs(targets[i, L - 1] - y[L - 1])))
    for name in ("W_hid", "W_out"):
        np.testing.assert_allclose(getattr(net, name), getattr(ref, name), rtol=0, atol=1e-12)
    np.testing.assert_allclose(seq_err, ref_err, rtol=0, atol=1e-12)


def test_same_seed_same_record_and_different_trials_differ():
    a = proto.run_trial(ADDING, 5, "exp4/test", 0)
    b = proto.run_trial(ADDING, 5, "exp4/test", 0)
    c = proto.run_trial(ADDING, 5, "exp4/test", 1)
    a, b, c = (untimed(rec) for rec in (a, b, c))
    assert a == b
    assert a["curve"] != c["curve"]


def test_a_record_times_its_trial_in_wall_and_cpu_seconds():
    import time

    rec = proto.run_trial(ADDING, 5, "exp4/test", 0, progress=lambda n: time.sleep(0.05))  # waits: wall, not CPU
    reports = -(-rec["sequences"] // ADDING.chunk)
    assert rec["wall_s"] >= 0.05 * reports and 0 < rec["cpu_s"] < rec["wall_s"] - 0.04 * reports


def test_a_curve_keeps_a_diverging_error_as_inf_without_a_warning():
    """float32 holds errors up to ~3.4e38; beyond, the curve shows inf (pyproject makes a RuntimeWarning an error)."""
    block = curve_block(np.array([0.25, 1e39, np.inf]))  # (3,) per-sequence errors of a net blowing up
    assert block.dtype == np.float32 and block[0] == 0.25 and np.isposinf(block[1:]).all()


def test_chunk_changes_progress_reports_not_results():
    seen: list[int] = []
    a = proto.run_trial(dataclasses.replace(ADDING, chunk=100), 5, "exp4/test", 0, progress=seen.append)
    b = proto.run_trial(dataclasses.replace(ADDING, chunk=5000), 5, "exp4/test", 0)
    assert sum(seen) == a["sequences"] == 600 and len(seen) > 1
    assert untimed(a) == untimed(b)


def test_st1st2_records_both_stops_and_summarize_reports_them():
    cfg = config.resolve("exp3a").rows[0].config
    rec = proto.run_trial(dataclasses.replace(cfg, max_sequences=15_000), 1997, "exp3a/lstm-T100-N3", 0)
    assert rec["success"], rec  # this seed learns 3a within 15k sequences
    assert 0 < rec["st1"] <= rec["st2"] == rec["sequences"] and rec["st1"] % 100 == 0 and rec["st2"] % 100 == 0
    cols = proto.summarize(cfg, [rec])
    assert cols["st1_mean"] == rec["st1"] and cols["test_wrong_mean"] == rec["test_wrong"]
    assert cols["test_misclassified_fraction"] == rec["test_wrong"] / 2560


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_row_has_a_target_at_each_sequences_last_step(name):
    # train_online reads out_y at each sequence's last step after a learning step, which writes the outputs at the
    # target steps only (models/common.py): every row of every online experiment must have its target there
    from cerepro.generators import TASKS

    exp = config.resolve(name)
    for row in (*exp.rows, *exp.variants):
        batch = TASKS[row.config.task].sample(np.random.default_rng(7), 64, row.config)
        assert batch.target_mask[np.arange(batch.n), batch.lengths - 1].all(), (name, row.name, row.variant)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_spec_row_runs_and_has_the_papers_weight_count(name):
    exp = config.resolve(name)
    assert exp.protocol == "online"
    for row in exp.rows:
        if row.paper is not None:
            ref = paper.find(row.paper)
            assert ref is not None, f"{name}/{row.name}: no paper row matches {row.paper}"
            assert row.config.n_weights() == ref["settings"]["weights"]
        else:
            assert name == "xor"
    for row in exp.variants:
        assert row.config.n_weights() == next(r for r in exp.rows if r.name == row.name).config.n_weights()
    row = exp.rows[0]
    rec = proto.run_trial(dataclasses.replace(row.config, max_sequences=120), exp.seed, row.seed_key, 0)
    assert rec["sequences"] == 120 and rec["outcome"] == "cap" and not rec["success"]
    assert rec["test_n"] == 2560 and 0 <= rec["test_wrong"] <= 2560 and rec["test_mae"] > 0 and rec["test_mse"] > 0
    assert len(rec["curve"]) == 50 and rec["seed"] == seeding.trial_seed(exp.seed, row.seed_key, 0)
    assert ("st1" in rec) == (row.config.stop == "st1st2")
