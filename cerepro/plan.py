"""What a `run` command runs: the experiment's rows, selected, extended and overridden as the command line asks.

The CLI parses options and hands them here; every check of names and values happens here and raises
SpecError. Each planned row carries the command's settings as `config` and the spec's own as `spec`, which
is what labels a row `reduced`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cerepro import config
from cerepro.config import Experiment, Row, SpecError
from cerepro.specfile import hint


@dataclass(frozen=True)
class Plan:
    experiment: Experiment
    rows: tuple[Row, ...]
    seed: int


def names(text: str, option: str) -> list[str]:
    """Comma-separated names of an option; SpecError for an option given with no name at all (`--rows ,`)."""
    items = [n.strip() for n in text.split(",") if n.strip()]
    if text and not items:
        raise SpecError(f"{option}: no names given")
    return items


def plan(experiment: str, *, variants: str = "", baselines: bool = False, rows: str = "", model: str | None = None,
         trials: int | dict[str, int] | None = None, max_sequences: int | dict[str, int] | None = None,
         seed: int | None = None) -> Plan:
    """The rows a run of `experiment` computes: the faithful rows, the named `variants` ("all": every one),
    the baselines if asked, only the paper rows named in `rows` (a baseline named there is run without
    --baselines), each faithful row again trained by `model`, with `trials` and `max_sequences` applied (a
    number for every row, or {row: number})."""
    exp = config.resolve(experiment)
    chosen = "all" if variants == "all" else tuple(names(variants, "--variants"))
    selected = exp.select(chosen, baselines)
    if rows:
        wanted, known = names(rows, "--rows"), [r.name for r in exp.rows + exp.baselines]
        for name in wanted:
            if name not in known:
                raise SpecError(f"unknown row {name!r} of {exp.name}{hint(name, known) or '; rows: ' + ', '.join(known)}")
        selected = tuple(r for r in exp.select(chosen, True) if r.name in wanted)
    if model:
        selected += config.with_model(selected, model)
    in_run = sorted({r.name for r in selected})
    for option, value in (("--trials", trials), ("--max-sequences", max_sequences)):
        for name in value if isinstance(value, dict) else ():
            if name not in in_run:
                raise SpecError(f"{option}: no row {name!r} in this run{hint(name, in_run) or '; rows: ' + ', '.join(in_run)}")
    planned = config.with_overrides(selected, trials=trials, max_sequences=max_sequences)
    return Plan(exp, planned, exp.seed if seed is None else seed)
