"""The hypothesis matrix written out: results/HYPOTHESES.md (the score, each paper row's best, the matrix), its
JSON (hypotheses.json, also `cerepro explain --json`) and heat map (figures/hypotheses.png), from the document
explain.matrix builds from the ledger.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from cerepro.results import doc_link, write_atomic

GOAL = 0.8  # one configuration reproducing this share of the 1997 LSTM rows would be the one explanation


def write(out_dir: Path, doc: dict[str, Any]) -> list[Path]:
    """HYPOTHESES.md, hypotheses.json and figures/hypotheses.png in out_dir."""
    paths = [out_dir / "HYPOTHESES.md", out_dir / "hypotheses.json"]
    write_atomic(paths[1], to_json(doc) + "\n")
    figure = out_dir / "figures" / "hypotheses.png"
    if _heat_map(doc, figure):
        paths.append(figure)
    write_atomic(paths[0], to_markdown(doc, figure_name="figures/hypotheses.png" if figure in paths else None,
                                       docs=doc_link("hypotheses.md", out_dir)))
    return paths


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, default=_json)


def to_markdown(doc: dict[str, Any], figure_name: str | None = None, docs: str = "docs/hypotheses.md") -> str:
    by = {(c["hypothesis"], c["experiment"], c["row"]): c for c in doc["cells"]}
    cols = doc["columns"]
    lines = ["# One explanation? Every hypothesis on every 1997 LSTM row", "",
             "Each line is a named deviation from the faithful reading (`tasks/hypotheses.yaml`, argued in",
             f"{docs}), applied uniformly to every LSTM row of Tables 1-9 and run by",
             "`cerepro explain` through the same runner, seeds and ledger as `cerepro run` (paired: every hypothesis sees",
             "the faithful row's data and initial weights). A cell is `ratio of our mean sequences to the paper's / success %`;",
             "**bold** = reproduced (within 10 points of success rate and a factor 1.5 of the mean; 100 % success is implied",
             "where the paper reports only means), `s` = screening scale (cap about 5x the paper's mean, fewer trials on",
             "the costliest rows: labelled reduced), `rC` = at cap C, below the paper's (`--scale bound`: the cap at which",
             "the trials' failures leave the configuration out of reach at paper scale; reduced), `dK/N` = decided after",
             "K of N planned trials (screening stops a row once its failures rule out a match; the success rate shown is",
             "over the K trials run), `p` = partial (not every planned trial has run), `n/a` = the hypothesis changes",
             "nothing in this row, `-` = not run yet. Configurations that set a row alike (the same settings, e.g.",
             "gate-biases and output-gate-bias on the adding rows, whose input gates the paper biases) share its trials",
             "at every cap, and so do the experiments' own variant rows with those settings.", ""]
    if figure_name:
        lines += [f"![hypotheses x rows]({figure_name})", ""]
    lines += ["## Score", "",
              "`of all rows`: the rows the configuration reproduces among all rows, counting each `n/a` row with the faithful",
              f"row's verdict (there the configuration is the faithful net); the goal is one configuration at {100 * GOAL:.0f} % of them.",
              "`at most`: the rows it could still reproduce at paper scale, whatever its trials not yet run there do: a",
              "success at any cap is final (a trial's record does not depend on the cap it stops before), a failure at a",
              "lower cap counts as a success just above that cap, a trial not run as a success after 0 sequences; a row is",
              "out of reach once too many trials have failed at the paper's cap, or even that best case is more than a",
              "factor 1.5 slower than the paper, or even every open trial succeeding at the cap leaves it 1.5x too fast.", "",
              "| hypothesis | rows reproduced / run | of all rows | at most | scale | fixes (vs faithful) | breaks | partial | not run | n/a |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for s in doc["scores"]:
        lines.append(f"| `{s['hypothesis']}` | {s['reproduced']} / {s['run']} | {s['reproduced_with_faithful']} / {s['rows']} | "
                     f"{s['at_most']} / {s['rows']} | {', '.join(s['scales']) or '-'} | "
                     f"{', '.join(s['fixes']) or '-'} | {', '.join(s['breaks']) or '-'} | {s['partial']} | {s['not_run']} | {s['no_meaning']} |")
    lines += ["", goal_text(doc["scores"])]
    lines += rows_markdown(doc["rows"])
    lines += ["", "## The matrix", ""]
    for table in sorted({c["paper_table"] for c in cols}, key=_table_order):
        mine = [c for c in cols if c["paper_table"] == table]
        lines += [f"**Table {table}**", "", "| hypothesis | " + " | ".join(f"{c['experiment']} {c['row']}" for c in mine) + " |",
                  "|---|" + "---|" * len(mine)]
        for h in doc["hypotheses"]:
            lines.append(f"| `{h['name']}` | " + " | ".join(_cell_text(by[(h["name"], c["experiment"], c["row"])]) for c in mine) + " |")
        lines.append("")
    lines += ["## The hypotheses", ""]
    for h in doc["hypotheses"]:
        parts = f" Parts: {', '.join('`' + p + '`' for p in h['parts'])}." if h["parts"] else ""
        lines += [f"- **`{h['name']}`**: {h['title']}. {h['rationale']}{parts} Source: {h['source']}.", ""]
    return "\n".join(lines)


def goal_text(scores: list[dict[str, Any]]) -> str:
    """Whether any configuration can still reach the goal (GOAL of all rows), from each score's `at_most`."""
    if not scores:
        return "No configuration in the matrix."
    rows = scores[0]["rows"]
    need = math.ceil(GOAL * rows - 1e-9)
    still = [s for s in scores if s["at_most"] >= need]
    best = max(scores, key=lambda s: s["at_most"])
    if not still:
        return (f"No configuration can reach the goal of {need} of {rows} rows any more: the most any could still "
                f"reproduce is {best['at_most']} (`{best['hypothesis']}`).")
    names = ", ".join(f"`{s['hypothesis']}` ({s['at_most']})" for s in still)
    return f"Could still reach the goal of {need} of {rows} rows (at most): {names}; every other configuration is out of reach."


