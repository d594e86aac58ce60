"""Installable as a tool: the sdist and the wheel built from the repository carry every spec and the paper's
numbers, and the installed wheel works from an empty folder outside the checkout.

The throwaway venv gets cerepro from the wheel and nothing else; its dependencies (numpy, numba, ...) are
those of the test's own environment, made visible by a .pth file, so that the test needs no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from cerepro.catalog import HYPOTHESES_FILE

REPO = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=600, **kw)
    assert result.returncode == 0, (cmd, result.stdout, result.stderr)
    return result


@pytest.mark.slow  # about a minute: the installed copy compiles its kernels anew (CI runs it: .ci/run)
def test_the_wheel_lists_every_experiment_and_runs_one_from_an_empty_folder(tmp_path):
    src = tmp_path / "src"  # a copy of what the build reads, so that the build writes nothing into the checkout
    for name in ("cerepro", "tasks"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    dist = tmp_path / "dist"
    specs = sorted(p.name for p in (REPO / "tasks").glob("*.yaml"))

    sdist = _run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))",
                  str(dist)], src).stdout.split()[-1]
    with tarfile.open(dist / sdist) as tar:
        assert {f"tasks/{s}" for s in specs} <= {n.partition("/")[2] for n in tar.getnames()}
    _run([sys.executable, "-m", "pip", "wheel", str(dist / sdist), "--no-deps", "--no-build-isolation", "-q", "-w", str(dist)],
         tmp_path)
    wheel = next(dist.glob("cerepro-*.whl"))
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
    assert {f"cerepro/specs/{s}" for s in specs} | {"cerepro/paper/tables.yaml"} <= names

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], tmp_path)
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip())
    (site / "_cerepro_test_deps.pth").write_text("\n".join({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}))

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    where = _run([str(python), "-c", "import cerepro; print(cerepro.__file__)"], empty).stdout
    assert where.startswith(str(venv)), where
    listing = _run([str(venv / "bin" / "cerepro"), "list"], empty).stdout
    for spec in specs:
        if spec != HYPOTHESES_FILE:  # not an experiment: `cerepro explain` reads it
            assert spec.removesuffix(".yaml") in listing, spec
    hypotheses = _run([str(python), "-c", "from cerepro import hypotheses; print(len(hypotheses.load()[0]))"], empty).stdout
    assert int(hypotheses) > 1, hypotheses
    _run([str(venv / "bin" / "cerepro"), "run", "exp6a", "--trials", "1", "--max-sequences", "100", "--workers", "1"], empty)
    assert (empty / "results" / "exp6a.csv").is_file() and (empty / "results" / "exp6a.md").is_file()
    compared = _run([str(venv / "bin" / "cerepro"), "compare", "exp6a"], empty).stdout
    assert "lstm-2x2" in compared and "reduced scale" in compared
