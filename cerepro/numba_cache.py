"""Where numba keeps the compiled kernels: one folder per state of the package's source.

numba's disk cache (`cache=True`) checks only the date of the file a cached function is defined in. A cached
function that calls a kernel of another file (the Table 1 loop calls models/lstm97/kernel.step) keeps the
kernel's old machine code after that file changes: a checkout updated in place would run old arithmetic
without a word. So every cached kernel goes to a folder named by a hash of all the package's .py files (the
user's cache folder, cerepro/numba/<hash>); a changed source file means a new folder and fresh compiles.
Folders of other source states unused for 30 days are removed. A NUMBA_CACHE_DIR set by the user is kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
STALE_DAYS = 30  # a folder of another source state unused this long is removed (about 20 MB each)


def source_hash(package: Path = PACKAGE, parts: tuple[str, ...] | None = None) -> str:
    """12 hex digits of the SHA-1 over every .py file of the package (relative path and contents, in order), or
    of those under `parts` (files and folders relative to the package)."""
    digest = hashlib.sha1()
    files = package.rglob("*.py") if parts is None else [f for p in parts for f in
                                                          ((package / p).rglob("*.py") if (package / p).is_dir() else [package / p])]
    for path in sorted(files):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_root() -> Path:
    """The user's cache folder for cerepro ($XDG_CACHE_HOME or ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cerepro" / "numba"


def prune(root: Path, keep: Path, days: float = STALE_DAYS) -> None:
    """Remove the folders of other source states unused for `days` (best effort: another process may hold one)."""
    cutoff = time.time() - days * 86400
    for folder in root.iterdir():
        try:
            if folder != keep and folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder)
        except OSError:
            continue


def configure() -> None:
    """Point numba's cache at this source state's folder, unless the user chose one (or the folder cannot be
    made: then numba's default, __pycache__ beside the sources)."""
    root = cache_root()
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if chosen and Path(chosen).parent != root:  # the user's (one of ours was inherited from a parent process,
        return  # whose source may differ from this one's)
    folder = root / source_hash()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)  # in use: not pruned
    except OSError:
        return
    prune(root, keep=folder)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    if "numba" in sys.modules:  # imported before cerepro: let it read the variable again
        from numba.core import config

        config.reload_config()
