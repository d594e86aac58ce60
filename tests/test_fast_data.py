"""The cheaper data paths emit exactly what the old ones did: Exp 2c's compact draw (protocols/longlag/trial.draw,
straight from generators.longlag.draw_2c) the arrays of the generic path (generate_2c's Batch with dense
targets, then compacted), leaving the stream where that path leaves it; Exp 6's strings, decoded when read,
the strings of the unit indices."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cerepro.generators import TASKS, longlag, temporal
from cerepro.protocols.longlag import trial as proto
from cerepro.protocols.longlag.settings import LongLagRow


@pytest.mark.parametrize("seed", [0, 1, 7, 1997])
@pytest.mark.parametrize("p,q,n", [(50, 50, 250), (1, 0, 40), (1000, 1000, 30), (100, 100, 1)])
@pytest.mark.parametrize("judged", ["end", "all"])
def test_compact_2c_draw_equals_the_generic_path(seed, p, q, n, judged):
    cfg = dataclasses.replace(LongLagRow(), task="2c", p=p, q=q, judged_steps=judged)
    fast_rng, slow_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    for _ in range(3):  # successive blocks of one stream
        fast = proto.draw(cfg, fast_rng, n)
        slow = proto.compact(cfg, TASKS["2c"].sample(slow_rng, n, cfg))
        for a, b in zip(fast, slow):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)
    assert fast_rng.integers(0, 1 << 62) == slow_rng.integers(0, 1 << 62)


def test_generate_2c_is_draw_2c_with_dense_targets():
    idx, label, k, lengths = longlag.draw_2c(np.random.default_rng(3), 60, p=8, q=4)
    batch = longlag.generate_2c(np.random.default_rng(3), 60, p=8, q=4)
    np.testing.assert_array_equal(batch.input_index, idx)
    np.testing.assert_array_equal(batch.lengths, lengths)
    np.testing.assert_array_equal(batch.info["k"], k)
    rows = np.arange(60)
    np.testing.assert_array_equal(batch.targets[rows, lengths - 1].argmax(axis=1), label)
    assert batch.target_mask.sum() == 60 and batch.target_mask[rows, lengths - 1].all()


@pytest.mark.parametrize("seed", [0, 5, 1997])
@pytest.mark.parametrize("generate", [temporal.generate_6a, temporal.generate_6b])
def test_exp6_strings_are_the_unit_characters(seed, generate):
    batch = generate(np.random.default_rng(seed), 120)
    old = tuple("".join(temporal.UNITS[k] for k in batch.input_index[i, : batch.lengths[i]]) for i in range(batch.n))
    assert len(batch.symbols) == batch.n and tuple(batch.symbols) == old
    assert batch.symbols[-1] == old[-1] and batch.symbols[2:9:3] == old[2:9:3]
    with pytest.raises(IndexError):
        batch.symbols[batch.n]