def reproduced(rows: list[dict[str, Any]]) -> int:
    """How many paper rows (`doc["rows"]`) some tested configuration reproduces."""
    return sum(bool(r["reproduced_by"]) for r in rows)


def resisting(rows: list[dict[str, Any]]) -> list[str]:
    """"experiment row" of each paper row (`doc["rows"]`) that hypotheses ran on and none reproduces."""
    return [f"{r['experiment']} {r['row']}" for r in rows if r["run"] and not r["reproduced_by"]]


def rows_markdown(rows: list[dict[str, Any]]) -> list[str]:
    """Per paper row: the hypotheses that reproduce it, else its closest miss; then the rows no hypothesis reproduces."""
    lines = ["", "## Per paper row", "",
             f"Taking for each row whichever tested configuration does best, {reproduced(rows)} of {len(rows)} rows reproduce: an",
             "upper bound on what the tested details could reach together if their effects combined freely (the score",
             "says what each reaches alone). A row counts as run by a hypothesis once its planned trials finished or its",
             "failures decided it;",
             "`s` = at screening scale; `open for` = the configurations that have not reproduced the row and could still",
             "(see `at most` above).", "",
             "| row | reproduced by | run by | open for | closest otherwise (ratio / success %) |", "|---|---|---|---|---|"]
    for r in rows:
        close = r["closest"]
        miss = "-" if r["reproduced_by"] or close is None else (
            f"`{close['hypothesis']}` " + (f"{close['ratio']:.2f}x" if close["ratio"] else "none ok")
            + f" / {close['success_pct']:.0f}%" + (" s" if close["scale"] == "screen" else ""))
        by = ", ".join(f"`{h['hypothesis']}`" + (" s" if h["scale"] == "screen" else "") for h in r["reproduced_by"]) or "**none**"
        lines.append(f"| {r['experiment']} {r['row']} | {by} | {r['run']} | {len(r['open_for'])} | {miss} |")
    resist = resisting(rows)
    closed = [f"{r['experiment']} {r['row']}" for r in rows if not r["reproduced_by"] and not r["open_for"]]
    lines += ["", f"Rows that resist every hypothesis run on them ({len(resist)}): {', '.join(resist) or 'none'}.", "",
              f"Rows out of reach of every configuration, whatever their open trials do ({len(closed)}): {', '.join(closed) or 'none'}."]
    return lines


def _cell_text(c: dict[str, Any]) -> str:
    if c["status"] == "no meaning":
        return "n/a"
    if c["status"] == "not run":
        return "-"
    ratio = f"{c['ratio']:.2f}x" if c.get("ratio") else "none ok"
    text = f"{ratio} / {c['success_pct']:.0f}%"
    if c["verdict"] == "reproduced":
        text = f"**{text}**"
    tag = {"screen": " s", "reduced": f" r{_short(c['cap'])}", "partial": f" p{c['trials']}/{c['trials_planned']}"}.get(c["scale"], "")
    if c.get("decided"):
        tag += f" d{c['trials']}/{c['trials_planned']}"
    return text + tag + (f" ({c['diverged']} div.)" if c.get("diverged") else "")


def _short(cap: int) -> str:
    """A cap in a cell: 212k, 1.5M."""
    return f"{cap / 1e6:g}M" if cap >= 1_000_000 else f"{cap / 1e3:g}k" if cap >= 1000 else str(cap)


def _heat_map(doc: dict[str, Any], path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols, hyps = doc["columns"], [h["name"] for h in doc["hypotheses"]]
    if not cols or not hyps:
        return False
    by = {(c["hypothesis"], c["experiment"], c["row"]): c for c in doc["cells"]}
    grid = np.full((len(cols), len(hyps)), np.nan)
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(hyps), 1.2 + 0.3 * len(cols)))
    for i, col in enumerate(cols):
        for j, name in enumerate(hyps):
            c = by[(name, col["experiment"], col["row"])]
            if c["status"] == "run" and c.get("ratio"):
                grid[i, j] = math.log10(c["ratio"])
            mark = {"no meaning": "n/a", "not run": "?" if c.get("reachable", True) else ""}.get(c["status"])
            if mark is None:
                mark = ("✓" if c["verdict"] == "reproduced" else "") + ("×" if c.get("success_miss") else "")
                mark += "" if c.get("ratio") else "0"
                mark += "?" if c["verdict"] != "reproduced" and c.get("reachable") else ""
            ax.text(j, i, mark, ha="center", va="center", fontsize=7, color="black")
    image = ax.imshow(np.clip(grid, -1.5, 1.5), cmap="coolwarm", vmin=-1.5, vmax=1.5, aspect="auto")
    ax.set_xticks(range(len(hyps)), hyps, rotation=50, ha="right", fontsize=8)
    ax.set_yticks(range(len(cols)), [f"T{c['paper_table']} {c['experiment']} {c['row']}" for c in cols], fontsize=7)
    bar = fig.colorbar(image, ax=ax, shrink=0.6)
    bar.set_label("log10(our mean sequences / paper's)")
    ax.set_title("Hypotheses x 1997 LSTM rows (✓ reproduced, × success rate >10 points below, 0 none succeeded,\n"
                 "? could still be reproduced at paper scale, white: not run, n/a: no meaning)", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _table_order(table: str) -> tuple[int, str]:
    return (int(table), "") if table.isdigit() else (99, table)


def _json(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value))
