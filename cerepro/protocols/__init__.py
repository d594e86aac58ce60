"""Training protocols: the paper's trial loops, stopping rules and success tests, one folder per protocol.

A protocol folder holds `settings.py` (its row dataclass, a BaseRow), `trial.py` (`run_trial(cfg, seed,
row_key, trial, progress) -> record`, optionally `summarize(cfg, records) -> columns`, and the tests other code
may call) and `kernel.py` (its compiled loop); errorflow, a measurement without a kernel, is one module.
PROTOCOLS names them; the trial code is imported when a trial runs, so that importing this registry and the
rows imports no compiled code (cerepro.dispatch runs trials).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import NamedTuple

from cerepro.protocols.cerg.settings import CergRow
from cerepro.protocols.errorflow import ErrorFlowRow
from cerepro.protocols.longlag.settings import LongLagRow
from cerepro.protocols.online.settings import OnlineRow
from cerepro.protocols.reber.settings import ReberRow


class Protocol(NamedTuple):
    module: str  # the trial code: run_trial, summarize
    row: type  # the row settings (a frozen dataclass, protocols.common.BaseRow)

    def trial(self) -> ModuleType:
        return importlib.import_module(self.module)


PROTOCOLS: dict[str, Protocol] = {
    "reber": Protocol("cerepro.protocols.reber.trial", ReberRow),
    "cerg": Protocol("cerepro.protocols.cerg.trial", CergRow),
    "longlag": Protocol("cerepro.protocols.longlag.trial", LongLagRow),
    "online": Protocol("cerepro.protocols.online.trial", OnlineRow),
    "errorflow": Protocol("cerepro.protocols.errorflow", ErrorFlowRow),  # a measurement, no kernel: one module
}
