"""Experiment 2 (Section 5.2, Tables 2 and 3): long time lags, tasks 2a, 2b and 2c, with the 1997 LSTM.

Protocol (SPEC section 3 and Table 11). Training sequences are drawn at random (2a: one of the two fixed
sequences with probability 0.5; 2b: one of two classes with a random middle; 2c: generated on-line), all
activations are reset at each sequence, weights change online. Training stops at success or after 5 million
presentations. Success is ABS(beta) "during 10,000 successive randomly chosen sequences": beta = 0.25 over
all output units at every step (2a) or at the sequence end (2b), beta = 0.2 at the sequence end (2c).

How success is tested (SPEC 11.5; docs/decisions.md). Faithful default `success_test: online`: the 10,000
successive sequences are training presentations, scored on the outputs the net produced for them (before
the weight change of the scored step), and "sequences to success" counts the presentations BEFORE the first
sequence of that passing window. Counting the window's end cannot be what the paper did: Table 2 reports a
mean of 5,040 for LSTM on 2a, fewer than the 10,000 sequences of the window. The variant `test-set` runs a
frozen test on a fixed set of `test_set_size` sequences after every `check_every` training sequences.

Sequential construction (2a/2b; Section 4, abuse-problem remedy 1). The net starts without its hidden layer:
the output units are fed by the input units only (connectivity B minus the cell). When the mean training
error of a block of `plateau_window` presentations is less than `plateau_min_improvement` (relative) below
the block before, the cell and its input gate are added with their initial random weights, giving the
10,504-weight net of Table 2. The record says when (`cell_added_at`).

Every trial ends with a frozen test on `test_set_size` fresh sequences (stream "test"), recorded as the
final test error; it is reported beside Table 3, which gives only the mean sequences to success.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cerepro import models, seeding
from cerepro.protocols import longlag_kernel as K
from cerepro.protocols.common import BaseRow
from cerepro.tasks import longlag

TASKS = ("2a", "2b", "2c")
JUDGED = ("all", "end")  # steps the ABS test scores: every target step | the prediction of the final element
SUCCESS_TESTS = ("online", "test-set")
BLOCK = 250  # sequences per draw from the data stream: the data do not depend on `chunk` (not in config_hash)


@dataclass(frozen=True)
class LongLagRow(BaseRow):
    """One LSTM row of Table 2 (2a), the 2b text result, or Table 3 (2c). Defaults: task 2c's reading."""

    task: str = "2c"  # 2a | 2b | 2c
    p: int = 100  # 2a/2b: the delay (sequences have p+1 elements); 2c: the number of distractor symbols
    q: int = 100  # 2c only: time lag - 1 (the minimal number of distractors after x|y)
    tolerance: float = 0.2  # ABS(beta): 0.25 for 2a/2b, 0.2 for 2c (Table 11)
    judged_steps: str = "end"  # all: every target step (2a) | end: only the final element's prediction (2b, 2c)
    success_test: str = "online"  # online: successive training presentations | test-set: frozen test set
    success_window: int = 10_000  # successive sequences that must pass (online test)
    check_every: int = 1_000  # test-set mode: training sequences between tests
    test_set_size: int = 10_000  # Table 11 (2b, 2c); used by the final test and the test-set mode
    sequential_construction: bool = False  # start without the hidden layer, add it when the error plateaus
    plateau_window: int = 100  # presentations per block of the plateau rule
    plateau_min_improvement: float = 0.01  # relative: block mean must be 1% below the previous block's

    def validate(self) -> None:
        super().validate()
        for key, allowed in (("task", TASKS), ("judged_steps", JUDGED), ("success_test", SUCCESS_TESTS)):
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {getattr(self, key)!r}")
        if self.p < (1 if self.task == "2c" else 2):
            raise ValueError(f"p must be at least {1 if self.task == '2c' else 2}, got {self.p}")
        if self.q < 0:
            raise ValueError(f"q must be at least 0, got {self.q}")
        for key in ("success_window", "check_every", "test_set_size", "plateau_window"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if not 0 < self.tolerance <= 1:
            raise ValueError(f"tolerance must be in (0, 1], got {self.tolerance}")
        if not 0 <= self.plateau_min_improvement < 1:
            raise ValueError(f"plateau_min_improvement must be in [0, 1), got {self.plateau_min_improvement}")
        if self.sequential_construction and self.model != "lstm97":
            raise ValueError("sequential_construction needs model lstm97 (it switches on the LSTM's hidden layer)")

    def n_weights(self) -> int:
        """Weights of the final net (with sequential construction: after the cell is added)."""
        return models.get(self.model).n_weights(self, *sizes(self))


def sizes(cfg: LongLagRow) -> tuple[int, int]:
    """(input units, output units): p+1 and p+1 for 2a/2b, p+4 and 2 for 2c."""
    return (cfg.p + 4, 2) if cfg.task == "2c" else (cfg.p + 1, cfg.p + 1)


def draw(cfg: LongLagRow, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """n sequences of the row's task in compact form: x_index, t_index (-1: no target), score (n, T); lengths (n,)."""
    if cfg.task == "2c":
        batch = longlag.generate_2c(rng, n, p=cfg.p, q=cfg.q)
    else:
        batch = (longlag.generate_2a if cfg.task == "2a" else longlag.generate_2b)(rng, n, p=cfg.p)
    t_index = np.where(batch.target_mask, batch.targets.argmax(axis=2), -1).astype(np.int64)  # (n, T)
    if cfg.judged_steps == "all":
        score = batch.target_mask.copy()
    else:
        score = np.zeros_like(batch.target_mask)
        score[np.arange(batch.n), batch.info["final_step"]] = True  # the step that predicts the last element
    return batch.input_index.astype(np.int64), t_index, score, batch.lengths.astype(np.int64)


def _concat(parts: list[tuple]) -> tuple[np.ndarray, ...]:
    """Stack compact blocks of different lengths T, padding with -1 / False."""
    T = max(part[0].shape[1] for part in parts)
    out = []
    for field, fill in zip(range(3), (-1, -1, False)):
        arrays = [np.pad(part[field], ((0, 0), (0, T - part[field].shape[1])), constant_values=fill) for part in parts]
        out.append(np.concatenate(arrays))
    return (*out, np.concatenate([part[3] for part in parts]))


class Source:
    """The training sequences of a trial, drawn from `rng` in blocks of BLOCK so that chunking cannot change them."""

    def __init__(self, cfg: LongLagRow, rng: np.random.Generator):
        self.cfg, self.rng, self.parts, self.offset = cfg, rng, [], 0

    def take(self, n: int) -> tuple[np.ndarray, ...]:
        """The next n sequences (compact form, see draw)."""
        while sum(p[3].shape[0] for p in self.parts) - self.offset < n:
            self.parts.append(draw(self.cfg, self.rng, BLOCK))
        whole = _concat(self.parts)
        chunk = tuple(a[self.offset : self.offset + n] for a in whole)
        used = self.offset + n
        self.parts = [tuple(a[used:] for a in whole)] if used < whole[3].shape[0] else []
        self.offset = 0
        T = int(chunk[3].max())  # trim the padding of the blocks left in the buffer
        return tuple(a[:, :T] if a.ndim == 2 else a for a in chunk)


def draw_test_set(cfg: LongLagRow, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """`test_set_size` sequences from the trial's test stream (drawn in blocks, like the training data)."""
    return Source(cfg, rng).take(cfg.test_set_size)


def run_trial(cfg: LongLagRow, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None) -> dict:
    """Train one net of a row; return its trial record (see results.py and summarize for the fields)."""
    if cfg.model == "guess":  # random weight guessing: a search, not training (protocols/guess.py)
        from cerepro.protocols import guess  # late: guess builds on this module

        return guess.run_longlag_trial(cfg, seed, row_key, trial, progress)
    start = time.perf_counter()
    tseed = seeding.trial_seed(seed, row_key, trial)
    n_in, n_out = sizes(cfg)
    net = models.get(cfg.model).build(seeding.stream(tseed, "init"), cfg, n_in, n_out)
    W_hid0, W_out0 = net.params["W_hid"].copy(), net.params["W_out"].copy()  # the final net's initial weights
    full_M_hid, full_M_out = net.masks["W_hid"].copy(), net.masks["W_out"].copy()
    if cfg.sequential_construction:  # the pre-cell net: outputs fed by bias/inputs only, no hidden layer
        for name, cols in (("W_hid", slice(None)), ("W_out", slice(1 + n_in, None))):
            net.masks[name][:, cols] = 0.0
            net.params[name][:, cols] = 0.0
    source = Source(cfg, seeding.stream(tseed, "train"))
    if cfg.success_test == "test-set":
        chk = draw_test_set(cfg, seeding.stream(tseed, "test"))
        chk_order = np.arange(cfg.test_set_size, dtype=np.int64)
    else:
        chk = (np.zeros((0, 1), np.int64), np.zeros((0, 1), np.int64), np.zeros((0, 1), bool), np.zeros(0, np.int64))
        chk_order = np.zeros(0, dtype=np.int64)
    chk_err = np.zeros(chk_order.shape[0])
    istate, fstate = K.new_state(cfg.sequential_construction)
    mode = K.SUCCESS_TEST_SET if cfg.success_test == "test-set" else K.SUCCESS_ONLINE
    seq_sse = np.zeros(cfg.max_sequences, dtype=np.float32)  # (max_sequences,) the learning curve; pages touched lazily
    out_y = targets = t_mask = np.zeros((0, n_out))
    done, status = 0, K.STATUS_RUNNING
    while done < cfg.max_sequences and status == K.STATUS_RUNNING:
        x_index, t_index, score, lengths = source.take(min(cfg.chunk, cfg.max_sequences - done))
        T = max(x_index.shape[1], chk[0].shape[1])
        if out_y.shape[0] < T:  # scratch outputs and dense targets, zeroed; kept across chunks
            out_y, targets, t_mask = np.zeros((T, n_out)), np.zeros((T, n_out)), np.zeros(T, dtype=np.bool_)
        status, k = K.train_until_success(
            net.step, *net.args(), x_index, t_index, score, lengths,
            full_M_hid, full_M_out, W_hid0, W_out0, *chk, chk_order,
            cfg.lr, cfg.tolerance, cfg.success_window, mode, cfg.check_every, cfg.plateau_window,
            cfg.plateau_min_improvement, done, istate, fstate, seq_sse[done:], out_y, targets, t_mask, chk_err,
        )
        done += k
        if progress is not None:
            progress(k)
    outcome = {K.STATUS_SUCCESS: "success", K.STATUS_DIVERGED: "diverged"}.get(status, "cap")
    online_success = outcome == "success" and mode == K.SUCCESS_ONLINE
    final = final_test(cfg, net, seeding.stream(tseed, "test")) if outcome != "diverged" else {}
    return {
        "trial": trial,
        "seed": tseed,
        "outcome": outcome,
        "success": outcome == "success",
        "sequences": done - cfg.success_window if online_success else done,  # before the passing window / test
        "presented": done,  # every training presentation, the passing window included
        "reason": "NaN/inf in outputs" if outcome == "diverged" else "",
        "wall_s": time.perf_counter() - start,
        "cell_added_at": int(istate[K.ADDED_AT]) if istate[K.ADDED_AT] >= 0 else None,
        **final,
        "curve": _curve(seq_sse[:done]),
    }


def final_test(cfg: LongLagRow, net, rng: np.random.Generator) -> dict:
    """The trained net on `test_set_size` fresh sequences (frozen): share passing ABS, worst and mean error."""
    source, n_ok, errs = Source(cfg, rng), 0, []
    for start in range(0, cfg.test_set_size, 1000):  # in pieces: 10,000 sequences of q = 1000 are 80 MB per array
        x_index, t_index, score, lengths = source.take(min(1000, cfg.test_set_size - start))
        T, K_out = x_index.shape[1], net.params["W_out"].shape[0]
        err = np.zeros(lengths.shape[0])
        n_ok += K.evaluate(net.step, *net.args(), x_index, t_index, score, lengths, np.arange(lengths.shape[0]),
                           cfg.tolerance, False, np.zeros((T, K_out)), np.zeros((T, K_out)), np.zeros(T, bool), err)
        errs.append(err)
    err = np.concatenate(errs)
    return {"test_ok_pct": 100.0 * n_ok / err.size, "test_max_err": float(err.max()), "test_mean_err": float(err.mean())}


def summarize(cfg: LongLagRow, records: list[dict]) -> dict:
    """Extra table columns: when the cell was added (2a/2b), and the final test of every trial."""
    added = [r["cell_added_at"] for r in records if r.get("cell_added_at") is not None]
    tested = [r for r in records if "test_ok_pct" in r]
    guessing = {}
    if cfg.model == "guess":
        from cerepro.protocols import guess

        guessing = guess.summarize(records)
    return {
        "cell_added_mean": float(np.mean(added)) if added else np.nan,
        "cell_added_max": float(np.max(added)) if added else np.nan,
        "test_ok_pct_mean": float(np.mean([r["test_ok_pct"] for r in tested])) if tested else np.nan,
        "test_max_err_mean": float(np.mean([r["test_max_err"] for r in tested])) if tested else np.nan,
        **guessing,
    }


def _curve(seq_sse: np.ndarray, points: int = 50) -> list[float]:
    """The learning curve, compressed: mean error per presentation over `points` equal windows."""
    if seq_sse.size == 0:
        return []
    edges = np.linspace(0, seq_sse.size, min(points, seq_sse.size) + 1).astype(int)
    return [float(np.mean(seq_sse[a:b], dtype=np.float64)) for a, b in zip(edges[:-1], edges[1:])]
