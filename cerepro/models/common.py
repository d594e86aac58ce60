"""What every model shares: the built net its kernels take, the numpy references' update timing and sigmoids.

A built net is a `Net` (weights, 0/1 masks and the model's fixed `setup`), its workspace `ws` (scratch arrays
and carried state), both NamedTuples of its kernel module, and its compiled `step`, the common model interface
of the protocol kernels:

    step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y) -> summed squared error

one sequence from reset state (x_index (T,) one-hot inputs if x_dense is (T, 0), else x_dense (T, I); targets
(T, K); target_mask (T,) bool); outputs go to out_y (T, K); the weights learn in place if `learn`. A step
that learns may leave out_y[t] unwritten where target_mask[t] is False (the LSTM steps do: the output units
feed nothing back, and Exps 2c-6 have a target at the last step only); a step that does not learn writes
every t < length. No two arrays a step takes may share memory (most steps compile with numba's `noalias`:
models/numba_noalias.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Net(NamedTuple):
    """A built net, as the compiled kernels take it."""

    W_hid: np.ndarray  # (U, M) weights into the hidden (recurrent) units, trained in place
    W_out: np.ndarray  # (K, Mo) weights into the output units
    M_hid: np.ndarray  # (U, M) 0/1: which connections exist (an absent one is a weight fixed at 0)
    M_out: np.ndarray  # (K, Mo)
    setup: Any  # the model's sizes and switches (a NamedTuple of ints, bools, floats)

    @classmethod
    def of(cls, params: dict[str, np.ndarray], masks: dict[str, np.ndarray], setup: Any = None) -> Net:
        """A net sharing the arrays of the dicts {"W_hid", "W_out"} (the numpy references need no setup)."""
        return cls(params["W_hid"], params["W_out"], masks["W_hid"], masks["W_out"], setup)

    def weights(self) -> dict[str, np.ndarray]:
        """Copies of the weights: {"W_hid", "W_out"}."""
        return {"W_hid": self.W_hid.copy(), "W_out": self.W_out.copy()}


class Built(NamedTuple):
    """A net, its workspace and its compiled step (see the module docstring). The workspace is not part of the
    Net: a kernel that took it out of a tuple argument at every call would pay a reference count per array."""

    net: Net
    ws: Any  # the model's scratch arrays and carried state (a NamedTuple of arrays)
    step: Any  # numba dispatcher


def uniform_weights(rng: np.random.Generator, masks: dict[str, np.ndarray], r: float) -> dict[str, np.ndarray]:
    """Weights uniform in [-r, r] where a connection exists, 0 elsewhere (W_hid drawn first, then W_out)."""
    return {name: rng.uniform(-r, r, size=mask.shape) * mask for name, mask in masks.items()}


def output_mask(n_out: int, n_in: int, n_sources: int, bias: bool, inputs: bool) -> np.ndarray:
    """(K, 1 + I + n_sources) 0/1: an output layer fed by every source unit (cells or hidden units), and by a bias
    and the inputs if asked; columns [bias | x(t) | sources]."""
    out = np.zeros((n_out, 1 + n_in + n_sources))
    out[:, 1 + n_in :] = 1.0
    if bias:
        out[:, 0] = 1.0
    if inputs:
        out[:, 1 : 1 + n_in] = 1.0
    return out


def count_weights(masks: dict[str, np.ndarray]) -> int:
    """The number of trainable weights: the connections that exist."""
    return int(sum(m.sum() for m in masks.values()))


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class OnlineUpdate:
    """The two update timings of the numpy references for a net's W_hid and W_out (changed in place).

    per_step=True applies each step's change at once (online, RTRL style); False sums the changes and applies
    the sum at the sequence end (docs/decisions.md). Changes are masked, so absent connections stay 0."""

    def __init__(self, net: Net, lr: float, per_step: bool):
        self.net, self.lr, self.per_step = net, lr, per_step
        self.acc = {"W_hid": np.zeros_like(net.W_hid), "W_out": np.zeros_like(net.W_out)}  # summed changes

    def add(self, d_hid: np.ndarray, d_out: np.ndarray) -> None:
        """One step's changes (the negative gradient, before the learning rate)."""
        for W, M, name, d in ((self.net.W_hid, self.net.M_hid, "W_hid", d_hid), (self.net.W_out, self.net.M_out, "W_out", d_out)):
            if self.per_step:
                W += self.lr * d * M
            else:
                self.acc[name] += d

    def finish(self) -> None:
        """End of the sequence: apply the summed changes (sequence-end mode)."""
        if not self.per_step:
            for W, M, name in ((self.net.W_hid, self.net.M_hid, "W_hid"), (self.net.W_out, self.net.M_out, "W_out")):
                W += self.lr * self.acc[name] * M
