"""The command line: the only module that prints or exits.

Exit codes: 0 ok, 1 a check failed, 2 usage or config error, 130 interrupted. Progress goes to stderr,
results to stdout; Rich drops colour for NO_COLOR and for output that is not a terminal.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from cerepro import __version__, config, runner
from cerepro.config import SpecError

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Wide tables stay whole when piped (Rich assumes 80 columns off a terminal).
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


class CereproUsageError(click.UsageError):
    """Exit 2 with a one-line message and no usage dump."""

    def show(self, file=None) -> None:  # noqa: D102 - click's hook
        click.echo(f"Error: {self.format_message()}", err=True)


def _fail(message: str) -> None:
    raise CereproUsageError(message)


class PerRowCount(click.ParamType):
    """A positive integer for every row ("200000"), or per row ("lstm-p100=200000,rtrl-p10-lr1=1000000")."""

    name = "N|ROW=N,..."

    def convert(self, value, param, ctx):  # noqa: D102 - click's hook
        if isinstance(value, (int, dict)):
            return value
        text = str(value).strip()
        if "=" not in text:
            return self._positive(text, param, ctx)
        counts = {}
        for item in text.split(","):
            row, sep, number = item.partition("=")
            if not sep or not row.strip():
                self.fail(f"{item!r} is not ROW=N", param, ctx)
            counts[row.strip()] = self._positive(number, param, ctx)
        return counts

    def _positive(self, text: str, param, ctx) -> int:
        if not text.strip().isdigit() or int(text) < 1:
            self.fail(f"{text!r} is not a positive integer", param, ctx)
        return int(text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cerepro")
def main() -> None:
    """Re-run the experiments of Hochreiter & Schmidhuber (1997), "Long Short-Term Memory"."""


@main.command("list")
def list_cmd() -> None:
    """Name the experiments, their aliases and the models."""
    from cerepro.protocols import PROTOCOLS
    from cerepro.generators import TASKS

    table = Table(title="Experiments", title_justify="left")
    for col in ("experiment", "aliases", "paper table", "rows", "variants", "title"):
        table.add_column(col)
    seen = set()
    for name, path in config.spec_files().items():
        if path in seen:
            continue
        seen.add(path)
        exp = config.load(path)
        table.add_row(exp.name, ", ".join(exp.aliases), exp.paper_table, str(len(exp.rows)),
                      str(len({v.variant for v in exp.variants})), exp.title)
    out.print(table)
    from cerepro.models import MODELS

    models = Table(title="Models", title_justify="left")
    models.add_column("model")
    models.add_column("what it is")
    for name, model in MODELS.items():
        models.add_row(name, model.description)
    out.print(models)
    out.print(f"Protocols: {', '.join(PROTOCOLS)}")
    out.print(f"Tasks for 'cerepro sample': {', '.join(TASKS)}")


@main.command()
@click.argument("task")
@click.option("--n", "n", default=5, show_default=True, type=click.IntRange(min=1), help="Number of sequences.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Random seed.")
def sample(task: str, n: int, seed: int) -> None:
    """Print generated sequences of TASK as JSON lines (one object per sequence)."""
    from cerepro.generators import TASKS

    if task not in TASKS:
        _fail(f"unknown task {task!r}{config._hint(task, TASKS)}; tasks: {', '.join(TASKS)}")
    batch = TASKS[task][0](np.random.default_rng(seed), n)
    for line in _sample_lines(batch):
        click.echo(json.dumps(line))


def _sample_lines(batch) -> list[dict]:
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


@main.command()
@click.argument("experiment")
@click.option("--trials", type=PerRowCount(), help="Trials per row (default: the paper's); N, or ROW=N,... for some rows.")
@click.option("--seed", type=click.IntRange(min=0), help="Run seed; same seed, same tables (default: the spec's).")
@click.option("--workers", type=click.IntRange(min=1), help="Parallel processes (default: number of cores).")
@click.option("--max-sequences", type=PerRowCount(),
              help="Cap on training sequences per trial; N, or ROW=N,... for some rows (the others keep the spec's).")
@click.option("--variants", "variants", default="", help="Variant rows to add: comma-separated names, or 'all'.")
@click.option("--model", "model", metavar="NAME", help="Add each faithful row again, trained by model NAME "
              "(e.g. lstm-forget), as a variant row model-NAME.")
@click.option("--baselines", is_flag=True, help="Add the rows of the methods the paper compared with (RTRL, BPTT, ...).")
@click.option("--rows", "only_rows", default="", help="Only these paper rows (comma-separated names).")
@click.option("--out", "out_dir", default="results", show_default=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--fresh", is_flag=True, help="Redo trials already in the ledger.")
@click.option("--tables-only", is_flag=True, help="Run nothing: rewrite the tables from the trials in the ledger.")
@click.option("--executor", default="local", show_default=True, type=click.Choice(["local", "dask"]),
              help="Where trials run: a process pool here, or a dask.distributed cluster (needs the 'cluster' extra).")
@click.option("--scheduler", metavar="URL", help="Dask scheduler address, e.g. tcp://host:8786 (with --executor dask; "
              "without it a local cluster of --workers processes is started).")
@click.option("--engine", default="auto", show_default=True, type=click.Choice(["auto", "one", "lanes"]),
              help="one net per kernel call, or a row's trials in the SIMD lanes of one call (1997 LSTM, online and 2c "
              "rows); auto: lanes where they pay. The numbers are the same.")
def run(experiment: str, trials, seed, workers, max_sequences, variants: str, model: str | None, baselines: bool, only_rows: str, out_dir: str,
        fresh: bool, executor: str, scheduler: str | None, tables_only: bool, engine: str) -> None:
    """Re-run EXPERIMENT (name, alias, or a YAML spec file) and write results/<experiment>.csv/.md."""
    try:
        exp = config.resolve(experiment)
        chosen = "all" if variants == "all" else tuple(v for v in variants.split(",") if v)
        spec_rows = exp.select(chosen, baselines=baselines)
        if only_rows:
            names = [r for r in only_rows.split(",") if r]
            known = [r.name for r in exp.rows + exp.baselines]
            for name in names:
                if name not in known:
                    _fail(f"unknown row {name!r} of {exp.name}{config._hint(name, known)}")
            spec_rows = tuple(r for r in spec_rows if r.name in names)
        if model:
            spec_rows = spec_rows + config.with_model(spec_rows, model)
        known = sorted({r.name for r in spec_rows})
        for option, value in (("--trials", trials), ("--max-sequences", max_sequences)):
            for name in value if isinstance(value, dict) else ():
                if name not in known:
                    _fail(f"{option}: no row {name!r} in this run{config._hint(name, known)}")
        rows = config.with_overrides(spec_rows, trials=trials, max_sequences=max_sequences)
    except SpecError as exc:
        _fail(str(exc))
    out_path = Path(out_dir)
    _check_writable(out_path)
    _check_executor(executor, scheduler)
    cores = os.cpu_count() or 1
    if workers is not None and workers > 8 * cores:
        _fail(f"--workers {workers} is more than makes sense on {cores} cores (at most {8 * cores})")
    workers = workers or cores
    seed = exp.seed if seed is None else seed
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    where = f"dask scheduler {scheduler}" if scheduler else f"{workers} {'dask ' if executor == 'dask' else ''}workers"
    err.print(f"[bold]{exp.title}[/]: {len(rows)} rows, seed {seed}, {where}")
    try:
        result = _run_events(exp.name, runner.run(exp, rows, spec_rows, seed, workers, out_path, fresh=fresh, tables_only=tables_only,
                                                  executor=executor, scheduler=scheduler, engine=engine))
    except KeyboardInterrupt:
        err.print(f"Interrupted: finished trials are kept in {out_path / 'ledger.sqlite'}; "
                  f"run the same command again to resume.")
        sys.exit(EXIT_INTERRUPTED)
    _print_table(result["table"], exp.title)
    rate = result["trials_run"] / result["wall_s"] if result["wall_s"] > 0 else 0.0
    err.print(f"{result['trials_run']} trials in {result['wall_s']:.1f} s ({rate:.2f} trials/s, workers idle "
              f"{result.get('idle_fraction', 0.0):.0%}); wrote " + ", ".join(str(p) for p in result["paths"]))


def _check_executor(executor: str, scheduler: str | None) -> None:
    """Fail before any work if the dask cluster asked for cannot be used."""
    from cerepro import executors

    if scheduler is not None and executor != "dask":
        _fail("--scheduler needs --executor dask")
    try:
        if executor == "dask":
            executors.require_dask()
        if scheduler is not None:
            executors.check_scheduler(scheduler)
    except executors.ExecutorError as exc:
        _fail(str(exc))


def _sigterm_to_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _check_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".cerepro-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        _fail(f"cannot write to --out {str(path)!r}: {exc.strerror or exc}")


def _num(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _print_table(df, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for col, justify in (("row", "left"), ("variant", "left"), ("weights", "right"), ("lr", "right"), ("trials", "right"),
                         ("success %", "right"), ("paper %", "right"), ("mean seq.", "right"), ("paper mean", "right"),
                         ("median", "right"), ("min-max", "right"), ("scale", "left")):
        table.add_column(col, justify=justify)
    for r in df.itertuples():
        faithful = r.variant == "paper"
        table.add_row(
            r.row, r.variant, str(r.weights), f"{r.lr:g}", str(r.trials), _num(r.success_pct, 1),
            _num(r.paper_success_pct) if faithful else "", _num(r.seq_mean), _num(r.paper_seq_mean) if faithful else "",
            _num(r.seq_median), f"{_num(r.seq_min)}-{_num(r.seq_max)}" if r.successes else "-", r.scale,
        )
    out.print(table)


@main.command()
@click.argument("experiment")
def show(experiment: str) -> None:
    """Print the fully resolved spec (YAML) a run of EXPERIMENT would use."""
    import dataclasses

    import yaml

    try:
        exp = config.resolve(experiment)
    except SpecError as exc:
        _fail(str(exc))
    doc = {
        "experiment": exp.name, "title": exp.title, "paper_table": exp.paper_table, "protocol": exp.protocol,
        "seed": exp.seed, "source": exp.source,
        "rows": [{"name": r.name, "variant": r.variant, "weights": r.config.n_weights(), "config_hash": r.config_hash(),
                  **({"note": r.note} if r.note else {}), **_plain(dataclasses.asdict(r.config))}
                 for r in exp.rows + exp.variants + exp.baselines],
    }
    click.echo(yaml.safe_dump(doc, sort_keys=False, width=120), nl=False)


def _plain(d: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


@main.command()
@click.argument("experiment", required=False)
@click.option("--out", "out_dir", default="results", show_default=True, type=click.Path(file_okay=False), help="Results folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else there.")
def compare(experiment: str | None, out_dir: str, as_json: bool) -> None:
    """Our numbers beside the paper's with a verdict per row; all experiments in one line each if none is named."""
    from cerepro import compare as cmp

    try:
        exps = [config.resolve(experiment)] if experiment else cmp.all_experiments()
    except SpecError as exc:
        _fail(str(exc))
    docs = [cmp.experiment_comparison(e, Path(out_dir)) for e in exps]
    if as_json:
        click.echo(json.dumps(docs[0] if experiment else {"experiments": docs}, indent=2, sort_keys=True))
        return
    if experiment:
        _print_comparison(docs[0])
        return
    table = Table(title="Reproduction summary (faithful rows)", title_justify="left")
    for col in ("experiment", "paper table", "title", "reproduced", "differs", "reduced scale", "not run"):
        table.add_column(col, justify="left" if col in ("experiment", "title") else "right")
    for d in docs:
        c = d["summary"]
        table.add_row(d["experiment"], d["paper_table"], d["title"], str(c["reproduced"]), str(c["differs"]),
                      str(c["reduced scale"]), str(c["not run"]))
    out.print(table)


