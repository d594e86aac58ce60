"""The trial ledger: every finished trial, recorded the moment it ends, in SQLite (results/ledger.sqlite).

Three tables. `trials`: one record per finished trial, keyed by (experiment, row, variant, config hash, run
seed, trial); its schema never changes, so every ledger ever written stays readable. `configs`: the
settings of every row configuration a run started, so that a table can be rebuilt from the ledger alone
(tables.py). `claims`: trials a running `cerepro run` is computing, with its host, pid and process start,
so that a second run into the same folder leaves them to it (or takes them over once it has died).

Tables are built from the ledger, and a run skips trials it already holds with the same config hash and
seed, so an interrupted run (Ctrl-C, SIGTERM, kill -9) loses at most the trials in flight. Only the parent
process writes; WAL mode keeps readers (`cerepro compare` during a run) from blocking it, and close()
folds the WAL back into the one file.

The ledger is meant to be committed, so a git checkout, stash or pull may replace the file under a running
run. The run would go on writing into the replaced (deleted) file, and its WAL would corrupt the new one.
Before every write the ledger checks that its path is still the file it opened; if not, it saves what it
holds beside it (`ledger.replaced-...sqlite`), raises LedgerReplaced and lets close() remove its WAL; `merge`
(`cerepro merge`) adds the saved trials to the new file.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, NamedTuple

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
);
CREATE TABLE IF NOT EXISTS configs (
    experiment TEXT NOT NULL,
    row TEXT NOT NULL,
    variant TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    run_seed INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    model TEXT NOT NULL,
    settings TEXT NOT NULL,  -- JSON: the row's settings that differ from their defaults
    note TEXT NOT NULL,
    paper TEXT NOT NULL,  -- JSON: the row's reference into the paper's tables, or null
    trials INTEGER NOT NULL,  -- the trial count the last run of this configuration asked for
    started_at REAL NOT NULL,  -- when that run started
    version TEXT NOT NULL,
    tabled INTEGER NOT NULL DEFAULT 1,  -- 0: a row of another table than the experiment's (e.g. a hypothesis matrix)
    PRIMARY KEY (experiment, row, variant, config_hash, run_seed)
);
CREATE TABLE IF NOT EXISTS claims (
    experiment TEXT NOT NULL,
    row TEXT NOT NULL,
    variant TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    run_seed INTEGER NOT NULL,
    trial INTEGER NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started TEXT NOT NULL,  -- the owner's process start time, so that a reused pid is not taken for it
    claimed_at REAL NOT NULL,
    PRIMARY KEY (experiment, row, variant, config_hash, run_seed, trial)
);
"""
SECONDS = "COALESCE(json_extract(record, '$.cpu_s'), json_extract(record, '$.wall_s'))"  # a trial's compute time (cost.seconds)
GROUP = ("experiment", "row", "variant", "config_hash", "run_seed")
BUSY_TIMEOUT_S = 60.0


class LedgerReplaced(RuntimeError):
    """The ledger's file was replaced while this handle wrote to it; `saved` holds what the handle held."""

    def __init__(self, path: Path, saved: Path):
        self.path, self.saved = path, saved
        super().__init__(f"{path} was replaced while this run was writing to it (a git checkout, stash or pull of "
                         f"its folder?); the trials the run held are saved in {saved}: `cerepro merge {saved}` "
                         f"adds them to the new file")


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class StoredConfig(NamedTuple):
    """A row configuration as the ledger holds it."""

    experiment: str
    row: str
    variant: str
    config_hash: str
    run_seed: int
    protocol: str
    model: str
    settings: dict[str, Any]
    note: str
    paper: dict[str, Any] | None
    trials: int
    started_at: float
    version: str
    tabled: bool = True  # False: the row belongs to another table than the experiment's


