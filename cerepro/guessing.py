"""Random weight guessing as a trial (Schmidhuber & Hochreiter 1996, SPEC section 10), on the tasks of the
online protocol (Exp 3, Tables 4-6) and the longlag protocol (Exp 2, Table 2).

A trial: REPEAT draw a guess (every weight of the row's net uniform in [-weight_range, weight_range],
cerepro/models/guess.py) UNTIL the net passes the task's own success test on a fixed batch; then test the
winner on fresh sequences. The batch and the test are the protocol's, so a guessed net is judged exactly as
a trained one:

  Exp 3 (online, stop st1st2)  the batch is the ST1 check set: `check_set_size` (256) sequences from the
        trial's "check" stream; a sequence is wrong when some output's absolute end error is not below
        `abs_threshold` (0.2; 3c: against the noise-free target); a guess passes with at most `st1_max_wrong`
        wrong (ST1). `st2` is also recorded when the winner's mean absolute batch error is below `st2_error`.
  Exp 2 (longlag, success_test online)  "10,000 successive random sequences" read literally: the batch is
        `success_window` sequences from the "check" stream, every judged step must meet ABS(`tolerance`).

Each guess is tested on the batch in batch order and dropped at its first wrong sequence (past
st1_max_wrong), and each sequence at its first failing judged step: that early exit is what makes guessing
cheap. The record counts `guesses` (nets drawn and tested), `sequences` (every sequence a forward pass was
started on, the winner's whole batch included: the unit of the LSTM rows' `sequences`, and of the cap
`max_sequences`) and `steps` (time steps computed). The winner is then re-tested on the whole batch by the
protocol's own evaluator (`batch_wrong`, a check of the search kernel) and on a fresh test set from the
"test" stream (the protocol's final test: `test_wrong` of 2560 for Exp 3, `test_ok_pct` of `test_set_size`
for Exp 2). A trial that reaches the cap has no winner and no test.

Streams: guesses from (trial seed, "init"), in blocks of guess.block_size (which cannot change them).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from cerepro import seeding
from cerepro.models import guess, guess_net, rtrl
from cerepro.models import guess_kernel as K
from cerepro.protocols import longlag, online
from cerepro.protocols import longlag_kernel

Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_index, x_dense, t_row, t_table, lengths


def check_row(cfg) -> None:
    """Raise ValueError for a guess row the search cannot run (the message names the key)."""
    if isinstance(cfg, online.OnlineRow):
        if cfg.stop != "st1st2":
            raise ValueError(f"model guess needs stop st1st2 (a fixed check set to pass, Exp 3); got {cfg.stop!r}")
    elif isinstance(cfg, longlag.LongLagRow):
        if cfg.success_test != "online":
            raise ValueError("model guess reads Exp 2's success test as success_window successive sequences "
                             f"(success_test: online); got {cfg.success_test!r}")
    else:
        raise ValueError("model guess runs in the online (Exp 3) and longlag (Exp 2) protocols only")
    cfg.n_weights()  # an impossible net (bias ga, no hidden unit, ...) raises here


def search(cfg, a: rtrl.RNNArch, rng: np.random.Generator, batch: Batch, tol: float, max_wrong: int,
           progress: Callable[[int], None] | None) -> tuple[np.ndarray | None, np.ndarray]:
    """Guesses from `rng` until one passes `batch` or the cap; returns (the winner (D,) or None, counts).

    counts (3,) int64: guesses, sequences, steps (guess_kernel.C_*)."""
    x_index, x_dense, t_row, t_table, lengths = batch
    spec, ws = rtrl.make_spec(a), K.make_workspace(a)
    out_y = np.zeros((t_row.shape[1], a.n_out))  # (T, K) scratch outputs
    counts = np.zeros(3, dtype=np.int64)
    n_hid, block, reported = a.n_rec * a.n_hidden_cols, guess.block_size(a), 0
    while True:
        draws = guess.draw(rng, a, cfg.weight_range, block)  # (block, D)
        g = K.search(draws, n_hid, spec, ws, x_index, x_dense, t_row, t_table, lengths, tol, max_wrong,
                     cfg.max_sequences, counts, out_y)
        unreported = int(counts[K.C_SEQUENCES]) - reported
        if progress is not None and unreported and (unreported >= cfg.chunk or g != K.BLOCK_DONE):
            progress(unreported)
            reported += unreported
        if g >= 0:
            return draws[g].copy(), counts
        if g == K.CAP_REACHED:
            return None, counts


def _record(trial: int, tseed: int, winner, counts: np.ndarray) -> dict:
    return {
        "trial": trial,
        "seed": tseed,
        "outcome": "success" if winner is not None else "cap",
        "success": winner is not None,
        "sequences": int(counts[K.C_SEQUENCES]),
        "guesses": int(counts[K.C_GUESSES]),
        "steps": int(counts[K.C_STEPS]),
        "reason": "",
    }


def online_batch(cfg: online.OnlineRow, batch) -> Batch:
    """An Exp 3 batch (tasks.base.Batch) in the search kernel's form: only the last step is judged, against
    the clean end target (t_table (n, K) = each sequence's end target, t_row[i, L_i - 1] = i)."""
    x_index, x_dense, _, mask, lengths, end_target = online.kernel_arrays(batch)
    n = lengths.shape[0]
    t_row = np.full(mask.shape, -1, dtype=np.int64)  # (n, T)
    t_row[np.arange(n), lengths - 1] = np.arange(n)
    return x_index, x_dense, t_row, end_target, lengths


def run_online_trial(cfg: online.OnlineRow, seed: int, row_key: str, trial: int,
                     progress: Callable[[int], None] | None = None) -> dict:
    """One guessing trial on an Exp 3 row (online.run_trial hands guess rows here)."""
    start = time.perf_counter()
    tseed = seeding.trial_seed(seed, row_key, trial)
    a = guess.arch(cfg, *online.TASK_IO[cfg.task])
    check = online.generate(cfg, seeding.stream(tseed, "check"), cfg.check_set_size)
    winner, counts = search(cfg, a, seeding.stream(tseed, "init"), online_batch(cfg, check), cfg.abs_threshold,
                            cfg.st1_max_wrong, progress)
    record = _record(trial, tseed, winner, counts)
    record["st1"] = record["st2"] = None
    if winner is None:
        record.update({"test_n": 0, "test_wrong": None, "test_mae": None, "test_mse": None})
    else:
        net = guess_net.net_from(guess.unpack(winner, a), a)
        on_batch = online.test_net(net, cfg, check)  # the protocol's own ST1 test of the winner
        record.update({"batch_wrong": on_batch["test_wrong"], "batch_mae": on_batch["test_mae"], "st1": record["sequences"]})
        if on_batch["test_mae"] < cfg.st2_error:
            record["st2"] = record["sequences"]  # ST2 held too, at the same point
        record.update(online.test_net(net, cfg, online.generate(cfg, seeding.stream(tseed, "test"), cfg.test_set_size)))
    record["wall_s"] = time.perf_counter() - start
    return record


def longlag_batch(cfg: longlag.LongLagRow, rng: np.random.Generator) -> tuple[Batch, tuple]:
    """`success_window` Exp 2 sequences from rng: (the search kernel's form, the compact form of longlag.draw)."""
    compact = longlag.Source(cfg, rng).take(cfg.success_window)
    x_index, t_index, score, lengths = compact
    t_row = np.where(score, t_index, -1)  # (n, T): the judged steps, naming the one-hot target unit
    t_table = np.eye(longlag.sizes(cfg)[1])  # (K, K)
    return (x_index, np.zeros(x_index.shape + (0,)), t_row, t_table, lengths), compact


def run_longlag_trial(cfg: longlag.LongLagRow, seed: int, row_key: str, trial: int,
                      progress: Callable[[int], None] | None = None) -> dict:
    """One guessing trial on an Exp 2 row (longlag.run_trial hands guess rows here)."""
    start = time.perf_counter()
    tseed = seeding.trial_seed(seed, row_key, trial)
    a = guess.arch(cfg, *longlag.sizes(cfg))
    batch, compact = longlag_batch(cfg, seeding.stream(tseed, "check"))
    winner, counts = search(cfg, a, seeding.stream(tseed, "init"), batch, cfg.tolerance, 0, progress)
    record = _record(trial, tseed, winner, counts)
    record.update({"presented": record["sequences"], "cell_added_at": None})
    if winner is not None:
        net = guess_net.net_from(guess.unpack(winner, a), a)
        record["batch_wrong"] = cfg.success_window - _longlag_passing(cfg, net, compact)
        record.update(longlag.final_test(cfg, net, seeding.stream(tseed, "test")))
    record["wall_s"] = time.perf_counter() - start
    return record


def _longlag_passing(cfg: longlag.LongLagRow, net, compact: tuple) -> int:
    """How many sequences of the batch the net passes, by the longlag protocol's own evaluator."""
    x_index, t_index, score, lengths = compact
    T, n_out = x_index.shape[1], net.params["W_out"].shape[0]
    return int(longlag_kernel.evaluate(net.step, *net.args(), x_index, t_index, score, lengths,
                                       np.arange(lengths.shape[0]), cfg.tolerance, False, np.zeros((T, n_out)),
                                       np.zeros((T, n_out)), np.zeros(T, dtype=np.bool_), np.zeros(lengths.shape[0])))


def summarize(records: list[dict]) -> dict:
    """Extra table columns of a guess row: guesses per successful trial (as seq_mean), and per trial."""
    won = [r["guesses"] for r in records if r["success"]]
    return {
        "guesses_mean": float(np.mean(won)) if won else float("nan"),
        "guesses_max": float(np.max(won)) if won else float("nan"),
        "guesses_tried_mean": float(np.mean([r["guesses"] for r in records])) if records else float("nan"),
    }
