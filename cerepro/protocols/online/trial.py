"""Experiments 3-6 (Sections 5.3-5.6, Tables 4-9) and the delayed XOR: one trial (docs/paper.md, Exps 3-6).

Every training sequence is a fresh random sequence of the task; activations are reset at each sequence; the only
target is at the sequence end, where the weights are updated. Training stops by the row's rule (kernel.py) or
at the cap; then the net is tested on `test_set_size` fresh sequences: the number wrong (ABS; Exp 3c against the
noise-free target), the mean absolute and the mean squared error per sequence and output unit. Data: training
sequences in blocks of DATA_BLOCK, block b from stream (trial seed, "train", b), so `chunk` cannot change them;
the check set from "check", the final test set from "test".
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from cerepro.generators import TASKS
from cerepro.generators.base import Batch, Sequences, as_sequences
from cerepro.models.common import Net
from cerepro.models.lstm97 import frozen, frozen_batch
from cerepro.models.lstm97 import kernel as lstm97_kernel
from cerepro.protocols.common import DIVERGED, SUCCESS, Trial, curve_block
from cerepro.protocols.online import kernel
from cerepro.protocols.online.settings import ERRORS, STOPS, OnlineRow

DATA_BLOCK = 500  # sequences per generated block: part of the data definition (changing it changes the data)


def draw(cfg: OnlineRow, rng: np.random.Generator, n: int) -> Batch:
    """n fresh sequences of the row's task."""
    return TASKS[cfg.task].sample(rng, n, cfg)


def tests(batch: Batch) -> kernel.Tests:
    """A batch as the frozen net's test set, in batch order; Exp 3c is judged against its noise-free targets."""
    seqs = as_sequences(batch)
    if batch.info and "clean_target" in batch.info:
        end_target = np.asarray(batch.info["clean_target"], dtype=np.float64).reshape(batch.n, -1)
    else:
        end_target = batch.targets[np.arange(batch.n), batch.lengths - 1, :]
    return kernel.Tests(seqs.x_index, seqs.x_dense, np.ascontiguousarray(end_target), seqs.lengths,
                        np.arange(batch.n, dtype=np.int64))


def tester(net: Net, step) -> tuple:
    """(test function, its frozen batch, fast_exp) for a net: the 1997 step's tests run with the sequences in
    lanes (kernel.evaluate_lanes), any other model's one sequence per step call (kernel.evaluate)."""
    if step is lstm97_kernel.step:
        return kernel.evaluate_lanes, frozen_batch.batch(net), frozen.fast_exp()
    return kernel.evaluate, frozen_batch.empty(), False


def test_net(net: Net, ws, step, cfg: OnlineRow, batch: Batch) -> dict:
    """Forward-only test on a batch: wrong count, mean |error| and mean squared error (per sequence and unit)."""
    t = tests(batch)
    out_y = np.zeros((batch.target_mask.shape[1], t.end_target.shape[1]))
    no_t, no_mask = np.zeros((1, t.end_target.shape[1])), np.zeros(out_y.shape[0], dtype=np.bool_)
    evaluate, fz, fast_exp = tester(net, step)
    wrong, m, sum_abs, sum_sq = evaluate(step, net, ws, t, cfg.abs_threshold, batch.n, out_y, no_t, no_mask, fz, fast_exp)
    units = m * t.end_target.shape[1]
    return {"test_n": int(m), "test_wrong": int(wrong), "test_mae": sum_abs / units, "test_mse": sum_sq / units}


def run_trial(cfg: OnlineRow, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None,
              keep_params: dict | None = None) -> dict:
    """Train one net of a row until its stop rule holds or the cap; return its trial record.

    keep_params, if given, receives copies of the final weights ({"W_hid", "W_out"}; cerepro.mechanism uses them)."""
    tr = Trial(cfg, seed, row_key, trial, progress)
    rule = kernel.Rule(STOPS.index(cfg.stop), ERRORS.index(cfg.st3_error), cfg.check_every, cfg.n_seq, cfg.st1_max_wrong,
                       cfg.abs_threshold, cfg.st3_beta, cfg.st2_error)
    win = kernel.new_window(cfg.window)
    if cfg.stop == "st1st2":
        check = tests(draw(cfg, tr.stream("check"), cfg.check_set_size))
    else:  # an empty check set of the right types
        empty = np.zeros(0, dtype=np.int64)
        check = kernel.Tests(np.zeros((0, 1), np.int64), np.zeros((0, 1, 0)), np.zeros((0, cfg.sizes()[1])), empty, empty)
    errors: list[np.ndarray] = []  # per-sequence error measure, one array per block: the learning curve
    check_test = tester(tr.net, tr.step)

    def train(done: int, n: int) -> tuple[int, int]:
        block = as_sequences(draw(cfg, tr.stream("train", len(errors)), DATA_BLOCK))
        out_y = np.zeros((max(block.targets.shape[1], check.x_dense.shape[1]), block.targets.shape[2]))
        seq_err = np.zeros(n)
        status, k = kernel.train_online(tr.step, tr.net, tr.ws, Sequences(*(a[:n] for a in block)), cfg.lr, rule, win, check,
                                        out_y, seq_err, *check_test)
        errors.append(curve_block(seq_err[:k]))
        return status, k

    status, done = tr.run(train, DATA_BLOCK)
    totals = win.totals[0]
    fields: dict = {"window_wrong": int(totals["wrong"])}  # wrong sequences in the last window at the stop
    if cfg.stop == "st1st2":
        fields["st1"] = int(totals["st1_at"]) or None  # sequences at the first passing ST1 check
        fields["st2"] = done if status == SUCCESS else None
    if status == DIVERGED:
        fields.update({"test_n": 0, "test_wrong": None, "test_mae": None, "test_mse": None})
    else:
        fields.update(test_net(tr.net, tr.ws, tr.step, cfg, draw(cfg, tr.stream("test"), cfg.test_set_size)))
    if keep_params is not None:
        keep_params.update(tr.net.weights())
    return tr.record(status, done, np.concatenate(errors) if errors else np.zeros(0), **fields)


def summarize(cfg: OnlineRow, records: list[dict]) -> dict:
    """Extra table columns: test-set results and (Exp 3) the ST1/ST2 counts, means over successful trials."""
    ok = [r for r in records if r["success"] and r.get("test_n")]

    def mean(key: str) -> float:
        vals = [r[key] for r in ok if r.get(key) is not None]
        return float(np.mean(vals)) if vals else float("nan")

    out = {
        "test_wrong_mean": mean("test_wrong"),
        "test_wrong_max": float(max((r["test_wrong"] for r in ok), default=float("nan"))),
        "test_misclassified_fraction": float(np.mean([r["test_wrong"] / r["test_n"] for r in ok])) if ok else float("nan"),
        "test_mae_mean": mean("test_mae"),
        "test_mse_mean": mean("test_mse"),
    }
    if cfg.stop == "st1st2":
        out["st1_mean"] = mean("st1")
        out["st2_mean"] = mean("st2")
    return out
