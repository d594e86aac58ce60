"""The 1997 LSTM (Hochreiter & Schmidhuber 1997, Section 4 and Appendix A.1): the model's entry points.

arch.py: layout, masks, initialisation; settings.py: the row settings it reads; kernel.py: the compiled step;
reference.py: the same rule in plain numpy (docs/paper.md, "The 1997 LSTM").
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Built, Net
from cerepro.models.packed import pack_net
from cerepro.models.lstm97.arch import LSTMArch, LSTMInit, init, masks
from cerepro.models.lstm97.arch import n_weights as count_weights
from cerepro.models.lstm97.settings import LSTM97Settings, LSTMSettings


def architecture(cfg: LSTMSettings, n_in: int, n_out: int) -> LSTMArch:
    """The architecture a row's settings describe."""
    return LSTMArch(n_in=n_in, n_out=n_out, n_blocks=cfg.blocks, block_size=cfg.block_size, bias=cfg.bias,
                    recurrent=cfg.recurrent, input_to_output=cfg.input_to_output, output_gate=cfg.output_gate,
                    g=cfg.g, h=cfg.h, output_act=cfg.output_act, output_bias=cfg.output_bias)


def n_weights(cfg: LSTMSettings, n_in: int, n_out: int) -> int:
    return count_weights(architecture(cfg, n_in, n_out))


def build(rng: np.random.Generator, cfg: LSTM97Settings, n_in: int, n_out: int) -> Built:
    from cerepro.models.lstm97 import kernel  # compiled code: imported when a net is built

    a = architecture(cfg, n_in, n_out)
    params, m = init(rng, a, LSTMInit(cfg.weight_range, cfg.input_gate_bias, cfg.output_gate_bias, cfg.gate_bias_init)), masks(a)
    setup = kernel.make_setup(a, per_step=cfg.update == "step", output_derivative=cfg.output_derivative, lr_scale=cfg.lr_scale)
    net, ws = pack_net(Net.of(params, m, setup), kernel.make_workspace(a, cfg.reset_activation))  # models/packed.py
    return Built(net, ws, kernel.step_for(setup))
