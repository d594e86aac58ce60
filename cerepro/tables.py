"""An experiment's tables as the view of its ledger: every row configuration the ledger holds for the seed.

Whatever rows a command ran (a subset, a reduced cap, none with --tables-only), the tables it writes show
every row of the experiment that the folder's ledger holds, so a subset run updates its rows and keeps the
others. One configuration per (row, variant) is shown; where the ledger holds several (say a reduced cap
and the paper's), the rule is, first that has trials:

  1. the command's own configuration of the row (what it ran, or asked for with --tables-only);
  2. the spec's configuration (its settings, trial count and cap);
  3. the configuration whose last run started latest.

A row shows its trials 0..N-1 that the ledger holds, N being the trial count the command asks for (rule 1)
or the last run of that configuration asked for (rules 2 and 3).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from cerepro import __version__, config, results
from cerepro.config import Experiment, Row
from cerepro.ledger import Ledger, StoredConfig


def stored(row: Row, seed: int, protocol: str, started_at: float | None = None, version: str = __version__,
           tabled: bool = True) -> StoredConfig:
    """A planned row as the ledger stores it (`tabled` False: a row of another table than the experiment's)."""
    return StoredConfig(row.experiment, row.name, row.variant, row.config_hash(), seed, protocol, row.config.model,
                        config.settings_of(row.config), row.note, row.paper, row.config.trials,
                        time.time() if started_at is None else started_at, version, tabled)


def restored(c: StoredConfig, exp: Experiment, spec_row: Row | None) -> Row:
    """A stored configuration as a table row; note, paper reference and spec settings are the spec's where it has the row."""
    cls = config.protocol_class(c.protocol, f"ledger config of {c.row} [{c.variant}]")
    cfg = config.build_config(cls, {**c.settings, "trials": c.trials}, f"ledger config of {c.row} [{c.variant}]")
    if spec_row is not None:
        return Row(c.experiment, c.row, c.variant, spec_row.note, cfg, spec_row.paper, spec_row.config)
    return Row(c.experiment, c.row, c.variant, c.note, cfg, c.paper)


def view(exp: Experiment, command: tuple[Row, ...], seed: int, ledger: Ledger) -> list[tuple[Row, list[dict[str, Any]]]]:
    """The rows of the experiment's table with their trial records, in table order (module docstring)."""
    counts = ledger.trial_counts(exp.name, seed)
    by_key: dict[tuple[str, str], list[StoredConfig]] = {}
    for c in ledger.configs(exp.name, seed):  # oldest run first
        if c.tabled and counts.get((c.row, c.variant, c.config_hash)):
            by_key.setdefault((c.row, c.variant), []).append(c)
    mine = {r.key: r for r in command}
    out = []
    for key in _ordered(exp, list(dict.fromkeys([*mine, *by_key])), by_key):
        row = _choose(exp, key, mine.get(key), by_key.get(key, []), counts)
        if row is None:
            continue
        done = ledger.done(row.experiment, row.name, row.variant, row.config_hash(), seed)
        records = [done[t] for t in sorted(done) if t < row.config.trials]
        if records:
            out.append((row, records))
    return out


def _choose(exp: Experiment, key: tuple[str, str], planned: Row | None, stored_configs: list[StoredConfig],
            counts: dict[tuple[str, str, str], int]) -> Row | None:
    def has_trials(row: Row) -> bool:
        return counts.get((*key, row.config_hash()), 0) > 0

    if planned is not None and has_trials(planned):
        return planned
    spec_row = exp.spec_row(*key)
    if spec_row is not None and has_trials(spec_row):
        same = [c for c in stored_configs if c.config_hash == spec_row.config_hash()]
        trials = same[-1].trials if same else spec_row.config.trials
        return dataclasses.replace(spec_row, config=dataclasses.replace(spec_row.config, trials=trials), spec=spec_row.config)
    return restored(stored_configs[-1], exp, spec_row) if stored_configs else None


def _ordered(exp: Experiment, keys: list[tuple[str, str]], by_key: dict[tuple[str, str], list[StoredConfig]]) -> list:
    """Spec order (faithful rows, variants, baselines), then `--model` rows by model and row, then the rest by first run."""
    spec = {r.key: i for i, r in enumerate(exp.spec_rows())}
    faithful = {r.name: i for i, r in enumerate(exp.rows)}

    def rank(key: tuple[str, str]) -> tuple:
        if key in spec:
            return 0, spec[key]
        if key[1].startswith("model-") and key[0] in faithful:
            return 1, key[1], faithful[key[0]]
        first = min((c.started_at for c in by_key.get(key, [])), default=float("inf"))
        return 2, first, key

    return sorted(keys, key=rank)


def write(exp: Experiment, command: tuple[Row, ...], seed: int, ledger: Ledger, out_dir: Path) -> dict[str, Any]:
    """Write the experiment's tables from the ledger (nothing if it holds no trial of the experiment).
    Returns the table, the keys (row, variant) of the command's rows, and the paths written."""
    from cerepro import dispatch  # the protocol's own columns, and a guess row's counts

    entries, per_row = [], []
    for row, records in view(exp, command, seed, ledger):
        extra = dispatch.summarize(exp.protocol, row.config, records)
        entries.append(results.table_row(row, records, seed, __version__, extra))
        per_row.append((row, records))
    table = results.build_table(entries)
    paths = []
    if entries:
        paths = results.write(table, results.trial_table(per_row), out_dir, exp.name, exp.heading)
    return {"table": table, "command_keys": [r.key for r in command], "paths": paths}
