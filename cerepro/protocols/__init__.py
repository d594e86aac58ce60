"""Training protocols: the paper's per-experiment trial loops, stopping rules and success tests.

A protocol module exposes a frozen dataclass of row settings (a subclass of common.BaseRow, with
`validate()`, `n_weights()`) and `run_trial(cfg, seed, row_key, trial, progress) -> record`.
guess.py is not a protocol of its own: it is the trial loop of random weight guessing, to which the online and
longlag protocols hand their `model: guess` rows.
"""

from __future__ import annotations

from types import ModuleType

from cerepro.protocols import cerg, errorflow
from cerepro.protocols import longlag, online, reber

PROTOCOLS: dict[str, tuple[ModuleType, type]] = {
    "reber": (reber, reber.ReberRow),
    "cerg": (cerg, cerg.CergRow),
    "longlag": (longlag, longlag.LongLagRow),
    "online": (online, online.OnlineRow),
    "errorflow": (errorflow, errorflow.ErrorFlowRow),
}
