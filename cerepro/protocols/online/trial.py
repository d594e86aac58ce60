"""Experiments 3-6 (Sections 5.3-5.6, Tables 4-9) and the delayed XOR: on-line sequences, error at the end.

Protocol (SPEC sections 1, 4-7; Table 11 "t3"): every training sequence is a fresh random sequence of the
task; activations are reset at each sequence; the only target is at the sequence end, where the weights are
updated (online learning). Training stops by the experiment's rule (online_kernel.py):

  Exp 3 (3a, 3b, 3c)  st1st2: ST1/ST2 on a fixed 256-sequence check set, tested every `check_every` sequences
  Exps 4, 6 (and XOR) st3:    ST3(beta), the 2000 most recent sequences correct and their average error < beta
  Exp 5               nseq:   fewer than n_seq of the 2000 most recent sequences wrong (one row per n_seq)

After the stop (or the cap) the net is tested on 2560 fresh sequences: the number wrong (ABS threshold;
Exp 3c: |output - noise-free target| > 0.1), the mean absolute error and the mean squared error, both
averaged over sequences and output units. "Sequences to success" counts training sequences up to the stop.

Data. Training sequences come in blocks of DATA_BLOCK, block b drawn from stream (trial seed, "train", b),
so the data do not depend on `chunk` (which only sets how often progress is reported); the check set comes
from (trial seed, "check") and the final test set from (trial seed, "test"). Every setting the paper leaves
open is a field of `OnlineRow` with a why-comment; docs/decisions.md argues the defaults.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cerepro import models, seeding
from cerepro.protocols import online_kernel as K
from cerepro.protocols.common import BaseRow
from cerepro.tasks import adding, temporal, twoseq, xor
from cerepro.tasks.base import Batch

DATA_BLOCK = 500  # sequences per generated block: part of the data definition (changing it changes the data)

# task -> (input units, output units): fixed by the paper's nets (SPEC 0.1)
TASK_IO = {"3a": (1, 1), "3b": (1, 1), "3c": (1, 1), "adding": (2, 1), "multiplication": (2, 1), "6a": (8, 4),
           "6b": (8, 8), "xor": (2, 1)}


@dataclass(frozen=True)
class OnlineRow(BaseRow):
    """One LSTM row of Tables 4-9 (defaults: Exp 4, T = 100; the net's settings are BaseRow's)."""

    task: str = "adding"  # 3a | 3b | 3c | adding | multiplication | 6a | 6b | xor (cerepro.tasks)
    T: int = 100  # minimal sequence length, lengths uniform in T..T+T/10 (Exps 3-5, XOR); 6a/6b fix 100..110
    N: int = 3  # Exp 3: number of information-carrying first elements
    stop: str = "st3"  # st1st2 (Exp 3) | st3 (Exps 4, 6) | nseq (Exp 5): see online_kernel.py
    abs_threshold: float = 0.04  # ABS(beta) per sequence (Table 11): 0.2 Exp 3a/3b, 0.1 Exp 3c, 0.04 Exps 4/5, 0.3 Exp 6
    # ST3 (Exps 4, 6)
    st3_beta: float = 0.01  # ST3(beta): 0.01 Exp 4, 0.1 Exp 6
    st3_error: str = "mae"  # "average training error" (SPEC 11.4): mae = mean |error| per output unit over the window
    #                         (the ABS criterion is absolute), mse = mean squared, sae = summed |error| over outputs
    window: int = 2000  # "the 2000 most recent sequences" (ST3, Exp 5); also the span of the ST3 average
    # NSEQ (Exp 5)
    n_seq: int = 140  # stop once fewer than n_seq of the window's sequences are wrong (Table 8: 140, 13)
    # ST1/ST2 (Exp 3)
    st1_max_wrong: int = 0  # ST1: at most this many check sequences wrong ("none" 3a/3c; "fewer than 6" 3b -> 5)
    st2_error: float = 0.01  # ST2: mean absolute check-set error below this (3a 0.01, 3b 0.04, 3c 0.015)
    check_set_size: int = 256  # Exp 3: "none of 256 sequences from a randomly chosen test set"
    check_every: int = 1  # test the stop rule after every n training sequences (SPEC 11.5; Exp 3 specs use 100:
    #                       Tables 4-6 print every mean as a multiple of 10, which per-trial counts in steps of
    #                       100 give; a failing check costs one sequence, so the cadence is cheap)
    test_set_size: int = 2560  # final test after the stop (Table 11)

    def validate(self) -> None:
        super().validate()
        for key, allowed in (("task", tuple(TASK_IO)), ("stop", tuple(K.RULES)), ("st3_error", tuple(K.ERRORS))):
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {getattr(self, key)!r}")
        for key in ("T", "N", "window", "n_seq", "check_set_size", "check_every", "test_set_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.st1_max_wrong < 0:
            raise ValueError(f"st1_max_wrong must be at least 0, got {self.st1_max_wrong}")
        for key in ("abs_threshold", "st3_beta", "st2_error"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key} must be positive, got {getattr(self, key)}")
        if self.task in ("adding", "multiplication", "xor") and self.T < 20:
            raise ValueError(f"T must be at least 20 for {self.task} (the second marker lies in the first T/2 - 1 pairs), got {self.T}")
        if self.task in ("6a", "6b") and self.T != 100:
            raise ValueError(f"T is fixed at 100 (lengths 100..110) for task {self.task}; got {self.T}")
        if self.task in ("3a", "3b", "3c") and self.N > self.T:
            raise ValueError(f"N must not exceed T, got N={self.N}, T={self.T}")

    def n_weights(self) -> int:
        return models.get(self.model).n_weights(self, *TASK_IO[self.task])


def generate(cfg: OnlineRow, rng: np.random.Generator, n: int) -> Batch:
    """n fresh sequences of the row's task."""
    if cfg.task in ("3a", "3b", "3c"):
        return twoseq.generate(rng, n, T=cfg.T, N=cfg.N, variant=cfg.task[1])
    if cfg.task == "adding":
        return adding.generate_adding(rng, n, T=cfg.T)
    if cfg.task == "multiplication":
        return adding.generate_multiplication(rng, n, T=cfg.T)
    if cfg.task == "6a":
        return temporal.generate_6a(rng, n)
    if cfg.task == "6b":
        return temporal.generate_6b(rng, n)
    return xor.generate(rng, n, T=cfg.T)


