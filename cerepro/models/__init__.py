"""Learners. Each model module offers the same small interface, so every protocol can train every model:

    n_weights(cfg, n_in, n_out) -> int             the trainable weights of the net a row describes
    build(rng, cfg, n_in, n_out) -> Net            initial weights (drawn from rng), masks, kernel spec, workspace
    Net.step                                       the compiled per-sequence kernel, called by protocol kernels as
        step(W_hid, W_out, M_hid, M_out, spec, ws, x_index, x_dense, targets, target_mask, length, lr, learn, out_y)
        -> summed squared error over target steps; learns in place if `learn`; writes outputs to out_y (T, K).

Every kernel has a plain-numpy reference beside it, and the tests hold them to each other.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # `cerepro list` reads MODELS without paying for numpy
    import numpy as np

# model name -> (module, one-line description)
MODELS: dict[str, tuple[str, str]] = {
    "lstm97": ("cerepro.models.lstm97_net", "1997 LSTM: input/output gates, CEC, truncated online gradient (appendix)"),
    "rtrl": ("cerepro.models.rtrl_net", "logistic recurrent net, exact gradient by real-time recurrent learning (Williams & Zipser 1989)"),
    "bptt": ("cerepro.models.bptt_net", "the same nets as rtrl, full backprop through time, update at sequence end"),
    "elman": ("cerepro.models.elman_net", "Elman SRN: context = hidden at t-1, one-step backprop (Cleeremans et al. 1989)"),
    "lstm-full": ("cerepro.models.lstm_full_net", "1997 LSTM trained with the full untruncated BPTT gradient, update at sequence end"),
    "lstm-forget": ("cerepro.models.lstm_forget_net", "LSTM with forget gates (Gers et al. 2000); options: no forget gate, state decay"),
    "lstm-peephole": ("cerepro.models.lstm_peephole_net", "forget-gate LSTM with peephole connections (Gers & Schmidhuber 2001)"),
    "guess": ("cerepro.models.guess_net", "random weight guessing: draw all weights uniformly until a net passes the task's test (Schmidhuber & Hochreiter 1996)"),
}


# The row settings (fields of protocols.common.BaseRow) each model reads; `cerepro show` prints a row's model's
# own and leaves out those only other models read. A stopgap in one place until each model's registry entry
# carries its own typed settings (issue 16).
_LSTM = ("blocks", "block_size", "bias", "recurrent", "input_to_output", "output_gate", "g", "h", "output_act", "output_bias",
         "weight_range", "input_gate_bias", "output_gate_bias", "lr", "update", "output_derivative")
_FORGET = _LSTM + ("forget_gate", "state_decay", "gate_recurrence", "forget_gate_bias")
_RNN = ("hidden_units", "bias", "recurrent", "input_to_output", "outputs_recurrent", "output_act", "output_bias", "weight_range")
MODEL_SETTINGS: dict[str, tuple[str, ...]] = {
    "lstm97": _LSTM + ("reset_activation", "gate_bias_init", "lr_scale"),  # readings tested as hypotheses
    "lstm-full": tuple(s for s in _LSTM if s != "update"),  # always updates at the sequence end
    "lstm-forget": _FORGET,
    "lstm-peephole": _FORGET,
    "rtrl": _RNN + ("lr", "update", "output_derivative"),
    "bptt": _RNN + ("lr", "output_derivative"),  # always updates at the sequence end
    "elman": _RNN + ("lr", "update", "output_derivative"),
    "guess": _RNN,  # no learning rule: weights are drawn, not trained
}


def settings_for_model(model: str) -> tuple[str, ...]:
    """The row settings that model `model` reads (architecture, initialisation, learning rule)."""
    return MODEL_SETTINGS[model]


class Net(NamedTuple):
    """A built net, ready for the compiled protocol loops."""

    params: dict[str, np.ndarray]  # {"W_hid": (U, M), "W_out": (K, Mo)}, trained in place
    masks: dict[str, np.ndarray]  # 0/1, same shapes: which connections exist
    spec: np.ndarray  # int64 kernel settings
    ws: tuple  # scratch arrays
    step: Any  # numba dispatcher with the signature above

    def args(self) -> tuple:
        """The leading arguments of every call to `step`."""
        return (self.params["W_hid"], self.params["W_out"], self.masks["W_hid"], self.masks["W_out"], self.spec, self.ws)


def get(name: str) -> ModuleType:
    """The module of a model by name."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; models: {', '.join(MODELS)}")
    return importlib.import_module(MODELS[name][0])
