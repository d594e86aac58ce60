"""The command line: the only module that prints or exits.

Exit codes: 0 ok, 1 the ledger was replaced under a run (one line, `Error: ...`; ledger.LedgerReplaced), 2 a usage
or spec error (one line, `Error: ...`, and nothing written), 130 interrupted.
Progress goes to stderr, results to stdout; Rich drops colour for NO_COLOR and for output that is not a
terminal. Heavy modules (numba, pandas, the protocols) are imported by the commands that need them.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console

from cerepro import __version__, interrupts, preflight
from cerepro.ledger import LedgerReplaced
from cerepro.options import Finite, PerRowCount
from cerepro.scheduling import ENGINES
from cerepro.specfile import SpecError, hint
from cerepro.text import plural

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
RESULTS = "results"  # relative to the working folder, wherever cerepro is installed
OUT_HELP = "Results folder (default: ./results of the working folder)."
ENGINE = click.option("--engine", default="auto", show_default=True, type=click.Choice(ENGINES),
                      help="One net per kernel call (trials land one by one), or a row's trials in the SIMD lanes of "
                           "one call (1997 LSTM, online and 2c rows); auto: lanes where they pay. The numbers are the same.")

# Off a terminal Rich assumes 80 columns: wide tables stay whole when piped, unless COLUMNS says otherwise.
out = Console(highlight=False, width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # messages stay one line each, whatever the width


class Cli(click.Group):
    """Every error, Click's usage errors included, is one line `Error: ...` and exit 2 (no usage dump)."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort:
            sys.exit(EXIT_INTERRUPTED)
        except LedgerReplaced as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_FAILED)
        except click.ClickException as exc:
            message = exc.format_message().rstrip(".")
            if isinstance(exc, click.UsageError) and exc.ctx:
                message += f" (see '{' '.join(['cerepro', *exc.ctx.command_path.split()[1:]])} --help')"
            click.echo(f"Error: {message}", err=True)
            sys.exit(EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _checked(build: Callable[[], Any]) -> Any:
    """The value of `build()`, or exit 2 with its SpecError's one line."""
    try:
        return build()
    except SpecError as exc:
        _fail(str(exc))


def _stopped(out_path: Path, exc: BaseException) -> None:
    """Exit 130 after an interrupt, or a worker process killed from outside (kill, pkill, the OOM killer; its trial
    is lost): the finished trials are in the ledger."""
    what = "A worker process was killed" if isinstance(exc, BrokenProcessPool) else "Interrupted"
    err.print(f"{what}: finished trials are kept in {out_path / 'ledger.sqlite'}; run the same command again to resume.")
    sys.exit(EXIT_INTERRUPTED)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="cerepro")
def main() -> None:
    """Re-run the experiments of Hochreiter & Schmidhuber (1997), "Long Short-Term Memory".

    Results are written to and read from ./results of the working folder (--out names another)."""


@main.command("list")
def list_cmd() -> None:
    """Name the experiments, their aliases and the models."""
    from cerepro import catalog, views
    from cerepro.models import MODELS
    from cerepro.generators import TASKS

    outlines = _checked(lambda: [catalog.outline(p) for p in catalog.experiments()])
    out.print(views.experiments(outlines, out.width))
    out.print(views.models({name: model.description for name, model in MODELS.items()}, out.width))
    out.print(f"Tasks for 'cerepro sample': {', '.join(TASKS)}")


@main.command()
@click.argument("task")
@click.option("--n", "n", default=5, show_default=True, type=click.IntRange(1, 100_000), help="Number of sequences.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Random seed.")
def sample(task: str, n: int, seed: int) -> None:
    """Print generated sequences of TASK as JSON lines (one object per sequence)."""
    import json

    import numpy as np

    from cerepro.generators import TASKS
    from cerepro.terminal import sample_lines

    if task not in TASKS:
        _fail(f"unknown task {task!r}{hint(task, TASKS)}; tasks: {', '.join(TASKS)}")
    for line in sample_lines(TASKS[task][0](np.random.default_rng(seed), n)):
        click.echo(json.dumps(line))


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
@click.option("--out", "out_dir", default=RESULTS, type=click.Path(file_okay=False), help=OUT_HELP)
@click.option("--fresh", is_flag=True, help="Redo trials already in the ledger.")
@click.option("--tables-only", is_flag=True, help="Run nothing: rewrite the tables from the trials in the ledger.")
@click.option("--executor", default="local", show_default=True, type=click.Choice(["local", "dask"]),
              help="Where trials run: a process pool here, or a dask.distributed cluster (needs the 'cluster' extra).")
