"""Compiled step of the forget-gate / peephole LSTM: the LSTM step of models/lstm97/kernel.py with three gate rows
per block (input, forget, output), peephole columns and a carried state (ws.carry), equal to reference.py's rule.
"""

from __future__ import annotations

import numpy as np

from numba import njit

from cerepro.models.lstm97.kernel import Setup, Workspace, lstm_step, workspace
from cerepro.models.lstm_forget.arch import ForgetArch
from cerepro.models.numba_noalias import fast_jit


def make_setup(arch: ForgetArch, per_step: bool = True, output_derivative: bool = True) -> Setup:
    return Setup(arch.n_in, arch.n_out, arch.n_blocks, arch.block_size, arch.output_gate, arch.g == "g1",
                 arch.h == "id", arch.output_act == "linear", output_derivative, per_step, 0, arch.forget_gate,
                 float(arch.state_decay), arch.peepholes, arch.gate_recurrence)


def make_workspace(arch: ForgetArch) -> Workspace:
    z_reset = np.zeros(arch.n_hidden_cols)
    z_reset[0] = 1.0  # the bias source; every cell and gate output starts at 0
    return workspace(arch.n_hidden_rows, arch.n_hidden_cols, arch.n_output_cols, arch.n_cells, arch.n_blocks,
                     arch.n_out, z_reset, arch.forget_gate)


@fast_jit(cache=True)
def step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y):
    """One sequence (from reset state unless ws.carry[0]); learns in place if `learn`; returns the summed squared
    error over the target steps (models/common.py)."""
    c = net.setup
    return lstm_step(net, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y, 3, c.forget, c.peep, False)
