"""Gate activations and cell states of trained nets, faithful and under gate-bias hypotheses (docs/discrepancies.md).

Trains trials of an Exp 2c row (Table 3) or of adding T = 100 (Table 7) by the paper's protocol at a reduced
cap, once per configuration (the faithful row and the hypotheses named), then runs fresh sequences through the
numpy reference (no learning) and prints per trial: the outcome, the final test, the input gates' activation
at the relevant inputs (2c: the first step; adding: the two marked steps) and averaged over the others, the
output gates' at the last step, the largest |s_c| at the last step and the mean absolute end error. Examples
(about a minute each):

    python tools/trace_gates.py --row q50-p50 --cap 200000 --trials 3 --hypotheses input-gate-bias,gate-biases
    python tools/trace_gates.py --experiment exp4 --row lstm-T100 --cap 370000 --trials 2 --hypotheses gate-biases
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
    rows: dict[str, list[float]] = {"y_in relevant": [], "y_in other": [], "y_out last": [], "|s| last": [], "|err| last": []}
    for i in range(n):
        L, rec = int(batch.lengths[i]), {}
        net = Net.of({k: v.copy() for k, v in weights.items()}, lstm97.masks(arch))
        y = reference.run_sequence(net, arch, x[i, :L], batch.targets[i, :L], batch.target_mask[i, :L], cfg.lr,
                                   learn=False, record=rec)  # y (L, K)
        y_in, s = np.stack(rec["y_in"]), np.stack(rec["s"])  # (L, C), (L, H)
        relevant = batch.info["marked"][i] if cfg.task == "adding" else np.array([0])  # 2c: the trigger is step 0
        rows["y_in relevant"].append(float(y_in[relevant].mean()))
        rows["y_in other"].append(float(y_in[np.setdiff1d(np.arange(L - 1), relevant)].mean()))
        rows["y_out last"].append(float(np.stack(rec["y_out"])[L - 1].mean()) if arch.output_gate else 1.0)
        rows["|s| last"].append(float(np.abs(s[L - 1]).max()))
        rows["|err| last"].append(float(np.abs(y[L - 1] - batch.targets[i, L - 1]).max()))
    return {k: float(np.mean(v)) for k, v in rows.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="exp2c", choices=["exp2c", "exp4"])
    parser.add_argument("--row", default="q50-p50")
    parser.add_argument("--cap", type=int, default=200_000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--hypotheses", default="input-gate-bias,gate-biases")
    parser.add_argument("--sequences", type=int, default=20, help="fresh sequences traced per net")
    args = parser.parse_args(argv)
    exp = config.resolve(args.experiment)
    base = next(r for r in exp.rows if r.name == args.row)
    by_name = {h.name: h for h in hypotheses.load()[0]}
    for name in ["faithful", *filter(None, args.hypotheses.split(","))]:
        row = base if name == "faithful" else hypotheses.hypothesis_row(by_name[name], base)
        cfg = dataclasses.replace(row.config, max_sequences=args.cap)
        for t in range(args.trials):
            rec, weights = trained_weights(exp.protocol, cfg, exp.seed, row.seed_key, t)
            traced = gates(cfg, weights, args.sequences, seed=100 + t)
            test = (f"{rec['test_ok_pct']:5.1f} % right" if "test_ok_pct" in rec else f"{rec['test_wrong']} of {rec['test_n']:,} wrong")
            print(f"{name:18s} trial {t}: {rec['outcome']:7s} after {rec['sequences']:>9,}; test {test} | "
                  + "  ".join(f"{k} {v:.3f}" for k, v in traced.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
