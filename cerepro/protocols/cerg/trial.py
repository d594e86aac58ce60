"""Gers, Schmidhuber & Cummins (2000) Table 2: the continual embedded Reber grammar, one trial (docs/paper.md, CERG).

Reber strings concatenated into streams that never reset the net (except in the "external reset" row, at every
string start); at every step the net predicts the next symbol. A training stream runs until the first wrong
prediction or 10^6 symbols, learning at every step; then the frozen net is tested on 10 fresh test streams, each
stopping at the first error or after 100,000 correct predictions. A net is "perfect" (Table 2 column a; our
`success`) when all 10 are error-free, and the trial stops there; else training goes on to `max_sequences`
streams. Otherwise "good" (b) if the mean error-free length of its last test exceeds 1000, else "rest" (c).
Streams come from the trial's streams "train" and "test", weights from "init".
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from cerepro.generators.cerg import Stream, piece_sizes
from cerepro.models.lstm97 import frozen as frozen97
from cerepro.protocols.cerg import kernel
from cerepro.protocols.cerg.settings import CergRow
from cerepro.protocols.common import DIVERGED, RUNNING, SUCCESS, Trial, curve


def predict(tr: Trial, stream: Stream, rule: kernel.StreamRule, cap: int, learn: bool, lr_state: np.ndarray,
            frozen_net: Any = None) -> tuple[int, int]:
    """One stream from reset: predictions until the first error or `cap` correct ones -> (correct, kernel status).
    A test stream (not `learn`) runs on `frozen_net` if given (frozen_for; the same outputs)."""
    stream.begin()
    done, status, fresh, sizes = 0, kernel.OK, True, piece_sizes()
    while done < cap:
        n = min(next(sizes), cap - done)
        stream.extend(n)
        if frozen_net is not None and not learn:
            k, status = kernel.run_frozen(frozen_net, tr.net.setup, tr.ws.z_reset, stream.codes, stream.legal,
                                          stream.starts, n + 1, fresh, rule, lr_state, frozen97.fast_exp())
        else:
            k, status = kernel.run_stream(tr.step, tr.net, tr.ws, stream.codes, stream.legal, stream.starts, n + 1,
                                          fresh, rule, lr_state, learn)
        done += k
        if status != kernel.OK:
            break
        stream.shift(n)
        fresh = False
    return done, status


def frozen_for(tr: Trial) -> Any:
    """Scratch for the trial's net frozen for its test streams (models/lstm_forget/frozen.py), or None where that
    forward pass does not compute the net (then the tests run the model's step with learn=False)."""
    from cerepro.models.lstm_forget import frozen, kernel as forget_kernel

    return frozen.frozen_net(tr.net) if tr.step is forget_kernel.step and frozen.usable(tr.net.setup) else None


def run_trial(cfg: CergRow, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None) -> dict:
    """Train one net on CERG training streams with the paper's tests; return its trial record."""
    tr = Trial(cfg, seed, row_key, trial, progress)
    train_streams, test_streams = Stream(tr.stream("train"), kernel.walk), Stream(tr.stream("test"), kernel.walk)
    rule = kernel.StreamRule(cfg.reset == "string", cfg.targets == "legal", cfg.threshold,
                             cfg.lr_decay if cfg.lr_schedule == "string" else 1.0)
    lr_state = np.array([cfg.lr])
    frozen_net = frozen_for(tr)
    train_len, test_mean = [], []  # per training stream: its error-free length; per test: mean test length
    last = {"mean": 0.0, "best": 0.0, "perfect": False, "symbols": 0}

    def train(done: int, n: int) -> tuple[int, int]:  # one training stream, then the test
        lr_state[0] = cfg.lr * (cfg.lr_decay**done if cfg.lr_schedule == "stream" else 1.0)
        k, status = predict(tr, train_streams, rule, cfg.train_stream_length, True, lr_state)
        train_len.append(k)
        last["symbols"] += k + (status == kernel.ERROR)
        if status == kernel.DIVERGED:
            return DIVERGED, 1
        if (done + 1) % cfg.test_every == 0 or done + 1 == cfg.max_sequences:
            if frozen_net is not None:
                frozen97.freeze(tr.net, frozen_net)
            lengths = [predict(tr, test_streams, rule, cfg.test_stream_length, False, lr_state, frozen_net)[0]
                       for _ in range(cfg.test_streams)]
            last["mean"] = float(np.mean(lengths))
            last["best"] = max(last["best"], last["mean"])
            test_mean.append(last["mean"])
            last["perfect"] = min(lengths) >= cfg.test_stream_length
        return (SUCCESS if last["perfect"] else RUNNING), 1

    status, done = tr.run(train, 1)
    kind = "perfect" if status == SUCCESS else ("good" if last["mean"] > cfg.good_length else "rest")
    return tr.record(status, done, np.array(train_len, dtype=float),  # curve: mean error-free training-stream length
                     **{"class": kind, "mean_length": last["mean"], "best_mean_length": last["best"],
                        "test_curve": curve(np.array(test_mean)), "train_symbols": int(last["symbols"])})


def summarize(cfg: CergRow, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Table 2's columns: % perfect (mean training streams), % good (mean length), % rest (mean length)."""
    n = len(records)

    def part(kind: str, key: str) -> tuple[float, float]:
        sel = [r for r in records if r.get("class") == kind]
        pct = 100.0 * len(sel) / n if n else float("nan")
        return pct, float(np.mean([r[key] for r in sel])) if sel else float("nan")

    perfect_pct, perfect_streams = part("perfect", "sequences")
    good_pct, good_len = part("good", "mean_length")
    rest_pct, rest_len = part("rest", "mean_length")
    return {"perfect_pct": perfect_pct, "perfect_streams_mean": perfect_streams, "good_pct": good_pct,
            "good_len_mean": good_len, "rest_pct": rest_pct, "rest_len_mean": rest_len}
