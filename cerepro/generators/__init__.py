"""Task generators, one module per task family, and TASKS: one entry per task (docs/paper.md defines each).

The protocols draw a row's sequences through its entry (`TASKS[row.task].sample(rng, n, row)`) and size its
net by it (`.sizes(row)`); `cerepro sample TASK` calls `.generate(rng, n)` with the paper's defaults.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from cerepro.generators import adding, cerg, longlag, reber, temporal, twoseq, xor
from cerepro.generators.base import Batch


class Task(NamedTuple):
    """A task: its generator, and how a row's settings feed it and size the net."""

    generate: Callable[..., Batch]  # generate(rng, n, **params) -> Batch, a pure function
    description: str
    params: tuple[str, ...]  # the row settings handed to `generate` (and to `io`) as keywords
    io: Callable[..., tuple[int, int]]  # (input units, output units) from those settings

    def sample(self, rng: np.random.Generator, n: int, row: Any) -> Batch:
        """n sequences as a row's settings describe them."""
        return self.generate(rng, n, **{p: getattr(row, p) for p in self.params})

    def sizes(self, row: Any) -> tuple[int, int]:
        """(input units, output units) of a row's net."""
        return self.io(**{p: getattr(row, p) for p in self.params})


def _fixed(n_in: int, n_out: int) -> Callable[..., tuple[int, int]]:
    return lambda **_: (n_in, n_out)


TASKS: dict[str, Task] = {
    "reber": Task(reber.generate, "Exp 1: embedded Reber grammar, next-symbol prediction", ("targets",), _fixed(7, 7)),
    "2a": Task(longlag.generate_2a, "Exp 2a: noise-free long-lag sequences, p = 100", ("p",), lambda p: (p + 1, p + 1)),
    "2b": Task(longlag.generate_2b, "Exp 2b: random middle part, p = 100", ("p",), lambda p: (p + 1, p + 1)),
    "2c": Task(longlag.generate_2c, "Exp 2c: very long lags with distractors, p = q = 100", ("p", "q"),
               lambda p, q: (p + 4, 2)),
    "3a": Task(twoseq.generate_3a, "Exp 3a: two-sequence problem, T = 100, N = 3", ("T", "N"), _fixed(1, 1)),
    "3b": Task(twoseq.generate_3b, "Exp 3b: two-sequence problem with noisy information", ("T", "N"), _fixed(1, 1)),
    "3c": Task(twoseq.generate_3c, "Exp 3c: two-sequence problem with noisy targets 0.2/0.8", ("T", "N"), _fixed(1, 1)),
    "adding": Task(adding.generate_adding, "Exp 4: adding problem, T = 100", ("T",), _fixed(2, 1)),
    "multiplication": Task(adding.generate_multiplication, "Exp 5: multiplication problem, T = 100", ("T",), _fixed(2, 1)),
    "6a": Task(temporal.generate_6a, "Exp 6a: temporal order, 4 classes", (), _fixed(8, 4)),
    "6b": Task(temporal.generate_6b, "Exp 6b: temporal order, 8 classes", (), _fixed(8, 8)),
    "xor": Task(xor.generate, "Strongly delayed XOR (Section 6 limitation), T = 100", ("T",), _fixed(2, 1)),
    "cerg": Task(cerg.generate, "Gers et al. 2000: continual embedded Reber stream", ("targets",), _fixed(7, 7)),
}
