"""CERG protocol (Gers et al. 2000 Table 2): the stream generator, the stop-at-first-error loop, trials."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cerepro import config, models, paper, seeding
from cerepro.generators import cerg as cerg_task
from cerepro.generators.reber import ALPHABET, legal_successors
from cerepro.protocols.cerg import trial as proto
from cerepro.protocols.cerg.kernel import ERROR, OK, StreamRule, run_stream, walk
from cerepro.protocols.common import untimed

EXP = config.load(config.SPEC_DIR / "cerg.yaml")
ROWS = {r.name: r for r in EXP.rows}


def _walk(bits: np.ndarray, pieces: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = cerg_task.grammar()
    n = sum(pieces)
    codes, legal, starts = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    wst, used, at = np.zeros(3, dtype=np.int64), 0, 0
    for k in pieces:
        used += walk(wst, bits[used:], g, codes, legal, starts, at, k)
        at += k
    return codes, legal, starts


def test_walk_makes_embedded_reber_strings_with_the_reber_modules_legal_sets():
    bits = np.random.default_rng(0).integers(0, 2, 5000)
    codes, legal, starts = _walk(bits, [5000])
    text = "".join(ALPHABET[c] for c in codes)
    cuts = list(np.flatnonzero(starts)) + [len(text)]
    strings = [text[a:b] for a, b in zip(cuts[:-1], cuts[1:])][:-1]  # the last one is cut off
    assert len(strings) > 300 and cuts[0] == 0
    for s in strings:  # each is a whole embedded Reber string: every symbol legal, the ends match
        assert s[0] == "B" and s[-1] == "E" and s[1] == s[-2] and s[1] in "TP"
        assert all(s[t + 1] in succ for t, succ in enumerate(legal_successors(s)))
    n = cuts[len(strings)]
    sets = [succ for s in strings for succ in legal_successors(s) + ["B"]][:-1]  # after a string's final E: the next B
    expected = np.array([[c in succ for c in ALPHABET] for succ in sets])  # (n - 1, 7)
    ours = (legal[: n - 1, None] >> np.arange(7)) & 1
    np.testing.assert_array_equal(ours.astype(bool), expected)
    assert abs(np.mean([s[1] == "T" for s in strings]) - 0.5) < 0.08  # branch drawn 50/50


def test_walk_in_pieces_equals_one_walk():
    bits = np.random.default_rng(1).integers(0, 2, 3000)
    whole = _walk(bits, [3000])
    pieces = _walk(bits, [1, 7, 64, 500, 2428])
    for a, b in zip(whole, pieces):
        np.testing.assert_array_equal(a, b)


def test_the_trials_streams_are_the_generators_streams():
    """One CERG generator: the protocol walks it compiled, `cerepro sample cerg` as Python; for a seed, the first
    training stream of a trial is the first stream `generate` makes from the trial's "train" stream."""
    tseed = seeding.trial_seed(2000, "cerg/forget-gates", 0)
    compiled, plain = (cerg_task.Stream(seeding.stream(tseed, "train"), w) for w in (walk, cerg_task.walk))
    compiled.begin()
    plain.begin()
    pieces = []
    for size in (64, 128, 256):
        for s in (compiled, plain):
            s.extend(size)
        for a, b in zip((compiled.codes, compiled.legal, compiled.starts), (plain.codes, plain.legal, plain.starts)):
            np.testing.assert_array_equal(a[: size + 1], b[: size + 1])
        pieces.append(plain.codes[: size + 1].copy() if not pieces else plain.codes[1 : size + 1].copy())
        compiled.shift(size)
        plain.shift(size)
    symbols = "".join(ALPHABET[c] for c in np.concatenate(pieces))
    sample = cerg_task.generate(seeding.stream(tseed, "train"), 1, n_strings=5).symbols[0]
    assert len(sample) < len(symbols) and symbols.startswith(sample)


def _net(row: str = "forget-gates", **changes):
    cfg = dataclasses.replace(ROWS[row].config, **changes)
    return cfg, models.get(cfg.model).build(np.random.default_rng(5), cfg, 7, 7)


