"""The row settings of the forget-gate and peephole LSTM beyond the 1997 LSTM's (Gers et al. 2000)."""

from __future__ import annotations

from dataclasses import dataclass

from cerepro.models.lstm97.settings import LSTMSettings


@dataclass(frozen=True)
class ForgetSettings(LSTMSettings):
    forget_gate: bool = True  # false: the 1997 cell with s(t-1) scaled by state_decay
    state_decay: float = 1.0  # without forget gate: fixed self-weight of s ("state decay 0.9")
    gate_recurrence: bool | None = None  # gates also see gate outputs; null = the model's default (no)
    forget_gate_bias: tuple[float, ...] | None = None  # one per block (Gers 2000: positive); null = +1.0 each

    def check(self) -> None:
        """Raise ValueError for impossible values of the settings added here."""
        if self.forget_gate_bias is not None and len(self.forget_gate_bias) != self.blocks:
            raise ValueError(f"forget_gate_bias needs one value per block ({self.blocks}), got {len(self.forget_gate_bias)}")
        if self.forget_gate and self.state_decay != 1.0:
            raise ValueError("state_decay applies only without a forget gate (set forget_gate: false)")
        if not self.forget_gate and self.forget_gate_bias is not None:
            raise ValueError("forget_gate_bias given for a net without forget gates")
        if not 0.0 < self.state_decay <= 1.0:
            raise ValueError(f"state_decay must be in (0, 1], got {self.state_decay}")
