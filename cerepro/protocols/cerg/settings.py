"""The settings of a CERG row (Gers et al. 2000, Table 2); the unconfirmed readings are docs/paper.md's, CERG."""

from __future__ import annotations

from dataclasses import dataclass

from cerepro import checks, models
from cerepro.generators import TASKS
from cerepro.generators.reber import TARGET_CODINGS
from cerepro.protocols.common import BaseRow

LR_SCHEDULES = ("none", "stream", "string")


@dataclass(frozen=True)
class CergRow(BaseRow):
    """One row of Gers et al. 2000 Table 2. `max_sequences` counts training streams."""

    model: str = "lstm-forget"
    reset: str = "stream"  # stream: reset only when a new stream starts | string: also at every string start
    targets: str = "legal"  # legal: all legal next symbols (multi-hot) | one-hot: the actual next symbol
    threshold: float = 0.49  # correct prediction: every output within this of its target (unconfirmed)
    train_stream_length: int = 1_000_000  # a training stream stops here if no error came first
    test_streams: int = 10  # test streams after each training stream
    test_stream_length: int = 100_000  # correct predictions of a test stream that count as "perfect"
    test_every: int = 1  # test after every n-th training stream (paper: 1)
    good_length: float = 1000.0  # "good": mean error-free test length above this (Table 2 footnote b)
    lr_decay: float = 1.0  # "sequential alpha decay" factor (0.99, unconfirmed); 1.0 = none
    lr_schedule: str = "none"  # none | stream: lr *= decay after each training stream | string: after each
    #                            correctly predicted string of a training stream, lr back to `lr` at each new stream

    def validate(self) -> None:
        super().validate()
        for key, allowed in (("reset", ("stream", "string")), ("targets", TARGET_CODINGS), ("lr_schedule", LR_SCHEDULES)):
            checks.one_of(self, key, allowed)
        checks.at_least(self, 1, "train_stream_length", "test_streams", "test_stream_length", "test_every")
        checks.within(self, "threshold", 0.0, 1.0)
        checks.within(self, "lr_decay", 0.0, 1.0)
        if not models.get(self.model).continual:
            raise ValueError(f"model {self.model!r} cannot run continual streams (it always resets)")

    def sizes(self) -> tuple[int, int]:
        return TASKS["cerg"].sizes(self)
