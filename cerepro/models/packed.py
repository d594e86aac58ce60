"""Arrays packed into one buffer: a kernel's working set in contiguous memory.

The lane kernels (models/lstm97/lanes.py) touch some thirty arrays every tick; allocated one by one they land
on scattered pages, and which pages collide in the caches changes from run to run (the same tick measured
up to 25 % apart between two allocations of its arrays). Packed one after another, each on its own 64-byte
lines, they ran about 10 % faster on the adding net and gave the same time for every allocation. The
one-net 1997 and forget-gate steps (the net's weights and masks and its workspace, `pack_net`): about 13 % faster on the
adding net (4.65 M against 4.12 M time-steps/s, six fresh nets each, docs/throughput.md).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

LINE = 64  # bytes: every array starts on a cache line


def pack(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """C-contiguous copies of `arrays`, one after another in one buffer, each starting on a new 64-byte line."""
    sizes = [-(-a.nbytes // LINE) * LINE for a in arrays]
    buf = np.zeros(sum(sizes) + LINE, dtype=np.uint8)
    at = -buf.ctypes.data % LINE
    out = []
    for a, size in zip(arrays, sizes):
        view = buf[at : at + a.nbytes].view(a.dtype).reshape(a.shape)
        view[...] = a
        out.append(view)
        at += size
    return out


def pack_net(net: Any, ws: Any) -> tuple[Any, Any]:
    """(net, workspace) with the arrays of both (models.common.Net's weights and masks, the workspace
    NamedTuple's arrays) packed into one buffer, the same values."""
    arrays = pack([net.W_hid, net.W_out, net.M_hid, net.M_out, *ws])
    return net._replace(W_hid=arrays[0], W_out=arrays[1], M_hid=arrays[2], M_out=arrays[3]), type(ws)(*arrays[4:])
