"""Strongly delayed XOR: an adding-problem layout (Section 5.4) with a Boolean target.

Not one of the 1997 experiments; an extra long-lag benchmark built on Exp 4's sequence layout. Two input
lines: unit 0 = value, unit 1 = marker. Length L uniform over the integers T .. T + floor(T/10), inclusive.
Marked steps are drawn exactly as in the adding problem (cerepro.tasks.adding.sample_marks): one among the
first ten pairs (0-based steps 0..9), one among the first T//2 - 1 still-unmarked pairs (0-based steps
0 .. T//2 - 1 minus the first), i.e. "in the first half". Markers: 1.0 at the two marked steps, -1.0 at the
first and last step unless marked, 0.0 elsewhere (as in Exp 4).

Values: each marked step carries a random bit, +1.0 or -1.0 with probability 0.5 each, independently (a
marked first step keeps its bit: there is no analogue of Exp 4's "X1 := 0" here). Unmarked values are
uniform noise in [-1, 1] (our choice: it has the same range as the bits, so the value line alone does not
reveal which steps are marked). The target, only at the last step, is 1.0 if the two bits differ, else 0.0.
`info["bits"]` (n, 2) holds the bits in sequence order and `info["marked"]` (n, 2) the sorted marked steps.
"""

from __future__ import annotations

import numpy as np

from cerepro.tasks.adding import marker_line, sample_lengths, sample_marks
from cerepro.tasks.base import Batch


def generate(rng: np.random.Generator, n: int, T: int = 100) -> Batch:
    """n delayed-XOR sequences; target 1.0 iff the two marked bits differ, at the last step."""
    lengths = sample_lengths(rng, n, T)  # (n,)
    Tmax = int(lengths.max())
    values = rng.uniform(-1.0, 1.0, size=(n, Tmax))  # (n, Tmax) noise on unmarked steps
    marked = sample_marks(rng, n, T)  # (n, 2) sorted
    bits = np.where(rng.integers(0, 2, size=(n, 2)) == 0, 1.0, -1.0)  # (n, 2) +-1
    rows = np.arange(n)
    values[rows[:, None], marked] = bits
    values[np.arange(Tmax)[None, :] >= lengths[:, None]] = 0.0  # zero padding
    markers = marker_line(marked, lengths, Tmax)  # (n, Tmax)
    target = (bits[:, 0] != bits[:, 1]).astype(np.float64)  # (n,)
    targets = np.zeros((n, Tmax, 1))  # (n, Tmax, 1)
    targets[rows, lengths - 1, 0] = target
    mask = np.zeros((n, Tmax), dtype=bool)  # (n, Tmax): last step only
    mask[rows, lengths - 1] = True
    return Batch(
        input_index=None,
        inputs=np.stack([values, markers], axis=2),  # (n, Tmax, 2): (value, marker)
        targets=targets,
        target_mask=mask,
        lengths=lengths,
        n_in=2,
        info={"marked": marked, "bits": bits, "target": target},
    )