def test_run_stream_stops_at_the_first_error_and_leaves_the_net_resettable():
    cfg, (net, ws, step) = _net()
    codes, legal, starts = _walk(np.random.default_rng(2).integers(0, 2, 400), [400])
    lr = np.array([0.5])
    k, status = run_stream(step, net, ws, codes, legal, starts, 400, True, StreamRule(False, True, 1.0, 1.0), lr, False)
    assert (k, status) == (399, OK)  # logistic outputs are always within 1.0 of a 0/1 target
    k, status = run_stream(step, net, ws, codes, legal, starts, 400, True, StreamRule(False, True, 0.01, 1.0), lr, False)
    assert (k, status) == (0, ERROR)  # an untrained net is never within 0.01
    assert ws.carry[0] == 0  # other callers of `step` get a reset again


def test_string_decay_lowers_the_rate_once_per_correct_string():
    cfg, (net, ws, step) = _net()
    codes, legal, starts = _walk(np.random.default_rng(3).integers(0, 2, 300), [300])
    lr = np.array([0.5])
    run_stream(step, net, ws, codes, legal, starts, 300, True, StreamRule(False, True, 1.0, 0.99), lr, False)
    assert lr[0] == pytest.approx(0.5 * 0.99 ** int(starts[1:].sum()))


FROZEN_CASES = [  # (row, changes): every setting the frozen forward pass reads
    ("forget-gates", {}),
    ("lstm", {}),
    ("lstm-state-decay-0.9", {}),
    ("forget-gates", {"g": "g1", "h": "id", "gate_recurrence": True}),
    ("lstm", {"output_gate": False, "output_act": "linear", "bias": "none", "input_gate_bias": None,
              "output_gate_bias": None}),
]


@pytest.mark.parametrize("row,changes", FROZEN_CASES, ids=[f"{r} {c}" for r, c in FROZEN_CASES])
def test_frozen_forward_gives_the_steps_outputs_bit_for_bit(row, changes):
    """models/lstm_forget/frozen.advance, symbol by symbol with resets, against the step with learn=False."""
    from cerepro.models.lstm97 import frozen as frozen97
    from cerepro.models.lstm_forget import frozen

    cfg = dataclasses.replace(ROWS[row].config, weight_range=2.0, **changes)
    net, ws, step = models.get(cfg.model).build(np.random.default_rng(9), cfg, 7, 7)
    assert frozen.usable(net.setup)
    fz = frozen.frozen_net(net)
    frozen97.freeze(net, fz)
    rng = np.random.default_rng(4)
    no_x, tgt, mask, y_step = np.zeros((1, 0)), np.zeros((1, 7)), np.ones(1, dtype=bool), np.zeros((1, 7))
    for fast in {True, frozen97.fast_exp()}:
        for t in range(600):
            reset = t % 150 == 0 or rng.random() < 0.01
            ws.carry[0] = 0 if reset else 1
            if reset:
                frozen97.reset(fz.z, fz.zo, fz.s, ws.z_reset)
            x = rng.integers(0, 7, 1)
            step(net, ws, x, no_x, tgt, mask, 1, 0.5, False, y_step)
            frozen.advance(fz, net.setup, int(x[0]), fast)
            np.testing.assert_array_equal(fz.y, y_step)
    assert np.ptp(y_step) > 0.01  # the outputs differ between units: the weights matter


@pytest.mark.parametrize("threshold", [0.8, 0.9])
@pytest.mark.parametrize("row", ["lstm-external-reset", "forget-gates-alpha-decay", "lstm-state-decay-0.9"])
def test_trials_with_frozen_test_streams_give_the_same_records(row, threshold, monkeypatch):
    """Whole trials with and without the frozen tests: identical records. Threshold 0.8: 30 training streams,
    short tests; 0.9: the first tests run all 4 x 3,000 predictions (then the trial stops: perfect)."""
    cfg = dataclasses.replace(ROWS[row].config, max_sequences=30, test_streams=4, threshold=threshold,
                              train_stream_length=300, test_stream_length=3000)
    fast = proto.run_trial(cfg, 3, f"cerg/{row}", 1)
    monkeypatch.setattr(proto, "frozen_for", lambda tr: None)
    slow = proto.run_trial(cfg, 3, f"cerg/{row}", 1)
    assert untimed(fast) == untimed(slow)
    assert fast["sequences"] == 30 if threshold == 0.8 else max(fast["test_curve"]) == 3000


