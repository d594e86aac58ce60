"""Continual embedded Reber grammar streams, checked against an independent automaton written here."""

import re

import numpy as np
import pytest

from cerepro.generators.cerg import generate

SYMBOLS = "BTPSXVE"  # unit order of the Reber task
_S3 = r"(?:T*VPX)*T*V(?:V|PS)"
REBER = rf"B(?:TS*X(?:S|X{_S3})|P{_S3})E"
EMBEDDED = rf"B(?:T{REBER}T|P{REBER}P)E"

# Continual automaton as (state, symbol, next) triples; after the final E ("done") the next string's B follows.
_EDGES = [("done", "B", "o"), ("o", "T", "Tb"), ("o", "P", "Pb"), ("close", "E", "done")]
_INNER = [("1", "T", "2"), ("1", "P", "3"), ("2", "S", "2"), ("2", "X", "4"), ("3", "T", "3"), ("3", "V", "5"),
          ("4", "X", "3"), ("4", "S", "6"), ("5", "P", "4"), ("5", "V", "6")]  # fmt: skip
for _br in "TP":
    _EDGES += [(_br + "b", "B", _br + "1"), (_br + "6", "E", _br + "e"), (_br + "e", _br, "close")]
    _EDGES += [(_br + a, c, _br + z) for a, c, z in _INNER]
DELTA = {(a, c): z for a, c, z in _EDGES}


def legal_sets(stream):
    """Per step t: the set of symbols the automaton allows after stream[: t + 1]."""
    state, out = "done", []
    for c in stream[:-1]:
        state = DELTA[(state, c)]  # KeyError = illegal stream
        out.append({s for s in SYMBOLS if (state, s) in DELTA})
    return out


@pytest.mark.parametrize("targets", ["one-hot", "legal"])
def test_streams(targets):
    n, k = 6, 40
    b = generate(np.random.default_rng(0), n, n_strings=k, targets=targets)
    Tm = int(b.lengths.max())
    assert b.inputs is None and b.n_in == 7
    assert b.input_index.shape == (n, Tm) and b.input_index.dtype == np.int64
    assert b.targets.shape == (n, Tm, 7) and b.targets.dtype == np.float64
    assert b.info["legal"].shape == (n, Tm, 7) and b.info["legal"].dtype == bool
    assert b.info["boundaries"].shape == (n, k)
    for i, s in enumerate(b.symbols):
        assert re.fullmatch(rf"(?:{EMBEDDED}){{{k}}}", s)
        L = len(s) - 1
        assert b.lengths[i] == L
        bounds = list(b.info["boundaries"][i]) + [len(s)]
        assert bounds[0] == 0
        for a, z in zip(bounds[:-1], bounds[1:]):
            assert re.fullmatch(EMBEDDED, s[a:z])  # each piece is one embedded string
        assert [SYMBOLS[u] for u in b.input_index[i, :L]] == list(s[:-1])
        assert np.all(b.input_index[i, L:] == -1)
        assert b.target_mask[i, :L].all() and not b.target_mask[i, L:].any()
        sets = legal_sets(s)
        for t in range(L):
            assert {SYMBOLS[u] for u in np.flatnonzero(b.info["legal"][i, t])} == sets[t], (i, t)
        for a in bounds[1:-1]:  # across a boundary: the E before it must be followed by B only
            assert s[a - 1] == "E" and sets[a - 1] == {"B"}
        if targets == "one-hot":
            assert [SYMBOLS[u] for u in b.targets[i, :L].argmax(axis=1)] == list(s[1:])
            np.testing.assert_array_equal(b.targets[i, :L].sum(axis=1), 1.0)
        else:
            np.testing.assert_array_equal(b.targets[i, :L], b.info["legal"][i, :L].astype(float))
        assert np.all(b.targets[i, L:] == 0.0)


def test_no_reset_between_strings():
    b = generate(np.random.default_rng(1), 1, n_strings=3)
    s = b.symbols[0]
    a = b.info["boundaries"][0, 1]
    assert s[a - 2 : a + 2] in {"TEBT", "TEBP", "PEBT", "PEBP"}
    assert b.target_mask[0, a - 1]  # the B after the E is predicted
    assert len(s) - 1 == b.lengths[0]


def test_determinism():
    b1 = generate(np.random.default_rng(2), 3, n_strings=10)
    b2 = generate(np.random.default_rng(2), 3, n_strings=10)
    assert b1.symbols == b2.symbols
    for f in ("input_index", "targets", "target_mask", "lengths"):
        np.testing.assert_array_equal(getattr(b1, f), getattr(b2, f))
    for key in ("legal", "boundaries"):
        np.testing.assert_array_equal(b1.info[key], b2.info[key])
    assert generate(np.random.default_rng(3), 3, n_strings=10).symbols != b1.symbols


def test_bad_arguments():
    with pytest.raises(ValueError):
        generate(np.random.default_rng(0), 1, n_strings=0)
    with pytest.raises(ValueError):
        generate(np.random.default_rng(0), 1, targets="soft")
