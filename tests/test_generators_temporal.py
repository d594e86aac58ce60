"""Exp 6 (temporal order, 6a/6b) generator against the paper's rules, restated here (docs/paper.md, Exp 6)."""

import re

import numpy as np
import pytest

from cerepro.generators.temporal import generate_6a, generate_6b

# The paper's class tables, in the order listed; output unit i <-> the i-th listed class.
CLASSES_6A = {"XX": "Q", "XY": "R", "YX": "S", "YY": "U"}
CLASSES_6B = {"XXX": "Q", "XXY": "R", "XYX": "S", "XYY": "U", "YXX": "V", "YXY": "A", "YYX": "B", "YYY": "C"}
WINDOWS = {2: [(10, 20), (50, 60)], 3: [(10, 20), (33, 43), (66, 76)]}  # 1-based, inclusive
UNITS = ["E", "B", "a", "b", "c", "d", "X", "Y"]


def assert_same(b1, b2):
    for f in ("input_index", "targets", "target_mask", "lengths"):
        np.testing.assert_array_equal(getattr(b1, f), getattr(b2, f))
    assert b1.symbols == b2.symbols
    np.testing.assert_array_equal(b1.info["classes"], b2.info["classes"])


@pytest.mark.parametrize("gen,table", [(generate_6a, CLASSES_6A), (generate_6b, CLASSES_6B)])
def test_rules(gen, table):
    n = 1500
    b = gen(np.random.default_rng(0), n)
    k = len(next(iter(table)))
    Tm = int(b.lengths.max())
    assert b.inputs is None and b.n_in == 8
    assert b.input_index.shape == (n, Tm) and b.input_index.dtype == np.int64
    assert b.targets.shape == (n, Tm, len(table)) and b.targets.dtype == np.float64
    assert b.target_mask.dtype == bool and b.lengths.dtype == np.int64
    order = list(table.values())
    seen_pos = [set() for _ in range(k)]
    for i, s in enumerate(b.symbols):
        L = len(s)
        assert b.lengths[i] == L and 100 <= L <= 110
        assert s[0] == "E" and s[-1] == "B"
        assert re.fullmatch(r"E[abcdXY]*B", s)
        rel = [m.start() + 1 for m in re.finditer("[XY]", s)]  # 1-based positions of X/Y
        assert len(rel) == k
        for j, (p, (lo, hi)) in enumerate(zip(rel, WINDOWS[k])):
            assert lo <= p <= hi
            seen_pos[j].add(p)
        assert [UNITS[u] for u in b.input_index[i, :L]] == list(s)
        assert np.all(b.input_index[i, L:] == -1)
        cls = table["".join(s[p - 1] for p in rel)]
        assert b.target_mask[i].sum() == 1 and b.target_mask[i, L - 1]
        expected = np.zeros(len(table))
        expected[order.index(cls)] = 1.0
        np.testing.assert_array_equal(b.targets[i, L - 1], expected)
        assert np.all(b.targets[i][~b.target_mask[i]] == 0.0)
        assert b.info["classes"][i] == order.index(cls)
        assert b.info["class_names"][b.info["classes"][i]] == cls
        np.testing.assert_array_equal(b.info["positions"][i], np.array(rel) - 1)  # 0-based
    for j, (lo, hi) in enumerate(WINDOWS[k]):
        assert seen_pos[j] == set(range(lo, hi + 1))  # both ends inclusive and reached
    assert set(b.lengths.tolist()) == set(range(100, 111))
    freq = np.bincount(b.info["classes"], minlength=len(table)) / n
    assert np.all(np.abs(freq - 1 / len(table)) < 0.05)


def test_filler_symbols_uniform():
    b = generate_6a(np.random.default_rng(1), 500)
    text = "".join(s[1:-1] for s in b.symbols).replace("X", "").replace("Y", "")
    counts = np.array([text.count(c) for c in "abcd"]) / len(text)
    assert np.all(np.abs(counts - 0.25) < 0.01)


@pytest.mark.parametrize("gen", [generate_6a, generate_6b])
def test_determinism(gen):
    b1 = gen(np.random.default_rng(3), 20)
    assert_same(b1, gen(np.random.default_rng(3), 20))
    assert b1.symbols != gen(np.random.default_rng(4), 20).symbols
