"""The sequences of an Exp 2 trial's streams (Section 5.2), in the compact form of the compiled loop (kernel.Compact).

A stream is drawn in blocks of BLOCK sequences, so that how a trial takes them (its chunks) cannot change them.
Task 2c is kept as its generator's random part (generators.longlag.draw_2c without the padding) and written
into the chunk's arrays in one compiled pass: its one target, the label where e is input, is also the one
scored step. Tasks 2a/2b are compacted from their random part (generators.longlag.draw_2ab: the targets are
the next units), without the dense (n, p, p+1) targets. Any other task goes through its generator's Batch
(compact). All give the arrays the generic path gives (tests/test_fast_data.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from cerepro.generators import TASKS, longlag
from cerepro.protocols.longlag.kernel import Compact
from cerepro.protocols.longlag.settings import LongLagRow

BLOCK = 250  # sequences per draw from the data stream: the data do not depend on `chunk` (not in config_hash)


class Raw2c:
    """A block of task 2c as drawn: inputs without e and padding, the labels, the lengths."""

    def __init__(self, raw: np.ndarray, label: np.ndarray, lengths: np.ndarray, e: int):
        self.raw, self.label, self.lengths, self.e = raw, label, lengths, e

    def write(self, start: int, stop: int, out: Compact, row: int) -> None:
        _write_2c(self.raw, self.label, self.lengths, start, stop, self.e, out.x_index, out.t_index, out.score, row)


class Block:
    """A block of any other task in compact form."""

    def __init__(self, compact: Compact):
        self.compact, self.lengths = compact, compact.lengths

    def write(self, start: int, stop: int, out: Compact, row: int) -> None:
        T, t = out.x_index.shape[1], min(out.x_index.shape[1], self.compact.x_index.shape[1])
        for dst, src, fill in zip(out[:3], self.compact[:3], (-1, -1, False)):
            dst[row : row + stop - start, :t] = src[start:stop, :t]
            dst[row : row + stop - start, t:T] = fill


@njit(cache=True)
def _write_2c(raw, label, lengths, start, stop, e, x_index, t_index, score, row):
    """Rows start..stop-1 of a 2c block into rows row.. of the chunk: inputs, e at the last step, -1 after;
    the target unit (the label) and the scored step at the last step only."""
    T = x_index.shape[1]
    for i in range(start, stop):
        r = row + i - start
        end = lengths[i] - 1
        for t in range(end):
            x_index[r, t] = raw[i, t]
        for t in range(T):
            t_index[r, t] = -1
            score[r, t] = False
        x_index[r, end] = e
        t_index[r, end] = label[i]
        score[r, end] = True
        for t in range(end + 1, T):
            x_index[r, t] = -1


def draw_block(cfg: LongLagRow, rng: np.random.Generator, n: int) -> Any:
    """n sequences of the row's task, as a block."""
    if cfg.task == "2c":
        raw, label, _, lengths = longlag.draw_2c(rng, n, cfg.p, cfg.q, pad=False)
        return Raw2c(raw, label, lengths, cfg.p)  # e is unit p
    if cfg.task in ("2a", "2b"):
        return Block(compact_2ab(cfg, longlag.draw_2ab(rng, n, cfg.p, random_middle=cfg.task == "2b")))
    return Block(compact(cfg, TASKS[cfg.task].sample(rng, n, cfg)))


def compact_2ab(cfg: LongLagRow, seq: np.ndarray) -> Compact:
    """Sequences (n, p+1) of tasks 2a/2b in compact form: input the first p units, target the next unit at every
    step, scored at every step or (judged_steps "end") at the step that predicts the last element."""
    n, p = seq.shape[0], seq.shape[1] - 1
    score = np.ones((n, p), dtype=np.bool_) if cfg.judged_steps == "all" else np.zeros((n, p), dtype=np.bool_)
    score[:, p - 1] = True
    return Compact(seq[:, :-1].copy(), seq[:, 1:].copy(), score, np.full(n, p, dtype=np.int64))


def compact(cfg: LongLagRow, batch) -> Compact:
    """A generated batch in compact form."""
    t_index = np.full(batch.target_mask.shape, -1, dtype=np.int64)  # (n, T)
    rows, steps = np.nonzero(batch.target_mask)
    t_index[rows, steps] = batch.targets[rows, steps].argmax(axis=1)
    if cfg.judged_steps == "all":
        score = batch.target_mask.copy()
    else:
        score = np.zeros_like(batch.target_mask)
        score[np.arange(batch.n), batch.info["final_step"]] = True  # the step that predicts the last element
    return Compact(np.asarray(batch.input_index, dtype=np.int64), t_index, score, np.asarray(batch.lengths, dtype=np.int64))


class Source:
    """The sequences of a stream, drawn from `rng` in blocks of BLOCK so that the chunking cannot change them."""

    def __init__(self, cfg: LongLagRow, rng: np.random.Generator):
        self.cfg, self.rng, self.blocks, self.offset = cfg, rng, [], 0  # blocks not yet taken; the first from `offset`

    def take(self, n: int) -> Compact:
        """The next n sequences, padded to the longest of them."""
        while sum(b.lengths.shape[0] for b in self.blocks) - self.offset < n:
            self.blocks.append(draw_block(self.cfg, self.rng, BLOCK))
        pieces, left, start = [], n, self.offset
        for block in self.blocks:
            stop = min(block.lengths.shape[0], start + left)
            pieces.append((block, start, stop))
            left -= stop - start
            if left == 0:
                break
            start = 0
        lengths = np.concatenate([block.lengths[a:b] for block, a, b in pieces]).astype(np.int64)
        T = int(lengths.max())
        out = Compact(np.empty((n, T), np.int64), np.empty((n, T), np.int64), np.empty((n, T), np.bool_), lengths)
        row = 0
        for block, a, b in pieces:
            block.write(a, b, out, row)
            row += b - a
        block, _, stop = pieces[-1]
        done = len(pieces) - (stop < block.lengths.shape[0])  # blocks used up
        self.blocks, self.offset = self.blocks[done:], stop if stop < block.lengths.shape[0] else 0
        return out