def _print_comparison(doc: dict) -> None:
    table = Table(title=f"{doc['title']} (paper Table {doc['paper_table']}); bold = best method", title_justify="left")
    for col in ("row", "variant", "model", "weights", "lr", "trials", "success %", "paper %", "mean seq.", "paper mean",
                "verdict", "detail"):
        table.add_column(col, justify="left" if col in ("row", "variant", "model", "verdict", "detail") else "right", no_wrap=True)
    for r in doc["rows"]:
        table.add_row(
            r["row"], r["variant"], r["model"], "" if r.get("weights") is None else str(r["weights"]), f"{r['lr']:g}" if r.get("lr") else "",
            str(r.get("trials", "")), _num(r.get("success_pct"), 1), _num(r.get("paper_success_pct")),
            _num(r.get("seq_mean")), _num(r.get("paper_seq_mean")), r["verdict"], r["detail"],
            style="bold" if r["best"] else None,
        )
    out.print(table)


@main.command()
@click.option("--out", "out_dir", default="results", show_default=True, type=click.Path(file_okay=False), help="Results folder.")
@click.option("--no-mechanism", is_flag=True, help="Skip the cell-state figures (they train two nets, about 30 s).")
def report(out_dir: str, no_mechanism: bool) -> None:
    """Write <out>/REPORT.md with every experiment's table, verdicts and figures."""
    from cerepro import report as report_mod

    _check_writable(Path(out_dir))
    path, figures = report_mod.build(Path(out_dir), mechanism=not no_mechanism)
    err.print(f"wrote {path} and {len(figures)} figures")


