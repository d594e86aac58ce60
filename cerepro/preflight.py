"""Checks a command makes before it writes anything: workers, the dask cluster, the output folder, results to
read. Each failure is a SpecError with one line for the user (the CLI prints it and exits 2)."""

from __future__ import annotations

import os
from pathlib import Path

from cerepro.specfile import SpecError
from cerepro.text import plural


def workers(requested: int | None) -> int:
    """The worker count: as requested (at most 8 per core), else one per core."""
    cores = os.cpu_count() or 1
    if requested is not None and requested > 8 * cores:
        raise SpecError(f"--workers {requested} is more than makes sense on {plural(cores, 'core')} (at most {8 * cores})")
    return requested or cores


def executor(name: str, scheduler: str | None) -> None:
    """Fail before any work if the dask cluster asked for cannot be used."""
    if scheduler is not None and name != "dask":
        raise SpecError("--scheduler needs --executor dask")
    if name != "dask":
        return
    from cerepro import executors

    try:
        executors.require_dask()
        if scheduler is not None:
            executors.check_scheduler(scheduler)
    except executors.ExecutorError as exc:
        raise SpecError(str(exc)) from exc


def writable(path: Path) -> Path:
    """Create the output folder (call it after every other check) and make sure it takes files."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".cerepro-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise SpecError(f"cannot write to --out {str(path)!r}: {exc.strerror or exc}") from exc
    return path


def results_present(path: Path, exps: list) -> None:
    """Fail unless `path` holds the table of at least one of `exps`."""
    from cerepro.compare import has_results

    if not has_results(path, exps):
        names = "the table of " + exps[0].name if len(exps) == 1 else "no experiment's table"
        raise SpecError(f"no results found in {path.resolve()} ({names} is there); run 'cerepro run EXPERIMENT' first, "
                        f"or give --out the folder that holds them")
