"""Seeds: one integer in, independent named random streams out.

A trial's streams are derived from (run seed, row name, trial index) only, so a trial's numbers do not
depend on which worker ran it, on the order of trials, or on which other rows are in the run. The data of
a training/test set pair is derived from (run seed, set index) only, so every row of a table sees the same
sets (as the paper's "3 different training/test set pairs" suggests).
"""

from __future__ import annotations

import zlib

import numpy as np


def _name_key(name: str) -> int:
    """A stable 32-bit integer for a string (Python's hash() is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, *path: str | int) -> np.random.Generator:
    """Return the random stream named by `path` under `seed`, e.g. stream(1, "row:lstm-4x1", 7, "init")."""
    key = [int(seed)] + [p if isinstance(p, int) else _name_key(p) for p in path]
    return np.random.default_rng(np.random.SeedSequence(key))


def trial_seed(seed: int, row: str, trial: int) -> int:
    """A single integer that identifies a trial's streams; recorded in every trial record."""
    return int(np.random.SeedSequence([int(seed), _name_key(row), int(trial)]).generate_state(1)[0])
