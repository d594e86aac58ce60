"""Compiled pieces the protocol kernels share (numba)."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def move_to_front(order, pos):
    """Move order[pos], a test sequence the net just failed, to the front: a net that still fails it fails the
    next test at once (the verdict is unchanged, the test is cheaper)."""
    n = order[pos]
    for q in range(pos, 0, -1):
        order[q] = order[q - 1]
    order[0] = n
