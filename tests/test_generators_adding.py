"""Exps 4/5 (adding, multiplication) generators against the paper's rules, restated here (docs/paper.md, Exps 4-5).

Paper (1-based): X1 among the first ten pairs, X2 among the first T/2-1 still-unmarked pairs, markers -1 on
the first and final pair, X1 := 0 (adding) / 1.0 (multiplication) if the first pair is marked.
"""

import numpy as np
import pytest

from cerepro.generators.adding import generate, generate_adding, generate_multiplication


def assert_same(b1, b2):
    for f in ("inputs", "targets", "target_mask", "lengths"):
        np.testing.assert_array_equal(getattr(b1, f), getattr(b2, f))
    for k in b1.info:
        np.testing.assert_array_equal(b1.info[k], b2.info[k])


def check_sequence(values, markers, L, T, problem):
    """Check one padded sequence; return (X1, X2, expected target, 0-based marked steps)."""
    assert T <= L <= T + T // 10
    assert np.all(values[L:] == 0.0) and np.all(markers[L:] == 0.0)
    m, v = markers[:L], values[:L]
    pos = np.flatnonzero(m == 1.0)  # 0-based
    assert len(pos) == 2
    p1 = pos + 1  # paper positions
    assert p1.min() <= 10 or p1.max() <= 10  # one of them among the first ten pairs
    assert p1.max() <= T // 2  # the other among the first T/2 - 1 unmarked = positions 1..T/2 minus X1
    assert m[L - 1] == -1.0
    assert m[0] == (1.0 if pos[0] == 0 else -1.0)
    rest = np.ones(L, dtype=bool)
    rest[[0, L - 1, *pos]] = False
    assert np.all(m[rest] == 0.0)
    lo = -1.0 if problem == "adding" else 0.0
    assert np.all((v >= lo) & (v <= 1.0))
    if pos[0] == 0:
        assert v[0] == (0.0 if problem == "adding" else 1.0)
    x1, x2 = v[pos[0]], v[pos[1]]
    target = 0.5 + (x1 + x2) / 4.0 if problem == "adding" else x1 * x2
    assert L - 1 - pos[1] >= T // 2  # minimal lag T/2
    return x1, x2, target, pos


@pytest.mark.parametrize("problem", ["adding", "multiplication"])
@pytest.mark.parametrize("T", [20, 100, 1000])
def test_rules(problem, T):
    n = 300 if T < 1000 else 40
    b = generate(np.random.default_rng(T), n, T=T, problem=problem)
    Tm = int(b.lengths.max())
    assert b.input_index is None and b.n_in == 2
    assert b.inputs.shape == (n, Tm, 2) and b.inputs.dtype == np.float64
    assert b.targets.shape == (n, Tm, 1) and b.targets.dtype == np.float64
    assert b.target_mask.dtype == bool and b.lengths.dtype == np.int64
    assert b.info["marked"].shape == (n, 2)
    for i in range(n):
        L = b.lengths[i]
        x1, x2, target, pos = check_sequence(b.inputs[i, :, 0], b.inputs[i, :, 1], L, T, problem)
        assert b.target_mask[i].sum() == 1 and b.target_mask[i, L - 1]
        assert b.targets[i, L - 1, 0] == pytest.approx(target, abs=1e-15)
        assert np.all(b.targets[i, :, 0][~b.target_mask[i]] == 0.0)
        np.testing.assert_array_equal(b.info["marked"][i], pos)
        assert (b.info["X1"][i], b.info["X2"][i]) == (x1, x2)


def test_mark_distribution_and_corner_case():
    T, n = 100, 20000
    b = generate_adding(np.random.default_rng(11), n, T=T)
    mk = b.info["marked"]
    # exact law, restated: first ~ U{0..9}, second ~ U{0..49} minus first (49 choices)
    p_first_pair = 0.1 + 0.9 * (1 / 49)
    assert abs(np.mean(mk[:, 0] == 0) - p_first_pair) < 0.01
    assert abs(np.mean(mk[:, 1] >= 10) - 40 / 49) < 0.015
    assert mk.max() == T // 2 - 1  # 0-based 49 = paper position T/2 is reachable
    assert set(np.unique(mk[:, 0][mk[:, 1] >= 10]).tolist()) == set(range(10))
    first = mk[:, 0] == 0
    assert np.all(b.inputs[first, 0, 0] == 0.0) and np.all(b.inputs[first, 0, 1] == 1.0)
    assert set(b.lengths.tolist()) == set(range(100, 111))


@pytest.mark.parametrize("problem,mean,var", [("adding", 0.0, 1 / 3), ("multiplication", 0.5, 1 / 12)])
def test_value_distribution(problem, mean, var):
    b = generate(np.random.default_rng(12), 1000, T=100, problem=problem)
    valid = np.arange(b.inputs.shape[1])[None, :] < b.lengths[:, None]
    unmarked = valid & (b.inputs[..., 1] != 1.0)
    v = b.inputs[..., 0][unmarked]
    assert abs(v.mean() - mean) < 0.01 and abs(v.var() - var) < 0.01


def test_multiplication_first_pair():
    b = generate_multiplication(np.random.default_rng(13), 3000, T=100)
    first = b.info["marked"][:, 0] == 0
    assert first.any()
    assert np.all(b.info["X1"][first] == 1.0)
    np.testing.assert_allclose(b.info["target"], b.info["X1"] * b.info["X2"])


def test_bad_arguments():
    with pytest.raises(ValueError):
        generate_adding(np.random.default_rng(0), 2, T=18)
    with pytest.raises(ValueError):
        generate(np.random.default_rng(0), 2, problem="subtraction")


@pytest.mark.parametrize("gen", [generate_adding, generate_multiplication])
def test_determinism(gen):
    b1 = gen(np.random.default_rng(5), 30)
    assert_same(b1, gen(np.random.default_rng(5), 30))
    b2 = gen(np.random.default_rng(6), 30)
    assert b1.inputs.shape != b2.inputs.shape or not np.array_equal(b1.inputs, b2.inputs)
