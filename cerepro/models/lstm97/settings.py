"""The row settings the 1997 LSTM reads (Table 10 columns; defaults: Exps 3-6), shared by lstm-full."""

from __future__ import annotations

from dataclasses import dataclass

from cerepro import checks

BIAS_MODES = ("none", "ga", "b1", "all")  # Table 10 "bias": none, gate units only, all hidden units, all non-input units
SQUASH_G = ("g2", "g1")  # g2: 4/(1+e^-x) - 2 in [-2, 2]; g1: logistic in [0, 1] (Exp 2a/2b)
SQUASH_H = ("h1", "id")  # h1: 2/(1+e^-x) - 1 in [-1, 1]; id: identity (Exp 2a/2b)
OUTPUT_ACTS = ("logistic", "linear")  # logistic is the paper's; linear is a named variant only
GATE_BIAS_MODES = ("set", "add")  # given gate biases replace the random initial value | are added to it
LR_SCALES = ("none", "mean", "length")  # lr per step as printed | divided by | multiplied by the sequence length


@dataclass(frozen=True)
class LSTMSettings:
    # architecture (Table 10)
    blocks: int = 1  # C memory-cell blocks
    block_size: int = 1  # S cells per block
    bias: str = "ga"  # Table 10 "bias": none | ga (gates) | b1 (all hidden) | all (all non-input units)
    recurrent: bool = True  # cells and gates see all cells and gates at t-1 (connectivity F)
    input_to_output: bool = False  # outputs also see the inputs (connectivity B; a variant elsewhere)
    output_gate: bool = True  # False: "no og" (Exp 2a/2b)
    g: str = "g2"  # cell-input squashing: g2 in [-2, 2] | g1 logistic
    h: str = "h1"  # cell-output squashing: h1 in [-1, 1] | id
    output_act: str = "logistic"  # logistic (paper) | linear (variant)
    output_bias: bool | None = None  # None: as `bias` says; true/false overrides (a variant)
    # initialisation (Tables 10, 11)
    weight_range: float = 0.1  # uniform in [-r, r]
    input_gate_bias: tuple[float, ...] | None = None  # one per block; null = random like the other weights
    output_gate_bias: tuple[float, ...] | None = None
    # learning rule
    update: str = "step"  # step: apply each step's change at once (online) | sequence: sum, apply at sequence end
    output_derivative: bool = True  # e_k = f'_k (t_k - y_k) as eq. 19; false drops f'_k (a variant)

    def check(self) -> None:
        """Raise ValueError for impossible values of these settings."""
        checks.at_least(self, 1, "blocks", "block_size")
        checks.positive(self, "weight_range")
        for key, allowed in (("bias", BIAS_MODES), ("g", SQUASH_G), ("h", SQUASH_H), ("output_act", OUTPUT_ACTS),
                             ("update", ("step", "sequence"))):
            checks.one_of(self, key, allowed)
        for key in ("output_gate_bias", "input_gate_bias"):
            value = getattr(self, key)
            if value is not None and len(value) != self.blocks:
                raise ValueError(f"{key} needs one value per block ({self.blocks}), got {len(value)}")
        if self.output_gate_bias is not None and not self.output_gate:
            raise ValueError("output_gate_bias needs output gates (output_gate: true)")


@dataclass(frozen=True)
class LSTM97Settings(LSTMSettings):
    """Readings the paper leaves open, tested as hypotheses (tasks/hypotheses.yaml): the 1997 LSTM (lstm97) only."""

    reset_activation: float = 0.0  # cell and gate outputs the first step sees as t-1 (paper: reset to 0; JKU: 0.5)
    gate_bias_init: str = "set"  # given gate biases replace the random initial value (set) or are added to it (add: JKU)
    lr_scale: str = "none"  # lr per step's contribution as printed | mean: divided by the sequence length | length: times it

    def check(self) -> None:
        """Raise ValueError for impossible values, and for these settings on a row of another model."""
        checks.one_of(self, "gate_bias_init", GATE_BIAS_MODES)
        checks.one_of(self, "lr_scale", LR_SCALES)
        checks.within(self, "reset_activation", 0.0, 1.0, low_open=False)
        model = getattr(self, "model", "lstm97")  # a row names its model; these settings are lstm97's alone
        if model != "lstm97":
            for key in ("reset_activation", "gate_bias_init", "lr_scale"):
                if getattr(self, key) != getattr(LSTM97Settings, key):
                    raise ValueError(f"{key} applies only to the 1997 LSTM (model lstm97), not {model}")
