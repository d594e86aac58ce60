"""Strongly delayed XOR generator against its rules, restated here."""

import numpy as np
import pytest

from cerepro.generators.xor import generate


def test_rules():
    n, T = 500, 100
    b = generate(np.random.default_rng(0), n, T=T)
    Tm = int(b.lengths.max())
    assert b.input_index is None and b.n_in == 2
    assert b.inputs.shape == (n, Tm, 2) and b.inputs.dtype == np.float64
    assert b.targets.shape == (n, Tm, 1) and b.target_mask.dtype == bool
    assert b.lengths.dtype == np.int64
    for i in range(n):
        L = b.lengths[i]
        assert T <= L <= T + T // 10
        v, m = b.inputs[i, :L, 0], b.inputs[i, :L, 1]
        assert np.all(b.inputs[i, L:] == 0.0)
        pos = np.flatnonzero(m == 1.0)
        assert len(pos) == 2
        assert pos.min() < 10 and pos.max() < T // 2  # one in the first ten, both in the first half
        assert m[L - 1] == -1.0 and m[0] == (1.0 if pos[0] == 0 else -1.0)
        rest = np.ones(L, dtype=bool)
        rest[[0, L - 1, *pos]] = False
        assert np.all(m[rest] == 0.0)
        bits = v[pos]
        assert set(bits.tolist()) <= {-1.0, 1.0}
        assert np.all(np.abs(v[rest]) < 1.0)  # noise in (-1, 1): never exactly a bit
        target = 1.0 if bits[0] != bits[1] else 0.0
        assert b.target_mask[i].sum() == 1 and b.target_mask[i, L - 1]
        assert b.targets[i, L - 1, 0] == target
        np.testing.assert_array_equal(b.info["bits"][i], bits)
        np.testing.assert_array_equal(b.info["marked"][i], pos)


def test_statistics():
    b = generate(np.random.default_rng(1), 4000, T=100)
    assert abs(b.info["target"].mean() - 0.5) < 0.03
    assert abs(np.mean(b.info["bits"] > 0) - 0.5) < 0.02
    valid = np.arange(b.inputs.shape[1])[None, :] < b.lengths[:, None]
    noise = b.inputs[..., 0][valid & (b.inputs[..., 1] != 1.0)]
    assert abs(noise.mean()) < 0.01 and abs(noise.var() - 1 / 3) < 0.01  # uniform [-1, 1]
    assert b.info["marked"].max() == 49 and b.info["marked"][:, 0].max() == 9
    assert set(b.lengths.tolist()) == set(range(100, 111))


@pytest.mark.parametrize("T", [20, 1000])
def test_other_lengths(T):
    b = generate(np.random.default_rng(2), 20, T=T)
    assert b.lengths.min() >= T and b.lengths.max() <= T + T // 10
    assert b.info["marked"].max() < T // 2


def test_determinism():
    b1 = generate(np.random.default_rng(5), 30)
    b2 = generate(np.random.default_rng(5), 30)
    for f in ("inputs", "targets", "target_mask", "lengths"):
        np.testing.assert_array_equal(getattr(b1, f), getattr(b2, f))
    b3 = generate(np.random.default_rng(6), 30)
    assert b1.inputs.shape != b3.inputs.shape or not np.array_equal(b1.inputs, b3.inputs)
