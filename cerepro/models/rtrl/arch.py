"""Conventional recurrent nets of the baselines (RTRL, BPTT, Elman, guessing): layout, masks, init (docs/paper.md).

I inputs, K outputs, H hidden units, all units logistic. The R recurrent units y(t) (the hidden units, plus the
outputs when they belong to the recurrent net) compute y_u(t) = f(W[u] z(t)) from z(t) = [1, x(t), y(t-1)].
A separate output layer (Table 2's RTRL/BPTT net, Elman's SRN) sees [1, x(t), y^h(t)]; outputs inside the
recurrent net (Williams & Zipser, Table 1's RTRL rows) see x(t) and all units at t-1. Bias modes: none, b1
(hidden units), all (and the outputs); `recurrent=False` keeps only each unit's self-connection.

    W_hid (R, M = 1 + I + R): [bias | x(t) | y(t-1)]      W_out (K, Mo = 1 + I + H): [bias | x(t) | y^h(t)], or (K, 0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cerepro.models.common import count_weights, output_mask, uniform_weights

RNN_BIAS_MODES = ("none", "b1", "all")


@dataclass(frozen=True)
class RNNArch:
    """Sizes and connectivity of a conventional recurrent net."""

    n_in: int  # I
    n_out: int  # K
    n_hidden: int  # H
    bias: str = "none"  # none | b1 (hidden units) | all (hidden and output units)
    recurrent: bool = True  # each recurrent unit sees all recurrent units at t-1; False: only itself
    input_to_output: bool = True  # outputs see x(t) (Table 2: "each layer connected from all layers below")
    outputs_recurrent: bool = False  # outputs are units of the recurrent net (Williams & Zipser), not a layer
    output_act: str = "logistic"  # logistic (paper) | linear (separate output layer only)
    output_bias: bool | None = None  # None: as `bias` says ("all" biases the outputs)

    def __post_init__(self) -> None:
        if self.n_in < 1 or self.n_out < 1:
            raise ValueError("a net needs at least one input and one output unit")
        if self.n_hidden < 1:
            raise ValueError(f"hidden_units must be at least 1 for a recurrent baseline, got {self.n_hidden}")
        if self.bias not in RNN_BIAS_MODES:
            hint = " ('ga' means gate units only; these nets have no gates)" if self.bias == "ga" else ""
            raise ValueError(f"bias must be one of {', '.join(RNN_BIAS_MODES)} for this model, got {self.bias!r}{hint}")
        if self.output_act not in ("logistic", "linear"):
            raise ValueError(f"output_act must be logistic or linear, got {self.output_act!r}")
        if self.outputs_recurrent and self.output_act != "logistic":
            raise ValueError("output units inside the recurrent net are logistic like every other unit")

    @property
    def n_rec(self) -> int:  # R
        return self.n_hidden + (self.n_out if self.outputs_recurrent else 0)

    @property
    def n_hidden_cols(self) -> int:  # M
        return 1 + self.n_in + self.n_rec

    @property
    def n_output_cols(self) -> int:  # Mo (0: the outputs are rows of W_hid)
        return 0 if self.outputs_recurrent else 1 + self.n_in + self.n_hidden

    @property
    def has_output_bias(self) -> bool:
        return self.bias == "all" if self.output_bias is None else self.output_bias


def masks(arch: RNNArch) -> dict[str, np.ndarray]:
    """0/1 masks of the connections that exist: {"W_hid": (R, M), "W_out": (K, Mo)}."""
    I, H, R = arch.n_in, arch.n_hidden, arch.n_rec
    hid = np.zeros((R, arch.n_hidden_cols))  # (R, M)
    hid[:H, 1 : 1 + I] = 1.0  # every hidden unit sees the input layer
    if arch.bias in ("b1", "all"):
        hid[:H, 0] = 1.0
    if arch.outputs_recurrent:
        if arch.has_output_bias:
            hid[H:, 0] = 1.0
        if arch.input_to_output:
            hid[H:, 1 : 1 + I] = 1.0
    rec = hid[:, 1 + I :]  # (R, R) view: the recurrent connections
    if arch.recurrent:
        rec[:, :] = 1.0
    else:
        rec[np.arange(R), np.arange(R)] = 1.0  # self-connections only
    if arch.outputs_recurrent:
        out = np.zeros((arch.n_out, 0))  # (K, 0): the outputs are rows of W_hid
    else:  # a separate layer fed by every hidden unit
        out = output_mask(arch.n_out, I, H, arch.has_output_bias, arch.input_to_output)  # (K, Mo)
    return {"W_hid": hid, "W_out": out}


def n_weights(arch: RNNArch) -> int:
    """The number of trainable weights."""
    return count_weights(masks(arch))


def init(rng: np.random.Generator, arch: RNNArch, weight_range: float) -> dict[str, np.ndarray]:
    """Uniform weights in [-r, r] where a connection exists (0.2 in Exps 1 and 2), 0 elsewhere."""
    return uniform_weights(rng, masks(arch), weight_range)
