"""The lane engine (protocols/lanes.py, models/lstm97/lanes.py) against the one-net trial loop: identical records.

Every case runs the same trials both ways and compares every field but the timing. The settings are shrunk so that
trials stop at different times (successes, caps, divergences), lanes are refilled from the queue, and the
last trials run in fewer lanes (compaction); lane counts 1, 3, 8 and 32.
"""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np
import pytest

from cerepro import config
from cerepro.dispatch import run_trial
from cerepro.models import numba_noalias, vexp
from cerepro.models.lstm97 import lanes as LK
from cerepro.models.packed import pack
from cerepro.protocols import lanes
from cerepro.protocols.common import untimed


def _row(experiment: str, name: str, **settings):
    exp = config.resolve(experiment)
    row = next(r for r in exp.rows if r.name == name)
    return exp, row, dataclasses.replace(row.config, **settings)


def _same(a: dict, b: dict) -> bool:
    strip = lambda r: json.loads(json.dumps(untimed(r), sort_keys=True))
    return strip(a) == strip(b)


@functools.lru_cache(maxsize=None)
def _one_net(experiment: str, name: str, trials: int, settings: tuple) -> tuple[dict, ...]:
    exp, row, cfg = _row(experiment, name, **dict(settings))
    return tuple(run_trial(exp.protocol, cfg, exp.seed, row.seed_key, t) for t in range(trials))


def _compare(experiment: str, name: str, trials: int, n_lanes: int, **settings) -> list[dict]:
    """Run `trials` trials one net at a time and in n_lanes lanes; assert equal records; return them."""
    fast_exp, noalias = settings.pop("fast_exp", None), settings.pop("noalias", True)
    exp, row, cfg = _row(experiment, name, **settings)
    one = _one_net(experiment, name, trials, tuple(sorted(settings.items())))
    queue = list(range(trials))
    engine = lanes.LaneEngine(exp.protocol, cfg, exp.seed, row.seed_key, lanes=n_lanes, fast_exp=fast_exp, noalias=noalias)
    got = dict(engine.run(lambda: queue.pop(0) if queue else None))
    assert sorted(got) == list(range(trials))
    for t in range(trials):
        assert _same(one[t], got[t]), (t, one[t], got[t])
        assert 0 < got[t]["cpu_s"] <= got[t]["wall_s"] + 1e-3  # its share of the engine's time
    return list(one)


def _outcomes(records: list[dict]) -> set[tuple[str, int]]:
    return {(r["outcome"], r["sequences"]) for r in records}


ADDING = dict(max_sequences=3000, window=50, st3_beta=0.2, abs_threshold=0.3, test_set_size=120)


@pytest.mark.parametrize("n_lanes", [1, 3, 8, 32])
def test_adding_st3_equal_records_over_lane_counts(n_lanes):
    records = _compare("exp4", "lstm-T100", 5, n_lanes, **ADDING)
    assert {r["outcome"] for r in records} == {"success", "cap"}  # trials that stop and trials that run to the cap
    assert len({r["sequences"] for r in records if r["success"]}) == 2  # at different times


def test_nseq_stops_at_different_times():
    records = _compare("exp5", "lstm-T100-nseq140", 6, 8, max_sequences=1500, window=60, n_seq=58, test_set_size=100)
    assert all(r["success"] for r in records) and len({r["sequences"] for r in records}) > 2


def test_st1_st2_check_set_in_lanes():
    records = _compare("exp3a", "lstm-T100-N1", 5, 3, max_sequences=3000, check_set_size=40, abs_threshold=0.52,
                       st1_max_wrong=5, st2_error=0.499, check_every=7, test_set_size=60)
    assert {r["outcome"] for r in records} == {"success", "cap"}
    assert any(r["st1"] for r in records)


def test_one_hot_inputs_and_four_outputs():
    records = _compare("exp6a", "lstm-2x2", 5, 4, max_sequences=2500, stop="nseq", window=40, n_seq=25,
                       abs_threshold=0.6, test_set_size=100)
    assert {r["outcome"] for r in records} == {"success", "cap"}


@pytest.mark.parametrize("n_lanes", [3, 32])
def test_long_lag_2c_online_window(n_lanes):
    records = _compare("exp2c", "q50-p50", 6, n_lanes, max_sequences=3000, success_window=30, tolerance=0.51,
                       test_set_size=300)
    assert {r["outcome"] for r in records} == {"success", "cap"} and len(_outcomes(records)) >= 4


def test_long_lag_2c_q1000_p1000():
    """The longest 2c sequences and the widest one-hot input (1,004 units), which `auto` runs in lanes too."""
    records = _compare("exp2c", "q1000-p1000", 4, 2, max_sequences=60, success_window=3, tolerance=0.505, test_set_size=20)
    assert {r["outcome"] for r in records} == {"success", "cap"} and len(_outcomes(records)) == 4  # stops at 3 times


