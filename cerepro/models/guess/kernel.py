"""Compiled (numba) forward pass and search loop of random weight guessing: reference.py's, loop by loop.

The forward pass is the rtrl kernel's (the guessed nets are models/rtrl's). Judged targets come compact:
`t_row` (T,) names per step a row of `t_table` (V, K) holding the target vector, -1 where the step is not
judged (Exp 2a: t_table the K x K identity; Exp 3: each sequence's clean end target, only the last step judged).
A sequence passes when |t_k - y_k| < tol at every judged step; the forward pass stops at the first failure.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from cerepro.models.rtrl.arch import RNNArch
from cerepro.models.rtrl.kernel import forward_sequence, forward_step, reset, set_inputs

# search() results besides a guess index >= 0, and the slots of its `counts`
BLOCK_DONE, CAP_REACHED = -1, -2
C_GUESSES, C_SEQUENCES, C_STEPS = range(3)


class Workspace(NamedTuple):
    """Scratch arrays of the forward pass, allocated once per trial."""

    z: np.ndarray  # (M,) sources [1, x(t), y(t-1)]
    zo: np.ndarray  # (max(Mo, 1),) output-layer sources [1, x(t), y^h(t)]
    y: np.ndarray  # (R,) the recurrent units


def make_workspace(arch: RNNArch) -> Workspace:
    return Workspace(np.zeros(arch.n_hidden_cols), np.zeros(max(arch.n_output_cols, 1)), np.zeros(arch.n_rec))


@njit(cache=True)
def step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """The common model step (models/common.py), forward only: a guessed net never learns (lr, learn unused)."""
    z, zo, y = ws
    nothing = np.empty((0, 1))  # no per-step cache: not training
    return forward_sequence(net.W_hid, net.W_out, net.setup, z, zo, y, x_index, x_dense, targets, target_mask, length,
                            out_y, nothing, nothing, np.empty(0, dtype=np.int64))


@njit(cache=True)
def sequence_passes(W_hid, W_out, c, ws, x_index, x_dense, t_row, t_table, length, tol, out_y):
    """(passed, steps run) of one sequence: forward from reset state, stopping at the first judged step with
    some |t_k - y_k| >= tol. x_index (T,) / x_dense (T, I|0) as in run_sequence; t_row (T,), t_table (V, K)."""
    z, zo, y = ws
    I, K, R = c.n_in, c.n_out, c.n_rec
    one_hot = x_dense.shape[1] == 0
    reset(z, zo)
    xi = -1
    for t in range(length):
        xi = set_inputs(z, zo, not c.out_rec, x_index, x_dense, t, I, one_hot, xi)
        forward_step(W_hid, W_out, c, z, zo, y, one_hot, xi, out_y, t)
        v = t_row[t]
        if v >= 0:
            for k in range(K):
                if not abs(t_table[v, k] - out_y[t, k]) < tol:  # NaN fails
                    return False, t + 1
        for u in range(R):
            z[1 + I + u] = y[u]
    return True, length


@njit(cache=True)
def search(draws, n_hid, c, ws, x_index, x_dense, t_row, t_table, lengths, tol, max_wrong, cap, counts, out_y):
    """Try the guesses draws (G, D) in order on a batch until one passes; returns its row, BLOCK_DONE, or CAP_REACHED.

    A guess is tested on the batch's sequences in batch order and dropped as soon as more than `max_wrong` of
    them failed (early exit); it passes when the whole batch was tested with at most `max_wrong` failures.
    Row g is [W_hid (R, M) | W_out (K, Mo)] flattened, W_hid taking the first n_hid = R*M entries. Batch:
    x_index (n, T|1) int64, x_dense (n, T, I|0), t_row (n, T) int64, t_table (V, K), lengths (n,). counts
    [guesses, sequences, steps] accumulate across calls; no sequence is started once counts[sequences] == cap.
    """
    R, K = c.n_rec, c.n_out
    M = n_hid // R
    Mo = (draws.shape[1] - n_hid) // K
    for g in range(draws.shape[0]):
        if counts[C_SEQUENCES] >= cap:
            return CAP_REACHED
        row = draws[g]
        W_hid = row[:n_hid].reshape((R, M))
        W_out = row[n_hid:].reshape((K, Mo))
        counts[C_GUESSES] += 1
        wrong = 0
        for n in range(lengths.shape[0]):
            if counts[C_SEQUENCES] >= cap:
                return CAP_REACHED
            ok, steps = sequence_passes(W_hid, W_out, c, ws, x_index[n], x_dense[n], t_row[n], t_table, lengths[n],
                                        tol, out_y)
            counts[C_SEQUENCES] += 1
            counts[C_STEPS] += steps
            if not ok:
                wrong += 1
                if wrong > max_wrong:
                    break
        if wrong <= max_wrong:
            return g
    return BLOCK_DONE
