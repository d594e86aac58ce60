"""Suspended lane engines: the trials in a lane engine's lanes survive a stopped run, and the next run of the
same row goes on with them where they were.

A lane engine (protocols/lanes.py) is pickled every EVERY_S seconds to <out>/checkpoints/, one file
per engine, named by the row's settings (config hash), the run seed, the row and a hash of the code a trial
depends on (TRIAL_CODE): only the same code may go on with a suspended trial. A run whose trials include some of a
file's takes the file over (renamed, so that no other run can take it too), drops the lanes of the trials it
does not hold, and fills them from its queue. The records are those of an uninterrupted run, bit for bit
(tests/test_checkpoints.py), and a trial's wall time counts only the time it was trained. One-net trials are
not suspended: a stopped one starts over. Files of finished trials are removed by the next run of their row;
files of another source state are kept STALE_DAYS (they are of no use to this code).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
import uuid
from pathlib import Path
from typing import Any, Callable, NamedTuple

from cerepro.numba_cache import source_hash

FOLDER = "checkpoints"  # inside a run's results folder
# the code a suspended trial depends on (its arithmetic, its data, the pickled engine): a change anywhere else
# (tables, reports, CLI, explain) keeps the suspended trials; a change here starts them over
TRIAL_CODE = ("models", "protocols", "generators", "seeding.py", "checks.py", "errorflow.py", "checkpoints.py")
EVERY_S = 300.0  # seconds between two saves of an engine: what a stopped run loses of its trials at most
STALE_DAYS = 30


class Suspended(NamedTuple):
    """A suspended engine taken over by this run: its file, the trials of this run in its lanes, its lanes."""

    path: Path
    trials: tuple[int, ...]
    lanes: int


class Store:
    """The checkpoints of one results folder."""

    def __init__(self, out_dir: Path):
        self.folder = Path(out_dir) / FOLDER
        self.source = source_hash(parts=TRIAL_CODE)

    @staticmethod
    def _row(config_hash: str, seed: int, row_key: str) -> str:
        return f"{config_hash}-{seed}-{hashlib.sha1(row_key.encode()).hexdigest()[:10]}"

    def new_path(self, config_hash: str, seed: int, row_key: str) -> Path:
        """A file of its own for a new engine of the row."""
        return self.folder / f"{self._row(config_hash, seed, row_key)}-{self.source}-{uuid.uuid4().hex[:12]}.pkl"

    def _files(self, config_hash: str, seed: int, row_key: str, source: str | None = None) -> list[Path]:
        pattern = f"{self._row(config_hash, seed, row_key)}-{source or '*'}-*.pkl"
        return sorted(self.folder.glob(pattern)) if self.folder.is_dir() else []

    @staticmethod
    def header(path: Path) -> dict:
        """What a file holds without loading the engine: its trials in flight and their sequences done, lanes,
        row key, seed, when it was saved."""
        with open(path, "rb") as f:
            return pickle.load(f)

    def take(self, config_hash: str, seed: int, row_key: str, trials: set[int]) -> list[Suspended]:
        """Take over the row's files of this source state whose lanes hold any of `trials` (this run's)."""
        taken = []
        for path in self._files(config_hash, seed, row_key, self.source):
            try:
                header = self.header(path)
                held = set(header["trials"]) & trials
                if not held:
                    continue
                mine = self.new_path(config_hash, seed, row_key)
                os.rename(path, mine)  # atomic: a second run looking at the same file gets FileNotFoundError
            except (OSError, EOFError, pickle.UnpicklingError, KeyError):
                continue
            taken.append(Suspended(mine, tuple(sorted(held)), int(header["lanes"])))
            trials = trials - held
        return taken

    @staticmethod
    def load(path: Path) -> Any:
        """The engine of a file (protocols/lanes.LaneEngine), as it was suspended."""
        with open(path, "rb") as f:
            pickle.load(f)
            return pickle.load(f)

    def saver(self, path: Path, every_s: float | None = None) -> Callable[[Any], None]:
        """engine.suspend for an engine whose file is `path`: saves it when every_s seconds have passed since
        the last save (or since the engine started)."""
        every = EVERY_S if every_s is None else every_s
        last = [time.perf_counter()]

        def suspend(engine: Any) -> None:
            if time.perf_counter() - last[0] >= every:
                save(path, engine)
                last[0] = time.perf_counter()

        return suspend

    def forget(self, config_hash: str, seed: int, row_key: str, finished: set[int] | None = None) -> None:
        """Remove the row's files (`finished` given: only those whose trials have all finished); and files of
        other source states older than STALE_DAYS, and saves cut short over an hour ago."""
        for path in self._files(config_hash, seed, row_key):
            try:
                if finished is None or set(self.header(path)["trials"]) <= finished:
                    path.unlink()
            except (OSError, EOFError, pickle.UnpicklingError, KeyError):
                continue
        stale, dead = time.time() - STALE_DAYS * 86400, time.time() - 3600
        for path in self.folder.iterdir() if self.folder.is_dir() else []:
            try:
                mtime = path.stat().st_mtime
                if (path.suffix == ".pkl" and f"-{self.source}-" not in path.name and mtime < stale
                        or path.suffix == ".tmp" and mtime < dead):  # a save cut short by a stop (one takes seconds)
                    path.unlink()
            except OSError:
                continue

    def suspended(self) -> list[dict]:
        """Every file: its header, path and whether this code can go on with it (`resumable`; for `cerepro status`)."""
        out = []
        for path in sorted(self.folder.glob("*.pkl")) if self.folder.is_dir() else []:
            try:
                out.append({**self.header(path), "path": path, "resumable": f"-{self.source}-" in path.name})
            except (OSError, EOFError, pickle.UnpicklingError):
                continue
        return out


def save(path: Path, engine: Any) -> None:
    """Write the engine to `path` at once (a stop while writing leaves the previous file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        done = engine.in_flight()
        pickle.dump({"trials": sorted(done), "done": done, "lanes": engine.L, "row": engine.row_key, "seed": engine.seed,
                     "saved_at": time.time()}, f, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(engine, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def discard(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
