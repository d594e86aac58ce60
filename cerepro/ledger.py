"""The trial ledger: every finished trial, recorded the moment it ends, in SQLite (results/ledger.sqlite).

Tables are built from the ledger, and a run skips trials it already holds with the same config hash and
seed, so an interrupted run (Ctrl-C, SIGTERM, kill -9) loses at most the trials in flight. Only the parent
process writes; WAL mode keeps readers (`cerepro compare` during a run) from blocking it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    experiment TEXT NOT NULL,
    row TEXT NOT NULL,
    variant TEXT NOT NULL,
    model TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    run_seed INTEGER NOT NULL,
    trial INTEGER NOT NULL,
    record TEXT NOT NULL,
    version TEXT NOT NULL,
    finished_at REAL NOT NULL,
    PRIMARY KEY (experiment, row, variant, config_hash, run_seed, trial)
)
"""


class Ledger:
    """A handle on the ledger file; cheap to open, safe to reopen after a crash."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(SCHEMA)
        self.db.commit()

    def close(self) -> None:
        # fold the WAL back into the main file so the committed ledger is one self-contained file
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()

    def add(self, key: dict[str, Any], record: dict[str, Any], version: str) -> None:
        """Record one finished trial (replacing an older record with the same key)."""
        self.db.execute(
            "INSERT OR REPLACE INTO trials VALUES (?,?,?,?,?,?,?,?,?,?)",
            (key["experiment"], key["row"], key["variant"], key["model"], key["config_hash"], key["run_seed"],
             key["trial"], json.dumps(record, sort_keys=True), version, time.time()),
        )
        self.db.commit()

    def done(self, experiment: str, row: str, variant: str, config_hash: str, run_seed: int) -> dict[int, dict]:
        """Finished trials of one row configuration: trial index -> record."""
        cur = self.db.execute(
            "SELECT trial, record FROM trials WHERE experiment=? AND row=? AND variant=? AND config_hash=? AND run_seed=?",
            (experiment, row, variant, config_hash, run_seed),
        )
        return {trial: json.loads(rec) for trial, rec in cur}

    def forget(self, keys: Iterable[tuple[str, str, str, str, int]]) -> None:
        """Drop the records of the given row configurations (for --fresh)."""
        self.db.executemany(
            "DELETE FROM trials WHERE experiment=? AND row=? AND variant=? AND config_hash=? AND run_seed=?", list(keys)
        )
        self.db.commit()

    def caps(self, experiment: str, row: str, variant: str, run_seed: int) -> dict[str, set[int]]:
        """Config hash -> the caps its trials ran into (sequences of trials that ended at the cap)."""
        out: dict[str, set[int]] = {}
        cur = self.db.execute("SELECT config_hash, record FROM trials WHERE experiment=? AND row=? AND variant=? AND run_seed=?",
                              (experiment, row, variant, run_seed))
        for config_hash, rec in cur:
            record = json.loads(rec)
            out.setdefault(config_hash, set())
            if record.get("outcome") == "cap":
                out[config_hash].add(int(record["sequences"]))
        return out

    def equivalent(self, experiment: str, row: str, config_hash: str, run_seed: int) -> dict[int, dict]:
        """Finished trials of this exact configuration under any variant name (the trial's seed does not
        depend on the variant, so they are the trials a run of this configuration computes)."""
        cur = self.db.execute("SELECT trial, record FROM trials WHERE experiment=? AND row=? AND config_hash=? AND run_seed=?",
                              (experiment, row, config_hash, run_seed))
        return {trial: json.loads(rec) for trial, rec in cur}
