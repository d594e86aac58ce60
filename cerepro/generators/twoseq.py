"""Experiment 3 (Section 5.3): Bengio et al.'s 2-sequence problem, tasks 3a, 3b, 3c (docs/paper.md, Exp 3).

One real-valued input line; class 1 or 2 with probability 0.5 (`info["sign"]` +1 / -1). The first N elements
are +1.0 / -1.0, later elements Gaussian (mean 0, variance 0.2); lengths uniform in T .. T + T//10; one target
at the last step. 3a: target 1.0 / 0.0. 3b: as 3a with Gaussian noise (variance 0.2) on the first N elements.
3c: as 3a (informative elements noise-free), targets 0.2 / 0.8 plus Gaussian noise of variance 0.1.
`info["clean_target"]` (n,) holds the noise-free target, `info["target"]` the one in `targets`.
"""

from __future__ import annotations

import numpy as np

from cerepro.generators.base import Batch, end_batch

VARIANTS = ("a", "b", "c")


def generate(
    rng: np.random.Generator,
    n: int,
    T: int = 100,
    N: int = 3,
    variant: str = "a",
    noise_var: float = 0.2,
    target_noise_var: float = 0.1,
) -> Batch:
    """n sequences of the 2-sequence problem, task 3a, 3b or 3c."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    if not 1 <= N <= T:
        raise ValueError("need 1 <= N <= T")
    lengths = rng.integers(T, T + T // 10 + 1, size=n).astype(np.int64)  # (n,) in [T, T + T//10]
    Tmax = int(lengths.max())
    sign = np.where(rng.integers(0, 2, size=n) == 0, 1.0, -1.0)  # (n,) +1 class 1, -1 class 2
    x = rng.normal(0.0, np.sqrt(noise_var), size=(n, Tmax))  # (n, Tmax) noise everywhere ...
    if variant == "b":
        x[:, :N] += sign[:, None]  # ... kept on the informative elements too (3b)
    else:
        x[:, :N] = sign[:, None]  # ... replaced by the clean +-1 on the first N elements (3a, 3c)
    steps = np.arange(Tmax)[None, :]
    x[steps >= lengths[:, None]] = 0.0  # zero padding
    if variant == "c":
        clean = np.where(sign > 0, 0.2, 0.8)  # (n,)
        target = clean + rng.normal(0.0, np.sqrt(target_noise_var), size=n)  # (n,)
    else:
        clean = np.where(sign > 0, 1.0, 0.0)
        target = clean.copy()
    return end_batch(target[:, None], lengths, Tmax, inputs=x[:, :, None], n_in=1,  # inputs (n, Tmax, 1); target at the end
                     info={"sign": sign, "clean_target": clean, "target": target})


def generate_3a(rng: np.random.Generator, n: int, T: int = 100, N: int = 3) -> Batch:
    """Task 3a."""
    return generate(rng, n, T=T, N=N, variant="a")


def generate_3b(rng: np.random.Generator, n: int, T: int = 100, N: int = 3) -> Batch:
    """Task 3b."""
    return generate(rng, n, T=T, N=N, variant="b")


def generate_3c(rng: np.random.Generator, n: int, T: int = 100, N: int = 3) -> Batch:
    """Task 3c."""
    return generate(rng, n, T=T, N=N, variant="c")
