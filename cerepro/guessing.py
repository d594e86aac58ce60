"""Random weight guessing as a trial (Schmidhuber & Hochreiter 1996; docs/paper.md), on rows of the online
(Exp 3) and longlag (Exp 2) protocols, judged by those protocols' own tests. cerepro.dispatch sends it the
`model: guess` rows.

REPEAT draw a guess (models/guess) UNTIL the net passes the protocol's fixed batch: Exp 3, the ST1 check set
(at most `st1_max_wrong` of `check_set_size` sequences wrong by ABS(`abs_threshold`)); Exp 2, `success_window`
sequences from the "check" stream, every judged step within `tolerance`. A guess is dropped at its first wrong
sequence (past st1_max_wrong), a sequence at its first failing step. The record counts `guesses`, `sequences`
(every sequence a forward pass started on: the unit of `max_sequences`) and `steps`; the winner is re-tested by
the protocol (`batch_wrong`) and on fresh test sequences. Guesses come from the trial's "init" stream.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from cerepro.models.guess import kernel, net_from
from cerepro.models.guess.arch import block_size, draw, unpack
from cerepro.models.rtrl import architecture as guessed_net
from cerepro.models.rtrl.arch import RNNArch
from cerepro.models.rtrl.kernel import make_setup
from cerepro.protocols.common import RUNNING, SUCCESS, Trial
from cerepro.protocols.longlag import source as longlag_source, trial as longlag
from cerepro.protocols.online import trial as online

Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_index, x_dense, t_row, t_table, lengths


def search(cfg, a: RNNArch, rng: np.random.Generator, batch: Batch, tol: float, max_wrong: int,
           progress: Callable[[int], None] | None) -> tuple[np.ndarray | None, np.ndarray]:
    """Guesses from `rng` until one passes `batch` or the cap; returns (the winner (D,) or None, counts).

    counts (3,) int64: guesses, sequences, steps (kernel.C_*)."""
    x_index, x_dense, t_row, t_table, lengths = batch
    setup, ws = make_setup(a), kernel.make_workspace(a)
    out_y = np.zeros((t_row.shape[1], a.n_out))  # (T, K) scratch outputs
    counts = np.zeros(3, dtype=np.int64)
    n_hid, block, reported = a.n_rec * a.n_hidden_cols, block_size(a), 0
    while True:
        draws = draw(rng, a, cfg.weight_range, block)  # (block, D)
        g = kernel.search(draws, n_hid, setup, ws, x_index, x_dense, t_row, t_table, lengths, tol, max_wrong,
                          cfg.max_sequences, counts, out_y)
        unreported = int(counts[kernel.C_SEQUENCES]) - reported
        if progress is not None and unreported and (unreported >= cfg.chunk or g != kernel.BLOCK_DONE):
            progress(unreported)
            reported += unreported
        if g >= 0:
            return draws[g].copy(), counts
        if g == kernel.CAP_REACHED:
            return None, counts


def _guess(tr: Trial, a: RNNArch, batch: Batch, tol: float, max_wrong: int):
    """Search, and the record fields every guessing trial has: (winner's net and step or None, fields)."""
    winner, counts = search(tr.cfg, a, tr.stream("init"), batch, tol, max_wrong, tr.progress)
    fields = {"sequences": int(counts[kernel.C_SEQUENCES]), "guesses": int(counts[kernel.C_GUESSES]),
              "steps": int(counts[kernel.C_STEPS])}
    return (net_from(unpack(winner, a), a) if winner is not None else None), fields


def online_batch(batch) -> Batch:
    """An Exp 3 batch (generators.base.Batch) in the search kernel's form: only the last step is judged, against
    the clean end target (t_table (n, K) = each sequence's end target, t_row[i, L_i - 1] = i)."""
    t = online.tests(batch)
    n = t.lengths.shape[0]
    t_row = np.full(batch.target_mask.shape, -1, dtype=np.int64)  # (n, T)
    t_row[np.arange(n), t.lengths - 1] = np.arange(n)
    return t.x_index, t.x_dense, t_row, t.end_target, t.lengths


def run_online_trial(cfg, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None) -> dict:
    """One guessing trial on an Exp 3 row (online protocol, stop st1st2)."""
    tr = Trial(cfg, seed, row_key, trial, progress, build=False)
    a = guessed_net(cfg, *cfg.sizes())
    check = online.draw(cfg, tr.stream("check"), cfg.check_set_size)
    won, fields = _guess(tr, a, online_batch(check), cfg.abs_threshold, cfg.st1_max_wrong)
    fields["st1"] = fields["st2"] = None
    if won is None:
        fields.update({"test_n": 0, "test_wrong": None, "test_mae": None, "test_mse": None})
    else:
        on_batch = online.test_net(*won, cfg, check)  # the protocol's own ST1 test of the winner
        fields.update({"batch_wrong": on_batch["test_wrong"], "batch_mae": on_batch["test_mae"], "st1": fields["sequences"]})
        if on_batch["test_mae"] < cfg.st2_error:
            fields["st2"] = fields["sequences"]  # ST2 held too, at the same point
        fields.update(online.test_net(*won, cfg, online.draw(cfg, tr.stream("test"), cfg.test_set_size)))
    return tr.record(SUCCESS if won is not None else RUNNING, **fields)


def run_longlag_trial(cfg, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None) -> dict:
    """One guessing trial on an Exp 2 row (longlag protocol, success_test online)."""
    tr = Trial(cfg, seed, row_key, trial, progress, build=False)
    a = guessed_net(cfg, *cfg.sizes())
    compact = longlag_source.Source(cfg, tr.stream("check")).take(cfg.success_window)
    t_row = np.where(compact.score, compact.t_index, -1)  # (n, T): the judged steps, naming the one-hot target unit
    batch = (compact.x_index, np.zeros(compact.x_index.shape + (0,)), t_row, np.eye(cfg.sizes()[1]), compact.lengths)
    won, fields = _guess(tr, a, batch, cfg.tolerance, 0)
    fields.update({"presented": fields["sequences"], "cell_added_at": None})
    if won is not None:
        passed = int(np.sum(longlag.passing(cfg, *won, compact) < cfg.tolerance))
        fields["batch_wrong"] = cfg.success_window - passed  # by the protocol's own evaluator
        fields.update(longlag.final_test(cfg, *won, tr.stream("test")))
    return tr.record(SUCCESS if won is not None else RUNNING, **fields)


TRIALS = {"online": run_online_trial, "longlag": run_longlag_trial}  # the protocols whose rows can be guessed


def summarize(records: list[dict]) -> dict:
    """Extra table columns of a guess row: guesses per successful trial (as seq_mean), and per trial."""
    won = [r["guesses"] for r in records if r["success"]]
    return {
        "guesses_mean": float(np.mean(won)) if won else float("nan"),
        "guesses_max": float(np.max(won)) if won else float("nan"),
        "guesses_tried_mean": float(np.mean([r["guesses"] for r in records])) if records else float("nan"),
    }
