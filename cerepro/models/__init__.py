"""The learners: one folder per model (models/<name>/) and one registry entry per model in MODELS.

A model folder holds `arch.py` (layout, masks, initialisation), `kernel.py` (the compiled `step`, see
models/common.py), `reference.py` (the same rule in plain numpy; the tests hold the two to each other), and
its entry points in `__init__.py`: `architecture`, `n_weights` and `build`, which imports the kernel only when a net
is built. A model reads its own typed settings (e.g. lstm97/settings.py); every row carries every model's
settings (protocols/common.py), so any model can run any protocol. Adding a model: its folder, one line in
MODELS, and a YAML row that names it.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `cerepro list` reads MODELS without paying for numpy or any model's code
    import numpy as np

    from cerepro.models.common import Built


@dataclass(frozen=True)
class Model:
    """A registry entry: where a model lives, the settings it reads, and what it can do."""

    package: str  # its folder, e.g. "cerepro.models.lstm97": entry points architecture, n_weights, build
    settings_path: str  # "module:Class" of the dataclass of the row settings it reads (imported when asked for)
    description: str
    options: dict[str, Any] = field(default_factory=dict)  # fixed keywords for its entry points (e.g. peepholes)
    trains: bool = True  # False: its nets are searched, not trained (random weight guessing)
    continual: bool = False  # its step can carry its state from call to call (continual streams, CERG)
    ignores: tuple[str, ...] = ()  # fields of its settings it does not read (`cerepro show` leaves them out)

    @property
    def settings(self) -> type:
        """The dataclass of the row settings it reads."""
        module, name = self.settings_path.split(":")
        return getattr(importlib.import_module(module), name)

    def reads(self) -> tuple[str, ...]:
        """The row settings this model reads: its own, and the learning rate if it trains."""
        own = tuple(f.name for f in dataclasses.fields(self.settings) if f.name not in self.ignores)
        return own + ("lr",) if self.trains else own

    def module(self) -> ModuleType:
        """The model's entry points (models/<name>/__init__.py)."""
        return importlib.import_module(self.package)

    def kernel(self) -> ModuleType:
        """Its compiled kernels: `step` for one net (a lane kernel for many nets would sit beside it)."""
        return importlib.import_module(self.package + ".kernel")

    def reference(self) -> ModuleType:
        """Its plain-numpy reference: run_sequence(net, arch, x, targets, target_mask, lr, ...)."""
        return importlib.import_module(self.package + ".reference")

    def architecture(self, cfg: Any, n_in: int, n_out: int) -> Any:
        return self.module().architecture(cfg, n_in, n_out, **self.options)

    def n_weights(self, cfg: Any, n_in: int, n_out: int) -> int:
        return self.module().n_weights(cfg, n_in, n_out, **self.options)

    def build(self, rng: np.random.Generator, cfg: Any, n_in: int, n_out: int) -> Built:
        """A net with initial weights drawn from rng, and its step."""
        return self.module().build(rng, cfg, n_in, n_out, **self.options)


_LSTM97 = "cerepro.models.lstm97.settings:LSTM97Settings"
_LSTM = "cerepro.models.lstm97.settings:LSTMSettings"
_FORGET = "cerepro.models.lstm_forget.settings:ForgetSettings"
_RNN = "cerepro.models.rtrl.settings:RNNSettings"
_SEQUENCE_END = ("update",)  # always updates at the sequence end

MODELS: dict[str, Model] = {
    "lstm97": Model("cerepro.models.lstm97", _LSTM97,
                    "1997 LSTM: input/output gates, CEC, truncated online gradient (appendix)"),
    "rtrl": Model("cerepro.models.rtrl", _RNN,
                  "logistic recurrent net, exact gradient by real-time recurrent learning (Williams & Zipser 1989)"),
    "bptt": Model("cerepro.models.bptt", _RNN,
                  "the same nets as rtrl, full backprop through time, update at sequence end", ignores=_SEQUENCE_END),
    "elman": Model("cerepro.models.elman", _RNN,
                   "Elman SRN: context = hidden at t-1, one-step backprop (Cleeremans et al. 1989)"),
    "lstm-full": Model("cerepro.models.lstm_full", _LSTM,
                       "1997 LSTM trained with the full untruncated BPTT gradient, update at sequence end",
                       ignores=_SEQUENCE_END),
    "lstm-forget": Model("cerepro.models.lstm_forget", _FORGET,
                         "LSTM with forget gates (Gers et al. 2000); options: no forget gate, state decay", continual=True),
    "lstm-peephole": Model("cerepro.models.lstm_forget", _FORGET,
                           "forget-gate LSTM with peephole connections (Gers & Schmidhuber 2001)",
                           options={"peepholes": True}, continual=True),
    "guess": Model("cerepro.models.guess", _RNN, "random weight guessing: draw all weights uniformly until a "
                   "net passes the task's test (Schmidhuber & Hochreiter 1996)", trains=False,
                   ignores=("update", "output_derivative")),  # no learning rule: weights are drawn, not trained
}


def get(name: str) -> Model:
    """The registry entry of a model by name."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; models: {', '.join(MODELS)}")
    return MODELS[name]


def settings_for_model(model: str) -> tuple[str, ...]:
    """The row settings that model `model` reads (architecture, initialisation, learning rule)."""
    return get(model).reads()


def settings_classes() -> tuple[type, ...]:
    """The settings dataclasses of all models, most derived first, none a base of another (for BaseRow's bases)."""
    classes = list(dict.fromkeys(m.settings for m in MODELS.values()))
    return tuple(c for c in classes if not any(o is not c and issubclass(o, c) for o in classes))