def kernel_arrays(batch: Batch) -> tuple[np.ndarray, ...]:
    """(x_index, x_dense, targets, target_mask, lengths, end_target) in the kernels' layout.

    One-hot tasks pass x_dense with 0 columns, dense tasks a dummy (n, 1) x_index. end_target (n, K) is the
    noise-free target at the sequence end (Exp 3c tests against it; elsewhere it is the target itself)."""
    n, T = batch.target_mask.shape
    if batch.inputs is None:
        x_index, x_dense = batch.input_index, np.zeros((n, T, 0))
    else:
        x_index, x_dense = np.zeros((n, 1), dtype=np.int64), batch.inputs
    rows = np.arange(n)
    if batch.info and "clean_target" in batch.info:
        end_target = np.asarray(batch.info["clean_target"], dtype=np.float64).reshape(n, -1)
    else:
        end_target = batch.targets[rows, batch.lengths - 1, :]
    return x_index, x_dense, batch.targets, batch.target_mask, batch.lengths, np.ascontiguousarray(end_target)


def pack_settings(cfg: OnlineRow) -> tuple[np.ndarray, np.ndarray]:
    """(iparams, fparams) for train_online, in the order of the P_* / F_* indices."""
    iparams = np.array([K.RULES[cfg.stop], cfg.window, cfg.n_seq, cfg.check_every, cfg.st1_max_wrong, K.ERRORS[cfg.st3_error]],
                       dtype=np.int64)
    fparams = np.array([cfg.abs_threshold, cfg.st3_beta, cfg.st2_error])
    return iparams, fparams


def test_net(net, cfg: OnlineRow, batch: Batch) -> dict:
    """Forward-only test on a batch: wrong count, mean |error| and mean squared error (per sequence and unit)."""
    x_index, x_dense, _, _, lengths, end_target = kernel_arrays(batch)
    out_y = np.zeros((batch.target_mask.shape[1], end_target.shape[1]))
    no_t, no_mask = np.zeros((1, end_target.shape[1])), np.zeros(out_y.shape[0], dtype=np.bool_)
    order = np.arange(batch.n, dtype=np.int64)
    wrong, m, sum_abs, sum_sq = K.evaluate(net.step, *net.args(), x_index, x_dense, end_target, lengths, order,
                                           cfg.abs_threshold, batch.n, out_y, no_t, no_mask)
    units = m * end_target.shape[1]
    return {"test_n": int(m), "test_wrong": int(wrong), "test_mae": sum_abs / units, "test_mse": sum_sq / units}


