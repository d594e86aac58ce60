"""LSTM with forget gates (Gers et al. 2000) and peepholes (Gers & Schmidhuber 2001): layout, init (docs/paper.md).

As lstm97/arch.py plus one forget gate phi_j per block: s_c(t) = y^phi_j(t) s_c(t-1) + y^in_j(t) g(net_c(t));
without it y^phi is `state_decay` (1.0: the 1997 CEC; 0.9: "state decay"). Peepholes feed each gate its own
block's states, no error flowing back. Gers' CERG net (424 weights) feeds gates and cells from the inputs and
the cell outputs only (`gate_recurrence=False`).

    hidden rows    (U = H + 3C):            [cells | input gates | forget gates | output gates]
    hidden columns (M = 1 + I + H + 3C + H): [bias | x(t) | y^c(t-1) | y^in, y^phi, y^out (t-1) | states s]
    output columns (Mo = 1 + I + H):        [bias | x(t) | y^c(t)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cerepro.models.common import count_weights, output_mask, uniform_weights
from cerepro.models.lstm97.arch import LSTMArch, hidden_mask, set_gate_biases

DEFAULT_FORGET_BIAS = 1.0  # Gers 2000 (NTO discussion, stated): a "moderate" positive forget bias of 1.0


@dataclass(frozen=True)
class ForgetArch(LSTMArch):
    """Sizes, connectivity and cell type of a forget-gate LSTM: the 1997 net's fields, plus these."""

    gate_recurrence: bool = False  # cells and gates also see the gate outputs of t-1 (1997 connectivity F); Gers CERG: no
    forget_gate: bool = True  # False: y^phi is the constant state_decay
    state_decay: float = 1.0  # the fixed self-weight of s without a forget gate (1.0 = 1997 CEC)
    peepholes: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.forget_gate and self.state_decay != 1.0:
            raise ValueError("state_decay applies only without a forget gate (forget_gate=false)")
        if not 0.0 <= self.state_decay <= 1.0:
            raise ValueError(f"state_decay must be in [0, 1], got {self.state_decay}")

    @property
    def n_hidden_rows(self) -> int:  # U
        return self.n_cells + 3 * self.n_blocks

    @property
    def peep0(self) -> int:
        """First peephole column of the hidden matrix."""
        return 1 + self.n_in + self.n_cells + 3 * self.n_blocks

    @property
    def n_hidden_cols(self) -> int:  # M
        return self.peep0 + self.n_cells


@dataclass(frozen=True)
class ForgetInit:
    """Initialisation: uniform weights, then the special gate biases (one per block; None = random)."""

    weight_range: float = 0.2
    input_gate_bias: tuple[float, ...] | None = None
    output_gate_bias: tuple[float, ...] | None = None
    forget_gate_bias: tuple[float, ...] | None = None  # None: DEFAULT_FORGET_BIAS per block (if gates have biases)


def masks(arch: ForgetArch) -> dict[str, np.ndarray]:
    """0/1 masks of the connections that exist: {"W_hid": (U, M), "W_out": (K, Mo)}."""
    I, H, C, S = arch.n_in, arch.n_cells, arch.n_blocks, arch.block_size
    hid = hidden_mask(arch, gates=3)  # (U, M): bias and inputs
    if arch.recurrent:
        hid[:, 1 + I : 1 + I + H] = 1.0
        if arch.gate_recurrence:
            hid[:, 1 + I + H : arch.peep0] = 1.0
    if arch.peepholes:
        for j in range(C):
            for gate in range(3):
                hid[H + gate * C + j, arch.peep0 + j * S : arch.peep0 + (j + 1) * S] = 1.0
    if not arch.forget_gate:
        hid[H + C : H + 2 * C, :] = 0.0  # no forget-gate weights
        hid[:, 1 + I + H + C : 1 + I + H + 2 * C] = 0.0  # nothing reads a constant
    if not arch.output_gate:
        hid[H + 2 * C :, :] = 0.0
        hid[:, 1 + I + H + 2 * C : arch.peep0] = 0.0
    return {"W_hid": hid, "W_out": output_mask(arch.n_out, I, H, arch.has_output_bias, arch.input_to_output)}


def n_weights(arch: ForgetArch) -> int:
    """The number of trainable weights (Gers CERG: 424)."""
    return count_weights(masks(arch))


def init(rng: np.random.Generator, arch: ForgetArch, how: ForgetInit) -> dict[str, np.ndarray]:
    """Uniform weights in [-r, r] where a connection exists; then the gate biases (input, forget, output)."""
    m = masks(arch)
    params = uniform_weights(rng, m, how.weight_range)
    H, C = arch.n_cells, arch.n_blocks
    forget = how.forget_gate_bias
    if forget is None and arch.forget_gate and m["W_hid"][H + C, 0] != 0.0:  # a net without bias weights gets none
        forget = (DEFAULT_FORGET_BIAS,) * C
    set_gate_biases(params["W_hid"], m["W_hid"], C, (("input", how.input_gate_bias, H), ("forget", forget, H + C),
                                                     ("output", how.output_gate_bias, H + 2 * C)))
    return params