class Owner(NamedTuple):
    """A process that claims trials: host, pid and the process's start time (as /proc gives it; "" elsewhere)."""

    host: str
    pid: int
    started: str

    @classmethod
    def me(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), _process_start(os.getpid()))

    def alive(self) -> bool:
        """True unless the owner is known to be gone (an owner on another host is taken to be alive)."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # alive, another user's
        return self.started == "" or _process_start(self.pid) in ("", self.started)


def _process_start(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, starttime: after the command, which may hold spaces


class Ledger:
    """A handle on the ledger file; cheap to open, safe to reopen after a crash, and to share with another run."""

    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        self.identity: tuple[int, int] | None = None  # set once the file exists (below)
        self.replaced: LedgerReplaced | None = None
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)  # transactions are explicit
        self.db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        if create:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            with self.transaction():
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
        self.tables = {name for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        self.identity = _identity(self.path)  # the file this handle opened (see the module docstring)

    @classmethod
    def existing(cls, path: str | Path) -> Ledger | None:
        """The ledger at `path` for reading, or None if there is none: creates no file and changes no schema."""
        return cls(path, create=False) if Path(path).is_file() else None

    def transaction(self) -> sqlite3.Connection:
        """`with ledger.transaction():` one write transaction, taken at once (BEGIN IMMEDIATE), committed at the end."""
        ledger = self

        class _Tx:
            def __enter__(self):
                ledger.check_file()
                if ledger.db.in_transaction:  # one left open by an interrupt between BEGIN and COMMIT
                    ledger.db.execute("ROLLBACK")
                ledger.db.execute("BEGIN IMMEDIATE")
                return ledger.db

            def __exit__(self, kind, exc, tb):
                ledger.db.execute("COMMIT" if kind is None else "ROLLBACK")

        return _Tx()  # type: ignore[return-value]

    def check_file(self) -> None:
        """Raise LedgerReplaced if the path no longer names the file this handle opened (saving its content once)."""
        if self.replaced is None and self.identity is not None and _identity(self.path) != self.identity:
            saved = self.path.with_name(f"{self.path.stem}.replaced-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.sqlite")
            target = sqlite3.connect(saved)
            try:
                self.db.backup(target)  # the old file as this connection sees it, WAL included
            finally:
                target.close()
            self.replaced = LedgerReplaced(self.path, saved)
        if self.replaced is not None:
            raise self.replaced

    def merge(self, source: Path) -> dict[str, int]:
        """Add the trials and row settings of the ledger file `source` that this one lacks; a trial both hold keeps
        this ledger's record. Returns {"added", "same", "differ"} trial counts (differ: another record, kept ours)."""
        try:
            src = Ledger.existing(source)
        except sqlite3.DatabaseError:
            src = None
        if src is None or "trials" not in src.tables:
            raise ValueError(f"{source} is not a cerepro ledger (it has no trials table)")
        has_configs = "configs" in src.tables
        src.db.close()
        key = " AND ".join(f"t.{c} = u.{c}" for c in (*GROUP, "trial"))
        self.check_file()
        self.db.execute("ATTACH DATABASE ? AS src", (str(source),))  # not inside a transaction (SQLite's rule)
        try:
            with self.transaction():
                same, differ = self.db.execute(
                    "SELECT COALESCE(SUM(t.record = u.record), 0), COALESCE(SUM(t.record != u.record), 0) "
                    f"FROM src.trials t JOIN main.trials u ON {key}").fetchone()
                added = self.db.execute("INSERT OR IGNORE INTO main.trials SELECT * FROM src.trials").rowcount
                if has_configs:
                    columns = ", ".join(row[1] for row in self.db.execute("PRAGMA src.table_info(configs)"))
                    self.db.execute(f"INSERT OR IGNORE INTO main.configs ({columns}) SELECT {columns} FROM src.configs")
        finally:
            self.db.execute("DETACH DATABASE src")
        return {"added": added, "same": same, "differ": differ}

    def close(self) -> None:
        """Fold the WAL back into the main file (so that a committed ledger is one file) and close."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass  # another connection is busy: it checkpoints when it closes
        self.db.close()

    # trials

    def add(self, key: dict[str, Any], record: dict[str, Any], version: str) -> None:
        """Record one finished trial (replacing an older record with the same key) and drop its claim."""
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO trials VALUES (?,?,?,?,?,?,?,?,?,?)",
                (key["experiment"], key["row"], key["variant"], key["model"], key["config_hash"], key["run_seed"],
                 key["trial"], json.dumps(record, sort_keys=True), version, time.time()),
            )
            self.db.execute(f"DELETE FROM claims WHERE {_where(GROUP)} AND trial=?", (*_group(key), key["trial"]))

    def done(self, experiment: str, row: str, variant: str, config_hash: str, run_seed: int) -> dict[int, dict]:
        """Finished trials of one row configuration: trial index -> record."""
        cur = self.db.execute(f"SELECT trial, record FROM trials WHERE {_where(GROUP)}",
                              (experiment, row, variant, config_hash, run_seed))
        return {trial: json.loads(rec) for trial, rec in cur}

    def finished(self, experiment: str, row: str, variant: str, config_hash: str, run_seed: int) -> set[int]:
        """Indices of the finished trials of one row configuration (without reading their records)."""
        cur = self.db.execute(f"SELECT trial FROM trials WHERE {_where(GROUP)}",
                              (experiment, row, variant, config_hash, run_seed))
        return {trial for (trial,) in cur}

    def trial_seconds(self, variant_prefix: str) -> list[float]:
        """Compute seconds of every finished trial whose variant starts with `variant_prefix`, any experiment: its
        CPU seconds, or its wall seconds if its record predates them (cost.seconds)."""
        cur = self.db.execute(f"SELECT {SECONDS} FROM trials WHERE substr(variant, 1, ?) = ?",
                              (len(variant_prefix), variant_prefix))
        return [float(value or 0.0) for (value,) in cur]

    def finished_since(self, since: float) -> list[dict[str, Any]]:
        """The trials finished at or after `since` (epoch seconds), oldest first: their key, record and time."""
        cur = self.db.execute("SELECT experiment, row, variant, trial, record, finished_at FROM trials "
                              "WHERE finished_at >= ? ORDER BY finished_at", (since,))
        return [{"experiment": e, "row": r, "variant": v, "trial": t, "record": json.loads(rec), "finished_at": at}
                for e, r, v, t, rec, at in cur]

    def totals(self) -> tuple[int, int]:
        """(finished trials, successful ones) in the whole ledger."""
        n, ok = self.db.execute("SELECT COUNT(*), COALESCE(SUM(json_extract(record, '$.success')), 0) FROM trials").fetchone()
        return int(n), int(ok)

    def trial_counts(self, experiment: str, run_seed: int) -> dict[tuple[str, str, str], int]:
        """(row, variant, config hash) -> number of finished trials, for one experiment and seed."""
        cur = self.db.execute("SELECT row, variant, config_hash, COUNT(*) FROM trials WHERE experiment=? AND run_seed=? "
                              "GROUP BY row, variant, config_hash", (experiment, run_seed))
        return {(r, v, h): n for r, v, h, n in cur}

    def forget(self, keys: Iterable[tuple[str, str, str, str, int]]) -> None:
        """Drop the records of the given row configurations (for --fresh)."""
        with self.transaction():
            self.db.executemany(f"DELETE FROM trials WHERE {_where(GROUP)}", list(keys))

    def caps(self, experiment: str, row: str, variant: str | None, run_seed: int) -> dict[str, set[int]]:
        """Config hash -> the caps it may have run under: those its stored settings name and those its trials ran
        into (sequences of trials that ended at the cap; the only trace of a configuration recorded before the
        ledger kept settings), under `variant` (None: any variant). A caller checks a cap by the config hash it
        gives."""
        out: dict[str, set[int]] = {}
        where = "experiment=? AND row=? AND run_seed=?" + (" AND variant=?" if variant is not None else "")
        key = (experiment, row, run_seed) + ((variant,) if variant is not None else ())
        for config_hash, rec in self.db.execute(f"SELECT config_hash, record FROM trials WHERE {where}", key):
            record = json.loads(rec)
            out.setdefault(config_hash, set())
            if record.get("outcome") == "cap":
                out[config_hash].add(int(record["sequences"]))
        if "configs" in self.tables:
            for config_hash, settings in self.db.execute(f"SELECT config_hash, settings FROM configs WHERE {where}", key):
                cap = json.loads(settings).get("max_sequences")
                if cap is not None and config_hash in out:
                    out[config_hash].add(int(cap))
        return out

    def row_caps(self, experiment: str, row: str, run_seed: int) -> set[int]:
        """The caps any configuration of a row (every variant) ran into: a bound run (`explain --scale bound`)
        whose trials all succeeded shows its cap nowhere, but other hypotheses' bound runs on the row share it."""
        cur = self.db.execute("SELECT DISTINCT json_extract(record, '$.sequences') FROM trials WHERE experiment=? AND "
                              "row=? AND run_seed=? AND json_extract(record, '$.outcome')='cap'", (experiment, row, run_seed))
        return {int(n) for (n,) in cur}

    def equivalent(self, experiment: str, row: str, config_hash: str, run_seed: int) -> dict[int, dict]:
        """Finished trials of this exact configuration under any variant name (the trial's seed does not
        depend on the variant, so they are the trials a run of this configuration computes)."""
        cur = self.db.execute("SELECT trial, record FROM trials WHERE experiment=? AND row=? AND config_hash=? AND run_seed=?",
                              (experiment, row, config_hash, run_seed))
        return {trial: json.loads(rec) for trial, rec in cur}

    def unconfigured(self) -> list[dict[str, Any]]:
        """Row configurations with trials but no stored settings (recorded before the ledger kept them), oldest
        first, with their model, trial count, last trial index, first finish and version."""
        known = "LEFT JOIN configs c USING (experiment, row, variant, config_hash, run_seed) WHERE c.experiment IS NULL"
        cur = self.db.execute(
            "SELECT t.experiment, t.row, t.variant, t.config_hash, t.run_seed, MAX(t.model), COUNT(*), MAX(t.trial), "
            f"MIN(t.finished_at), MAX(t.version) FROM trials t {known if 'configs' in self.tables else ''} "
            "GROUP BY t.experiment, t.row, t.variant, t.config_hash, t.run_seed ORDER BY MIN(t.finished_at)")
        names = (*GROUP, "model", "n_trials", "last_trial", "first_finished", "version")
        return [dict(zip(names, values)) for values in cur]

    # configurations

    def record_config(self, config: StoredConfig) -> None:
        """Store (or refresh, when a run starts it again) the settings of one row configuration."""
        with self.transaction():
            self._put_config(config)

    def record_configs(self, configs: Iterable[StoredConfig]) -> None:
        """Several at once, in one transaction."""
        with self.transaction():
            for config in configs:
                self._put_config(config)

    def _put_config(self, c: StoredConfig) -> None:
        self.db.execute(
            "INSERT INTO configs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET settings=excluded.settings, "
            "note=excluded.note, paper=excluded.paper, trials=excluded.trials, started_at=excluded.started_at, "
            "version=excluded.version, tabled=MAX(tabled, excluded.tabled)",
            (c.experiment, c.row, c.variant, c.config_hash, c.run_seed, c.protocol, c.model,
             json.dumps(c.settings, sort_keys=True, default=list), c.note, json.dumps(c.paper, sort_keys=True), c.trials,
             c.started_at, c.version, int(c.tabled)))

    def configs(self, experiment: str, run_seed: int) -> list[StoredConfig]:
        """Every stored row configuration of an experiment and seed, oldest run first."""
        if "configs" not in self.tables:
            return []
        cur = self.db.execute("SELECT * FROM configs WHERE experiment=? AND run_seed=? ORDER BY started_at",
                              (experiment, run_seed))
        out = []
        for values in cur:
            c = StoredConfig(*values)
            out.append(c._replace(settings=json.loads(c.settings), paper=json.loads(c.paper), tabled=bool(c.tabled)))
        return out

    # claims

    def claim(self, experiment: str, row: str, variant: str, config_hash: str, run_seed: int, trials: Iterable[int],
              owner: Owner) -> tuple[dict[int, Owner], set[int]]:
        """Claim `trials` of one row configuration for `owner`, in one transaction, except those a live other
        owner holds (the claims of dead owners are taken over) and those finished since the caller looked.
        Returns the trials left to others (trial -> owner) and the trials found finished."""
        group = (experiment, row, variant, config_hash, run_seed)
        others: dict[int, Owner] = {}
        with self.transaction():
            finished = {t for (t,) in self.db.execute(f"SELECT trial FROM trials WHERE {_where(GROUP)}", group)}
            held = {t: Owner(h, p, s) for t, h, p, s in
                    self.db.execute(f"SELECT trial, host, pid, started FROM claims WHERE {_where(GROUP)}", group)}
            live = {o: o == owner or o.alive() for o in set(held.values())}
            now = time.time()
            for t in trials:
                if t in finished:
                    continue
                if t in held and held[t] != owner and live[held[t]]:
                    others[t] = held[t]
                else:
                    self.db.execute("INSERT OR REPLACE INTO claims VALUES (?,?,?,?,?,?,?,?,?,?)", (*group, t, *owner, now))
        return others, finished & set(trials)

    def claimed(self) -> list[tuple[tuple[str, str, str], Owner, list[int], float]]:
        """The trials runs have claimed (computing or queued): ((experiment, row, variant), owner, its trials
        there, when it claimed them), one entry per row and owner, in the order they were claimed."""
        groups: dict[tuple[tuple[str, str, str], Owner], tuple[list[int], float]] = {}
        for e, r, v, t, h, pid, started, at in self.db.execute(
                "SELECT experiment, row, variant, trial, host, pid, started, claimed_at FROM claims ORDER BY claimed_at, trial"):
            trials, _ = groups.setdefault(((e, r, v), Owner(h, pid, started)), ([], at))
            trials.append(t)
        return [(key, owner, trials, at) for (key, owner), (trials, at) in groups.items()]

    def release(self, owner: Owner) -> None:
        """Drop every claim of `owner` (at the end of its run, finished or not)."""
        with self.transaction():
            self.db.execute("DELETE FROM claims WHERE host=? AND pid=? AND started=?", tuple(owner))


def _where(columns: tuple[str, ...]) -> str:
    return " AND ".join(f"{c}=?" for c in columns)


def _group(key: dict[str, Any]) -> tuple:
    return tuple(key[c] for c in GROUP)
