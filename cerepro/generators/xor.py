"""Strongly delayed XOR (Section 6, limitation 1): Exp 4's sequence layout with a Boolean target.

Not one of the 1997 experiments; docs/paper.md ("Strongly delayed XOR") has the full definition. Lengths and
marked steps are drawn as in the adding problem (generators.adding); each marked step carries a random bit
+1.0/-1.0, unmarked values are uniform noise in [-1, 1]. The target, at the last step only, is 1.0 if the two
bits differ, else 0.0. `info["bits"]` (n, 2) in sequence order, `info["marked"]` (n, 2) the marked steps.
"""

from __future__ import annotations

import numpy as np

from cerepro.generators.adding import pair_batch, sample_lengths, sample_marks
from cerepro.generators.base import Batch


def generate(rng: np.random.Generator, n: int, T: int = 100) -> Batch:
    """n delayed-XOR sequences; target 1.0 iff the two marked bits differ, at the last step."""
    lengths = sample_lengths(rng, n, T)  # (n,)
    Tmax = int(lengths.max())
    values = rng.uniform(-1.0, 1.0, size=(n, Tmax))  # (n, Tmax) noise on unmarked steps
    marked = sample_marks(rng, n, T)  # (n, 2) sorted
    bits = np.where(rng.integers(0, 2, size=(n, 2)) == 0, 1.0, -1.0)  # (n, 2) +-1
    rows = np.arange(n)
    values[rows[:, None], marked] = bits
    target = (bits[:, 0] != bits[:, 1]).astype(np.float64)  # (n,)
    return pair_batch(values, marked, lengths, target, {"bits": bits})
