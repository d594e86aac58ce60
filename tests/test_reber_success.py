"""Table 1's cheap success test (protocols/reber/success.py) changes no trial: records equal to the committed
ledger's and to the old test's, and the frozen forward pass equals the one-net step bit for bit."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from cerepro import config, models
from cerepro.dispatch import run_trial
from cerepro.generators import reber
from cerepro.models import vexp
from cerepro.models.lstm97 import frozen, kernel
from cerepro.protocols.reber import success
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


@pytest.mark.parametrize("name,trial,cap,fast_exp", [("lstm-4x1-lr0.1", 0, 4000, True), ("lstm-3x2-lr0.5", 14, 20000, True),
                                                     ("lstm-3x2-lr0.5", 12, 20000, True), ("lstm-4x1-lr0.5", 8, 20000, False)])
def test_old_and_new_test_give_the_same_record(monkeypatch, name, trial, cap, fast_exp):
    """A trial that fails thousands of tests (cap) and ones that pass (with vexp and with math.exp): both tests,
    the same record."""
    exp = config.resolve("exp1")
    row = next(r for r in exp.rows if r.name == name)
    cfg = dataclasses.replace(row.config, max_sequences=cap)
    monkeypatch.setattr(frozen, "fast_exp", lambda: fast_exp and vexp.available())
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
@pytest.mark.parametrize("fast_exp", [False, True])
def test_frozen_forward_equals_the_one_net_step(settings, fast_exp):
    """Every output of every step, bit for bit, on trained and untrained nets."""
    exp = config.resolve("exp1")
    cfg = dataclasses.replace(next(r for r in exp.rows).config, **{"weight_range": 2.0, "output_gate_bias": None, **settings})
    rng = np.random.default_rng(5)
    strings = reber.encode([reber.embedded_reber_string(rng) for _ in range(40)])
    built = models.get("lstm97").build(rng, cfg, 7, 7)
    net, ws = built.net, built.ws
    T = strings.lengths.max()
    out_y, no_x, no_t, no_mask = np.zeros((T, 7)), np.zeros((T, 0)), np.zeros((1, 7)), np.zeros(T, dtype=bool)
    fz = frozen.frozen(*net.W_hid.shape, *net.W_out.shape, cfg.blocks * cfg.block_size)
    for n in range(strings.n):
        if n % 10 == 5:  # change the weights: a few training strings
            kernel.step(net, ws, strings.input_index[n], no_x, strings.targets[n], strings.target_mask[n], strings.lengths[n],
                        0.3, True, out_y)
        L = int(strings.lengths[n])
        kernel.step(net, ws, strings.input_index[n], no_x, no_t, no_mask, L, 0.0, False, out_y)
        got = _frozen_outputs(net, ws.z_reset, fz, strings.input_index[n], L, fast_exp and frozen.fast_exp())
        assert np.array_equal(got.view(np.int64), out_y[:L].view(np.int64))


def _frozen_outputs(net, z_reset, fz, x_index, L, fast_exp) -> np.ndarray:
    frozen.freeze(net, fz)
    out = np.zeros((L, fz.y.shape[1]))
    assert frozen.first_wrong(fz, net.setup, z_reset, x_index, np.ones((L, out.shape[1]), dtype=bool), 0, L, out, fast_exp) == -1
    return out
