"""Task generators, one module per task family; TASKS maps the names `cerepro sample` accepts to them."""

from __future__ import annotations

from typing import Callable

from cerepro.tasks import adding, cerg, longlag, reber, temporal, twoseq, xor
from cerepro.tasks.base import Batch

# name -> (generator, one-line description); every generator is generate(rng, n, **params) -> Batch
TASKS: dict[str, tuple[Callable[..., Batch], str]] = {
    "reber": (reber.generate, "Exp 1: embedded Reber grammar, next-symbol prediction"),
    "2a": (longlag.generate_2a, "Exp 2a: noise-free long-lag sequences, p = 100"),
    "2b": (longlag.generate_2b, "Exp 2b: random middle part, p = 100"),
    "2c": (longlag.generate_2c, "Exp 2c: very long lags with distractors, p = q = 100"),
    "3a": (twoseq.generate_3a, "Exp 3a: two-sequence problem, T = 100, N = 3"),
    "3b": (twoseq.generate_3b, "Exp 3b: two-sequence problem with noisy information"),
    "3c": (twoseq.generate_3c, "Exp 3c: two-sequence problem with noisy targets 0.2/0.8"),
    "adding": (adding.generate_adding, "Exp 4: adding problem, T = 100"),
    "multiplication": (adding.generate_multiplication, "Exp 5: multiplication problem, T = 100"),
    "6a": (temporal.generate_6a, "Exp 6a: temporal order, 4 classes"),
    "6b": (temporal.generate_6b, "Exp 6b: temporal order, 8 classes"),
    "xor": (xor.generate, "Strongly delayed XOR (Section 6 limitation), T = 100"),
    "cerg": (cerg.generate, "Gers et al. 2000: continual embedded Reber stream"),
}
