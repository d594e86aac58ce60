"""Pieces shared by the protocols: the row settings every experiment has.

`BaseRow` holds the learner's settings (architecture, initialisation, learning rule) so that any model can
run any experiment; a protocol extends it with the task's own settings. Defaults are the 1997 LSTM's.
"""

from __future__ import annotations

from dataclasses import dataclass

from cerepro.models.lstm97 import BIAS_MODES, OUTPUT_ACTS, SQUASH_G, SQUASH_H


@dataclass(frozen=True)
class BaseRow:
    """Settings every experiment row has. Protocols extend this with their own fields."""

    model: str = "lstm97"  # the learner (see `cerepro list`)
    trials: int = 10  # independent trials per row (paper: 30 for Exp 1, 10-20 elsewhere)
    max_sequences: int = 100_000  # cap on training sequences per trial; below the spec's value = reduced scale
    lr: float = 0.1  # learning rate alpha (plain SGD: no momentum, no clipping)
    paper_cap: int | None = None  # the paper's cap where a spec deliberately runs a lower one: the row is labelled reduced
    chunk: int = 2_000  # sequences per kernel call: the granularity of progress reports and of Ctrl-C
    # architecture (Table 10)
    blocks: int = 1  # C memory-cell blocks
    block_size: int = 1  # S cells per block
    hidden_units: int = 0  # conventional hidden units (RTRL, BPTT, Elman baselines)
    bias: str = "ga"  # Table 10 "bias": none | ga (gates) | b1 (all hidden) | all (all non-input units)
    recurrent: bool = True  # cells and gates see all cells and gates at t-1 (connectivity F)
    input_to_output: bool = False  # outputs also see the inputs (connectivity B; a variant elsewhere)
    output_gate: bool = True  # False: "no og" (Exp 2a/2b)
    g: str = "g2"  # cell-input squashing: g2 in [-2, 2] | g1 logistic
    h: str = "h1"  # cell-output squashing: h1 in [-1, 1] | id
    output_act: str = "logistic"  # logistic (paper) | linear (variant)
    output_bias: bool | None = None  # None: as `bias` says; true/false overrides (a variant)
    outputs_recurrent: bool = False  # RTRL nets of Table 1: the outputs are units of the recurrent net (Williams & Zipser)
    forget_gate: bool = True  # forget-gate models (Gers 2000) only; false: the 1997 cell with s(t-1) scaled by state_decay
    state_decay: float = 1.0  # forget-gate models without forget gate: fixed self-weight of s ("state decay 0.9")
    gate_recurrence: bool | None = None  # forget-gate models: gates also see gate outputs; null = the model's default (no)
    # initialisation (Tables 10, 11)
    weight_range: float = 0.1  # uniform in [-r, r]
    input_gate_bias: tuple[float, ...] | None = None  # one per block; null = random like the other weights
    output_gate_bias: tuple[float, ...] | None = None
    forget_gate_bias: tuple[float, ...] | None = None  # forget-gate models only (Gers 2000: positive); null = model default
    # learning rule
    update: str = "step"  # step: apply each step's change at once (online) | sequence: sum, apply at sequence end
    output_derivative: bool = True  # e_k = f'_k (t_k - y_k) as eq. 19; false drops f'_k (a variant)
    # readings the paper leaves open, tested as hypotheses (tasks/hypotheses.yaml; 1997 LSTM only)
    reset_activation: float = 0.0  # cell and gate outputs the first step sees as t-1 (paper: reset to 0; JKU: 0.5)
    gate_bias_init: str = "set"  # given gate biases replace the random initial value (set) or are added to it (add: JKU)
    lr_scale: str = "none"  # lr per step's contribution as printed | mean: divided by the sequence length | length: times it

    def validate(self) -> None:
        """Raise ValueError for impossible values (the message names the key)."""
        for key in ("trials", "max_sequences", "chunk", "blocks", "block_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.hidden_units < 0:
            raise ValueError(f"hidden_units must be at least 0, got {self.hidden_units}")
        for key in ("lr", "weight_range"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key} must be positive, got {getattr(self, key)}")
        for key, allowed in (("bias", BIAS_MODES), ("g", SQUASH_G), ("h", SQUASH_H), ("output_act", OUTPUT_ACTS),
                             ("update", ("step", "sequence"))):
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {getattr(self, key)!r}")
        for key in ("output_gate_bias", "input_gate_bias", "forget_gate_bias"):
            value = getattr(self, key)
            if value is not None and len(value) != self.blocks:
                raise ValueError(f"{key} needs one value per block ({self.blocks}), got {len(value)}")
        if self.forget_gate and self.state_decay != 1.0:
            raise ValueError("state_decay applies only without a forget gate (set forget_gate: false)")
        if not self.forget_gate and self.forget_gate_bias is not None:
            raise ValueError("forget_gate_bias given for a net without forget gates")
        if not 0.0 < self.state_decay <= 1.0:
            raise ValueError(f"state_decay must be in (0, 1], got {self.state_decay}")
        if self.gate_bias_init not in ("set", "add"):
            raise ValueError(f"gate_bias_init must be one of set, add; got {self.gate_bias_init!r}")
        if self.lr_scale not in ("none", "mean", "length"):
            raise ValueError(f"lr_scale must be one of none, mean, length; got {self.lr_scale!r}")
        if not 0.0 <= self.reset_activation <= 1.0:
            raise ValueError(f"reset_activation must be in [0, 1], got {self.reset_activation}")
        if self.model != "lstm97":
            for key, default in (("reset_activation", 0.0), ("gate_bias_init", "set"), ("lr_scale", "none")):
                if getattr(self, key) != default:
                    raise ValueError(f"{key} applies only to the 1997 LSTM (model lstm97), not {self.model}")
        from cerepro.models import MODELS  # late: models import nothing from protocols

        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; models: {', '.join(MODELS)}")
        if self.model == "guess":  # no learning rule: the net and the protocol must suit the search
            from cerepro.protocols import guess  # late: guess imports the protocols built on this module

            guess.check_row(self)
