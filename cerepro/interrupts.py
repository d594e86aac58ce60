"""Interrupts (Ctrl-C, SIGTERM) that arrive where stopping is safe.

Python raises KeyboardInterrupt between any two bytecodes of the main thread. While the parent of a pool waits
for its workers, that can be inside a lock's acquisition: concurrent.futures.wait takes every future's lock in
a loop before its `try`, so an interrupt there leaves locks taken for good, and the pool's shutdown then waits
forever for a thread that needs them (a run that ignores the signal it should stop at). Code that manages
worker processes therefore runs inside `deferred()`: a signal only marks the run as stopping, and `check()`,
called at the loop's safe points, raises KeyboardInterrupt there. Elsewhere (a trial computed in this process)
the signal raises at once, as Python's own Ctrl-C does.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Any, Iterator

_depth = 0  # how many deferred() blocks are open
_pending = False  # a signal arrived inside a deferred() block


def handler(signum: int, frame: Any) -> None:
    """The handler for SIGINT and SIGTERM during a run: raise at once, or mark when deferred."""
    global _pending
    if _depth:
        _pending = True
        return
    raise KeyboardInterrupt


def install() -> None:
    """Route SIGTERM, and SIGINT unless it is ignored (a shell's background job), through `handler`."""
    signal.signal(signal.SIGTERM, handler)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block a signal only marks the run as stopping (see `check`); leaving the block normally
    raises KeyboardInterrupt for a signal that arrived meanwhile."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
    check()


def check() -> None:
    """Raise KeyboardInterrupt if a signal arrived inside a deferred() block: call where stopping is safe."""
    global _pending
    if _pending:
        _pending = False
        raise KeyboardInterrupt
