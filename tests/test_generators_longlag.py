"""Exp 2 generators (2a, 2b, 2c) against an independent restatement of the paper's rules (docs/paper.md, Exp 2)."""

import numpy as np
import pytest

from cerepro.generators.base import dense_inputs
from cerepro.generators.longlag import generate_2a, generate_2b, generate_2c, unit_names_2ab, unit_names_2c


def assert_same(b1, b2):
    for f in ("input_index", "inputs", "targets", "target_mask", "lengths"):
        a, b = getattr(b1, f), getattr(b2, f)
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    assert b1.symbols == b2.symbols and b1.info.keys() == b2.info.keys()
    for k in b1.info:
        np.testing.assert_array_equal(b1.info[k], b2.info[k])


def full_sequences(b):
    """Rebuild the whole symbol sequence: the inputs, then the last target's symbol."""
    last = b.targets[np.arange(b.n), b.lengths - 1].argmax(axis=1)
    return [list(b.input_index[i, : b.lengths[i]]) + [last[i]] for i in range(b.n)]


@pytest.mark.parametrize("gen", [generate_2a, generate_2b])
def test_2ab_fields(gen):
    p = 10
    b = gen(np.random.default_rng(0), 50, p=p)
    assert b.input_index.shape == (50, p) and b.input_index.dtype == np.int64
    assert b.inputs is None and b.n_in == p + 1
    assert b.targets.shape == (50, p, p + 1) and b.targets.dtype == np.float64
    assert b.target_mask.dtype == bool and b.target_mask.all()  # a target at every step
    np.testing.assert_array_equal(b.lengths, np.full(50, p))
    np.testing.assert_array_equal(b.targets.sum(axis=2), 1.0)  # one-hot
    # the target at step t is the input at step t+1
    np.testing.assert_array_equal(b.targets[:, :-1].argmax(axis=2), b.input_index[:, 1:])
    fm = b.info["final_mask"]
    assert fm.shape == (50, p) and fm[:, p - 1].all() and fm.sum() == 50
    np.testing.assert_array_equal(b.info["final_step"], p - 1)
    assert dense_inputs(b).shape == (50, p, p + 1)
    assert len(unit_names_2ab(p)) == p + 1 and unit_names_2ab(p)[-2:] == ("x", "y")


def test_2a_only_two_sequences():
    p = 7
    names = unit_names_2ab(p)
    b = generate_2a(np.random.default_rng(1), 400, p=p)
    seqs = {" ".join(names[k] for k in s) for s in full_sequences(b)}
    assert seqs == {"y a1 a2 a3 a4 a5 a6 y", "x a1 a2 a3 a4 a5 a6 x"}
    frac_y = np.mean(b.info["first"] == p)
    assert abs(frac_y - 0.5) < 0.1


def test_2b_random_middle():
    p = 6
    b = generate_2b(np.random.default_rng(2), 3000, p=p)
    seqs = np.array(full_sequences(b))  # (n, p+1)
    assert np.all(seqs[:, 0] == seqs[:, -1]) and np.isin(seqs[:, 0], [p - 1, p]).all()
    np.testing.assert_array_equal(seqs[:, 0], b.info["first"])
    middle = seqs[:, 1:-1]
    assert middle.min() == 0 and middle.max() == p - 2  # a_1 .. a_{p-1}, never x or y
    counts = np.bincount(middle.ravel(), minlength=p - 1) / middle.size
    assert np.all(np.abs(counts - 1 / (p - 1)) < 0.02)  # uniform over the p-1 symbols
    assert len({tuple(s) for s in middle}) > 1000  # not the fixed 2a middle part (5**5 possible)
    assert abs(np.mean(seqs[:, 0] == p) - 0.5) < 0.04


def check_2c_sequence(idx, target_row, mask_row, L, p, q):
    """The paper's 2c procedure, restated: b, x|y, >= q distractors a_1..a_p, e; target x|y at e."""
    e, b, x, y = p, p + 1, p + 2, p + 3
    seq = idx[:L]
    assert seq[0] == b and seq[1] in (x, y)
    assert seq[-1] == e and np.sum(seq == e) == 1
    assert np.all((seq[2:-1] >= 0) & (seq[2:-1] < p))  # only distractors in between
    assert L - 3 >= q  # at least q distractors
    assert np.all(idx[L:] == -1)
    assert mask_row.sum() == 1 and mask_row[L - 1]
    assert target_row[L - 1].tolist() == ([1.0, 0.0] if seq[1] == x else [0.0, 1.0])
    return L - 3 - q  # k


def test_2c_rules_and_k_distribution():
    p, q, n = 5, 20, 4000
    bt = generate_2c(np.random.default_rng(3), n, p=p, q=q)
    T = bt.input_index.shape[1]
    assert bt.n_in == p + 4 and bt.inputs is None and bt.input_index.dtype == np.int64
    assert bt.targets.shape == (n, T, 2) and bt.target_mask.shape == (n, T)
    assert T == bt.lengths.max()
    ks = np.array(
        [
            check_2c_sequence(bt.input_index[i], bt.targets[i], bt.target_mask[i], bt.lengths[i], p, q)
            for i in range(n)
        ]
    )
    np.testing.assert_array_equal(ks, bt.info["k"])
    # P(k) = 0.1 * 0.9**k: mean 9, P(k = 0) = 0.1 (expected full length q + 13, not the misprinted q + 14)
    assert abs(ks.mean() - 9.0) < 0.6
    assert abs(np.mean(ks == 0) - 0.1) < 0.02
    assert abs(np.mean(bt.lengths + 1) - (q + 13)) < 0.6
    # every distractor a_1 .. a_p is used, roughly uniformly
    d = np.concatenate([bt.input_index[i, 2 : bt.lengths[i] - 1] for i in range(n)])
    freq = np.bincount(d, minlength=p) / d.size
    assert np.all(np.abs(freq - 1 / p) < 0.01)
    assert abs(np.mean(bt.info["label"]) - 0.5) < 0.03
    assert unit_names_2c(p)[p:] == ("e", "b", "x", "y")


def test_2c_large_q_small_p():
    b = generate_2c(np.random.default_rng(4), 3, p=50, q=1000)
    assert b.n_in == 54 and np.all(b.lengths >= 1003)
    for i in range(3):
        check_2c_sequence(b.input_index[i], b.targets[i], b.target_mask[i], b.lengths[i], 50, 1000)


@pytest.mark.parametrize(
    "gen,kw", [(generate_2a, {"p": 10}), (generate_2b, {"p": 10}), (generate_2c, {"p": 10, "q": 10})]
)
def test_determinism(gen, kw):
    b1 = gen(np.random.default_rng(7), 40, **kw)
    assert_same(b1, gen(np.random.default_rng(7), 40, **kw))
    b2 = gen(np.random.default_rng(8), 40, **kw)
    assert b1.input_index.shape != b2.input_index.shape or not np.array_equal(b1.input_index, b2.input_index)
