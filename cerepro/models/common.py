"""The two update timings of the numpy references (SPEC section 8, update timing).

per_step=True applies each step's weight change at once (online, RTRL style); False sums the changes and
applies the sum at the sequence end. Changes are masked, so absent connections stay 0.
"""

from __future__ import annotations

import numpy as np


class OnlineUpdate:
    """Weight changes of one sequence for params {"W_hid", "W_out"} (changed in place)."""

    def __init__(self, params: dict[str, np.ndarray], masks: dict[str, np.ndarray], lr: float, per_step: bool):
        self.params, self.masks, self.lr, self.per_step = params, masks, lr, per_step
        self.acc = {name: np.zeros_like(W) for name, W in params.items()}  # summed changes (sequence-end mode)

    def add(self, d_hid: np.ndarray, d_out: np.ndarray) -> None:
        """One step's changes (the negative gradient, before the learning rate)."""
        for name, d in (("W_hid", d_hid), ("W_out", d_out)):
            if self.per_step:
                self.params[name] += self.lr * d * self.masks[name]
            else:
                self.acc[name] += d

    def finish(self) -> None:
        """End of the sequence: apply the summed changes (sequence-end mode)."""
        if not self.per_step:
            for name, d in self.acc.items():
                self.params[name] += self.lr * d * self.masks[name]
