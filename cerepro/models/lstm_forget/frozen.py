"""The forget-gate LSTM's forward pass for a frozen net, one input at a time with its state carried (CERG's test
streams, protocols/cerg): models/lstm97/frozen.py's scheme for this net.

The weights are transposed once per frozen net (lstm97 frozen.freeze), all hidden rows advance together over the
columns, and each row adds its terms in kernel.step's order (bias, the active input, then the recurrent columns
in order); the squashing functions use math.exp or its vectorised copy where that gives the same bits
(models/vexp.py). So every output equals lstm_forget.kernel.step's with learn=False, bit for bit
(tests/test_protocols_cerg.py). Scope: one-hot inputs, no peepholes (`usable`); three gate rows per block.
Shapes as kernel.py: U hidden rows, M hidden columns, K outputs, Mo output columns, H cells, C blocks.
"""

from __future__ import annotations

from numba import njit

from cerepro.models.lstm97 import frozen as frozen97


def usable(setup) -> bool:
    """Whether `advance` computes this net (kernel.Setup of a forget-gate net): no peepholes."""
    return not setup.peep


def frozen_net(net) -> frozen97.Frozen:
    """Scratch for a frozen copy of `net` (fill it with lstm97 frozen.freeze)."""
    (U, M), (K, Mo) = net.W_hid.shape, net.W_out.shape
    return frozen97.frozen(U, M, K, Mo, net.setup.n_blocks * net.setup.block_size)


@njit(cache=True, inline="always", error_model="numpy")  # numpy: no zero-division checks (they stop 1 / (1 + e) vectorising)
def advance(fz, c, xi, fast_exp):
    """One time step with input unit xi from the carried sources fz.z, fz.zo and states fz.s (eqs. 7-9 with a
    forget gate y^phi, or c.state_decay without): the outputs to fz.y[0]; fast_exp is a constant of each caller."""
    WT, WO, z, zo, net, s, y, sig, ex, r_buf, k_buf, tail_buf, scale_buf = fz
    M, U = WT.shape
    C, S = c.n_blocks, c.block_size
    H = C * S
    rec0 = 1 + c.n_in
    rend = M - H if c.gate_rec else rec0 + H  # kernel.lstm_step's end of the recurrent columns (3 gate rows)
    for u in range(U):  # bias, then the active input (ops.dot_row's order) ...
        net[0, u] = WT[0, u]
    for u in range(U):
        net[0, u] += WT[1 + xi, u]
    for m in range(rec0, rend):  # ... then the recurrent columns in order, all rows at once
        zm = z[m]
        for u in range(U):
            net[0, u] += WT[m, u] * zm
    frozen97._exp_neg(net, ex, r_buf, k_buf, tail_buf, scale_buf, fast_exp)
    for u in range(U):
        sig[u] = 1.0 / (1.0 + ex[0, u])
    for v in range(H):
        j = v // S
        g = sig[v] if c.g1 else 4.0 * sig[v] - 2.0
        phi = sig[H + C + j] if c.forget else c.state_decay
        s[0, v] = phi * s[0, v] + sig[H + j] * g  # (9) with y^phi
    for j in range(C):  # gate outputs: sources of t+1
        z[rec0 + H + j] = sig[H + j]
        z[rec0 + H + C + j] = sig[H + C + j] if c.forget else 0.0
        z[rec0 + H + 2 * C + j] = sig[H + 2 * C + j] if c.output_gate else 1.0
    if not c.h_id:
        frozen97._exp_neg(s, ex, r_buf, k_buf, tail_buf, scale_buf, fast_exp)
        for v in range(H):
            sig[v] = 1.0 / (1.0 + ex[0, v])
    for v in range(H):
        hs = s[0, v] if c.h_id else 2.0 * sig[v] - 1.0
        zo[rec0 + v] = z[rec0 + H + 2 * C + v // S] * hs
    frozen97.outputs(fz, c, xi, fast_exp)
    for v in range(H):  # the cells of t become sources of t+1
        z[rec0 + v] = zo[rec0 + v]