@main.command()
@click.option("--seconds", default=1.0, show_default=True, type=click.FloatRange(min=0.05), help="Kernel time per net.")
@click.option("--only", default="", help="Only the nets whose name contains this text.")
@click.option("--kernels-only", is_flag=True, help="Leave out whole rows and the lane engine (cerepro.bench_rows).")
def bench(seconds: float, only: str, kernels_only: bool) -> None:
    """Time-steps per second of each model kernel and of its plain-numpy reference, of whole rows, and of the lane
    engine, in one run."""
    from cerepro import bench as bench_mod

    table = Table(title="Online training speed, one core (time-steps per second)", title_justify="left")
    for col in ("net", "weights", "kernel", "numpy reference", "speed-up"):
        table.add_column(col, justify="left" if col == "net" else "right")
    for r in bench_mod.run(seconds, only):
        table.add_row(r["case"], str(r["weights"]), f"{r['kernel_steps_per_s']:,.0f}", f"{r['reference_steps_per_s']:,.0f}",
                      f"{r['speedup']:.0f}x")
    out.print(table)
    if not kernels_only:
        _bench_rows()


def _bench_rows() -> None:
    """The tables of cerepro.bench_rows: whole rows against their kernel, and the lane engine against one net."""
    from cerepro import bench_rows

    table = Table(title="Whole rows, one core (time-steps per CPU second; reduced caps)", title_justify="left")
    for col in ("table", "row", "trials", "sequences", "row", "bare kernel", "row / kernel"):
        table.add_column(col, justify="left" if col in ("table", "row") else "right")
    for r in bench_rows.rows():
        table.add_row(r["table"], r["row"], str(r["trials"]), f"{r['sequences']:,}", f"{r['row_steps_per_s']:,.0f}",
                      f"{r['kernel_steps_per_s']:,.0f}", f"{r['ratio']:.0%}")
    out.print(table)
    table = Table(title="Lanes: K trials of a row in one kernel, aggregate per core (time-steps per CPU second)",
                  title_justify="left")
    for col in ("table", "row", "cap", "K", "one net per call", "lanes", "speed-up"):
        table.add_column(col, justify="left" if col in ("table", "row") else "right")
    for r in bench_rows.lanes():
        table.add_row(r["table"], r["row"], f"{r['cap']:,}", str(r["lanes"]), f"{r['one_steps_per_s']:,.0f}",
                      f"{r['lane_steps_per_s']:,.0f}", f"{r['speedup']:.2f}x")
    out.print(table)


