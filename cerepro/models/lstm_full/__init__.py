"""The 1997 LSTM trained with the full, untruncated BPTT gradient (Section 6): entry points.

Architecture, masks, initialisation and settings are the 1997 LSTM's (models/lstm97); the change is applied at
the sequence end whatever `update` says (docs/decisions.md).
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Built, Net
from cerepro.models.lstm97 import architecture, n_weights  # noqa: F401 - this model's entry points too
from cerepro.models.lstm97.arch import LSTMInit, init, masks
from cerepro.models.lstm97.settings import LSTMSettings


def build(rng: np.random.Generator, cfg: LSTMSettings, n_in: int, n_out: int) -> Built:
    from cerepro.models.lstm97.kernel import make_setup
    from cerepro.models.lstm_full import kernel

    a = architecture(cfg, n_in, n_out)
    params, m = init(rng, a, LSTMInit(cfg.weight_range, cfg.input_gate_bias, cfg.output_gate_bias)), masks(a)
    setup = make_setup(a, per_step=False, output_derivative=cfg.output_derivative)
    return Built(Net.of(params, m, setup), kernel.make_workspace(a), kernel.step)
