"""numba's compiled kernels go to one folder per state of the package's source (cerepro/numba_cache.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cerepro import numba_cache


def test_the_folder_changes_with_any_source_file(tmp_path):
    package = tmp_path / "pkg"
    shutil.copytree(numba_cache.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    before = numba_cache.source_hash(package)
    assert before == numba_cache.source_hash(numba_cache.PACKAGE)
    kernel = package / "models" / "lstm97" / "kernel.py"
    kernel.write_text(kernel.read_text() + "\n# a change in a kernel that cached callers in other files inline\n")
    changed = numba_cache.source_hash(package)
    assert changed != before
    kernel.unlink()
    assert numba_cache.source_hash(package) not in (before, changed)


def _cache_dir_after_import(env: dict[str, str], numba_first: bool) -> str:
    code = ("import numba\n" if numba_first else "") + "import cerepro\nfrom numba.core import config\nprint(config.CACHE_DIR)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_numba_caches_in_the_folder_of_this_source_state(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    expected = str(tmp_path / "cerepro" / "numba" / numba_cache.source_hash())
    assert _cache_dir_after_import(env, numba_first=False) == expected
    assert _cache_dir_after_import(env, numba_first=True) == expected  # numba imported before cerepro
    assert Path(expected).is_dir()


def test_a_cache_folder_the_user_chose_is_kept(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "mine"), XDG_CACHE_HOME=str(tmp_path))
    assert _cache_dir_after_import(env, numba_first=False) == str(tmp_path / "mine")
    assert not (tmp_path / "cerepro").exists()


def test_folders_of_other_source_states_unused_for_a_month_are_removed(tmp_path):
    keep, recent, old = tmp_path / "keep", tmp_path / "recent", tmp_path / "old"
    for folder in (keep, recent, old):
        folder.mkdir()
        (folder / "kernel.nbi").write_text("x")
    month_ago = time.time() - (numba_cache.STALE_DAYS + 1) * 86400
    os.utime(old, (month_ago, month_ago))
    os.utime(keep, (month_ago, month_ago))  # the folder in use is kept whatever its date
    numba_cache.prune(tmp_path, keep=keep)
    assert keep.is_dir() and recent.is_dir() and not old.exists()
