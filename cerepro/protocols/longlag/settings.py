"""The settings of an Exp 2 row (Table 2: 2a, the 2b text result, Table 3: 2c); defaults: task 2c's reading."""

from __future__ import annotations

from dataclasses import dataclass

from cerepro import checks
from cerepro.generators import TASKS
from cerepro.protocols.common import BaseRow

TASK_NAMES = ("2a", "2b", "2c")  # generators.TASKS entries
JUDGED = ("all", "end")  # steps the ABS test scores: every target step | the prediction of the final element
SUCCESS_TESTS = ("online", "test-set")


@dataclass(frozen=True)
class LongLagRow(BaseRow):
    """One LSTM row of Table 2 (2a), the 2b text result, or Table 3 (2c). Defaults: task 2c's reading."""

    task: str = "2c"  # 2a | 2b | 2c
    p: int = 100  # 2a/2b: the delay (sequences have p+1 elements); 2c: the number of distractor symbols
    q: int = 100  # 2c only: time lag - 1 (the minimal number of distractors after x|y)
    tolerance: float = 0.2  # ABS(beta): 0.25 for 2a/2b, 0.2 for 2c (Table 11)
    judged_steps: str = "end"  # all: every target step (2a) | end: only the final element's prediction (2b, 2c)
    success_test: str = "online"  # online: successive training presentations | test-set: frozen test set
    success_window: int = 10_000  # successive sequences that must pass (online test)
    check_every: int = 1_000  # test-set mode: training sequences between tests
    test_set_size: int = 10_000  # Table 11 (2b, 2c); used by the final test and the test-set mode
    sequential_construction: bool = False  # start without the hidden layer, add it when the error plateaus
    plateau_window: int = 100  # presentations per block of the plateau rule
    plateau_min_improvement: float = 0.01  # relative: block mean must be 1% below the previous block's

    def validate(self) -> None:
        super().validate()
        for key, allowed in (("task", TASK_NAMES), ("judged_steps", JUDGED), ("success_test", SUCCESS_TESTS)):
            checks.one_of(self, key, allowed)
        checks.at_least(self, 1 if self.task == "2c" else 2, "p")
        checks.at_least(self, 0, "q")
        checks.at_least(self, 1, "success_window", "check_every", "test_set_size", "plateau_window")
        checks.within(self, "tolerance", 0.0, 1.0)
        if not 0 <= self.plateau_min_improvement < 1:
            raise ValueError(f"plateau_min_improvement must be in [0, 1), got {self.plateau_min_improvement}")
        if self.sequential_construction and self.model != "lstm97":
            raise ValueError("sequential_construction needs model lstm97 (it switches on the LSTM's hidden layer)")

    def sizes(self) -> tuple[int, int]:
        """(input units, output units): p+1 and p+1 for 2a/2b, p+4 and 2 for 2c."""
        return TASKS[self.task].sizes(self)

    def uncounted(self) -> int:
        """The passing window of the online success test: a success counts the presentations before it."""
        return self.success_window if self.success_test == "online" else 0

    def untrained_test(self) -> str:
        if self.success_test == "online":
            return ""
        return ("it reads Exp 2's success test as success_window successive sequences (success_test: online); "
                f"got {self.success_test!r}")
