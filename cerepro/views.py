"""Terminal renderings (Rich) of runs, comparisons, summaries and listings, fitted to the console's width.

Row names and verdicts are never cut. When a table is wider than the console, its secondary columns are
dropped in a fixed order (each table says which it left out, under it), long free text wraps, and if even
the essential columns do not fit, each row is printed as a short block of lines instead. Building these
prints nothing: cli.py prints what they return.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from cerepro.text import number


class Column(NamedTuple):
    header: str
    justify: str = "right"
    drop: int = 0  # 0: essential, never dropped; otherwise dropped in order 1, 2, ... while the table is too wide
    wrap: bool = False  # free text that may wrap (the cells of other columns stay whole)


MIN_WRAP = 16  # a wrapping column is given at least this width (or its longest word)


def fitted(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int,
           styles: Sequence[str | None] | None = None) -> RenderableType:
    """`rows` (cells as text) as a table no wider than `width`: headers folded onto two lines, then secondary
    columns dropped, while it is too wide; as blocks of lines if even the essential columns do not fit."""
    headers = [c.header for c in columns]
    active = list(range(len(columns)))
    if _width(columns, headers, rows, active) > width:
        headers = [_fold(h) for h in headers]
    for rank in sorted({c.drop for c in columns if c.drop}):
        if _width(columns, headers, rows, active) <= width:
            break
        active = [i for i in active if columns[i].drop != rank]
    if _width(columns, headers, rows, active) > width:
        return _stacked(title, columns, rows, styles)
    table = Table(title=title, title_justify="left", caption_justify="left")
    for i in active:
        c = columns[i]
        table.add_column(headers[i], justify=c.justify, no_wrap=not c.wrap, overflow="fold",
                         min_width=None if c.wrap else _natural(c, headers[i], [r[i] for r in rows]))
    for n, r in enumerate(rows):
        table.add_row(*(r[i] for i in active), style=styles[n] if styles else None)
    left_out = [columns[i].header for i in range(len(columns)) if i not in active]
    if left_out:
        table.caption = f"Not shown at this width: {', '.join(left_out)}."
    return table


def _fold(header: str) -> str:
    """A header of several words on two lines, split at the space nearest its middle."""
    spaces = [i for i, ch in enumerate(header) if ch == " "]
    if not spaces:
        return header
    cut = min(spaces, key=lambda i: abs(2 * i - len(header)))
    return header[:cut] + "\n" + header[cut + 1:]


def _natural(column: Column, header: str, cells: list[str]) -> int:
    """The width a column needs: its header's longest line and every cell whole, or (free text) its longest
    word and at least MIN_WRAP."""
    head = max(cell_len(line) for line in header.split("\n"))
    if column.wrap:
        longest = max((cell_len(w) for c in cells for w in c.split()), default=0)
        return max(head if " " not in header else 0, min(MIN_WRAP, max((cell_len(c) for c in cells), default=0)), longest)
    return max([head] + [cell_len(c) for c in cells])


def _width(columns: Sequence[Column], headers: list[str], rows: Sequence[Sequence[str]], active: list[int]) -> int:
    """The rendered width: one space of padding each side of a cell, one border between cells and at each edge."""
    widths = [_natural(columns[i], headers[i], [r[i] for r in rows]) for i in active]
    return sum(widths) + 3 * len(widths) + 1


def _stacked(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]],
             styles: Sequence[str | None] | None) -> RenderableType:
    essential = [i for i, c in enumerate(columns) if not c.drop and not c.wrap]
    lines: list[RenderableType] = [Text(title, style="italic")]
    for n, r in enumerate(rows):
        lines.append(Text("  ".join(r[i] for i in essential), style=styles[n] if styles else None))
        rest = [f"{columns[i].header}: {r[i]}" for i in range(len(columns)) if i not in essential and r[i]]
        if rest:
            lines.append(Text("    " + "; ".join(rest)))
    return Group(*lines)


def run_table(rows: list[dict[str, Any]], title: str, width: int) -> RenderableType:
    """The rows a run computed (results.COLUMNS dicts): ours beside the paper's, divergences if any."""
    diverged = any(r.get("diverged") for r in rows)
    columns = [Column("row", "left"), Column("variant", "left"), Column("weights", drop=2), Column("lr", drop=3),
               Column("trials", drop=5), Column("success % (paper)", drop=8), Column("mean seq. (paper)", drop=7),
               Column("median", drop=1), Column("min-max", drop=4)]
    columns += [Column("diverged")] if diverged else []  # never dropped: a diverged trial is a failure to be seen
    columns += [Column("scale", "left")]
    cells = []
    for r in rows:
        faithful = r["variant"] == "paper"
        line = [r["row"], r["variant"], str(r["weights"]), f"{r['lr']:g}", str(r["trials"]),
                _ours_paper(r["success_pct"], r["paper_success_pct"] if faithful else None, 1),
                _ours_paper(r["seq_mean"], r["paper_seq_mean"] if faithful else None),
                number(r["seq_median"]), f"{number(r['seq_min'])}-{number(r['seq_max'])}" if r["successes"] else "-"]
        line += [str(r["diverged"] or "")] if diverged else []
        cells.append(line + [r["scale"]])
    return fitted(title, columns, cells, width)


