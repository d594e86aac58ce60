"""Gate activations and cell states of trained nets, faithful and under gate-bias hypotheses (docs/discrepancies.md).

Trains trials of an Exp 2c row (Table 3), of adding T = 100 (Table 7) or of temporal order (Table 9) by the
paper's protocol at a reduced cap, once per configuration (the faithful row and the hypotheses named), then
runs fresh sequences through the numpy reference (no learning) and prints per trial: the outcome, the final
test, the input gates' activation at the relevant inputs (2c: the first step; adding: the two marked steps;
temporal order: the X/Y symbols) and averaged over the others, the output gates' mean over all steps and at
the last step, per block the spread of its cell output y^c over the steps of a sequence (a block whose
output barely moves works as a bias cell: Section 4's abuse problem), the largest |s_c| at the last step and
the mean absolute end error. Examples (about a minute each):

    python tools/trace_gates.py --row q50-p50 --cap 200000 --trials 3 --hypotheses input-gate-bias,gate-biases
    python tools/trace_gates.py --experiment exp4 --row lstm-T100 --cap 370000 --trials 2 --hypotheses gate-biases
    python tools/trace_gates.py --experiment exp6b --row lstm-3x2 --cap 600000 --trials 1,3 --hypotheses gate-biases
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from cerepro import config, hypotheses
from cerepro.generators import TASKS
from cerepro.generators.base import dense_inputs
from cerepro.models import lstm97
from cerepro.models.common import Net
from cerepro.models.lstm97 import reference
from cerepro.protocols.longlag import trial as longlag
from cerepro.protocols.online import trial as online


def trained_weights(protocol: str, cfg, seed: int, row_key: str, trial: int) -> tuple[dict, dict[str, np.ndarray]]:
    """(trial record, final weights) of one trial of a long-lag (2c) or online (adding) row."""
    kept: dict[str, np.ndarray] = {}
    module = {"longlag": longlag, "online": online}[protocol]
    return module.run_trial(cfg, seed, row_key, trial, keep_params=kept), kept


def gates(cfg, weights: dict[str, np.ndarray], n: int, seed: int) -> dict[str, float]:
    """Means over n fresh sequences of the traced quantities (see the module docstring)."""
    arch = lstm97.architecture(cfg, *cfg.sizes())
    batch = TASKS[cfg.task].sample(np.random.default_rng(seed), n, cfg)
    x = dense_inputs(batch)  # (n, T, I)
    rows: dict[str, list[float]] = {"y_in relevant": [], "y_in other": [], "y_out mean": [], "y_out last": [],
                                    "y_c spread min": [], "|s| last": [], "|err| last": []}
    for i in range(n):
        L, rec = int(batch.lengths[i]), {}
        net = Net.of({k: v.copy() for k, v in weights.items()}, lstm97.masks(arch))
        y = reference.run_sequence(net, arch, x[i, :L], batch.targets[i, :L], batch.target_mask[i, :L], cfg.lr,
                                   learn=False, record=rec)  # y (L, K)
        y_in, s = np.stack(rec["y_in"]), np.stack(rec["s"])  # (L, C), (L, H)
        if cfg.task == "adding":
            relevant = batch.info["marked"][i]
        elif cfg.task in ("6a", "6b"):
            relevant = batch.info["positions"][i]  # the X/Y symbols
        else:
            relevant = np.array([0])  # 2c: the trigger is step 0
        rows["y_in relevant"].append(float(y_in[relevant].mean()))
        rows["y_in other"].append(float(y_in[np.setdiff1d(np.arange(L - 1), relevant)].mean()))
        y_out = np.stack(rec["y_out"]) if arch.output_gate else np.ones((L, arch.n_blocks))  # (L, C)
        rows["y_out mean"].append(float(y_out.mean()))
        rows["y_out last"].append(float(y_out[L - 1].mean()))
        rows["y_c spread min"].append(float(np.stack(rec["y_c"]).std(axis=0).min()))  # (L, H) cell outputs
        rows["|s| last"].append(float(np.abs(s[L - 1]).max()))
        rows["|err| last"].append(float(np.abs(y[L - 1] - batch.targets[i, L - 1]).max()))
    return {k: float(np.mean(v)) for k, v in rows.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="exp2c", choices=["exp2c", "exp4", "exp6a", "exp6b"])
    parser.add_argument("--row", default="q50-p50")
    parser.add_argument("--cap", type=int, default=200_000)
    parser.add_argument("--trials", default="3", help="a count (trials 0 .. n-1) or comma-separated trial numbers")
    parser.add_argument("--hypotheses", default="input-gate-bias,gate-biases")
    parser.add_argument("--sequences", type=int, default=20, help="fresh sequences traced per net")
    args = parser.parse_args(argv)
    exp = config.resolve(args.experiment)
    base = next(r for r in exp.rows if r.name == args.row)
    by_name = {h.name: h for h in hypotheses.load()[0]}
    for name in ["faithful", *filter(None, args.hypotheses.split(","))]:
        row = base if name == "faithful" else hypotheses.hypothesis_row(by_name[name], base)
        cfg = dataclasses.replace(row.config, max_sequences=args.cap)
        for t in (range(int(args.trials)) if "," not in args.trials else map(int, args.trials.split(","))):
            rec, weights = trained_weights(exp.protocol, cfg, exp.seed, row.seed_key, t)
            traced = gates(cfg, weights, args.sequences, seed=100 + t)
            test = (f"{rec['test_ok_pct']:5.1f} % right" if "test_ok_pct" in rec else f"{rec['test_wrong']} of {rec['test_n']:,} wrong")
            print(f"{name:18s} trial {t}: {rec['outcome']:7s} after {rec['sequences']:>9,}; test {test} | "
                  + "  ".join(f"{k} {v:.3f}" for k, v in traced.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
