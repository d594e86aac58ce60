"""The forget-gate LSTM with peepholes (Gers & Schmidhuber 2001) behind the common model interface.

Same kernel and settings as lstm_forget_net, with the peephole switch on: each gate of a block is fed by
its own cells' states (input and forget gates s(t-1), output gate s(t)); +3S weights per block.
"""

from __future__ import annotations

import numpy as np

from cerepro.models import Net, lstm_forget, lstm_forget_net
from cerepro.models.lstm_forget_net import CONTINUAL_SLOT  # noqa: F401 - part of this model's interface

PEEPHOLES = True


def arch(cfg, n_in: int, n_out: int) -> lstm_forget.ForgetArch:
    return lstm_forget_net.arch(cfg, n_in, n_out, peepholes=PEEPHOLES)


def n_weights(cfg, n_in: int, n_out: int) -> int:
    return lstm_forget.n_weights(arch(cfg, n_in, n_out))


def build(rng: np.random.Generator, cfg, n_in: int, n_out: int) -> Net:
    return lstm_forget_net.build(rng, cfg, n_in, n_out, peepholes=PEEPHOLES)