@click.option("--scheduler", metavar="URL", help="Dask scheduler address, e.g. tcp://host:8786 (with --executor dask; "
              "without it a local cluster of --workers processes is started).")
@ENGINE
def run(experiment: str, trials, seed, workers, max_sequences, variants: str, model: str | None, baselines: bool, only_rows: str,
        out_dir: str, fresh: bool, executor: str, scheduler: str | None, tables_only: bool, engine: str) -> None:
    """Re-run EXPERIMENT (name, alias, or a YAML spec file) and write <out>/<experiment>.csv/.md.

    The tables show every row of the experiment that the folder's ledger holds, whichever rows this run computes."""
    from cerepro import plan as planner

    plan = _checked(lambda: planner.plan(experiment, variants=variants, baselines=baselines, rows=only_rows, model=model,
                                         trials=trials, max_sequences=max_sequences, seed=seed))
    workers = _checked(lambda: preflight.workers(workers))
    _checked(lambda: preflight.executor(executor, scheduler))
    out_path = _checked(lambda: preflight.writable(Path(out_dir)))
    exp = plan.experiment
    where = f"dask scheduler {scheduler}" if scheduler else plural(workers, "dask worker" if executor == "dask" else "worker")
    if tables_only:
        err.print(f"[bold]{exp.title}[/]: the tables from {out_path / 'ledger.sqlite'}")
    else:
        err.print(f"[bold]{exp.title}[/]: {plural(len(plan.rows), 'row')}, seed {plan.seed}, {where}")
    interrupts.install()
    from cerepro import runner, terminal

    try:
        result = terminal.follow(exp.name, runner.run(plan, workers, out_path, fresh=fresh, tables_only=tables_only,
                                                      executor=executor, scheduler=scheduler, engine=engine), err)
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        _stopped(out_path, exc)
    except SpecError as exc:
        _fail(str(exc))
    compare_args = experiment + ("" if out_dir == RESULTS else f" --out {out_dir}")
    terminal.finish(result, plan, out_path, out, err, tables_only, compare_args)


@main.command()
@click.argument("experiment")
@click.option("--all", "show_all", is_flag=True, help="Every setting, also those the row's model does not use.")
def show(experiment: str, show_all: bool) -> None:
    """Print the fully resolved spec (YAML) a run of EXPERIMENT would use: per row, the settings its model uses."""
    import yaml

    from cerepro import config

    exp = _checked(lambda: config.resolve(experiment))
    doc = {
        "experiment": exp.name, "title": exp.title, "paper_table": exp.paper_table, "protocol": exp.protocol,
        "seed": exp.seed, "source": exp.source,
        "rows": [{"name": r.name, "variant": r.variant, "weights": r.config.n_weights(), "config_hash": r.config_hash(),
                  **({"note": r.note} if r.note else {}), **config.shown_settings(r.config, show_all)} for r in exp.spec_rows()],
    }
    click.echo(yaml.safe_dump(doc, sort_keys=False, width=120), nl=False)


