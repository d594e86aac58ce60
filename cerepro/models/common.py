"""What every model shares: the built net its kernels take, the numpy references' update timing and sigmoids.

A net is a `Net` (weights, 0/1 masks, the model's fixed `setup` and scratch `ws`, NamedTuples of its kernel
module) plus its compiled `step`, the common model interface of the protocol kernels:

    step(net, x_index, x_dense, targets, target_mask, length, lr, learn, out_y) -> summed squared error

one sequence from reset state (x_index (T,) one-hot inputs if x_dense is (T, 0), else x_dense (T, I); targets
(T, K); target_mask (T,) bool); outputs go to out_y (T, K); the weights learn in place if `learn`.
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
    ws: Any  # the model's scratch arrays and carried state (a NamedTuple of arrays)

    def weights(self) -> dict[str, np.ndarray]:
        """Copies of the weights: {"W_hid", "W_out"}."""
        return {"W_hid": self.W_hid.copy(), "W_out": self.W_out.copy()}


class Built(NamedTuple):
    """A net and its compiled step (see the module docstring)."""

    net: Net
    step: Any  # numba dispatcher


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
            self.net.W_hid += self.lr * self.acc["W_hid"] * self.net.M_hid
            self.net.W_out += self.lr * self.acc["W_out"] * self.net.M_out
