"""Table 1's success test after every training string, made cheap for the 1997 LSTM (the verdicts are the same).

Details: docs/throughput.md, "Table 1's cheap success test (protocols/reber/success.py)".
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cerepro.models.lstm97 import unrolled
from cerepro.models.lstm97.kernel import step as lstm97_step
from cerepro.protocols.common import DIVERGED, RUNNING, SUCCESS

PASSED = 1 << 30  # cost of a string that passed its last test, beyond any failure's (plus its length)


def serves(cfg) -> bool:
    """Rows whose success test this module runs: the 1997 LSTM (every Table 1 LSTM row and variant)."""
    return cfg.model == "lstm97"


def prepare(net, check):
    """(training loop of the net's shape, cost of each check string: none tested yet, the pass's scratch) of a
    trial; the loop is called as loop(net, ws, pool, order, check, lr, check_every, presented_before, seq_sse,
    out_y, cost, bufs) and returns what train_loop does. The test order starts with the shortest strings (a net
    that fails the long-lag prediction fails them soonest)."""
    check.order[:] = np.argsort(check.lengths, kind="stable")
    cost = np.full(check.lengths.shape[0], PASSED, dtype=np.int64)
    generated = unrolled.for_net(net)
    return generated.train_until_success, cost, generated.buffers()


@njit(inline="always", error_model="numpy")
def all_correct(net, z_reset, take, first_wrong, bufs, check, cost, out_y):
    """kernel.all_correct's verdict on the net's current weights, cheaply (docs/throughput.md); cost (m,) per
    string; take, first_wrong, bufs: the net shape's frozen pass and its scratch (models/lstm97/unrolled.py)."""
    x_index, legal, lengths, order = check
    W, WO = net.W_hid, net.W_out
    take(W, WO, bufs)
    n = order[0]
    last = cost[n] - 1
    if cost[n] < PASSED and first_wrong(W, WO, bufs, z_reset, x_index[n], legal[n], last, last + 1, out_y) == last:
        return False  # the front string is still wrong at the step it failed last time
    for pos in range(order.shape[0]):
        n = order[pos]
        # np.int64(0), not a literal 0: one compiled first_wrong
        f = first_wrong(W, WO, bufs, z_reset, x_index[n], legal[n], np.int64(0), lengths[n], out_y)
        if f < 0:
            cost[n] = PASSED + lengths[n]
            continue
        cost[n] = f + 1
        q = 0  # move n in front of the first string that cost more at its last test
        while q < pos and cost[order[q]] <= f + 1:
            q += 1
        for r in range(pos, q, -1):
            order[r] = order[r - 1]
        order[q] = n
        return False
    return True


@njit(inline="always")
def train_loop(net, ws, pool, order, check, lr, check_every, presented_before, seq_sse, out_y, cost, bufs, take,
               first_wrong):
    """kernel.train_until_success for the 1997 LSTM, with this module's test; compiled per net shape into its
    generated module (unrolled.py), whose take and first_wrong it calls."""
    x_index, x_dense, targets, target_mask, lengths = pool
    for i in range(order.shape[0]):
        n = order[i]
        sse = lstm97_step(net, ws, x_index[n], x_dense[n], targets[n], target_mask[n], lengths[n], lr, True, out_y)
        seq_sse[i] = sse
        if not np.isfinite(sse):
            return DIVERGED, i + 1
        if (presented_before + i + 1) % check_every == 0 and all_correct(net, ws.z_reset, take, first_wrong, bufs,
                                                                         check, cost, out_y):
            return SUCCESS, i + 1
    return RUNNING, order.shape[0]