@main.command()
@click.argument("experiment", required=False)
@click.option("--out", "out_dir", default=RESULTS, type=click.Path(file_okay=False), help=OUT_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout and nothing else there.")
def compare(experiment: str | None, out_dir: str, as_json: bool) -> None:
    """Our numbers beside the paper's with a verdict per row; all experiments in one line each if none is named."""
    import json

    from cerepro import catalog, compare as cmp, views

    exps = _checked(lambda: [catalog.find(experiment)] if experiment else cmp.all_experiments())
    _checked(lambda: preflight.results_present(Path(out_dir), exps))
    docs = [cmp.experiment_comparison(e, Path(out_dir)) for e in exps]
    if as_json:
        click.echo(json.dumps(docs[0] if experiment else {"experiments": docs}, indent=2, sort_keys=True))
    else:
        out.print(views.comparison(docs[0], out.width) if experiment else views.summary(docs, out.width))
        if (Path(out_dir) / "HYPOTHESES.md").is_file():
            out.print(f"Every hypothesis on every 1997 row: {Path(out_dir) / 'HYPOTHESES.md'} (cerepro explain)", soft_wrap=True)


@main.command()
@click.option("--out", "out_dir", default=RESULTS, type=click.Path(file_okay=False), help=OUT_HELP)
@click.option("--no-mechanism", is_flag=True, help="Skip the cell-state figures (they train two nets, about 30 s).")
def report(out_dir: str, no_mechanism: bool) -> None:
    """Write <out>/REPORT.md with every experiment's table, verdicts and figures."""
    from cerepro import compare as cmp, report as report_mod

    _checked(lambda: preflight.results_present(Path(out_dir), cmp.all_experiments()))
    path, figures = report_mod.build(_checked(lambda: preflight.writable(Path(out_dir))), mechanism=not no_mechanism)
    err.print(f"wrote {path} and {plural(len(figures), 'figure')}")


@main.command()
@click.option("--seconds", default=1.0, show_default=True, type=Finite(0.05, 600), help="Kernel time per net.")
@click.option("--only", default="", help="Only the cases whose name contains this text (a model, a task such as adding, "
                                         "an experiment such as exp4).")
@click.option("--part", "parts", multiple=True, type=click.Choice(["kernels", "rows", "lanes"]),
              help="What to time (repeatable; default all): the kernels, whole rows against their kernel, the lane engine.")
def bench(seconds: float, only: str, parts: tuple[str, ...]) -> None:
    """Time-steps per second of each model kernel and of its plain-numpy reference, of whole rows, and of the lane
    engine, in one run."""
    from cerepro import bench as bench_mod, bench_rows, views

    parts = parts or ("kernels", "rows", "lanes")
    names = {"kernels": [case.name for case in bench_mod.CASES], "rows": [case.name for case in bench_rows.ROWS],
             "lanes": [case.name for case in bench_rows.LANE_ROWS]}
    if not any(only in name for part in parts for name in names[part]):
        listed = sorted({name for part in parts for name in names[part]})
        _fail(f"--only {only!r} matches no case of --part {', '.join(parts)}; cases: {', '.join(listed)}")
    if "kernels" in parts and any(only in name for name in names["kernels"]):
        out.print(views.bench(bench_mod.run(seconds, only), out.width))
    if "rows" in parts and any(only in name for name in names["rows"]):
        out.print(bench_rows.rows_view(bench_rows.rows(only=only), out.width))
    if "lanes" in parts and any(only in name for name in names["lanes"]):
        out.print(bench_rows.lanes_view(bench_rows.lanes(only=only), out.width))


@main.command()
@click.option("--out", "out_dir", default=RESULTS, type=click.Path(file_okay=False), help=OUT_HELP)
@click.option("--dry-run", is_flag=True, help="Say what would be stored, store nothing.")
def backfill(out_dir: str, dry_run: bool) -> None:
    """Store in the ledger the settings of trials recorded before it kept them (once per results folder).

    Each such row configuration is matched by its config hash against the specs' rows, variants, baselines and
    --model rows at the caps the folder's tables and trial records show; what cannot be matched is listed."""
    from cerepro import backfill as backfill_mod

    ledger = Path(out_dir) / "ledger.sqlite"
    if not ledger.is_file():
        _fail(f"no ledger at {ledger.resolve()}")
    found = _checked(lambda: backfill_mod.backfill(Path(out_dir), dry_run=dry_run))
    for line in backfill_mod.describe(found, dry_run):
        out.print(line, soft_wrap=True, markup=False)


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", default=RESULTS, type=click.Path(file_okay=False), help=OUT_HELP)
def merge(source: str, out_dir: str) -> None:
    """Add the trials of another ledger file SOURCE to <out>/ledger.sqlite (e.g. the copy a run saved when its
    ledger was replaced under it); a trial both hold keeps this ledger's record. Tables are rebuilt by
    `cerepro run EXPERIMENT --tables-only`."""
    from cerepro.ledger import Ledger

    target = Path(out_dir) / "ledger.sqlite"
    if not target.is_file():
        _fail(f"no ledger at {target.resolve()}")
    if Path(source).resolve() == target.resolve():
        _fail(f"{source} is the ledger itself")
    ledger = Ledger(target)
    try:
        counts = ledger.merge(Path(source))
    except ValueError as exc:
        _fail(str(exc))
    finally:
        ledger.close()
    out.print(f"{plural(counts['added'], 'trial')} added to {target}; {counts['same']} already there"
              + (f"; {plural(counts['differ'], 'trial')} with another record there kept as they were" if counts["differ"] else ""),
              soft_wrap=True, markup=False)


@main.command()
@click.option("--out", "out_dir", default=RESULTS, type=click.Path(file_okay=False), help=OUT_HELP)
@click.option("--since", "since_minutes", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="List the trials finished in the last this many minutes.")
def status(out_dir: str, since_minutes: float) -> None:
    """What <out> holds and what runs are computing into it: the trials they have claimed (and whether each run
    still lives), the trials finished lately with their outcomes, and trials suspended in lanes. Reads only."""
    from cerepro import checkpoints
    from cerepro import status as status_mod
    from cerepro.ledger import Ledger

    ledger = Ledger.existing(Path(out_dir) / "ledger.sqlite")
    if ledger is None:
        _fail(f"no ledger at {(Path(out_dir) / 'ledger.sqlite').resolve()}; run 'cerepro run EXPERIMENT' first, or "
              "give --out the folder that holds it")
    try:
        for line in status_mod.lines(ledger, since_minutes, suspended=checkpoints.Store(Path(out_dir)).suspended()):
            out.print(line, soft_wrap=True, markup=False)
    finally:
        ledger.close()


@main.command()
@click.option("--hypotheses", "names", default="", help="Comma-separated hypotheses (default: all; tasks/hypotheses.yaml).")
@click.option("--experiments", default="", help="Comma-separated 1997 experiments (default: exp1 ... exp6b).")
@click.option("--rows", "only_rows", default="", help="Only these LSTM rows (names as in the experiments' tables).")
@click.option("--scale", type=click.Choice(["screen", "paper", "bound"]), default="screen", show_default=True,
              help="screen: cap 5x the paper's mean, fewer trials on the costliest rows, rows stop once decided (reduced); "
                   "paper: the experiment's own trials and cap; bound: each row at the lowest cap at which its next "
                   "trials' failures would leave the configuration out of reach at paper scale, in rounds until it is "
                   "(reduced; a success is final).")
@click.option("--until-decided", is_flag=True,
              help="paper scale: run each row in rounds of 2, 4, 8, ... trials and stop it once its failures decide the "
                   "verdict, as screening does (the cell is final either way: marked dK/N).")
@click.option("--trials", type=click.IntRange(min=1), help="At most this many trials per row (a smoke run; reduced).")
@click.option("--max-sequences", type=click.IntRange(min=1), help="At most this cap per row (a smoke run; reduced).")
@click.option("--workers", type=click.IntRange(min=1), help="Parallel processes (default: number of cores).")
@click.option("--out", "out_dir", default=RESULTS, type=click.Path(file_okay=False), help=OUT_HELP)
@click.option("--tables-only", is_flag=True, help="Run nothing: rebuild HYPOTHESES.md from the ledger.")
@click.option("--json", "as_json", is_flag=True, help="Print the matrix as one JSON document on stdout.")
@ENGINE
def explain(names: str, experiments: str, only_rows: str, scale: str, until_decided: bool, trials, max_sequences, workers,
            out_dir: str, tables_only: bool, as_json: bool, engine: str) -> None:
    """Test the hypotheses on every 1997 LSTM row; write <out>/HYPOTHESES.md (the matrix), its JSON and figure."""
    from cerepro import explain as explain_mod, explain_report, plan as plan_mod, terminal, views

    selected, screen = _checked(lambda: explain_mod.select(plan_mod.names(names, "--hypotheses"), plan_mod.names(experiments, "--experiments"),
                                                      plan_mod.names(only_rows, "--rows") or None, scale, trials, max_sequences))
    workers = _checked(lambda: preflight.workers(workers))
    out_path = _checked(lambda: preflight.writable(Path(out_dir)))
    interrupts.install()
    try:
        for kind, data in ([] if tables_only else explain_mod.runs(selected, scale, workers, out_path, __version__, engine,
                                                                     until_decided, screen)):
            if kind == "paper only":
                err.print(f"{data[0]}: only the paper's cap can decide {', '.join(data[1])}: run these with --scale paper "
                          "--until-decided")
            elif kind == "bound":
                for label, n, cap in data[1]:
                    err.print(f"{data[0]}: {label}: {plural(n, 'trial')} at most, cap {cap:,}", soft_wrap=True)
            elif kind == "adopted":
                err.print(f"{data[0]}: {plural(data[1], 'trial')} of the same configurations taken from the ledger")
            elif kind == "experiment":
                err.print(f"[bold]{data[0]}[/]: {plural(data[1], 'hypothesis row')} at {scale} scale, {plural(workers, 'worker')}")
            else:
                terminal.follow(data[0], data[1], err)
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        _stopped(out_path, exc)
    doc, paths = explain_mod.rebuild(out_path)
    if as_json:
        click.echo(explain_report.to_json(doc))
        return
    out.print(views.hypothesis_scores(doc["scores"], out.width))
    err.print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
