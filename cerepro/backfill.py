"""Once per results folder: store the settings of trials recorded before the ledger kept them.

Each row configuration of the `trials` table without a `configs` entry is matched, by its config hash,
against the rows the specs define (faithful rows, variants, baselines, and every faithful row trained by each
other model as `--model` makes them), and the hypothesis rows of `cerepro explain` (kept out of the experiment's tables), each at
the spec's cap, at the caps the folder's table of the experiment shows, at the screening cap of a hypothesis
row, and at the caps its own trials ran into (the sequence count of a trial that ended at its cap; for a
hypothesis row, any trial of its paper row). The trial count stored is the one the folder's table shows for that configuration, else the number
of trials it has. What matches nothing is listed and stays out of the tables. Everything is written in one
transaction, so a run writing to the same ledger at the same time only waits a moment.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

from cerepro import config, hypotheses, tables
from cerepro.compare import read_table
from cerepro.config import Experiment
from cerepro.ledger import Ledger, StoredConfig
from cerepro.text import plural


class Found(NamedTuple):
    matched: list[StoredConfig]
    unmatched: list[dict[str, Any]]  # the ledger's groups (Ledger.unconfigured), each with a `why`
    ledger: Path


def backfill(out_dir: Path, dry_run: bool = False) -> Found:
    path = out_dir / "ledger.sqlite"
    ledger = Ledger.existing(path) if dry_run else Ledger(path)
    assert ledger is not None, path
    try:
        experiments: dict[str, Experiment | None] = {}
        matched, unmatched = [], []
        for group in ledger.unconfigured():
            name = group["experiment"]
            if name not in experiments:
                experiments[name] = _experiment(name)
            exp = experiments[name]
            found = _match(exp, group, read_table(out_dir / f"{name}.csv"), ledger) if exp else "no spec of that experiment"
            if isinstance(found, str):
                unmatched.append({**group, "why": found})
            else:
                matched.append(found)
        if matched and not dry_run:
            ledger.record_configs(matched)  # one transaction
    finally:
        ledger.close()
    return Found(matched, unmatched, path)


def _experiment(name: str) -> Experiment | None:
    try:
        return config.resolve(name)
    except config.SpecError:
        return None


def _match(exp: Experiment, group: dict[str, Any], table: list[dict[str, Any]], ledger: Ledger) -> StoredConfig | str:
    hypothesis = group["variant"].startswith(hypotheses.PREFIX)
    row = _hypothesis_row(exp, group) if hypothesis else exp.spec_row(group["row"], group["variant"])
    if row is None:
        return f"{exp.name} has no row {group['row']} [{group['variant']}] (nor a --model or hypothesis row of that name)"
    records = ledger.done(*(group[k] for k in ("experiment", "row", "variant", "config_hash", "run_seed"))).values()
    caps = {row.config.max_sequences} | {r["cap"] for r in table if isinstance(r.get("cap"), int)}
    caps |= {int(r["sequences"]) for r in records if r.get("outcome") == "cap"}
    if hypothesis:  # its screening cap (the planned trial count is the screening one)
        _, screen = hypotheses.load()
        screened = hypotheses.screen_row(row, screen)
        caps.add(screened.config.max_sequences)
        caps |= ledger.row_caps(group["experiment"], group["row"], group["run_seed"])
    for cap in sorted(caps):
        candidate = dataclasses.replace(row, config=dataclasses.replace(row.config, max_sequences=cap))
        if candidate.config_hash() != group["config_hash"]:
            continue
        shown = [r["trials"] for r in table if (r["row"], r["variant"], r["config_hash"]) ==
                 (group["row"], group["variant"], group["config_hash"])]
        trials = shown[0] if shown else max(group["n_trials"], group["last_trial"] + 1)
        if hypothesis:
            trials = screened.config.trials if cap == screened.config.max_sequences else row.config.trials
        candidate = dataclasses.replace(candidate, config=dataclasses.replace(candidate.config, trials=trials))
        return tables.stored(candidate, group["run_seed"], exp.protocol, started_at=group["first_finished"],
                             version=group["version"], tabled=not hypothesis)
    return f"no setting of the spec's row at caps {', '.join(f'{c:,}' for c in sorted(caps))} has this config hash"


def _hypothesis_row(exp: Experiment, group: dict[str, Any]) -> config.Row | None:
    """The faithful row `group` names under the hypothesis its variant names (a row of HYPOTHESES.md)."""
    known = {h.name: h for h in hypotheses.load()[0]}
    h = known.get(group["variant"].removeprefix(hypotheses.PREFIX))
    base = next((r for r in hypotheses.lstm_rows(exp) if r.name == group["row"]), None)
    if h is None or base is None:
        return None
    return hypotheses.hypothesis_row(h, base)


def describe(found: Found, dry_run: bool) -> list[str]:
    """What was (or would be) stored, and what could not be matched, one line each."""
    verb = "Would store" if dry_run else "Stored"
    lines = [f"{verb} the settings of {plural(len(found.matched), 'row configuration')} in {found.ledger}."]
    for c in found.matched:
        cap = c.settings.get("max_sequences", config.protocol_class(c.protocol, "").max_sequences)
        lines.append(f"  {c.experiment} {c.row} [{c.variant}] {c.config_hash}: cap {cap:,}, {plural(c.trials, 'trial')}")
    if found.unmatched:
        lines.append(f"Could not match {plural(len(found.unmatched), 'row configuration')} "
                     "(kept in the ledger, not shown in tables):")
        lines += [f"  {g['experiment']} {g['row']} [{g['variant']}] {g['config_hash']}: {plural(g['n_trials'], 'trial')}; "
                  f"{g['why']}" for g in found.unmatched]
    return lines
