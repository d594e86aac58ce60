"""Table 1's cheap success test (protocols/reber/success.py) changes no trial: records equal to the committed
ledger's and to the old test's, and the frozen forward pass equals the one-net step bit for bit."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from cerepro import config, models
from cerepro.dispatch import run_trial
from cerepro.generators import reber
from cerepro.models import vexp
from cerepro.models.lstm97 import kernel, unrolled
from cerepro.protocols.reber import success
from cerepro.protocols.reber.kernel import string_correct
from cerepro.protocols.common import untimed

LEDGER = Path(__file__).resolve().parent.parent / "results" / "ledger.sqlite"
# committed trials that succeed early, one per variant of Table 1's LSTM rows: (row, variant, trial)
COMMITTED = [
    ("lstm-4x1-lr0.5", "paper", 8), ("lstm-3x2-lr0.5", "paper", 14), ("lstm-3x2-lr0.5", "legal-targets", 4),
    ("lstm-3x2-lr0.2", "update-at-end", 2), ("lstm-4x1-lr0.5", "check-every-100", 8),
    ("lstm-4x1-lr0.1", "no-output-derivative", 8), ("lstm-3x2-lr0.5", "output-bias", 26),
    ("lstm-3x2-lr0.5", "inputs-to-outputs", 22), ("lstm-3x2-lr0.5", "fresh-strings", 7),
    ("lstm-3x2-lr0.5", "in-out-bias-fresh", 9),
]


def _strip(record: dict) -> dict:
    return json.loads(json.dumps(untimed(record), sort_keys=True))


@pytest.mark.parametrize("name,variant,trial", COMMITTED)
def test_committed_trials_recompute_identically(name, variant, trial):
    exp = config.resolve("exp1")
    row = next(r for r in exp.select("all") if (r.name, r.variant) == (name, variant))
    with sqlite3.connect(f"file:{LEDGER}?mode=ro", uri=True) as db:
        found = db.execute("SELECT record FROM trials WHERE experiment='exp1' AND row=? AND variant=? AND config_hash=? "
                           "AND run_seed=? AND trial=?", (name, variant, row.config_hash(), exp.seed, trial)).fetchone()
    assert found, "the committed ledger lacks this trial"
    assert success.serves(row.config)
    assert _strip(run_trial("reber", row.config, exp.seed, row.seed_key, trial)) == _strip(json.loads(found[0]))


def _usable(form: str) -> str:
    """The form of the generated pass if this machine gives math.exp's bits with it, else the library's form."""
    usable = {"libm": True, "vexp": vexp.available(), "lanes": vexp.available() and vexp.lanes_available()}
    return form if usable[form] else "libm"


@pytest.mark.parametrize("name,trial,cap,form", [("lstm-4x1-lr0.1", 0, 4000, "lanes"), ("lstm-3x2-lr0.5", 14, 20000, "lanes"),
                                                 ("lstm-3x2-lr0.5", 12, 20000, "vexp"), ("lstm-4x1-lr0.5", 8, 20000, "libm")])
def test_old_and_new_test_give_the_same_record(monkeypatch, name, trial, cap, form):
    """A trial that fails thousands of tests (cap) and ones that pass (with each form of the generated pass):
    both tests, the same record."""
    exp = config.resolve("exp1")
    row = next(r for r in exp.rows if r.name == name)
    cfg = dataclasses.replace(row.config, max_sequences=cap)
    monkeypatch.setattr(unrolled, "shape", lambda net, shape=unrolled.shape: shape(net)[:-1] + (_usable(form),))
    new = run_trial("reber", cfg, exp.seed, row.seed_key, trial)
    monkeypatch.setattr(success, "serves", lambda cfg: False)
    old = run_trial("reber", cfg, exp.seed, row.seed_key, trial)
    assert _strip(new) == _strip(old)


@pytest.mark.parametrize("settings", [
    dict(blocks=4, bias="ga", output_gate_bias=(-1.0, -2.0, -3.0, -4.0)),
    dict(blocks=3, block_size=2, bias="all", input_to_output=True),
    dict(blocks=2, block_size=2, g="g1", h="id", output_gate=False, bias="b1"),
    dict(blocks=2, output_act="linear", reset_activation=0.5),
], ids=["4x1", "3x2-all-in-to-out", "g1-id-no-og", "linear-reset-0.5"])
@pytest.mark.parametrize("form", ["libm", "vexp", "lanes"])
def test_frozen_forward_equals_the_one_net_step(settings, form):
    """Every output of every step, bit for bit, on trained and untrained nets: the generated pass of the net's
    shape (unrolled.py) in each form, from the first step and from a later one."""
    exp = config.resolve("exp1")
    cfg = dataclasses.replace(next(r for r in exp.rows).config, **{"weight_range": 2.0, "output_gate_bias": None, **settings})
    rng = np.random.default_rng(5)
    strings = reber.encode([reber.embedded_reber_string(rng) for _ in range(40)])
    built = models.get("lstm97").build(rng, cfg, 7, 7)
    net, ws = built.net, built.ws
    if _usable(form) != form:
        pytest.skip(f"the {form} form does not give math.exp's bits here: unrolled.form() never picks it")
    generated = unrolled.module(unrolled.shape(net)[:-1] + (form,))
    first_wrong, bufs = generated.first_wrong, generated.buffers()
    T = strings.lengths.max()
    out_y, no_x, no_t, no_mask = np.zeros((T, 7)), np.zeros((T, 0)), np.zeros((1, 7)), np.zeros(T, dtype=bool)
    for n in range(strings.n):
        if n % 10 == 5:  # change the weights: a few training strings
            kernel.step(net, ws, strings.input_index[n], no_x, strings.targets[n], strings.target_mask[n], strings.lengths[n],
                        0.3, True, out_y)
        L = int(strings.lengths[n])
        kernel.step(net, ws, strings.input_index[n], no_x, no_t, no_mask, L, 0.0, False, out_y)
        all_legal = np.ones((L, 7), dtype=bool)
        got = np.zeros((L, 7))
        generated.take(net.W_hid, net.W_out, bufs)
        assert first_wrong(net.W_hid, net.W_out, bufs, ws.z_reset, strings.input_index[n], all_legal, 0, L, got) == -1
        assert np.array_equal(got.view(np.int64), out_y[:L].view(np.int64))
        got[:] = 0.0  # from a later start: only the steps from there on, the same bits
        assert first_wrong(net.W_hid, net.W_out, bufs, ws.z_reset, strings.input_index[n], all_legal, L - 2, L, got) == -1
        assert not got[:L - 2].any() and np.array_equal(got[L - 2:].view(np.int64), out_y[L - 2:L].view(np.int64))


def test_first_wrong_stops_at_the_first_wrong_prediction():
    """The step first_wrong returns is the first whose outputs do not put the legal units strictly on top
    (kernel.string_correct's rule, checked on the outputs of the one-net step), or -1 when none is: with the
    grammar's legal successors, and with legal sets made from the outputs (the top unit, wrong from a chosen step)."""
    exp = config.resolve("exp1")
    cfg = dataclasses.replace(next(r for r in exp.rows).config, weight_range=2.0)
    rng = np.random.default_rng(11)
    strings = reber.encode([reber.embedded_reber_string(rng) for _ in range(60)])
    net, ws = (b := models.get("lstm97").build(rng, cfg, 7, 7)).net, b.ws
    generated = unrolled.for_net(net)
    bufs = generated.buffers()
    T = strings.lengths.max()
    out_y, no_x, no_t, no_mask = np.zeros((T, 7)), np.zeros((T, 0)), np.zeros((1, 7)), np.zeros(T, dtype=bool)
    seen = set()
    for n in range(strings.n):
        L = int(strings.lengths[n])
        kernel.step(net, ws, strings.input_index[n], no_x, no_t, no_mask, L, 0.0, False, out_y)
        generated.take(net.W_hid, net.W_out, bufs)
        made = out_y[:L] == out_y[:L].max(axis=1, keepdims=True)  # right at every step ...
        if n % 2:  # ... up to a chosen step
            w = int(rng.integers(0, L))
            made[w] = out_y[w] == out_y[w].min()
        for legal in (strings.info["legal"][n], made):
            wrong = [t for t in range(L) if not string_correct(out_y[t:t + 1], legal[t:t + 1], 1)]
            expected = wrong[0] if wrong else -1
            got = generated.first_wrong(net.W_hid, net.W_out, bufs, ws.z_reset, strings.input_index[n], legal, 0, L, np.zeros((L, 7)))
            assert got == expected
            seen.add(expected)
        if n % 3 == 0:  # learn a little
            kernel.step(net, ws, strings.input_index[n], no_x, strings.targets[n], strings.target_mask[n], L, 0.5, True, out_y)
    assert -1 in seen and len(seen) > 5


def test_exp_neg_one_gives_exp_negs_bits():
    """vexp.exp_neg_one (the generated pass's exp) computes exp_neg's operations on one value: the same bits on
    every probe value, the rare path (|x| >= 512, inf, NaN) included."""
    x = vexp.probe_values()
    one, vec = np.empty_like(x), np.empty_like(x)
    vexp._exp_neg_one_array(x, one)
    vexp._exp_neg_array(x, vec)
    assert np.array_equal(one.view(np.int64), vec.view(np.int64))


@njit(error_model="numpy")
def _lanes_and_flags(x, out, rare, lanes):
    for i in range(0, x.shape[0], lanes):
        if lanes == 8:
            rare[i // 8] = _LOGISTIC8(x, i, out, i, vexp.TABLE)
        else:
            rare[i // 4] = _LOGISTIC4(x, i, out, i, vexp.TABLE)


@njit(error_model="numpy")
def _scalar_logistic(x, out):
    for i in range(x.shape[0]):
        out[i] = 1.0 / (1.0 + vexp.exp_neg_one(x[i], vexp.TABLE))


_LOGISTIC8, _LOGISTIC4 = vexp.logistic_lanes(8), vexp.logistic_lanes(4)


@pytest.mark.parametrize("lanes", [8, 4])
def test_logistic_lanes_are_exp_neg_ones_logistic(lanes):
    """vexp.logistic_lanes (the "lanes" form's squashing) computes exp_neg_one's operations in each lane: the same
    bits on every probe value at every position of a vector, and a rare flag exactly on the vectors holding an
    argument the library must take (|x| >= 512, inf, NaN), whose lanes keep that argument for the caller."""
    x = vexp.probe_values()
    x = np.concatenate([x, np.zeros(-x.shape[0] % lanes)])
    for shift in (0, 3):  # every value in another lane
        xs = np.roll(x, shift)
        got, expected, rare = np.empty_like(xs), np.empty_like(xs), np.zeros(xs.shape[0] // lanes, dtype=bool)
        _lanes_and_flags(xs, got, rare, lanes)
        _scalar_logistic(xs, expected)
        taken = ~(np.abs(xs) < 512)  # the library's path (NaN included)
        assert np.array_equal(rare, taken.reshape(-1, lanes).any(axis=1)) and rare.any()
        assert np.array_equal(got[~taken].view(np.int64), expected[~taken].view(np.int64))
        assert np.array_equal(got[taken].view(np.int64), xs[taken].view(np.int64))


def test_generated_module_is_written_once_and_reused(tmp_path, monkeypatch):
    """A shape's module is written once: the same key gives the same module, and a fresh process's import of an
    identical file leaves it untouched (numba's cache of it stays valid); another shape, another file."""
    monkeypatch.setattr(unrolled, "folder", lambda: tmp_path)
    key = (12, 20, 7, 14, 7, 3, 2, True, False, False, False, 1.0, "libm")  # 3 blocks of 2 (unrolled.shape)
    unrolled.module.cache_clear()
    try:
        first = unrolled.module(key)
        (path,) = tmp_path.glob("*.py")
        stamp = path.stat().st_mtime_ns
        assert unrolled.module(key) is first
        unrolled.module.cache_clear()
        unrolled.module(key)
        assert path.stat().st_mtime_ns == stamp
        unrolled.module((12, 20, 7, 12, 7, 4, 1) + key[7:])  # 4 blocks of 1
        assert len(list(tmp_path.glob("*.py"))) == 2
    finally:
        unrolled.module.cache_clear()
