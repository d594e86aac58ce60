"""Exp 3 (2-sequence problem, tasks 3a/3b/3c) generator against the paper's rules (docs/paper.md, Exp 3)."""

import numpy as np
import pytest

from cerepro.generators.twoseq import generate, generate_3a, generate_3b, generate_3c


def assert_same(b1, b2):
    for f in ("inputs", "targets", "target_mask", "lengths"):
        np.testing.assert_array_equal(getattr(b1, f), getattr(b2, f))
    for k in b1.info:
        np.testing.assert_array_equal(b1.info[k], b2.info[k])


def valid(b):
    return np.arange(b.inputs.shape[1])[None, :] < b.lengths[:, None]  # (n, T)


@pytest.mark.parametrize("variant", ["a", "b", "c"])
def test_fields_and_mask(variant):
    n, T = 300, 100
    b = generate(np.random.default_rng(0), n, T=T, N=3, variant=variant)
    Tm = int(b.lengths.max())
    assert b.input_index is None and b.n_in == 1 and b.symbols is None
    assert b.inputs.shape == (n, Tm, 1) and b.inputs.dtype == np.float64
    assert b.targets.shape == (n, Tm, 1) and b.targets.dtype == np.float64
    assert b.target_mask.dtype == bool and b.lengths.dtype == np.int64
    # a target only at the last valid step
    expected = np.zeros((n, Tm), dtype=bool)
    expected[np.arange(n), b.lengths - 1] = True
    np.testing.assert_array_equal(b.target_mask, expected)
    np.testing.assert_array_equal(b.targets[..., 0][b.target_mask], b.info["target"])
    assert np.all(b.targets[..., 0][~b.target_mask] == 0.0)
    assert np.all(b.inputs[..., 0][~valid(b)] == 0.0)  # zero padding


@pytest.mark.parametrize("T", [100, 1000])
def test_length_range_inclusive(T):
    b = generate_3a(np.random.default_rng(1), 3000 if T == 100 else 1500, T=T)
    assert b.lengths.min() == T and b.lengths.max() == T + T // 10
    if T == 100:
        assert set(b.lengths.tolist()) == set(range(100, 111))


def test_3a_inputs_targets_noise():
    n, N = 4000, 3
    b = generate_3a(np.random.default_rng(2), n, T=100, N=N)
    x = b.inputs[..., 0]
    sign = b.info["sign"]
    assert set(np.unique(sign)) == {-1.0, 1.0} and abs(np.mean(sign > 0) - 0.5) < 0.03
    np.testing.assert_array_equal(x[:, :N], np.repeat(sign[:, None], N, axis=1))  # noise-free +-1
    np.testing.assert_array_equal(b.info["target"], np.where(sign > 0, 1.0, 0.0))  # class 1 -> 1.0
    np.testing.assert_array_equal(b.info["clean_target"], b.info["target"])
    noise = x[:, N:][valid(b)[:, N:]]
    assert abs(noise.mean()) < 0.005
    assert abs(noise.var() - 0.2) < 0.005  # variance 0.2, not std 0.2


def test_3a_n1():
    b = generate_3a(np.random.default_rng(3), 500, T=100, N=1)
    x = b.inputs[..., 0]
    np.testing.assert_array_equal(x[:, 0], b.info["sign"])
    assert not np.any(np.isin(x[:, 1:4], [-1.0, 1.0]))  # position 2 on is noise


def test_3b_noisy_information():
    n, N = 4000, 3
    b = generate_3b(np.random.default_rng(4), n, T=100, N=N)
    x = b.inputs[..., 0]
    sign = b.info["sign"]
    dev = x[:, :N] - sign[:, None]
    assert abs(dev.mean()) < 0.02 and abs(dev.var() - 0.2) < 0.02
    assert abs(np.corrcoef(dev[:, 0], dev[:, 1])[0, 1]) < 0.05  # independent draws per element
    np.testing.assert_array_equal(b.info["target"], np.where(sign > 0, 1.0, 0.0))
    noise = x[:, N:][valid(b)[:, N:]]
    assert abs(noise.var() - 0.2) < 0.005


def test_3c_target_noise():
    n, N = 6000, 3
    b = generate_3c(np.random.default_rng(5), n, T=100, N=N)
    sign = b.info["sign"]
    np.testing.assert_array_equal(b.inputs[:, :N, 0], np.repeat(sign[:, None], N, axis=1))
    clean = b.info["clean_target"]
    np.testing.assert_array_equal(clean, np.where(sign > 0, 0.2, 0.8))  # class 1 -> 0.2, class 2 -> 0.8
    d = b.info["target"] - clean
    assert abs(d.mean()) < 0.015 and abs(d.var() - 0.1) < 0.01  # variance 0.1 (std 0.316)


def test_bad_arguments():
    with pytest.raises(ValueError):
        generate(np.random.default_rng(0), 2, variant="d")
    with pytest.raises(ValueError):
        generate(np.random.default_rng(0), 2, T=5, N=6)


@pytest.mark.parametrize("variant", ["a", "b", "c"])
def test_determinism(variant):
    b1 = generate(np.random.default_rng(9), 30, variant=variant)
    assert_same(b1, generate(np.random.default_rng(9), 30, variant=variant))
    b2 = generate(np.random.default_rng(10), 30, variant=variant)
    assert b1.inputs.shape != b2.inputs.shape or not np.array_equal(b1.inputs, b2.inputs)
