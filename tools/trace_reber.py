"""Where Table 1's failing nets go wrong: the first wrong prediction of every check string (docs/discrepancies.md).

Trains trials of Exp 1 rows (Section 5.1, embedded Reber grammar) by the paper's protocol, once per configuration
(the faithful row and the hypotheses named), optionally to another cap, then runs every check string (the
trial's training and test set) through the numpy reference without learning and finds the first step whose
outputs do not put the legal successors strictly on top (the success test's rule, protocols/reber/kernel.py).
A string B (T|P) B ... E (T|P) E is read as L inputs (all but the final E) and classed by that step w (the
output at w predicts symbol w+1): `long lag` if w = L-2 (the second T/P, which repeats the symbol after the
first B: the embedded prediction), `final E` if w = L-1, `start` if w <= 1 (the inner B), else by the two symbols read last (`after VP`: the successor of a P that follows a V,
which must be told from the P after B; `after SS`: inside an S loop; Reber's graph, generators/reber.py).

By default the trials are those that failed at the row's cap in the ledger. Examples (seconds a net):

    python tools/trace_reber.py --rows lstm-3x2-lr0.1 --hypotheses output-layer
    python tools/trace_reber.py --hypotheses output-layer --no-faithful --cap 1000000
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
from pathlib import Path

import numpy as np

from cerepro import config, hypotheses
from cerepro.generators.base import dense_inputs
from cerepro.generators.reber import ALPHABET
from cerepro.ledger import Ledger
from cerepro.models import lstm97
from cerepro.models.common import Net
from cerepro.models.lstm97 import reference
from cerepro.protocols.reber import trial as reber


def first_wrong(y: np.ndarray, legal: np.ndarray, length: int) -> int:
    """The first step t < length whose outputs y[t] (T, K) do not put the legal units legal[t] strictly on top, or -1."""
    for t in range(length):
        if legal[t].any() and not y[t][legal[t]].min() > y[t][~legal[t]].max(initial=-np.inf):
            return t
    return -1


def classify(symbols: str, w: int) -> str:
    """The class of a first wrong step w of an embedded Reber string's inputs `symbols` (the module docstring)."""
    L = len(symbols)
    if w == L - 2:
        return "long lag"
    if w == L - 1:
        return "final E"
    if w <= 1:
        return "start"
    return f"after {symbols[w - 1:w + 1]}"


def check_strings(cfg, weights: dict[str, np.ndarray], seed: int, trial: int) -> tuple[int, collections.Counter, str]:
    """(check strings, wrong ones by class, the first wrong string with its outputs) of a trained net."""
    chk, _ = reber._encoded(seed, trial % cfg.set_pairs, cfg)
    arch = lstm97.architecture(cfg, *cfg.sizes())
    x, legal = dense_inputs(chk), chk.info["legal"]  # (m, T, I), (m, T, K)
    K = legal.shape[2]
    wrong: collections.Counter = collections.Counter()
    example = ""
    net = Net.of(weights, lstm97.masks(arch))  # learn=False below: the weights are only read
    for i in range(chk.n):
        L = int(chk.lengths[i])
        y = reference.run_sequence(net, arch, x[i, :L], np.zeros((L, K)), np.zeros(L, bool), cfg.lr, learn=False,
                                   reset_activation=cfg.reset_activation)  # (L, K)
        w = first_wrong(y, legal[i], L)
        if w < 0:
            continue
        symbols = "".join(ALPHABET[j] for j in chk.input_index[i, :L])
        wrong[classify(symbols, w)] += 1
        if not example:
            legal_next = "".join(ALPHABET[k] for k in range(K) if legal[i, w, k])
            example = (f"{symbols} step {w} (input {symbols[w]}, legal next {legal_next}): "
                       + " ".join(f"{ALPHABET[k]} {y[w, k]:.2f}" for k in range(K)))
    return chk.n, wrong, example


def failed_trials(ledger: Path, row, seed: int) -> list[int]:
    """The trials of `row` (at its own cap) that the ledger holds as failed."""
    led = Ledger(ledger)
    try:
        done = led.done(row.experiment, row.name, row.variant, row.config_hash(), seed)
    finally:
        led.close()
    return sorted(t for t, r in done.items() if not r["success"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    exp = config.resolve("exp1")
    faithful = hypotheses.lstm_rows(exp)
    parser.add_argument("--rows", default=",".join(r.name for r in faithful))
    parser.add_argument("--hypotheses", default="", help="comma-separated hypotheses (tasks/hypotheses.yaml)")
    parser.add_argument("--no-faithful", action="store_true", help="only the hypotheses' rows")
    parser.add_argument("--trials", default="failed",
                        help="'failed' (the trials the ledger holds as failed at the row's cap) or comma-separated numbers")
    parser.add_argument("--cap", type=int, default=None, help="training strings (default: the row's cap)")
    parser.add_argument("--ledger", type=Path, default=Path("results/ledger.sqlite"))
    args = parser.parse_args(argv)
    by_name = {h.name: h for h in hypotheses.load()[0]}
    names = ([] if args.no_faithful else ["faithful"]) + [h for h in args.hypotheses.split(",") if h]
    for name in names:
        totals: collections.Counter = collections.Counter()
        dominant: collections.Counter = collections.Counter()  # failing nets by their most frequent class
        nets = stuck = 0
        for base in (r for r in faithful if r.name in args.rows.split(",")):
            row = base if name == "faithful" else hypotheses.at_spec_scale(hypotheses.hypothesis_row(by_name[name], base))
            trials = (failed_trials(args.ledger, row, exp.seed) if args.trials == "failed"
                      else [int(t) for t in args.trials.split(",")])
            cfg = dataclasses.replace(row.config, max_sequences=args.cap or row.config.max_sequences)
            for t in trials:
                weights: dict[str, np.ndarray] = {}
                rec = reber.run_trial(cfg, exp.seed, row.seed_key, t, keep_params=weights)
                n, wrong, example = check_strings(cfg, weights, exp.seed, t)
                nets += 1
                if rec["success"]:
                    print(f"{name} {base.name} trial {t}: success after {rec['sequences']:,}", flush=True)
                    continue
                stuck += 1
                totals.update(wrong)
                dominant[wrong.most_common(1)[0][0] if wrong else "none wrong"] += 1
                classes = ", ".join(f"{c} {k}" for c, k in wrong.most_common(4))
                print(f"{name} {base.name} trial {t}: {rec['outcome']} after {rec['sequences']:,}; "
                      f"{sum(wrong.values())} of {n} strings wrong ({classes})\n    {example}", flush=True)
        share = ", ".join(f"{c} {k}" for c, k in totals.most_common(8))
        mostly = ", ".join(f"{c} {k}" for c, k in dominant.most_common())
        print(f"== {name}: {stuck} of {nets} nets fail; by their most frequent first wrong step: {mostly}; "
              f"their wrong strings: {share}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