def test_peephole_nets_keep_the_steps_test():
    cfg = dataclasses.replace(ROWS["forget-gates"].config, model="lstm-peephole", max_sequences=2, test_streams=1)
    tr = proto.Trial(cfg, 1, "cerg/forget-gates", 0, None)
    assert proto.frozen_for(tr) is None
    assert proto.frozen_for(proto.Trial(ROWS["lstm"].config, 1, "cerg/lstm", 0, None)) is not None


def test_weight_counts_and_paper_references():
    assert ROWS["forget-gates"].config.n_weights() == 424  # Gers et al. 2000
    assert ROWS["lstm"].config.n_weights() == 424 - 64  # the same net without its 4 forget gates
    assert dataclasses.replace(ROWS["forget-gates"].config, model="lstm-peephole").n_weights() == 448
    for row in EXP.rows:
        assert paper.find(row.paper) is not None, row.name


def test_spec_rejects_settings_that_cannot_work():
    with pytest.raises(ValueError, match="state_decay"):
        dataclasses.replace(ROWS["forget-gates"].config, state_decay=0.9).validate()
    with pytest.raises(ValueError, match="cannot run continual"):
        dataclasses.replace(ROWS["lstm"].config, model="lstm97").validate()
    with pytest.raises(ValueError, match="forget_gate_bias"):
        dataclasses.replace(ROWS["lstm"].config, forget_gate_bias=(1.0,) * 4).validate()


def test_trial_is_deterministic_and_trials_differ():
    cfg = dataclasses.replace(ROWS["forget-gates-alpha-decay"].config, max_sequences=40, test_streams=3)
    a, b, c = (untimed(proto.run_trial(cfg, 7, "cerg/forget-gates-alpha-decay", t)) for t in (0, 0, 1))
    assert a == b
    assert a["curve"] != c["curve"] or a["train_symbols"] != c["train_symbols"]


@pytest.mark.parametrize("row", list(ROWS))
def test_every_row_runs_a_tiny_trial(row):
    cfg = dataclasses.replace(ROWS[row].config, max_sequences=25, test_streams=2, chunk=10)
    seen = []
    rec = proto.run_trial(cfg, 1, f"cerg/{row}", 0, progress=seen.append)
    assert rec["outcome"] == "cap" and rec["sequences"] == 25 and sum(seen) == 25
    assert rec["class"] in ("good", "rest") and rec["mean_length"] >= 0
    assert rec["train_symbols"] >= 25  # every training stream ends with (at least) its first error


def test_a_test_stream_that_reaches_its_cap_counts_as_perfect():
    """With a lax threshold every prediction is correct: the first test is perfect and the trial stops."""
    cfg = dataclasses.replace(ROWS["lstm"].config, threshold=1.0, train_stream_length=50, test_stream_length=200, max_sequences=10)
    rec = proto.run_trial(cfg, 1, "cerg/lstm", 0)
    assert rec["success"] and rec["class"] == "perfect" and rec["sequences"] == 1 and rec["mean_length"] == 200
    assert rec["train_symbols"] == 50


def test_summarize_gives_table_2_columns():
    recs = [{"class": "perfect", "sequences": 100, "mean_length": 1e5}, {"class": "perfect", "sequences": 300, "mean_length": 1e5},
            {"class": "good", "sequences": 30000, "mean_length": 5000.0}, {"class": "rest", "sequences": 30000, "mean_length": 40.0}]
    out = proto.summarize(ROWS["forget-gates"].config, recs)
    assert out == {"perfect_pct": 50.0, "perfect_streams_mean": 200.0, "good_pct": 25.0, "good_len_mean": 5000.0,
                   "rest_pct": 25.0, "rest_len_mean": 40.0}