def run_trial(cfg: OnlineRow, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None,
              keep_params: dict | None = None) -> dict:
    """Train one net of a row until its stop rule holds or the cap; return its trial record.

    keep_params, if given, receives copies of the final weights ({"W_hid", "W_out"}; cerepro.mechanism uses them)."""
    if cfg.model == "guess":  # random weight guessing: a search, not training (protocols/guess.py)
        from cerepro.protocols import guess  # late: guess builds on this module

        return guess.run_online_trial(cfg, seed, row_key, trial, progress)
    start = time.perf_counter()
    tseed = seeding.trial_seed(seed, row_key, trial)
    net = models.get(cfg.model).build(seeding.stream(tseed, "init"), cfg, *TASK_IO[cfg.task])
    iparams, fparams = pack_settings(cfg)
    istate, fstate, ring_err, ring_wrong = K.new_state(cfg.window)
    if cfg.stop == "st1st2":
        check = kernel_arrays(generate(cfg, seeding.stream(tseed, "check"), cfg.check_set_size))
        c_index, c_dense, _, _, c_len, c_target = check
    else:  # empty check set of the right types
        n_in = 0 if cfg.task in ("6a", "6b") else TASK_IO[cfg.task][0]
        c_index, c_dense = np.zeros((0, 1), dtype=np.int64), np.zeros((0, 1, n_in))
        c_len, c_target = np.zeros(0, dtype=np.int64), np.zeros((0, TASK_IO[cfg.task][1]))
    c_order = np.arange(c_len.shape[0], dtype=np.int64)
    errors: list[np.ndarray] = []  # per-sequence error measure, one array per block: the learning curve
    done, status, block, unreported = 0, K.STATUS_RUNNING, 0, 0
    while done < cfg.max_sequences and status == K.STATUS_RUNNING:
        batch = generate(cfg, seeding.stream(tseed, "train", block), DATA_BLOCK)
        block += 1
        x_index, x_dense, targets, mask, lengths, _ = kernel_arrays(batch)
        n = min(DATA_BLOCK, cfg.max_sequences - done)
        out_y = np.zeros((max(targets.shape[1], c_dense.shape[1]), targets.shape[2]))
        seq_err = np.zeros(n)
        status, k = K.train_online(net.step, *net.args(), x_index[:n], x_dense[:n], targets[:n], mask[:n], lengths[:n],
                                   cfg.lr, iparams, fparams, istate, fstate, ring_err, ring_wrong,
                                   c_index, c_dense, c_target, c_len, c_order, out_y, seq_err)
        errors.append(seq_err[:k].astype(np.float32))
        done += k
        unreported += k
        if progress is not None and (unreported >= cfg.chunk or status != K.STATUS_RUNNING or done >= cfg.max_sequences):
            progress(unreported)
            unreported = 0
    outcome = {K.STATUS_STOPPED: "success", K.STATUS_DIVERGED: "diverged"}.get(status, "cap")
    record = {
        "trial": trial,
        "seed": tseed,
        "outcome": outcome,
        "success": outcome == "success",
        "sequences": done,
        "reason": "NaN/inf in outputs" if outcome == "diverged" else "",
        "window_wrong": int(istate[K.S_WRONG]),  # wrong sequences in the last window at the stop
    }
    if cfg.stop == "st1st2":
        record["st1"] = int(istate[K.S_ST1_AT]) or None  # sequences at the first passing ST1 check
        record["st2"] = done if outcome == "success" else None
    if outcome == "diverged":
        record.update({"test_n": 0, "test_wrong": None, "test_mae": None, "test_mse": None})
    else:
        record.update(test_net(net, cfg, generate(cfg, seeding.stream(tseed, "test"), cfg.test_set_size)))
    record["wall_s"] = time.perf_counter() - start
    record["curve"] = _curve(np.concatenate(errors) if errors else np.zeros(0))
    if keep_params is not None:
        keep_params.update({name: w.copy() for name, w in net.params.items()})
    return record


def _curve(seq_err: np.ndarray, points: int = 50) -> list[float]:
    """The learning curve, compressed: mean end error (st3_error measure) over `points` equal windows."""
    if seq_err.size == 0:
        return []
    edges = np.linspace(0, seq_err.size, min(points, seq_err.size) + 1).astype(int)
    return [float(np.mean(seq_err[a:b], dtype=np.float64)) for a, b in zip(edges[:-1], edges[1:])]


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
    if cfg.model == "guess":
        from cerepro.protocols import guess

        out.update(guess.summarize(records))
    return out
