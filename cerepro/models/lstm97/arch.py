"""The 1997 LSTM (Section 4 and Appendix A.1): architecture, weight layout, initialisation.

Notation (paper): I inputs, K outputs, C memory-cell blocks of S cells each, H = C*S cells. Every block j has
one input gate in_j and one output gate out_j shared by its cells c_j^v. The cell state s (the constant error
carousel, self-weight 1.0) follows s(t) = s(t-1) + y^in(t) g(net_c(t)); the cell output is
y^c(t) = y^out(t) h(s(t)). There is no forget gate.

Weight layout. All weights into the hidden layer (cells and gates) sit in one matrix, all weights into the
output layer in another; a 0/1 mask of the same shape says which connections exist, so the printed weight
counts of the paper (264, 276, 93, ...) are `mask.sum()` and an absent connection is a weight fixed at 0.

    hidden rows    (U = H + 2C):  [cells 0..H-1 | input gates 0..C-1 | output gates 0..C-1]
    hidden columns (M = 1 + I + H + 2C): [bias | x(t) | y^c(t-1) | y^in(t-1) | y^out(t-1)]
    output columns (Mo = 1 + I + H):     [bias | x(t) | y^c(t)]

The column order is the "source vector" z(t) (hidden) and zo(t) (outputs) of the three-step timing of
SPEC section 1: the gates and cells see x(t) and the hidden activations of t-1, the outputs see y^c(t).
Cell v belongs to block v // S.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BIAS_MODES = ("none", "ga", "b1", "all")  # Table 10 "bias": none, gate units only, all hidden units, all non-input units
SQUASH_G = ("g2", "g1")  # g2: 4/(1+e^-x) - 2 in [-2, 2]; g1: logistic in [0, 1] (Exp 2a/2b)
SQUASH_H = ("h1", "id")  # h1: 2/(1+e^-x) - 1 in [-1, 1]; id: identity (Exp 2a/2b)
OUTPUT_ACTS = ("logistic", "linear")  # logistic is the paper's; linear is a named variant only


@dataclass(frozen=True)
class LSTMArch:
    """Sizes and connectivity of a 1997 LSTM net (Table 10 columns b, s, in, out, c, bias, h, g)."""

    n_in: int  # I
    n_out: int  # K
    n_blocks: int  # C
    block_size: int  # S
    bias: str = "ga"  # which units have bias weights (Table 10 "bias")
    input_to_hidden: bool = True  # cells and gates receive the input layer
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


GATE_BIAS_MODES = ("set", "add")


def masks(arch: LSTMArch) -> dict[str, np.ndarray]:
    """0/1 masks of the connections that exist: {"W_hid": (U, M), "W_out": (K, Mo)}."""
    I, H, C = arch.n_in, arch.n_cells, arch.n_blocks
    hid = np.zeros((arch.n_hidden_rows, arch.n_hidden_cols))  # (U, M)
    gate_rows = slice(H, H + 2 * C)
    if arch.bias in ("ga", "b1", "all"):
        hid[gate_rows, 0] = 1.0
    if arch.bias in ("b1", "all"):
        hid[:H, 0] = 1.0
    if arch.input_to_hidden:
        hid[:, 1 : 1 + I] = 1.0
    if arch.recurrent:
        hid[:, 1 + I :] = 1.0
    if not arch.output_gate:
        hid[H + C :, :] = 0.0  # no output-gate weights at all
        hid[:, 1 + I + H + C :] = 0.0  # and nothing reads the (constant) output gate
    out = np.zeros((arch.n_out, arch.n_output_cols))  # (K, Mo)
    out[:, 1 + I :] = 1.0  # from every cell
    if arch.has_output_bias:
        out[:, 0] = 1.0
    if arch.input_to_output:
        out[:, 1 : 1 + I] = 1.0
    return {"W_hid": hid, "W_out": out}


def n_weights(arch: LSTMArch) -> int:
    """The number of trainable weights, as printed in the paper's tables."""
    return int(sum(m.sum() for m in masks(arch).values()))


def init(rng: np.random.Generator, arch: LSTMArch, spec: LSTMInit) -> dict[str, np.ndarray]:
    """Draw initial weights: uniform in [-r, r] where a connection exists, special gate biases set after."""
    m = masks(arch)
    r = spec.weight_range
    params = {name: rng.uniform(-r, r, size=mask.shape) * mask for name, mask in m.items()}
    H, C = arch.n_cells, arch.n_blocks
    for biases, first_row in ((spec.input_gate_bias, H), (spec.output_gate_bias, H + C)):
        if biases is None:
            continue
        if len(biases) != C:
            raise ValueError(f"need one gate bias per block ({C}), got {len(biases)}")
        if first_row == H + C and not arch.output_gate:
            raise ValueError("output-gate biases given for a net without output gates")
        if spec.gate_bias_mode == "add":
            params["W_hid"][first_row : first_row + C, 0] += np.asarray(biases, dtype=np.float64)
        else:
            params["W_hid"][first_row : first_row + C, 0] = np.asarray(biases, dtype=np.float64)
        if m["W_hid"][first_row, 0] == 0.0:
            raise ValueError("gate biases given for a net whose gates have no bias weights")
    return params
