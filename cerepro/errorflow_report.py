"""The error-flow section of REPORT.md and its figure, rebuilt from the stored trial records (never re-run).

The table (<out>/error-flow.csv) says which rows ran, with which config hash and run seed; the curves are in
the trial records of <out>/ledger.sqlite (cerepro.protocols.errorflow.run_trial). One figure,
figures/error_flow.png: log |error| against log lag, one panel per kind of net, the paper's bound dashed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from cerepro import config
from cerepro.results import doc_link
from cerepro.protocols.errorflow import SUMMARY_LAGS, curve

FIGURE = "error_flow.png"
Y_RANGE = (1e-12, 1e12)  # |error| axis of the conventional nets' panels; steeper curves leave it
LSTM_Y_RANGE = (1e-7, 1e1)  # ... of the LSTM panels


def stored(out_dir: Path) -> list[tuple[pd.Series, list[dict]]]:
    """(table row, its trial records in trial order) for every row of <out>/error-flow.csv."""
    table_path, ledger = out_dir / "error-flow.csv", out_dir / "ledger.sqlite"
    if not table_path.exists() or not ledger.exists():
        return []
    db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    try:
        out = []
        for _, row in pd.read_csv(table_path).iterrows():
            found = db.execute("SELECT trial, record FROM trials WHERE experiment=? AND row=? AND variant=? AND config_hash=? "
                               "AND run_seed=? ORDER BY trial", (row["experiment"], row["row"], row["variant"],
                                                                  row["config_hash"], int(row["run_seed"]))).fetchall()
            out.append((row, [json.loads(r) for _, r in found][: int(row["trials"])]))
    finally:
        db.close()
    return out


def _lags(records: list[dict]) -> np.ndarray:
    return np.array(records[0]["lags"], dtype=float)


def _for_log(values: np.ndarray) -> np.ndarray:
    """Values for the log axes: an underflowed 0 and anything far outside Y_RANGE (which holds LSTM_Y_RANGE) are
    drawn just off the axes, so a line leaves the panel instead of stopping or stretching the axis."""
    return np.clip(np.where(values > 0, values, 0.0), Y_RANGE[0] / 10, Y_RANGE[1] * 10)


def _cells(records: list[dict], key: str) -> np.ndarray:
    """(trials * cells, n_lags) a per-cell curve of every trial (NaN where a cell received nothing)."""
    return np.array([[np.nan if v is None else v for v in cell] for r in records for cell in r["cells"][key]], dtype=float)


def figure(rows: list[tuple[pd.Series, list[dict]]], path: Path) -> bool:
    """Draw the figure from the stored records; False if there is nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    rows = [(row, recs) for row, recs in rows if recs]
    if not rows:
        return False
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5), sharex=True)
    ax_unit, ax_net, ax_init, ax_trained = axes.flat
    scale_colors = {0.5: "tab:blue", 1.0: "tab:green", 2.0: "tab:red"}
    net_colors = iter(["tab:purple", "tab:orange", "tab:brown", "tab:cyan", "tab:olive", "tab:pink", "tab:gray"] * 3)
    lstm_nets: dict = {ax_init: [], ax_trained: []}  # (color, label) per LSTM row, for the legends
    for row, recs in rows:
        lags, net, flow = _lags(recs), recs[0]["net"], curve(recs, "flow")
        if net in ("unit", "recurrent"):
            ax, scale = (ax_unit if net == "unit" else ax_net), recs[0]["scale"]
            color = scale_colors.get(scale) or next(net_colors)
            noisy = net == "unit" and bool(recs[0]["input_noise"])
            if noisy:
                label = f"f'max|w| = {scale:g}, input noise {recs[0]['input_noise']:g} (median of {len(recs)})"
            elif net == "unit":
                label = f"f'max|w| = {scale:g}: measured; bound ({scale:g})^q dashed, under it"
            else:
                label = f"f'max||W|| = {scale:g} (median of {len(recs)}; band: min-max); bound n ({scale:g})^q dashed"
                ax.fill_between(lags, _for_log(np.nanmin(flow, axis=0)), _for_log(np.nanmax(flow, axis=0)), color=color, alpha=0.15, lw=0)
            ax.plot(lags, _for_log(np.nanmedian(flow, axis=0)), color=color, lw=1.2 if noisy else 2.2, ls=":" if noisy else "-",
                    marker="o" if noisy else None, ms=2.5, label=label)
            if not noisy:
                ax.plot(lags, _for_log(np.nanmedian(curve(recs, "bound"), axis=0)), color=color, lw=1.0, ls="--")
            continue
        ax = ax_trained if recs[0].get("trained") else ax_init
        color = next(net_colors)
        lstm_nets[ax].append((color, f"{row['row']} ({len(recs)} {'sequences' if recs[0].get('trained') else 'nets'})"))
        for key, style in (("flow", "-"), ("full", "-."), ("leak", ":")):
            ax.plot(lags, _for_log(np.nanmedian(curve(recs, key), axis=0)), color=color, lw=2.2 if key == "flow" else 1.2, ls=style)
        if ax is ax_init:
            ax.plot(lags, np.nanmedian(np.abs(_cells(recs, "truncated_cec")), axis=0), color="black", lw=1.0)
            ax.plot(lags, np.nanmedian(np.abs(_cells(recs, "full_cec")), axis=0), color="0.5", lw=1.0, ls="-.")
    for ax in (ax_unit, ax_net):
        ax.set_ylim(*Y_RANGE)
        ax.legend(fontsize=6.5, loc="lower left", framealpha=0.85)
    styles = [Line2D([], [], color="0.2", lw=2.2, label="to the cell input, truncated gradient (lstm97)"),
              Line2D([], [], color="0.2", lw=1.2, ls="-.", label="to the cell input, full gradient (lstm-full)"),
              Line2D([], [], color="0.2", lw=1.2, ls=":", label="to units outside the cell, full gradient (truncated: exactly 0)")]
    cec = [Line2D([], [], color="black", lw=1.0, label="in the CEC, truncated: theta_s(t-q) / theta_s(t)"),
           Line2D([], [], color="0.5", lw=1.0, ls="-.", label="in the CEC, full gradient (median over cells)")]
    for ax, extra in ((ax_init, cec), (ax_trained, [])):
        ax.set_ylim(*LSTM_Y_RANGE)
        nets = [Line2D([], [], color=c, lw=4, label=name) for c, name in lstm_nets[ax]]
        ax.add_artist(ax.legend(handles=styles + extra, fontsize=6.5, loc="lower left", framealpha=0.85))
        if nets:
            ax.legend(handles=nets, fontsize=6.5, loc="upper left", framealpha=0.85)
    titles = {ax_unit: "(a) One self-connected logistic unit (Sec. 3.2)\n"
                       "solid: held at its steepest point, f' = 0.25; dotted: nudged by noise",
              ax_net: "(b) Fully recurrent logistic net, n = 10 units (Table 1's RTRL net)\nthe largest error over units",
              ax_init: "(c) 1997 LSTM at initialisation (the adding net), per unit error at a cell's output\n"
                       "median over nets of the largest over cells",
              ax_trained: "(d) Trained 1997 LSTMs (committed trials, retrained)\nmedian over sequences of the largest over cells"}
    for ax, title in titles.items():
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axhline(1.0, color="0.8", lw=0.6, zorder=0)
        ax.set_title(title, fontsize=9)
        ax.grid(True, which="major", color="0.92", lw=0.5)
        ax.set_ylabel("|error q steps back| / |error injected|", fontsize=8)
    for ax in (ax_trained, ax_init):
        ax.set_xlabel("lag q (steps back from the injected error)")
    fig.suptitle("Error flow back through time (Hochreiter & Schmidhuber 1997, Section 3 and Appendix A.2): the error that "
                 "reaches a unit q steps back, per unit of error injected at the last step", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")  # atomic: temp file, then replace
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return True


def _num(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return "0" if value == 0 else f"{value:.3g}"


def _at(records: list[dict], key: str, q: int, how=np.median) -> float:
    """A statistic over trials of one curve at lag q (NaN if q is not on the grid)."""
    hit = np.flatnonzero(_lags(records) == q)
    return float(how(curve(records, key)[:, hit[0]])) if hit.size else float("nan")


def tables(rows: list[tuple[pd.Series, list[dict]]]) -> list[str]:
    """Markdown tables of the stored results: conventional nets against the bound, LSTMs truncated against full."""
    conventional = [(row, recs) for row, recs in rows if recs and recs[0]["net"] in ("unit", "recurrent")]
    lstm = [(row, recs) for row, recs in rows if recs and recs[0]["net"] == "lstm"]
    qs = " | ".join(f"q = {q}" for q in SUMMARY_LAGS)
    lines: list[str] = []
    if conventional:
        lines += ["Conventional logistic nets: |theta_v(t-q) / theta_u(t)|, the largest over units v (median over trials), beside the",
                  "paper's bound n (f'_max ||W||_A)^q; every trial was checked against finite differences (and the single unit",
                  "against its closed form, the product of f'(net) w along its trajectory).", "",
                  f"| row | f'_max \\|w\\| | input noise | trials | checked | measured: {qs} | bound: {qs} |",
                  "|---|---|---|---|---|" + "---|" * 2 * len(SUMMARY_LAGS)]
        for row, recs in conventional:
            noise = recs[0]["input_noise"]
            lines.append(f"| {row['row']} | {recs[0]['scale']:g} | {noise:g} | {len(recs)} | {sum(r['success'] for r in recs)} | "
                         + " | ".join(_num(_at(recs, "flow", q)) for q in SUMMARY_LAGS) + " | "
                         + " | ".join(_num(_at(recs, "bound", q)) for q in SUMMARY_LAGS) + " |")
        lines.append("")
    if lstm:
        lines += ["1997 LSTM: the error reaching a cell's input q steps back per unit error at the cell's output (the largest over",
                  "cells, median over trials), with the truncated gradient (Appendix A.1) and with the full one (lstm-full), and",
                  "what the full gradient sends to units outside the cell (the truncated one sends exactly 0). `CEC` is the",
                  "largest |theta_s(t-q) / theta_s(t) - 1| of the truncated gradient over every cell, lag and trial.", "",
                  f"| row | trained net | trials | checked | truncated: {qs} | full: q = 100 | q = 1000 | "
                  "outside the cell, full: q = 100 | q = 1000 | CEC |",
                  "|---|---|---|---|" + "---|" * len(SUMMARY_LAGS) + "---|---|---|---|---|"]
        for row, recs in lstm:
            trained = recs[0].get("trained")
            source = (f"{trained['experiment']} trial {trained['trial']} ({trained['outcome']} after {trained['sequences']:,} "
                      f"sequences)" if trained else "initial weights")
            cec = max((r["checks"]["cec_error"] for r in recs), default=float("nan"))
            lines.append(f"| {row['row']} | {source} | {len(recs)} | {sum(r['success'] for r in recs)} | "
                         + " | ".join(_num(_at(recs, "flow", q)) for q in SUMMARY_LAGS) + " | "
                         + " | ".join(_num(_at(recs, k, q)) for k in ("full", "leak") for q in (100, 1000)) + f" | {cec:.1g} |")
        lines.append("")
    return lines


def section(exp: config.Experiment, out_dir: Path) -> tuple[list[str], list[Path]]:
    """The REPORT.md section of the error-flow experiment and the figures it wrote."""
    lines = ["", f"<a id=\"{exp.name}\"></a>", f"## {exp.title}", "", exp.description, "",
             f"What is measured and how it maps to the paper: {doc_link('error-flow.md', out_dir)}.", ""]
    rows = stored(out_dir)
    if not any(recs for _, recs in rows):
        return lines + [f"_Not run yet_ (`cerepro run {exp.name} --out {out_dir}`)."], []
    lines += tables(rows)
    path = out_dir / "figures" / FIGURE
    if not figure(rows, path):
        return lines, []
    return lines + [f"![error flow](figures/{FIGURE})"], [path]
