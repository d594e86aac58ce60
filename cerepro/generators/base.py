"""The data contract of every task generator: `generate(rng, n, **params) -> Batch`, a pure function.

A generator draws only from the numpy Generator it is given and does no I/O. Sequences of different lengths
are zero-padded to the longest; `lengths` says where each ends. One-hot tasks carry `input_index` (the
active input unit per step) instead of a dense array: the kernels use one weight column per step for them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Batch(NamedTuple):
    """A batch of sequences, zero-padded to a common length T."""

    input_index: np.ndarray | None  # (n, T) int64: the one active input unit per step, -1 past the end; None if real-valued
    inputs: np.ndarray | None  # (n, T, n_in) float64 real-valued inputs; None for one-hot tasks (see dense_inputs)
    targets: np.ndarray  # (n, T, n_out) float64; meaningful only where target_mask is True
    target_mask: np.ndarray  # (n, T) bool: steps at which an error signal is given
    lengths: np.ndarray  # (n,) int64: the number of valid steps of each sequence
    n_in: int  # number of input units
    symbols: tuple[str, ...] | None = None  # the sequences as strings, for symbolic tasks
    info: dict[str, Any] | None = None  # task-specific extras (legal successor sets, marked positions, classes, ...)

    @property
    def n(self) -> int:
        return int(self.lengths.shape[0])


class Sequences(NamedTuple):
    """A batch in the layout of the compiled kernels (see as_sequences)."""

    x_index: np.ndarray  # (n, T) int64 active input unit (one-hot tasks); (n, 1) dummy for real-valued inputs
    x_dense: np.ndarray  # (n, T, I) float64 real-valued inputs; (n, T, 0) for one-hot tasks
    targets: np.ndarray  # (n, T, K)
    target_mask: np.ndarray  # (n, T) bool
    lengths: np.ndarray  # (n,) int64


def as_sequences(batch: Batch) -> Sequences:
    """The batch in the kernels' layout: a one-hot task passes x_dense with 0 columns, a dense one a dummy x_index."""
    n, T = batch.target_mask.shape
    if batch.inputs is None:
        return Sequences(batch.input_index, np.zeros((n, T, 0)), batch.targets, batch.target_mask, batch.lengths)
    return Sequences(np.zeros((n, 1), dtype=np.int64), batch.inputs, batch.targets, batch.target_mask, batch.lengths)


def dense_inputs(batch: Batch) -> np.ndarray:
    """The inputs as a dense (n, T, n_in) float64 array (one-hot tasks are expanded)."""
    if batch.inputs is not None:
        return batch.inputs
    n, T = batch.input_index.shape
    x = np.zeros((n, T, batch.n_in))
    rows, steps = np.nonzero(batch.input_index >= 0)
    x[rows, steps, batch.input_index[rows, steps]] = 1.0
    return x


def pad(sequences: list[np.ndarray], fill: float | int = 0) -> np.ndarray:
    """Stack sequences of shape (L_i, ...) into one (n, max L_i, ...) array, padded with `fill`."""
    T = max(len(s) for s in sequences)
    first = np.asarray(sequences[0])
    out = np.full((len(sequences), T) + first.shape[1:], fill, dtype=first.dtype)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out


def end_batch(values: np.ndarray, lengths: np.ndarray, T: int, *, input_index: np.ndarray | None = None,
              inputs: np.ndarray | None = None, n_in: int, symbols: Any = None, info: dict[str, Any] | None = None) -> Batch:
    """A Batch whose targets (values (n, K)) are given only at each sequence's last step: targets (n, T, K),
    mask (n, T)."""
    rows = np.arange(lengths.shape[0])
    targets = np.zeros((lengths.shape[0], T, values.shape[1]))
    targets[rows, lengths - 1] = values
    mask = np.zeros((lengths.shape[0], T), dtype=bool)
    mask[rows, lengths - 1] = True
    return Batch(input_index, inputs, targets, mask, lengths, n_in, symbols, info)
