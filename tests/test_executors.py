"""The dask executor: same seed, same tables as the local pool; clear one-line errors when the cluster cannot be used."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from distributed import LocalCluster

from cerepro import cli, executors

TINY = ["run", "reber", "--rows", "lstm-3x2-lr0.5,lstm-4x1-lr0.1", "--trials", "2", "--max-sequences", "300", "--seed", "3"]


def invoke(*args):
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def tables(out):
    return pd.read_csv(out / "exp1.csv").drop(columns="wall_s"), (out / "exp1.trials.csv").read_text()


@pytest.fixture(scope="module")
def local_tables(tmp_path_factory):
    """The reference: the same run on the local executor, in-process."""
    out = tmp_path_factory.mktemp("local")
    assert invoke(*TINY, "--workers", "1", "--out", str(out)).exit_code == 0
    return tables(out)


def test_dask_local_cluster_gives_the_local_tables(tmp_path, local_tables):
    result = invoke(*TINY, "--executor", "dask", "--workers", "2", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    table, trials = tables(tmp_path)
    pd.testing.assert_frame_equal(table, local_tables[0])
    assert trials == local_tables[1]
    assert len(pd.read_csv(tmp_path / "exp1.trials.csv")) == 4


def test_dask_scheduler_gives_the_local_tables_and_resumes(tmp_path, local_tables):
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster:
        result = invoke(*TINY, "--executor", "dask", "--scheduler", cluster.scheduler_address, "--out", str(tmp_path))
        assert result.exit_code == 0, result.output
        table, trials = tables(tmp_path)
        pd.testing.assert_frame_equal(table, local_tables[0])
        assert trials == local_tables[1]
        again = invoke(*TINY, "--executor", "dask", "--scheduler", cluster.scheduler_address, "--out", str(tmp_path))
        assert "4 trials already in the ledger" in again.output and "0 trials in" in again.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["--scheduler", "tcp://127.0.0.1:8786"], "Error: --scheduler needs --executor dask"),
        (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:1"],
         "Error: cannot reach the dask scheduler at 'tcp://127.0.0.1:1': Timed out trying to connect"),
        (["--executor", "dask", "--scheduler", "somehost"],
         "Error: --scheduler 'somehost' is not a dask address like tcp://host:8786: missing port number"),
    ],
)
def test_unusable_scheduler_exits_2_with_one_line(tmp_path, monkeypatch, args, message):
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1)  # port 1 refuses; dask retries until the timeout
    result = CliRunner().invoke(cli.main, [*TINY, *args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith(message)
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "ledger.sqlite").exists()


def test_dask_not_installed_exits_2_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` raise ImportError
    result = CliRunner().invoke(cli.main, [*TINY, "--executor", "dask", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output == "Error: --executor dask needs dask.distributed: pip install -e '.[cluster]'\n"
