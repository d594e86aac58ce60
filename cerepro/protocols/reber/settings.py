"""The settings of an Exp 1 row (Table 1); the faithful reading is the default (docs/decisions.md)."""

from __future__ import annotations

from dataclasses import dataclass

from cerepro import checks
from cerepro.generators import TASKS
from cerepro.generators.reber import TARGET_CODINGS
from cerepro.protocols.common import BaseRow


@dataclass(frozen=True)
class ReberRow(BaseRow):
    """One row of Table 1 (defaults: the faithful reading; the net's settings are BaseRow's)."""

    targets: str = "one-hot"  # one-hot next symbol (Smith & Zipser, Cleeremans) | legal: all legal successors
    check_every: int = 1  # success test after every n training strings
    training_strings: str = "set"  # set: drawn from the 256-string training set | fresh: a new string each time
    train_set_size: int = 256  # Fahlman's protocol
    test_set_size: int = 256
    set_pairs: int = 3  # training/test set pairs, shared by all rows; trial i uses pair i % set_pairs

    def validate(self) -> None:
        super().validate()
        checks.one_of(self, "targets", TARGET_CODINGS)
        checks.one_of(self, "training_strings", ("set", "fresh"))
        checks.at_least(self, 1, "check_every", "train_set_size", "test_set_size", "set_pairs")

    def sizes(self) -> tuple[int, int]:
        return TASKS["reber"].sizes(self)