def comparison(doc: dict[str, Any], width: int) -> RenderableType:
    """One experiment's rows beside the paper's, with verdicts (compare.experiment_comparison)."""
    columns = [Column("row", "left"), Column("variant", "left"), Column("model", "left", drop=4), Column("weights", drop=1),
               Column("lr", drop=2), Column("trials", drop=3), Column("success % (paper)", drop=6),
               Column("mean seq. (paper)", drop=5), Column("verdict", "left"), Column("detail", "left", drop=7, wrap=True)]
    cells = [[r["row"], r["variant"], r["model"], "" if r.get("weights") is None else str(r["weights"]),
              f"{r['lr']:g}" if r.get("lr") else "", str(r.get("trials", "")),
              _ours_paper(r.get("success_pct"), r.get("paper_success_pct"), 1, r["source"] == "ours"),
              _ours_paper(r.get("seq_mean"), r.get("paper_seq_mean"), 0, r["source"] == "ours"), r["verdict"], r["detail"]]
             for r in doc["rows"]]
    title = f"{doc['title']} (paper Table {doc['paper_table']}); bold = best method"
    return fitted(title, columns, cells, width, ["bold" if r["best"] else None for r in doc["rows"]])


SUMMARY_COUNTS = ("reproduced", "differs", "reduced scale", "no paper number", "not run")


def summary(docs: list[dict[str, Any]], width: int) -> RenderableType:
    """One line per experiment: how many of its faithful rows reproduce, differ, ... (compare without a name)."""
    columns = [Column("experiment", "left"), Column("paper table", drop=2), Column("title", "left", drop=1, wrap=True)]
    columns += [Column(name) for name in SUMMARY_COUNTS]
    cells = [[d["experiment"], d["paper_table"], d["title"], *(str(d["summary"][k]) for k in SUMMARY_COUNTS)] for d in docs]
    return fitted("Reproduction summary (faithful rows)", columns, cells, width)


def experiments(outlines: list[Any], width: int) -> RenderableType:
    columns = [Column("experiment", "left"), Column("aliases", "left", drop=1), Column("paper table", "left", drop=2),
               Column("rows"), Column("variants"), Column("title", "left", drop=3, wrap=True)]
    cells = [[o.name, ", ".join(o.aliases), o.paper_table, str(len(o.rows)), str(len(o.variants)), o.title] for o in outlines]
    return fitted("Experiments", columns, cells, width)


def models(descriptions: dict[str, str], width: int) -> RenderableType:
    return fitted("Models", [Column("model", "left"), Column("what it is", "left", wrap=True)],
                  [[name, doc] for name, doc in descriptions.items()], width)


def bench(rows: list[dict[str, Any]], width: int) -> RenderableType:
    columns = [Column("net", "left"), Column("weights"), Column("kernel"), Column("numpy reference"), Column("speed-up")]
    cells = [[r["case"], str(r["weights"]), number(r["kernel_steps_per_s"]), number(r["reference_steps_per_s"]),
              f"{r['speedup']:.0f}x"] for r in rows]
    return fitted("Online training speed, one core (time-steps per second)", columns, cells, width)


def hypothesis_scores(scores: list[dict[str, Any]], width: int) -> RenderableType:
    """One line per hypothesis: paper rows reproduced of those run, at which scales, which it fixes and breaks."""
    columns = [Column("hypothesis", "left"), Column("reproduced / run"), Column("of all rows"), Column("at most", drop=4),
               Column("scale", "left", drop=2), Column("fixes", "left", drop=1, wrap=True), Column("breaks", "left", drop=1, wrap=True),
               Column("not run", drop=3)]
    cells = [[s["hypothesis"], f"{s['reproduced']} / {s['run']}", f"{s['reproduced_with_faithful']} / {s['rows']}",
              f"{s['at_most']} / {s['rows']}", ", ".join(s["scales"]) or "-", ", ".join(s["fixes"]) or "-",
              ", ".join(s["breaks"]) or "-", str(s["not_run"])] for s in scores]
    return fitted("Hypotheses: paper rows reproduced", columns, cells, width)


def _ours_paper(ours: Any, paper: Any, digits: int = 0, have_ours: bool = True) -> str:
    """`96.7 (100)`: our number and the paper's in brackets; only the paper's on a quoted row."""
    if not have_ours:
        return f"({number(paper)})"
    return f"{number(ours, digits)} ({number(paper)})" if paper is not None and number(paper) != "-" else number(ours, digits)
