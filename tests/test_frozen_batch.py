"""The frozen 1997 net on sequences in lanes (models/lstm97/frozen_batch.py) gives kernel.step's end outputs bit for
bit, and the tests built on it (online evaluate_lanes, long-lag end_errors) give every result, order and trial
record of the one-sequence-per-call tests."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from cerepro import config, models
from cerepro.dispatch import run_trial
from cerepro.generators import TASKS
from cerepro.generators.base import as_sequences
from cerepro.models import vexp
from cerepro.models.lstm97 import frozen_batch, kernel
from cerepro.protocols.longlag import kernel as longlag_kernel
from cerepro.protocols.longlag import trial as longlag
from cerepro.protocols.longlag.source import Source
from cerepro.protocols.online import kernel as online_kernel
from cerepro.protocols.online import trial as online
from cerepro.protocols.common import untimed

SETTINGS = [
    dict(),
    dict(output_act="linear", reset_activation=0.5),
    dict(g="g2", h="id", output_gate=False),
    dict(input_to_output=True, output_bias=True, bias="all"),
]
IDS = ["faithful", "linear-reset-0.5", "g2-id-no-og", "in-out-bias-all"]


def _net(experiment: str, settings: dict, seed: int = 3):
    exp = config.resolve(experiment)
    cfg = dataclasses.replace(exp.rows[0].config, weight_range=2.0, **settings)
    net, ws, step = models.get("lstm97").build(np.random.default_rng(seed), cfg, *cfg.sizes())
    return cfg, net, ws, step


def _step_end_outputs(net, ws, x_index, x_dense, lengths) -> np.ndarray:
    """(n, K) end outputs of kernel.step with learn=False, one sequence per call."""
    K = net.W_out.shape[0]
    T = x_index.shape[1] if x_dense.shape[2] == 0 else x_dense.shape[1]
    out_y, no_t, no_mask = np.zeros((T, K)), np.zeros((1, K)), np.zeros(T, dtype=bool)
    want = np.zeros((lengths.shape[0], K))
    for n in range(lengths.shape[0]):
        kernel.step(net, ws, x_index[n], x_dense[n], no_t, no_mask, lengths[n], 0.0, False, out_y)
        want[n] = out_y[lengths[n] - 1]
    return want


def _lane_end_outputs(net, ws, x_index, x_dense, lengths, lanes: int, fast_exp: bool) -> np.ndarray:
    b = frozen_batch.batch(net)
    got = np.zeros((lengths.shape[0], net.W_out.shape[0]))
    out = np.zeros((frozen_batch.LANES, got.shape[1]))
    for a in range(0, lengths.shape[0], lanes):
        idx = np.arange(a, min(lengths.shape[0], a + lanes))
        frozen_batch.end_outputs(b, net.setup, ws.z_reset, x_index, x_dense, lengths, idx, out, fast_exp)
        got[idx] = out[: idx.shape[0]]
    return got


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
@pytest.mark.parametrize("fast_exp", [False, True], ids=["libm", "vexp"])
def test_end_outputs_equal_the_step_bit_for_bit_real_inputs(settings, fast_exp):
    """Adding sequences (real inputs, unequal lengths), 1, 5 and 64 lanes."""
    cfg, net, ws, _ = _net("exp4", settings)
    seqs = as_sequences(TASKS["adding"].sample(np.random.default_rng(4), 70, cfg))
    want = _step_end_outputs(net, ws, seqs.x_index, seqs.x_dense, seqs.lengths)
    for lanes in (1, 5, frozen_batch.LANES):
        got = _lane_end_outputs(net, ws, seqs.x_index, seqs.x_dense, seqs.lengths, lanes, fast_exp and vexp.available())
        assert np.array_equal(got.view(np.int64), want.view(np.int64)), lanes


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
def test_end_outputs_equal_the_step_bit_for_bit_one_hot_inputs(settings):
    """2c sequences (one-hot inputs, -1 past each end), after some training so that the weights are not the initial ones."""
    cfg, net, ws, step = _net("exp2c", settings)
    seqs = Source(cfg, np.random.default_rng(5)).take(90)
    no_x = np.zeros((90, seqs.x_index.shape[1], 0))
    targets = np.zeros((seqs.x_index.shape[1], net.W_out.shape[0]))
    for n in range(20):  # a little training
        t_mask = seqs.t_index[n] >= 0
        targets[:] = 0.0
        targets[np.flatnonzero(t_mask), seqs.t_index[n][t_mask]] = 1.0
        step(net, ws, seqs.x_index[n], no_x[n], targets, t_mask, seqs.lengths[n], 0.5, True, np.zeros_like(targets))
    want = _step_end_outputs(net, ws, seqs.x_index, no_x, seqs.lengths)
    got = _lane_end_outputs(net, ws, seqs.x_index, no_x, seqs.lengths, frozen_batch.LANES, vexp.available())
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


@pytest.mark.parametrize("max_wrong", [0, 2, 1000])
def test_evaluate_lanes_equals_evaluate_returns_and_order(max_wrong):
    """Failures at the front, deep in a batch, or nowhere; repeated tests on a moving order and changing weights."""
    cfg, net, ws, step = _net("exp4", {}, seed=7)
    batch = online.draw(cfg, np.random.default_rng(8), 300)
    tests = online.tests(batch)
    train = as_sequences(online.draw(cfg, np.random.default_rng(9), 30))
    K = tests.end_target.shape[1]
    out_y, no_t, no_mask = np.zeros((batch.targets.shape[1], K)), np.zeros((1, K)), np.zeros(batch.targets.shape[1], dtype=bool)
    fz = frozen_batch.batch(net)
    stops = set()
    for threshold in (0.04, 0.2, 0.3, 0.4, 0.45, 0.49, 0.6):
        one, lanes = tests._replace(order=np.arange(300)), tests._replace(order=np.arange(300))
        for r in range(5):
            a = online_kernel.evaluate(step, net, ws, one, threshold, max_wrong, out_y, no_t, no_mask, frozen_batch.empty(), False)
            b = online_kernel.evaluate_lanes(step, net, ws, lanes, threshold, max_wrong, out_y, no_t, no_mask, fz, vexp.available())
            assert a == b and np.array_equal(one.order, lanes.order)
            stops.add(a[1])
            n = r * 5
            kernel.step(net, ws, train.x_index[n], train.x_dense[n], train.targets[n], train.target_mask[n], train.lengths[n],
                        1.0, True, out_y)
    assert 300 in stops  # whole set tested
    if max_wrong < 1000:  # stopped at the front, and deep into the batches
        assert min(stops) <= max_wrong + 1 and any(20 < s < 300 for s in stops), sorted(stops)


def test_long_lag_end_errors_equal_evaluate():
    cfg, net, ws, step = _net("exp2c", {}, seed=11)
    seqs = Source(cfg, np.random.default_rng(12)).take(150)
    T, K = seqs.x_index.shape[1], net.W_out.shape[0]
    want, got = np.zeros(150), np.zeros(150)
    longlag_kernel.evaluate(step, net, ws, seqs, np.arange(150), cfg.tolerance, False, longlag._scratch(T, K), want)
    longlag_kernel.end_errors(net, ws, seqs, frozen_batch.batch(net), vexp.available(), got)
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def _strip(record: dict) -> dict:
    return json.loads(json.dumps(untimed(record), sort_keys=True))


@pytest.mark.parametrize("experiment,row,trial,cap", [
    ("exp3a", "lstm-T100-N3", 0, 12_000),  # passes ST1, then ST2 at 9,500: checks that run the whole set
    ("exp4", "lstm-T100", 0, 3_000),
    ("exp2c", "q50-p50", 2, 3_000),
])
def test_trial_records_are_the_same_with_the_tests_in_lanes(monkeypatch, experiment, row, trial, cap):
    exp = config.resolve(experiment)
    r = next(x for x in exp.rows if x.name == row)
    cfg = dataclasses.replace(r.config, max_sequences=cap)
    lanes = run_trial(exp.protocol, cfg, exp.seed, r.seed_key, trial)
    assert experiment != "exp2c" or longlag.in_lanes(kernel.step, Source(cfg, np.random.default_rng(0)).take(5))
    monkeypatch.setattr(online, "tester", lambda net, step: (online_kernel.evaluate, frozen_batch.empty(), False))
    monkeypatch.setattr(longlag, "in_lanes", lambda step, seqs: False)
    one = run_trial(exp.protocol, cfg, exp.seed, r.seed_key, trial)
    assert _strip(lanes) == _strip(one)
    if experiment == "exp3a":
        assert lanes["st1"] and lanes["success"]
