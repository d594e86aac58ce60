"""Experiment 2 (Section 5.2, Tables 2 and 3): long time lags, one trial (docs/paper.md, Exp 2).

Training sequences are drawn at random (2a: one of the two fixed sequences; 2b: one of two classes with a random
middle; 2c: generated on-line), activations are reset at each sequence, weights change online; stop at success
or after 5 million presentations. Success is ABS(tol) on 10,000 successive sequences; the faithful reading
(`success_test: online`) scores the training presentations and counts those BEFORE the passing window (Table 2's
LSTM mean of 5,040 is below the window's 10,000; docs/decisions.md). With sequential construction (2a/2b) the net
starts without its cell and input gate, which are added at a plateau (`cell_added_at`). Every trial ends with a
frozen test on `test_set_size` fresh sequences from stream "test".
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from cerepro.models.common import Net
from cerepro.models.lstm97 import frozen, frozen_batch
from cerepro.models.lstm97 import kernel as lstm97_kernel
from cerepro.protocols.common import DIVERGED, SUCCESS, Trial
from cerepro.protocols.longlag import kernel
from cerepro.protocols.longlag.kernel import Compact
from cerepro.protocols.longlag.source import Source
from cerepro.protocols.longlag.settings import SUCCESS_TESTS, LongLagRow

def _scratch(T: int, K: int) -> kernel.Scratch:
    return kernel.Scratch(np.zeros((T, K)), np.zeros((T, K)), np.zeros(T, dtype=np.bool_))


def run_trial(cfg: LongLagRow, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None,
              keep_params: dict | None = None) -> dict:
    """Train one net of a row; return its trial record (see results.py and summarize for the fields).

    keep_params, if given, receives copies of the final weights (as online.run_trial's; tools/trace_gates.py)."""
    tr = Trial(cfg, seed, row_key, trial, progress)
    net, n_in, n_out = tr.net, *cfg.sizes()
    growth = kernel.Growth(net.M_hid.copy(), net.M_out.copy(), net.W_hid.copy(), net.W_out.copy())  # the final net
    if cfg.sequential_construction:  # the pre-cell net: outputs fed by bias/inputs only, no hidden layer
        for M, W, cols in ((net.M_hid, net.W_hid, slice(None)), (net.M_out, net.W_out, slice(1 + n_in, None))):
            M[:, cols] = 0.0
            W[:, cols] = 0.0
    source = Source(cfg, tr.stream("train"))
    if cfg.success_test == "test-set":
        check, check_order = Source(cfg, tr.stream("test")).take(cfg.test_set_size), np.arange(cfg.test_set_size, dtype=np.int64)
    else:
        check, check_order = Compact(np.zeros((0, 1), np.int64), np.zeros((0, 1), np.int64), np.zeros((0, 1), bool),
                                     np.zeros(0, np.int64)), np.zeros(0, dtype=np.int64)
    rule = kernel.Rule(cfg.tolerance, cfg.success_window, SUCCESS_TESTS.index(cfg.success_test), cfg.check_every,
                       cfg.plateau_window, cfg.plateau_min_improvement)
    chk_err = np.zeros(check_order.shape[0])
    state = kernel.new_state(cfg.sequential_construction)
    seq_sse = np.zeros(cfg.max_sequences, dtype=np.float32)  # (max_sequences,) the learning curve; pages touched lazily
    scratch = _scratch(0, n_out)

    def train(done: int, n: int) -> tuple[int, int]:
        nonlocal scratch
        chunk = source.take(n)
        T = max(chunk.x_index.shape[1], check.x_index.shape[1])
        if scratch.out_y.shape[0] < T:  # scratch outputs and dense targets, zeroed; kept across chunks
            scratch = _scratch(T, n_out)
        return kernel.train_until_success(tr.step, net, tr.ws, chunk, cfg.lr, rule, growth, check, check_order, done, state,
                                          seq_sse[done:], scratch, chk_err)

    status, done = tr.run(train, cfg.chunk)
    added = int(state[0]["added_at"])
    final = final_test(cfg, net, tr.ws, tr.step, tr.stream("test")) if status != DIVERGED else {}
    if keep_params is not None:
        keep_params.update(net.weights())
    return tr.record(status, done - cfg.uncounted() if status == SUCCESS else done, seq_sse[:done],  # before the passing window
                     presented=done, cell_added_at=added if added >= 0 else None, **final)


def in_lanes(step, seqs: Compact) -> bool:
    """Whether a frozen test of these sequences runs them in lanes (kernel.end_errors): the 1997 step, every
    sequence scored at its last step only (2c)."""
    n = seqs.lengths.shape[0]
    return lstm97_kernel.is_1997_step(step) and bool(np.all(seqs.score.sum(axis=1) == 1)
                                               and np.all(seqs.score[np.arange(n), seqs.lengths - 1]))


def passing(cfg: LongLagRow, net: Net, ws, step, seqs: Compact) -> np.ndarray:
    """Each sequence's largest absolute error on the scored steps, by the frozen net; a sequence passes ABS(tol)
    when it is below cfg.tolerance."""
    T, K = seqs.x_index.shape[1], net.W_out.shape[0]
    err = np.zeros(seqs.lengths.shape[0])
    if in_lanes(step, seqs):  # the same errors, cheaper
        kernel.end_errors(net, ws, seqs, frozen_batch.batch(net), frozen.fast_exp(), err)
    else:
        kernel.evaluate(step, net, ws, seqs, np.arange(seqs.lengths.shape[0]), cfg.tolerance, False, _scratch(T, K), err)
    return err


def final_test(cfg: LongLagRow, net: Net, ws, step, rng: np.random.Generator) -> dict:
    """The trained net on `test_set_size` fresh sequences (frozen): share passing ABS, worst and mean error."""
    source = Source(cfg, rng)
    # in pieces: 10,000 sequences of q = 1000 are 80 MB per array
    err = np.concatenate([passing(cfg, net, ws, step, source.take(min(1000, cfg.test_set_size - start)))
                          for start in range(0, cfg.test_set_size, 1000)])
    n_ok = int(np.sum(err < cfg.tolerance))
    return {"test_ok_pct": 100.0 * n_ok / err.size, "test_max_err": float(err.max()), "test_mean_err": float(err.mean())}


def summarize(cfg: LongLagRow, records: list[dict]) -> dict:
    """Extra table columns: when the cell was added (2a/2b), and the final test of every trial."""
    added = [r["cell_added_at"] for r in records if r.get("cell_added_at") is not None]
    tested = [r for r in records if "test_ok_pct" in r]
    return {
        "cell_added_mean": float(np.mean(added)) if added else np.nan,
        "cell_added_max": float(np.max(added)) if added else np.nan,
        "test_ok_pct_mean": float(np.mean([r["test_ok_pct"] for r in tested])) if tested else np.nan,
        "test_max_err_mean": float(np.mean([r["test_max_err"] for r in tested])) if tested else np.nan,
    }