def test_divergence_ends_a_lane_without_a_test():
    records = _compare("exp4", "lstm-T100", 4, 3, max_sequences=800, lr=30.0, output_act="linear", window=50,
                       test_set_size=50)
    assert all(r["outcome"] == "diverged" for r in records) and len({r["sequences"] for r in records}) > 1
    assert all(r["test_n"] == 0 for r in records)


@pytest.mark.parametrize("settings", [
    dict(g="g1", h="id", output_gate=False, bias="b1"),  # the Exp 2a/2b cell, no output gate
    dict(lr_scale="mean", reset_activation=0.5, output_derivative=False),  # the hypotheses' readings
    dict(lr_scale="length", gate_bias_init="add", input_to_output=True),
], ids=["g1-id-no-og", "mean-lr-reset-0.5", "length-lr-in-to-out"])
def test_architecture_variants(settings):
    _compare("exp4", "lstm-T100", 3, 3, **{**ADDING, "max_sequences": 600}, **settings)


def test_portable_paths_give_the_same_records():
    """The path of a numba without the noalias flag, and math.exp instead of the vectorised exp."""
    _compare("exp4", "lstm-T100", 3, 3, **{**ADDING, "max_sequences": 800}, noalias=False, fast_exp=False)


def test_vectorised_exp_equals_libm():
    if not vexp.available():  # another C library or no FMA: the kernels use math.exp (tested above)
        assert not LK.lane_setup(_arch(), True, True, "none", False).fast_exp
        return
    x = np.random.default_rng(7).standard_normal(300_000) * np.exp(np.random.default_rng(8).uniform(-12, 6, 300_000))
    x = np.concatenate([x, [1e-17, -3e-17, 600.0, -800.0, np.inf, -np.inf, np.nan]])
    out = np.empty_like(x)
    vexp._exp_neg_array(x, out)
    expected = np.empty_like(x)
    vexp._libm_exp_neg_array(x, expected)  # math.exp as the one-net kernels compile it: the C library's exp
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(out), nan)
    assert np.array_equal(out[~nan].view(np.int64), expected[~nan].view(np.int64))


def test_noalias_flag_reaches_the_kernel():
    """fast_jit marks array arguments noalias and drops reference counts where this numba supports both flags (else
    it is a plain njit)."""
    assert numba_noalias.NOALIAS == ("noalias" in _llvm_of_probe())
    for kernel in (LK.tick, LK._learn_lane, lanes.advance):
        assert kernel.targetoptions.get("_nrt", True) != numba_noalias.NOALIAS


def _llvm_of_probe() -> str:
    @numba_noalias.fast_jit()
    def add(a, b):
        for i in range(a.shape[0]):
            a[i] += b[i]

    add(np.zeros(2), np.ones(2))
    return add.inspect_llvm(add.signatures[0])


def _arch():
    from cerepro.models.lstm97.arch import LSTMArch

    return LSTMArch(n_in=2, n_out=1, n_blocks=2, block_size=2)


def test_packed_arrays_are_aligned_copies_that_do_not_overlap():
    arrays = [np.arange(6.0).reshape(2, 3), np.ones(5, dtype=np.int64), np.zeros((3, 0)), np.array([True, False])]
    packed = pack(arrays)
    spans = []
    for a, p in zip(arrays, packed):
        assert np.array_equal(a, p) and p.dtype == a.dtype and p.flags.c_contiguous
        if p.size:  # an empty array has no memory to place
            assert p.ctypes.data % 64 == 0
            spans.append((p.ctypes.data, p.ctypes.data + p.nbytes))
    spans.sort()
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))


def test_long_lag_targets_only_at_the_last_step():
    from cerepro.protocols.longlag.kernel import Compact

    t_index, score, lengths = np.array([[-1, -1, 1, -1], [-1, 0, -1, -1]]), np.zeros((2, 4), bool), np.array([3, 2])
    assert np.array_equal(lanes._one_hot_end(Compact(t_index, t_index, score, lengths), 2), [[0, 1], [1, 0]])
    early = t_index.copy()
    early[0, 0] = 0
    scored = score.copy()
    scored[1, 0] = True
    for c in (Compact(early, early, score, lengths), Compact(t_index, t_index, scored, lengths),
              Compact(t_index, t_index, score, np.array([4, 2]))):
        with pytest.raises(ValueError):
            lanes._one_hot_end(c, 2)


def test_rows_the_lanes_do_not_serve_say_why():
    exp, row, cfg = _row("exp2c", "q50-p50", success_test="test-set")
    assert "2c" in lanes.serves("longlag", cfg)
    assert lanes.serves("reber", cfg)
    _, _, cfg = _row("exp4", "lstm-T100", update="sequence")
    assert "step" in lanes.serves("online", cfg)
    _, _, cfg = _row("exp4", "lstm-T100", model="lstm-forget")
    assert "lane kernel" in lanes.serves("online", cfg)
    with pytest.raises(ValueError):
        lanes.LaneEngine("online", cfg, 1, "x")
