"""Exp 1 (embedded Reber grammar) generator, checked against an independent acceptor written here.

Two restatements of the grammar (docs/paper.md, Exp 1; Cleeremans et al. 1989 / Fahlman 1991) that do not import
cerepro.generators.reber's tables: a regular expression and a DFA table; they are cross-checked against each other.
"""

import re
from collections import deque
from itertools import product

import numpy as np
import pytest

from cerepro.generators.reber import ALPHABET, encode, generate, legal_successors, training_and_test_sets

# Regex: from s3 the inner string reaches the end as (T*VPX)* T*V(V|PS); from s1 as TS*X(S|X<s3>) | P<s3>.
_S3 = r"(?:T*VPX)*T*V(?:V|PS)"
REBER = rf"B(?:TS*X(?:S|X{_S3})|P{_S3})E"
EMBEDDED = re.compile(rf"B(?:T{REBER}T|P{REBER}P)E")

_INNER = {  # Reber automaton (Figure 3): state -> {symbol: next state}
    "s1": {"T": "s2", "P": "s3"},
    "s2": {"S": "s2", "X": "s4"},
    "s3": {"T": "s3", "V": "s5"},
    "s4": {"X": "s3", "S": "s6"},
    "s5": {"P": "s4", "V": "s6"},
}


def embedded_dfa():
    """DFA of the embedded grammar: the outer branch symbol is remembered in the state name."""
    d = {"start": {"B": "outer"}, "outer": {"T": "T:b", "P": "P:b"}, "close": {"E": "accept"}, "accept": {}}
    for br in "TP":
        d[f"{br}:b"] = {"B": f"{br}:s1"}
        for s, out in _INNER.items():
            d[f"{br}:{s}"] = {c: f"{br}:{t}" for c, t in out.items()}
        d[f"{br}:s6"] = {"E": f"{br}:end"}
        d[f"{br}:end"] = {br: "close"}
    return d


DFA = embedded_dfa()


def run(string, state="start"):
    for c in string:
        state = DFA.get(state, {}).get(c)
        if state is None:
            return None
    return state


def accepts(string):
    return run(string) == "accept"


def dfa_legal(prefix):
    """Symbols c such that some accepted string starts with prefix + c (every DFA state can reach accept)."""
    return {c for c in ALPHABET if run(prefix + c) is not None}


def all_strings(max_len):
    out, queue = [], deque([("", "start")])
    while queue:
        s, st = queue.popleft()
        if st == "accept":
            out.append(s)
        if len(s) < max_len:
            queue.extend((s + c, t) for c, t in DFA[st].items())
    return out


def test_regex_and_dfa_agree():
    strings = all_strings(14)
    assert min(map(len, strings)) == 9 and "BTBTXSETE" in strings and "BPBPVVEPE" in strings
    for s in strings:
        assert EMBEDDED.fullmatch(s)
        for i, c in product(range(len(s)), ALPHABET):  # every one-symbol substitution and deletion
            for m in (s[:i] + c + s[i + 1 :], s[:i] + s[i + 1 :]):
                assert bool(EMBEDDED.fullmatch(m)) == accepts(m), m


def test_samples_are_accepted_and_legal_sets_match():
    rng = np.random.default_rng(0)
    b = generate(rng, 500)
    for i, s in enumerate(b.symbols):
        assert EMBEDDED.fullmatch(s) and accepts(s)
        assert s[1] == s[-2]  # the long-lag symbol
        L = len(s) - 1
        assert b.lengths[i] == L
        sets = legal_successors(s)
        assert len(sets) == L
        for t in range(L):
            assert set(sets[t]) == dfa_legal(s[: t + 1]), (s, t)
            units = sorted(ALPHABET.index(c) for c in dfa_legal(s[: t + 1]))
            assert np.flatnonzero(b.info["legal"][i, t]).tolist() == units
        assert not b.info["legal"][i, L:].any()


def test_batch_fields():
    b = generate(np.random.default_rng(1), 200)
    Tm = int(b.lengths.max())
    assert b.inputs is None and b.n_in == 7
    assert b.input_index.shape == (200, Tm) and b.input_index.dtype == np.int64
    assert b.targets.shape == (200, Tm, 7) and b.targets.dtype == np.float64
    assert b.info["legal"].shape == (200, Tm, 7) and b.info["legal"].dtype == bool
    for i, s in enumerate(b.symbols):
        L = len(s) - 1
        assert [ALPHABET[k] for k in b.input_index[i, :L]] == list(s[:-1])
        assert np.all(b.input_index[i, L:] == -1)
        assert [ALPHABET[k] for k in b.targets[i, :L].argmax(axis=1)] == list(s[1:])  # actual next symbol
        np.testing.assert_array_equal(b.targets[i, :L].sum(axis=1), 1.0)
        assert np.all(b.targets[i, L:] == 0.0)
        assert b.target_mask[i, :L].all() and not b.target_mask[i, L:].any()


def test_legal_target_coding():
    strings = generate(np.random.default_rng(2), 50).symbols
    b = encode(list(strings), targets="legal")
    np.testing.assert_array_equal(b.targets, b.info["legal"].astype(float))
    with pytest.raises(ValueError):
        encode(list(strings), targets="soft")


def test_choice_probabilities():
    syms = generate(np.random.default_rng(3), 4000).symbols
    assert abs(np.mean([s[1] == "T" for s in syms]) - 0.5) < 0.03  # outer branch
    assert abs(np.mean([s[3] == "T" for s in syms]) - 0.5) < 0.03  # first inner choice
    assert len(set(syms)) > 300


def test_training_and_test_sets():
    train, test = training_and_test_sets(np.random.default_rng(4))
    assert len(train) == 256 and len(test) == 256
    assert not set(train) & set(test)
    assert all(accepts(s) for s in train + test)
    assert (train, test) == training_and_test_sets(np.random.default_rng(4))
    assert (train, test) != training_and_test_sets(np.random.default_rng(5))


def test_determinism():
    b1, b2 = generate(np.random.default_rng(6), 40), generate(np.random.default_rng(6), 40)
    assert b1.symbols == b2.symbols
    for f in ("input_index", "targets", "target_mask", "lengths"):
        np.testing.assert_array_equal(getattr(b1, f), getattr(b2, f))
    np.testing.assert_array_equal(b1.info["legal"], b2.info["legal"])
    assert generate(np.random.default_rng(7), 40).symbols != b1.symbols
