"""The CLI's terminal output of a run (with cli.py, the only module that prints): its progress bar, and what it
prints at the end (the rows it computed, a verdict line per row, the files written, the next command); and
the JSON lines of `cerepro sample`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cerepro import status
from cerepro.text import plural


def follow(label: str, events: Iterator[Any], err: Console) -> dict[str, Any]:
    """Render a runner's events on `err`; return the data of its 'done' event."""
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("trials"),
        TextColumn("{task.fields[sequences]:,} sequences"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err, transient=False,
    )
    result: dict[str, Any] = {}
    waiting: dict[str, int] = {}
    task = None
    try:
        for event in events:
            data = event.data
            if event.kind == "start" and data["trials"]:
                progress.start()
                task = progress.add_task(label, total=data["trials"], sequences=0)
            if event.kind == "start" and data["skipped"]:
                err.print(f"{plural(data['skipped'], 'trial')} already in the ledger; use --fresh to redo them")
            if event.kind in ("start", "waiting") and data["waiting"] and data["waiting"] != waiting:
                waiting = data["waiting"]
                runs = ", ".join(f"{n} by {who}" for who, n in waiting.items())
                err.print(f"waiting for {plural(sum(waiting.values()), 'trial')} another cerepro run into this folder is "
                          f"computing ({runs}); taken over if that run ends without them")
            elif event.kind == "progress" and task is not None:
                progress.update(task, sequences=progress.tasks[0].fields["sequences"] + data["sequences"])
            elif event.kind == "trial" and task is not None:
                progress.advance(task)
                if not err.is_terminal and "record" in data:  # a log file: one line per finished trial
                    err.print(trial_line(label, data, progress.tasks[0].total), markup=False, soft_wrap=True)
            elif event.kind == "done":
                result = data
    finally:
        if task is not None:
            progress.stop()
    return result


def trial_line(label: str, data: dict[str, Any], total: float | None) -> str:
    """One finished trial, for a run whose progress goes to a file (no live bar there):
    'exp2c q50-p50 [lr-x10] trial 3: success after 41,210 sequences, 12 s (4 of 20)'."""
    row, record = data["row"], data["record"]
    of = f" of {int(total)}" if total else ""
    return (f"{status.trial_name(label, row.name, row.variant)} trial {data['trial']}: {status.outcome_text(record)}, "
            f"{status.time_text(record)} ({data['done']}{of})")


def finish(result: dict[str, Any], plan: Any, out_path: Path, out: Console, err: Console, tables_only: bool,
           compare_args: str) -> None:
    """The rows this command ran (or rebuilt), their verdicts, what was written, and the command to compare
    (`cerepro compare <compare_args>`)."""
    from cerepro import compare, views

    exp, table = plan.experiment, result.get("table")
    mine = set(map(tuple, result.get("command_keys", [])))
    rows = [r for r in table.to_dict("records") if (r["row"], r["variant"]) in mine] if table is not None else []
    if rows:
        out.print(views.run_table(rows, exp.heading, out.width))
        for r in rows:
            verdict, detail = compare.verdict(r)
            if r.get("diverged"):
                detail = "; ".join(filter(None, [detail, f"{r['diverged']} of {plural(r['trials'], 'trial')} diverged"]))
            name = r["row"] if r["variant"] == "paper" else f"{r['row']} [{r['variant']}]"
            out.print(f"{name}: {verdict}{' (' + detail + ')' if detail else ''}", markup=False, soft_wrap=True)
    if result.get("unconfigured"):
        err.print(f"The ledger holds {plural(result['unconfigured'], 'row configuration')} of {exp.name} recorded before it "
                  f"kept their settings; they join the tables after 'cerepro backfill --out {out_path}'.")
    if not result.get("paths"):
        err.print(f"No trial of {exp.name} in {out_path / 'ledger.sqlite'}: no tables written.")
        return
    if not tables_only:
        rate = result["trials_run"] / result["wall_s"] if result["wall_s"] > 0 else 0.0
        err.print(f"{plural(result['trials_run'], 'trial')} in {result['wall_s']:.1f} s ({rate:.2f} trials/s, workers idle "
                  f"{result.get('idle_fraction', 0.0):.0%})")
    err.print("wrote " + ", ".join(str(p) for p in result["paths"]))
    err.print(f"Beside the paper, with every row of the table: cerepro compare {compare_args}")


def sample_lines(batch: Any) -> list[dict]:
    """One JSON-able object per generated sequence of a Batch (cerepro.generators.base)."""
    import numpy as np

    from cerepro.generators.base import dense_inputs

    lines = []
    dense = dense_inputs(batch) if (batch.inputs is not None or batch.n_in <= 16) else None
    for i in range(batch.n):
        L = int(batch.lengths[i])
        line: dict = {}
        if batch.symbols is not None:
            line["symbols"] = batch.symbols[i]
        if dense is not None:
            line["inputs"] = dense[i, :L].tolist()
        else:  # one-hot with many units: the index of the active unit per step
            line["inputs"] = batch.input_index[i, :L].tolist()
            line["input_encoding"] = "one-hot index"
        line["targets"] = batch.targets[i, :L].tolist()
        line["target_mask"] = batch.target_mask[i, :L].tolist()
        for key, value in (batch.info or {}).items():
            if not (isinstance(value, np.ndarray) and value.shape[:1] == (batch.n,)):
                line[key] = value.tolist() if isinstance(value, np.ndarray) else value  # shared by all sequences
                continue
            v = value[i]
            line[key] = v[:L].tolist() if v.ndim and v.shape[0] == batch.targets.shape[1] else v.tolist()
        lines.append(line)
    return lines
