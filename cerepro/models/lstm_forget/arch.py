"""LSTM with forget gates (Gers, Schmidhuber & Cummins 2000) and peepholes (Gers & Schmidhuber 2001): layout, init.

Notation as in lstm97.py (I inputs, K outputs, C blocks of S cells, H = C*S cells), plus one forget gate phi_j
per block (SPEC section 9):

    s_c(t) = y^phi_j(t) s_c(t-1) + y^in_j(t) g(net_c(t)),     y^phi_j(t) = f(net_phi_j(t))
    y^c(t) = y^out_j(t) h(s_c(t))

Without a forget gate (`forget_gate=False`) y^phi is the constant `state_decay`: 1.0 is the 1997 cell (the
CEC), 0.9 is Gers' "LSTM with state decay". With `peepholes`, each gate of block j also sees the states of
its own cells: the input and forget gates s(t-1), the output gate the fresh s(t) (SPEC 9, UNVERIFIED
timing); no error flows back through a peephole into the CEC.

Weight layout (one hidden matrix, one output matrix, 0/1 masks say which connections exist):

    hidden rows    (U = H + 3C):       [cells 0..H-1 | input gates | forget gates | output gates]
    hidden columns (M = 1 + I + H + 3C + H):
        [bias | x(t) | y^c(t-1) | y^in(t-1), y^phi(t-1), y^out(t-1) | peephole sources s]
    output columns (Mo = 1 + I + H):   [bias | x(t) | y^c(t)]

Gers' CERG net (4 blocks of 2, 424 weights) has gates and cells fed by the inputs and the cell outputs only
(`gate_recurrence=False`); `gate_recurrence=True` adds the 1997 connectivity F (gates feed back too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cerepro.models.lstm97 import BIAS_MODES, OUTPUT_ACTS, SQUASH_G, SQUASH_H

DEFAULT_FORGET_BIAS = 1.0  # Gers 2000 (NTO discussion, VERIFIED): a "moderate" positive forget bias of 1.0


@dataclass(frozen=True)
class ForgetArch:
    """Sizes, connectivity and cell type of a forget-gate LSTM."""

    n_in: int  # I
    n_out: int  # K
    n_blocks: int  # C
    block_size: int  # S
    bias: str = "ga"  # Table 10 "bias" modes, as lstm97 ("ga": gates only)
    input_to_hidden: bool = True
    recurrent: bool = True  # cells and gates see the cell outputs of t-1
    gate_recurrence: bool = False  # ... and the gate outputs of t-1 (1997 connectivity F); Gers CERG: no
    input_to_output: bool = False  # outputs see the inputs (Gers CERG: yes)
    output_gate: bool = True
    forget_gate: bool = True  # False: y^phi is the constant state_decay
    state_decay: float = 1.0  # the fixed self-weight of s without a forget gate (1.0 = 1997 CEC)
    peepholes: bool = False
    g: str = "g2"
    h: str = "h1"
    output_act: str = "logistic"
    output_bias: bool | None = None  # None: as `bias` says ("all" only); True/False overrides

    def __post_init__(self) -> None:
        for name in ("n_in", "n_out", "n_blocks", "block_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name, allowed in (("bias", BIAS_MODES), ("g", SQUASH_G), ("h", SQUASH_H), ("output_act", OUTPUT_ACTS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.forget_gate and self.state_decay != 1.0:
            raise ValueError("state_decay applies only without a forget gate (forget_gate=false)")
        if not 0.0 <= self.state_decay <= 1.0:
            raise ValueError(f"state_decay must be in [0, 1], got {self.state_decay}")

    @property
    def n_cells(self) -> int:  # H
        return self.n_blocks * self.block_size

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

    @property
    def n_output_cols(self) -> int:  # Mo
        return 1 + self.n_in + self.n_cells

    @property
    def has_output_bias(self) -> bool:
        return self.bias == "all" if self.output_bias is None else self.output_bias


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
    hid = np.zeros((arch.n_hidden_rows, arch.n_hidden_cols))  # (U, M)
    gates = slice(H, H + 3 * C)
    if arch.bias in ("ga", "b1", "all"):
        hid[gates, 0] = 1.0
    if arch.bias in ("b1", "all"):
        hid[:H, 0] = 1.0
    if arch.input_to_hidden:
        hid[:, 1 : 1 + I] = 1.0
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
    out = np.zeros((arch.n_out, arch.n_output_cols))  # (K, Mo)
    out[:, 1 + I :] = 1.0
    if arch.has_output_bias:
        out[:, 0] = 1.0
    if arch.input_to_output:
        out[:, 1 : 1 + I] = 1.0
    return {"W_hid": hid, "W_out": out}


def n_weights(arch: ForgetArch) -> int:
    """The number of trainable weights (Gers CERG: 424)."""
    return int(sum(m.sum() for m in masks(arch).values()))


def init(rng: np.random.Generator, arch: ForgetArch, spec: ForgetInit) -> dict[str, np.ndarray]:
    """Uniform weights in [-r, r] where a connection exists; then the gate biases (input, forget, output)."""
    m = masks(arch)
    r = spec.weight_range
    params = {name: rng.uniform(-r, r, size=mask.shape) * mask for name, mask in m.items()}
    H, C = arch.n_cells, arch.n_blocks
    forget = spec.forget_gate_bias
    if forget is None and arch.forget_gate and m["W_hid"][H + C, 0] != 0.0:  # a net without bias weights gets none
        forget = (DEFAULT_FORGET_BIAS,) * C
    for biases, first_row, gate in ((spec.input_gate_bias, H, "input"), (forget, H + C, "forget"),
                                    (spec.output_gate_bias, H + 2 * C, "output")):
        if biases is None:
            continue
        if len(biases) != C:
            raise ValueError(f"need one {gate}-gate bias per block ({C}), got {len(biases)}")
        if m["W_hid"][first_row, 0] == 0.0:
            raise ValueError(f"{gate}-gate biases given for a net whose {gate} gates have no bias weights")
        params["W_hid"][first_row : first_row + C, 0] = np.asarray(biases, dtype=np.float64)
    return params
