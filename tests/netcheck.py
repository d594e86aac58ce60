"""Shared pieces of the model tests: random sequences for kernel-against-reference runs, and centred finite
differences for gradient checks (imported by test modules; pytest puts tests/ on the path)."""

from __future__ import annotations

from typing import Callable

import numpy as np


def random_sequence(rng: np.random.Generator, n_in: int, n_out: int, one_hot: bool, longest: int = 20,
                    masked: float = 0.6):
    """(T, x, idx, x_dense, targets, mask) of a random sequence, T in [3, longest): `x` (T, n_in) the dense
    input the references take; the kernels take one-hot inputs as `idx` (T,) with an empty `x_dense` (T, 0),
    dense ones as `x_dense`; targets (T, n_out) uniform in [0, 1); mask (T,) true with probability `masked`."""
    T = int(rng.integers(3, longest))
    if one_hot:
        idx = rng.integers(0, n_in, T).astype(np.int64)
        x, x_dense = np.eye(n_in)[idx], np.zeros((T, 0))
    else:
        x = rng.uniform(-1, 1, (T, n_in))
        idx, x_dense = np.zeros(T, dtype=np.int64), x
    return T, x, idx, x_dense, rng.uniform(0, 1, (T, n_out)), rng.random(T) < masked


def finite_difference(loss: Callable[[], float], params: dict[str, np.ndarray], masks: dict[str, np.ndarray],
                      eps: float = 1e-6) -> dict[str, np.ndarray]:
    """Centred differences of loss() for every existing weight (masks[name] true), the others 0."""
    grad = {}
    for name, W in params.items():
        g = np.zeros_like(W)
        for idx in zip(*np.nonzero(masks[name])):
            old = W[idx]
            W[idx] = old + eps
            up = loss()
            W[idx] = old - eps
            down = loss()
            W[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grad[name] = g
    return grad
