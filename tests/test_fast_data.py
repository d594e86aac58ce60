"""The cheaper data paths emit exactly what the old ones did: Exp 2's chunks (protocols/longlag/source.py; 2c
written straight from generators.longlag.draw_2c) the arrays of the generic path (each block through the
generator's Batch with dense targets, compacted, stacked, cut), for any chunk sizes; Exp 6's strings, decoded
when read, the strings of the unit indices."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cerepro.generators import TASKS, longlag, temporal
from cerepro.protocols.longlag import source
from cerepro.protocols.longlag.settings import LongLagRow


def _reference_chunks(cfg, seed, sizes):
    """The generic path: every block through the generator's Batch, padded and stacked, then cut into chunks
    trimmed to their longest sequence (what Source.take gave before 2c was written straight from its draws)."""
    rng = np.random.default_rng(seed)
    blocks = [source.compact(cfg, TASKS[cfg.task].sample(rng, source.BLOCK, cfg))
              for _ in range(-(-sum(sizes) // source.BLOCK))]
    T = max(b.x_index.shape[1] for b in blocks)
    whole = [np.concatenate([np.pad(getattr(b, f), ((0, 0), (0, T - b.x_index.shape[1])), constant_values=fill)
                             for b in blocks]) for f, fill in (("x_index", -1), ("t_index", -1), ("score", False))]
    lengths, start = np.concatenate([b.lengths for b in blocks]), 0
    for n in sizes:
        t = int(lengths[start : start + n].max())
        yield [a[start : start + n, :t] for a in whole] + [lengths[start : start + n]]
        start += n


@pytest.mark.parametrize("seed", [0, 1, 1997])
@pytest.mark.parametrize("task,p,q", [("2c", 50, 50), ("2c", 1, 0), ("2c", 1000, 1000), ("2a", 6, 0), ("2b", 5, 0)])
@pytest.mark.parametrize("judged", ["end", "all"])
def test_source_chunks_equal_the_generic_path(seed, task, p, q, judged):
    cfg = dataclasses.replace(LongLagRow(), task=task, p=p, q=q, judged_steps=judged)
    sizes = [1, 249, 250, 37, 600, 3, 250] if p < 1000 else [1, 30, 260]
    src = source.Source(cfg, np.random.default_rng(seed))
    for expected in _reference_chunks(cfg, seed, sizes):
        got = src.take(len(expected[3]))
        for a, b in zip(got, expected):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)


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
