"""The 1997 LSTM trained with the full BPTT gradient, behind the common model interface.

Architecture, masks and initialisation are lstm97's (every lstm97 row setting applies unchanged); the change
is applied at the sequence end whatever `update` says (docs/decisions.md).
"""

from __future__ import annotations

import numpy as np

from cerepro.models import Net, lstm97
from cerepro.models.lstm97_kernel import make_spec
from cerepro.models.lstm97_net import arch
from cerepro.models.lstm_full_kernel import make_workspace, run_sequence


def n_weights(cfg, n_in: int, n_out: int) -> int:
    return lstm97.n_weights(arch(cfg, n_in, n_out))


def build(rng: np.random.Generator, cfg, n_in: int, n_out: int) -> Net:
    a = arch(cfg, n_in, n_out)
    params = lstm97.init(rng, a, lstm97.LSTMInit(cfg.weight_range, cfg.input_gate_bias, cfg.output_gate_bias))
    spec = make_spec(a, per_step=False, output_derivative=cfg.output_derivative)
    return Net(params, lstm97.masks(a), spec, make_workspace(a), run_sequence)
