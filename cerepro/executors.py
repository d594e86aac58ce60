"""Runs trials on a dask.distributed cluster: a remote scheduler, or a local cluster on loopback.

What is shipped: one task per trial, `_trial(protocol, row, seed, trial)`, with the row's settings (a frozen
dataclass, pickled by reference, so every worker needs the same cerepro installed). What comes back: the
trial record, a small JSON-able dict (outcome, sequences, learning curve). Only the parent writes the ledger (runner.run does), so the
workers need no shared file system. Workers are separate processes that compile the numba kernels themselves
on their first trial of each model (the parent's warm-up cannot be inherited across a network).

dask is an optional extra (`pip install -e '.[cluster]'`); it is imported only here, and only when asked for.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator

from cerepro import dispatch
from cerepro.config import Row

CONNECT_TIMEOUT_S = 10  # a typo in --scheduler should fail fast; dask's own default waits 30 s
CLOSE_TIMEOUT_S = 10  # Ctrl-C should not hang on a cluster that no longer answers


class ExecutorError(RuntimeError):
    """The cluster cannot be used; the message is one line, ready for the user."""


def require_dask() -> None:
    """Raise ExecutorError unless dask.distributed can be imported."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ExecutorError("--executor dask needs dask.distributed: pip install -e '.[cluster]'") from None


def check_scheduler(address: str) -> None:
    """Connect to the scheduler at `address` and disconnect; raise ExecutorError if it cannot be reached."""
    client = _connect(address)
    with contextlib.suppress(Exception):
        client.close(timeout=CLOSE_TIMEOUT_S)


def _connect(address: str) -> Any:
    require_dask()
    from distributed import Client
    from distributed.comm.addressing import get_address_host_port

    try:
        get_address_host_port(address)  # a malformed address fails here, before a Client half-starts
    except ValueError as exc:
        raise ExecutorError(f"--scheduler {address!r} is not a dask address like tcp://host:8786: {exc}") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, ValueError) as exc:  # refused, timed out (OSError), or rejected by the scheduler
        reason = " ".join(str(exc).split()) or type(exc).__name__  # dask's messages may span lines
        raise ExecutorError(f"cannot reach the dask scheduler at {address!r}: {reason}") from None


def _trial(protocol: str, row: Row, seed: int, trial: int) -> dict[str, Any]:
    """One trial on a worker: the same pure function of (row, seed, trial) as in the local pool."""
    return dispatch.run_trial(protocol, row.config, seed, row.seed_key, trial)


def dask_trials(protocol: str, jobs: list[tuple[Row, int]], seed: int, workers: int,
                scheduler: str | None) -> Iterator[tuple[Row, int, dict[str, Any]]]:
    """Yield (row, trial, record) as trials finish on the cluster at `scheduler`, or on a LocalCluster of
    `workers` single-threaded processes on loopback if it is None. Closing the generator (Ctrl-C) cancels
    the trials not yet finished and closes the client and the local cluster."""
    if not jobs:
        return
    require_dask()
    from distributed import LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        # processes, one thread each: a trial is one sequential loop holding the GIL (the kernels are not
        # nogil), so one trial per process is the unit of parallelism, as in the local pool
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
    try:
        client = _connect(cluster.scheduler_address if cluster else scheduler)
        try:
            futures = {}
            for row, trial in jobs:
                # a readable, deterministic key: the dashboard shows which trial runs where
                key = ("cerepro-trial", row.experiment, row.name, row.variant, row.config_hash(), seed, trial)
                futures[client.submit(_trial, protocol, row, seed, trial, key=key)] = (row, trial)
            for future in as_completed(list(futures), loop=client.loop):
                row, trial = futures.pop(future)
                yield row, trial, future.result()
        finally:
            # trials in flight on a remote worker run to their end (a thread cannot be stopped); dask drops
            # their results once no client holds them. A LocalCluster's workers are stopped below.
            with contextlib.suppress(Exception):
                client.cancel(list(futures))
            with contextlib.suppress(Exception):
                client.close(timeout=CLOSE_TIMEOUT_S)
    finally:
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=CLOSE_TIMEOUT_S)
