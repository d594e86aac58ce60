"""Experiment 1 (Section 5.1, Table 1): the embedded Reber grammar, one trial (docs/paper.md, Exp 1).

3 training/test set pairs of 256 strings x 10 initialisations = 30 trials per row; training strings drawn at
random from the training set; activations reset at each string; weights updated online; success when every
symbol of every training and test string is predicted correctly; cap 100,000 strings. "Sequences to success"
counts the training strings presented up to the passing test.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from cerepro import seeding
from cerepro.generators import TASKS, reber
from cerepro.generators.base import as_sequences
from cerepro.protocols.common import Trial
from cerepro.protocols.reber import success
from cerepro.protocols.reber.kernel import Check, train_until_success
from cerepro.protocols.reber.settings import ReberRow


def set_pair(seed: int, index: int, cfg: ReberRow) -> tuple[list[str], list[str]]:
    """Training/test set pair `index` of a run: a function of (seed, index) only, shared by every row."""
    return reber.training_and_test_sets(seeding.stream(seed, "exp1-sets", index), cfg.train_set_size, cfg.test_set_size)


@functools.lru_cache(maxsize=32)
def _encoded(seed: int, pair: int, cfg: ReberRow) -> tuple:
    """(check strings, training pool) of a row's set pair, encoded once per process: every trial on the pair
    reads them (the arrays are never written; each trial has its own test order)."""
    train_strings, test_strings = set_pair(seed, pair, cfg)
    chk = reber.encode(sorted(set(train_strings) | set(test_strings)), targets=cfg.targets)  # distinct strings
    return chk, as_sequences(reber.encode(train_strings, targets=cfg.targets))


def run_trial(cfg: ReberRow, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None,
              keep_params: dict | None = None) -> dict:
    """Train one net of a row; return its trial record (see results.py for the fields).

    keep_params, if given, receives copies of the final weights ({"W_hid", "W_out"}; tools/trace_reber.py)."""
    tr = Trial(cfg, seed, row_key, trial, progress)
    train_rng, pair = tr.stream("train"), trial % cfg.set_pairs
    chk, pool = _encoded(seed, pair, cfg)
    check = Check(chk.input_index, chk.info["legal"], chk.lengths, np.arange(chk.n, dtype=np.int64))
    pool = pool if cfg.training_strings == "set" else None
    T_max = max(check.x_index.shape[1], pool.x_index.shape[1] if pool is not None else 0)
    seq_sse = np.zeros(cfg.max_sequences)  # (max_sequences,) error of each presentation: the learning curve
    fast = success.serves(cfg)  # the same test, cheaper (protocols/reber/success.py)
    loop, cost, bufs = success.prepare(tr.net, check) if fast else (None, None, None)

    def train(done: int, n: int) -> tuple[int, int]:
        if pool is None:  # variant: a fresh random string at every presentation
            chunk, order = as_sequences(TASKS["reber"].sample(train_rng, n, cfg)), np.arange(n, dtype=np.int64)
        else:
            chunk, order = pool, train_rng.integers(0, pool.lengths.shape[0], size=n).astype(np.int64)
        out_y = np.zeros((max(T_max, chunk.x_index.shape[1]), reber.N_SYMBOLS))
        if fast:
            return loop(tr.net, tr.ws, chunk, order, check, cfg.lr, cfg.check_every, done, seq_sse[done:], out_y, cost,
                        bufs)
        return train_until_success(tr.step, tr.net, tr.ws, chunk, order, check, cfg.lr, cfg.check_every, done, seq_sse[done:], out_y)

    status, done = tr.run(train, cfg.chunk)
    if keep_params is not None:
        keep_params.update(tr.net.weights())
    return tr.record(status, done, seq_sse[:done], set_pair=pair)
