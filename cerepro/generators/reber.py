"""Experiment 1 (Section 5.1): the embedded Reber grammar.

The Reber grammar is a finite automaton (Figure 3 of the paper; the standard Cleeremans/Fahlman diagram,
docs/paper.md, Exp 1). The embedded grammar wraps one Reber string: B, then T or P, then a Reber string, then the
same T or P again, then E. Each choice point takes each edge with probability 0.5. Inputs and outputs are
local (one-hot) over the 7 symbols; at step t the net sees symbol t and must predict symbol t+1.

Targets: `one-hot` (the actual next symbol) or `legal` (every legal successor set to 1). Either way
`info["legal"]` holds the set of legal successors, which is what the paper's success criterion checks.
"""

from __future__ import annotations

import numpy as np

from cerepro.generators.base import Batch, pad

ALPHABET = "BTPSXVE"  # unit k <-> ALPHABET[k]
INDEX = {c: k for k, c in enumerate(ALPHABET)}
N_SYMBOLS = len(ALPHABET)  # input and output units

# Reber grammar as (state -> ((symbol, next state), (symbol, next state))); state 0 emits B, state 6 emits E.
REBER_EDGES: dict[int, tuple[tuple[str, int], ...]] = {
    1: (("T", 2), ("P", 3)),
    2: (("S", 2), ("X", 4)),
    3: (("T", 3), ("V", 5)),
    4: (("X", 3), ("S", 6)),
    5: (("P", 4), ("V", 6)),
}
TARGET_CODINGS = ("one-hot", "legal")


def reber_string(rng: np.random.Generator) -> str:
    """One string of the (plain) Reber grammar, B...E."""
    out, state = ["B"], 1
    while state != 6:
        symbol, state = REBER_EDGES[state][rng.integers(2)]
        out.append(symbol)
    out.append("E")
    return "".join(out)


def embedded_reber_string(rng: np.random.Generator) -> str:
    """One string of the embedded Reber grammar: B (T|P) <Reber string> (same T|P) E."""
    branch = "TP"[rng.integers(2)]
    return "B" + branch + reber_string(rng) + branch + "E"


def legal_successors(string: str) -> list[str]:
    """For each position t < len-1, the set of symbols that may legally follow string[:t+1]."""
    sets: list[str] = ["TP", "B"]  # after the outer B; after the branch symbol
    state = 1  # inner automaton state after the inner B
    for symbol in string[3:-2]:  # inner symbols after the inner B, up to and including the inner E
        if symbol == "E":
            break
        sets.append("".join(s for s, _ in REBER_EDGES[state]))
        state = dict(REBER_EDGES[state])[symbol]
    sets.append("E")  # state 6: the inner string must end
    sets.append(string[1])  # after the inner E: the branch symbol again (the long-lag prediction)
    sets.append("E")  # after the second branch symbol
    return sets


def encode(strings: list[str], targets: str = "one-hot") -> Batch:
    """Turn embedded Reber strings into a Batch (inputs: symbols 0..L-2, targets: symbols 1..L-1)."""
    if targets not in TARGET_CODINGS:
        raise ValueError(f"targets must be one of {TARGET_CODINGS}, not {targets!r}")
    K = len(ALPHABET)
    idx, tgt, legal = [], [], []
    for s in strings:
        codes = np.array([INDEX[c] for c in s], dtype=np.int64)
        L = len(s) - 1  # steps with a prediction
        lg = np.zeros((L, K), dtype=bool)
        for t, succ in enumerate(legal_successors(s)):
            lg[t, [INDEX[c] for c in succ]] = True
        one_hot = np.zeros((L, K))
        one_hot[np.arange(L), codes[1:]] = 1.0
        idx.append(codes[:-1])
        tgt.append(one_hot if targets == "one-hot" else lg.astype(np.float64))
        legal.append(lg)
    lengths = np.array([len(s) - 1 for s in strings], dtype=np.int64)
    input_index = pad(idx, fill=-1)
    return Batch(
        input_index=input_index,  # (n, T)
        inputs=None,
        targets=pad(tgt),  # (n, T, 7)
        target_mask=input_index >= 0,  # (n, T): a target at every step
        lengths=lengths,
        n_in=K,
        symbols=tuple(strings),
        info={"legal": pad(legal, fill=False)},  # (n, T, 7) bool
    )


def generate(rng: np.random.Generator, n: int, targets: str = "one-hot") -> Batch:
    """n random embedded Reber strings, encoded for next-symbol prediction."""
    return encode([embedded_reber_string(rng) for _ in range(n)], targets=targets)


def training_and_test_sets(rng: np.random.Generator, n_train: int = 256, n_test: int = 256) -> tuple[list[str], list[str]]:
    """Fahlman's protocol: n_train random strings, then n_test random strings not in the training set."""
    train = [embedded_reber_string(rng) for _ in range(n_train)]
    seen = set(train)
    test: list[str] = []
    while len(test) < n_test:
        s = embedded_reber_string(rng)
        if s not in seen:
            test.append(s)
    return train, test