@main.command()
@click.option("--hypotheses", "names", default="", help="Comma-separated hypotheses (default: all; tasks/hypotheses.yaml).")
@click.option("--experiments", default="", help="Comma-separated 1997 experiments (default: exp1 ... exp6b).")
@click.option("--rows", "only_rows", default="", help="Only these LSTM rows (names as in the experiments' tables).")
@click.option("--scale", type=click.Choice(["screen", "paper"]), default="screen", show_default=True,
              help="screen: cap about 5x the paper's mean sequences, fewer trials on the costliest rows (labelled "
                   "reduced); paper: the experiment's own trials and cap.")
@click.option("--trials", type=click.IntRange(min=1), help="At most this many trials per row (a smoke run; labelled reduced).")
@click.option("--max-sequences", type=click.IntRange(min=1), help="At most this cap per row (a smoke run; labelled reduced).")
@click.option("--workers", type=click.IntRange(min=1), help="Parallel processes (default: number of cores).")
@click.option("--out", "out_dir", default="results", show_default=True, type=click.Path(file_okay=False), help="Results folder.")
@click.option("--tables-only", is_flag=True, help="Run nothing: rebuild HYPOTHESES.md from the ledger.")
@click.option("--json", "as_json", is_flag=True, help="Print the matrix as one JSON document on stdout.")
def explain(names: str, experiments: str, only_rows: str, scale: str, trials, max_sequences, workers, out_dir: str, tables_only: bool,
            as_json: bool) -> None:
    """Test every hypothesis on every 1997 LSTM row; write <out>/HYPOTHESES.md (the matrix) and its figure."""
    from cerepro import explain as explain_mod, hypotheses as hyp

    try:
        hyps, screen = hyp.load()
        chosen = hyp.select(hyps, [n for n in names.split(",") if n])
        exp_names = [e for e in experiments.split(",") if e] or list(hyp.EXPERIMENTS_1997)
        for name in exp_names:
            if name not in hyp.EXPERIMENTS_1997:
                _fail(f"--experiments: {name!r} is not a 1997 experiment{config._hint(name, hyp.EXPERIMENTS_1997)}")
        exps = [config.resolve(e) for e in exp_names]
        rows_filter = [r for r in only_rows.split(",") if r] or None
        plans = [(e, *hyp.plan(chosen, e, scale, screen, rows_filter, trials=trials, max_sequences=max_sequences)) for e in exps]
    except SpecError as exc:
        _fail(str(exc))
    out_path = Path(out_dir)
    _check_writable(out_path)
    workers = workers or os.cpu_count() or 1
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    if not tables_only:
        try:
            for exp, rows, spec_rows, _ in plans:
                todo, adopted = explain_mod.prepare(out_path, rows, spec_rows, exp.seed, __version__)
                if adopted:
                    err.print(f"{exp.name}: {adopted} trials of the same configurations taken from the ledger")
                if not todo:
                    continue
                spec_of = {(r.name, r.variant): s for r, s in zip(rows, spec_rows)}
                todo_spec = tuple(spec_of[(r.name, r.variant)] for r in todo)
                err.print(f"[bold]{exp.name}[/]: {len(todo)} hypothesis rows at {scale} scale, {workers} workers")
                batches = explain_mod.rounds(todo, todo_spec, out_path, exp.seed) if scale == "screen" else [(None, todo, todo_spec)]
                for k, batch, batch_spec in batches:
                    label = exp.name if k is None else f"{exp.name}, up to {k} trials per row"
                    _run_events(label, runner.run(exp, batch, batch_spec, exp.seed, workers, out_path, write=False))
        except KeyboardInterrupt:
            err.print(f"Interrupted: finished trials are kept in {out_path / 'ledger.sqlite'}; run the same command again to resume.")
            sys.exit(EXIT_INTERRUPTED)
    hyps_all, _ = hyp.load()
    doc = explain_mod.matrix(out_path, hyps_all, screen, [config.resolve(e) for e in hyp.EXPERIMENTS_1997])
    paths = explain_mod.write(out_path, doc)
    if as_json:
        click.echo(json.dumps(doc, indent=1, sort_keys=True, default=explain_mod._json))
        return
    table = Table(title="Hypotheses: paper rows reproduced", title_justify="left")
    for col in ("hypothesis", "reproduced / run", "scale", "fixes", "breaks", "not run"):
        table.add_column(col, justify="left" if col in ("hypothesis", "scale", "fixes", "breaks") else "right", overflow="fold")
    for s in doc["scores"]:
        table.add_row(s["hypothesis"], f"{s['reproduced']} / {s['run']}", ", ".join(s["scales"]) or "-",
                      ", ".join(s["fixes"]) or "-", ", ".join(s["breaks"]) or "-", str(s["not_run"]))
    out.print(table)
    err.print("wrote " + ", ".join(str(p) for p in paths))


def _run_events(label: str, events) -> dict | None:
    """Render a runner's progress events on stderr; return the data of its 'done' event."""
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("trials"),
        TextColumn("{task.fields[sequences]:,} sequences"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=err, transient=False,
    )
    result = None
    with progress:
        task = progress.add_task(label, total=None, sequences=0)
        for event in events:
            if event.kind == "start":
                progress.update(task, total=event.data["trials"])
                if event.data["skipped"]:
                    err.print(f"{event.data['skipped']} trials already in the ledger; use --fresh to redo them")
            elif event.kind == "progress":
                progress.update(task, sequences=progress.tasks[0].fields["sequences"] + event.data["sequences"])
            elif event.kind == "trial":
                progress.advance(task)
            elif event.kind == "done":
                result = event.data
    return result


if __name__ == "__main__":
    main()
