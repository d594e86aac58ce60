"""Conventional recurrent nets of the baselines (RTRL, BPTT, Elman): architecture, weight layout, init.

Notation: I inputs, K outputs, H hidden units, all units logistic (Table 2: "all units logistic in [0, 1]").
The R recurrent units y(t) are the H hidden units, plus the K output units when the outputs belong to the
recurrent net. Every recurrent unit computes y_u(t) = f(sum_m W[u, m] z_m(t)) from the source vector
z(t) = [1, x(t), y(t-1)]: the three-step timing of SPEC section 1 (input, then hidden, then output).

Two output placements, which between them express every baseline net the paper cites:

* separate output layer (outputs_recurrent=False): outputs see [1, x(t), y^h(t)], the hidden units of the
  same time step. Table 2's RTRL/BPTT net ("one self-recurrent hidden unit plus p+1 non-recurrent output
  units, each layer connected from all layers below"): H = 1, no bias, inputs to outputs, giving
  (p+2)^2 weights = 36 / 144 / 10404 for p = 4 / 10 / 100. Also Elman's SRN (context = hidden at t-1):
  15 hidden, no bias, 15*(7+15) + 7*15 = 435, Table 1's "ELM ~435".
* outputs in the recurrent net (outputs_recurrent=True): the fully recurrent net of Williams & Zipser
  (1989) used by Smith & Zipser (1989). Every unit, output units included, sees x(t) and every unit at t-1;
  the outputs of time t therefore see the hidden units of t-1. With no bias, (H+K)(I+H+K) weights:
  10*17 = 170 for H = 3 and 19*26 = 494 for H = 12, Table 1's "RTRL ~170 / ~494" exactly.

Weight layout (the same 0/1-mask convention as lstm97.py; absent connections are weights fixed at 0):

    W_hid rows    (R):          [hidden 0..H-1 | output units 0..K-1 if outputs_recurrent]
    W_hid columns (M = 1+I+R):  [bias | x(t) | y(t-1) of the R recurrent units]
    W_out         (K, Mo = 1+I+H): [bias | x(t) | y^h(t)] for a separate output layer; (K, 0) otherwise

Table 10's bias modes: none; b1 = hidden units only; all = hidden and output units ("ga", gate units only,
names units these nets do not have and is rejected). `recurrent=False` keeps only each hidden unit's
self-connection ("self-recurrent"); with one hidden unit the two readings coincide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def arch_from_cfg(cfg, n_in: int, n_out: int) -> RNNArch:
    """The architecture a row's settings (protocols.common.BaseRow) describe."""
    return RNNArch(
        n_in=n_in, n_out=n_out, n_hidden=cfg.hidden_units, bias=cfg.bias, recurrent=cfg.recurrent,
        input_to_output=cfg.input_to_output, outputs_recurrent=cfg.outputs_recurrent,
        output_act=cfg.output_act, output_bias=cfg.output_bias,
    )


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
    out = np.zeros((arch.n_out, arch.n_output_cols))  # (K, Mo)
    if not arch.outputs_recurrent:
        out[:, 1 + I :] = 1.0  # from every hidden unit
        if arch.has_output_bias:
            out[:, 0] = 1.0
        if arch.input_to_output:
            out[:, 1 : 1 + I] = 1.0
    return {"W_hid": hid, "W_out": out}


def n_weights(arch: RNNArch) -> int:
    """The number of trainable weights."""
    return int(sum(m.sum() for m in masks(arch).values()))


def init(rng: np.random.Generator, arch: RNNArch, weight_range: float) -> dict[str, np.ndarray]:
    """Uniform weights in [-r, r] where a connection exists (0.2 in Exps 1 and 2), 0 elsewhere."""
    return {name: rng.uniform(-weight_range, weight_range, size=m.shape) * m for name, m in masks(arch).items()}


def make_spec(arch: RNNArch, per_step: bool = True, output_derivative: bool = True) -> np.ndarray:
    """The int64 settings array shared by the rtrl, bptt and elman kernels."""
    return np.array([arch.n_in, arch.n_out, arch.n_hidden, arch.n_rec, int(arch.outputs_recurrent),
                     int(arch.output_act == "linear"), int(output_derivative), int(per_step)], dtype=np.int64)


# Layout of that spec array.
SPEC_I, SPEC_K, SPEC_H, SPEC_R, SPEC_OUT_REC, SPEC_OUT_LINEAR, SPEC_OUT_DERIV, SPEC_PER_STEP = range(8)
