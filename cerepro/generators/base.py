"""The data contract shared by every task generator.

A generator is a pure function `generate(rng, n, **params) -> Batch`: it draws from the numpy Generator it
is given, never from global state, and does no I/O. Sequences of different lengths are zero-padded to the
longest one; `lengths` says where each ends.

Tasks whose inputs are one-hot (Exps 1, 2, 6) carry `input_index` (the active input unit per step) instead
of a dense array: for Exp 2c with p = 1000 a dense (n, T, 1004) array would be gigabytes, and the kernels
exploit one-hot inputs anyway (a one-hot input costs one weight column, not a matrix product).
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
