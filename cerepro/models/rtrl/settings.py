"""The row settings of the conventional recurrent nets (rtrl, bptt, elman, guess); names and defaults as the LSTM's."""

from __future__ import annotations

from dataclasses import dataclass

from cerepro import checks


@dataclass(frozen=True)
class RNNSettings:
    hidden_units: int = 0  # H conventional hidden units (the LSTM rows have none; these nets need at least one)
    bias: str = "ga"  # none | b1 (hidden units) | all (hidden and outputs); "ga" is the LSTM's default, rejected here
    recurrent: bool = True  # every recurrent unit sees all at t-1; false: only itself ("self-recurrent")
    input_to_output: bool = False  # outputs see x(t) (Table 2: "each layer connected from all layers below")
    outputs_recurrent: bool = False  # the outputs are units of the recurrent net (Williams & Zipser), not a layer
    output_act: str = "logistic"  # logistic (paper) | linear (a separate output layer only)
    output_bias: bool | None = None  # None: as `bias` says; true/false overrides
    weight_range: float = 0.1  # uniform in [-r, r] (random guessing: the search range)
    update: str = "step"  # step: online | sequence: apply the summed change at the sequence end
    output_derivative: bool = True  # e_k = f'_k (t_k - y_k); false drops f'_k (a separate output layer only)

    def check(self) -> None:
        """Raise ValueError for impossible values of these settings (the net itself checks the rest)."""
        checks.at_least(self, 0, "hidden_units")
