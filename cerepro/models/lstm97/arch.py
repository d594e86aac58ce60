"""The 1997 LSTM (Section 4, Appendix A.1): layout, masks, initialisation. Notation and equations: docs/paper.md.

I inputs, K outputs, C blocks of S cells (H = C*S); each block has one input gate in_j and one output gate
out_j; s(t) = s(t-1) + y^in(t) g(net_c(t)) (the CEC), y^c(t) = y^out(t) h(s(t)). One hidden matrix and one
output matrix, with 0/1 masks of the connections that exist (so the paper's weight counts are mask sums):

    hidden rows    (U = H + 2C):          [cells | input gates | output gates]       (cell v is in block v // S)
    hidden columns (M = 1 + I + H + 2C):  [bias | x(t) | y^c(t-1) | y^in(t-1) | y^out(t-1)]
    output columns (Mo = 1 + I + H):      [bias | x(t) | y^c(t)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cerepro.models.common import count_weights, output_mask, uniform_weights
from cerepro.models.lstm97.settings import BIAS_MODES, OUTPUT_ACTS, SQUASH_G, SQUASH_H


@dataclass(frozen=True)
class LSTMArch:
    """Sizes and connectivity of a 1997 LSTM net (Table 10 columns b, s, in, out, c, bias, h, g)."""

    n_in: int  # I
    n_out: int  # K
    n_blocks: int  # C
    block_size: int  # S
    bias: str = "ga"  # which units have bias weights (Table 10 "bias")
    recurrent: bool = True  # cells and gates receive all cells and gates at t-1 (connectivity F)
    input_to_output: bool = False  # outputs also receive the input layer (connectivity B, Exp 2a/2b)
    output_gate: bool = True  # False for Exp 2a/2b ("no og"): y^out is fixed at 1
    g: str = "g2"
    h: str = "h1"
    output_act: str = "logistic"
    output_bias: bool | None = None  # None: as `bias` says (only "all" biases the outputs); True/False overrides

    def __post_init__(self) -> None:
        for name in ("n_in", "n_out", "n_blocks", "block_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name, allowed in (("bias", BIAS_MODES), ("g", SQUASH_G), ("h", SQUASH_H), ("output_act", OUTPUT_ACTS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")

    @property
    def n_cells(self) -> int:  # H
        return self.n_blocks * self.block_size

    @property
    def n_hidden_rows(self) -> int:  # U
        return self.n_cells + 2 * self.n_blocks

    @property
    def n_hidden_cols(self) -> int:  # M
        return 1 + self.n_in + self.n_cells + 2 * self.n_blocks

    @property
    def n_output_cols(self) -> int:  # Mo
        return 1 + self.n_in + self.n_cells

    @property
    def has_output_bias(self) -> bool:
        return self.bias == "all" if self.output_bias is None else self.output_bias


@dataclass(frozen=True)
class LSTMInit:
    """Initialisation (Table 10/11): uniform weights, special gate biases."""

    weight_range: float = 0.2  # uniform in [-r, r]; 0.2 for Exps 1-2, 0.1 for Exps 3-6
    input_gate_bias: tuple[float, ...] | None = None  # one per block; None = random like the other weights
    output_gate_bias: tuple[float, ...] | None = None  # one per block; None = random
    gate_bias_mode: str = "set"  # set: the given gate biases replace the random value | add: added to it (JKU simulator)


def masks(arch: LSTMArch) -> dict[str, np.ndarray]:
    """0/1 masks of the connections that exist: {"W_hid": (U, M), "W_out": (K, Mo)}."""
    I, H, C = arch.n_in, arch.n_cells, arch.n_blocks
    hid = hidden_mask(arch, gates=2)  # (U, M): bias and inputs
    if arch.recurrent:
        hid[:, 1 + I :] = 1.0
    if not arch.output_gate:
        hid[H + C :, :] = 0.0  # no output-gate weights at all
        hid[:, 1 + I + H + C :] = 0.0  # and nothing reads the (constant) output gate
    return {"W_hid": hid, "W_out": output_mask(arch.n_out, I, H, arch.has_output_bias, arch.input_to_output)}


def n_weights(arch: LSTMArch) -> int:
    """The number of trainable weights, as printed in the paper's tables."""
    return count_weights(masks(arch))


def hidden_mask(arch: LSTMArch, gates: int) -> np.ndarray:
    """(U, M) 0/1: the bias weights of the cells and `gates` gate rows per block (Table 10 "bias") and the inputs
    (every cell and gate sees them); the recurrent columns are left to the caller."""
    H, C = arch.n_cells, arch.n_blocks
    hid = np.zeros((arch.n_hidden_rows, arch.n_hidden_cols))
    if arch.bias in ("ga", "b1", "all"):
        hid[H : H + gates * C, 0] = 1.0
    if arch.bias in ("b1", "all"):
        hid[:H, 0] = 1.0
    hid[:, 1 : 1 + arch.n_in] = 1.0
    return hid


def init(rng: np.random.Generator, arch: LSTMArch, how: LSTMInit) -> dict[str, np.ndarray]:
    """Draw initial weights: uniform in [-r, r] where a connection exists, special gate biases set after."""
    m = masks(arch)
    params = uniform_weights(rng, m, how.weight_range)
    H, C = arch.n_cells, arch.n_blocks
    set_gate_biases(params["W_hid"], m["W_hid"], C, (("input", how.input_gate_bias, H), ("output", how.output_gate_bias, H + C)),
                    add=how.gate_bias_mode == "add")
    return params


def set_gate_biases(W_hid: np.ndarray, M_hid: np.ndarray, C: int, gates: tuple, add: bool = False) -> None:
    """Write the special gate biases (gate name, one value per block or None, first row of that gate) into W_hid;
    `add`: add them to the random initial values instead (the JKU simulator's reading, docs/decisions.md)."""
    for gate, biases, first_row in gates:
        if biases is None:
            continue
        if len(biases) != C:
            raise ValueError(f"need one {gate}-gate bias per block ({C}), got {len(biases)}")
        if M_hid[first_row, 0] == 0.0:
            raise ValueError(f"{gate}-gate biases given for a net whose {gate} gates have no bias weights")
        if add:
            W_hid[first_row : first_row + C, 0] += np.asarray(biases, dtype=np.float64)
        else:
            W_hid[first_row : first_row + C, 0] = np.asarray(biases, dtype=np.float64)
