"""LSTM with forget gates (Gers, Schmidhuber & Cummins 2000) and peepholes (Gers & Schmidhuber 2001): entry points.

The registry names it twice: lstm-forget, and lstm-peephole (`peepholes=True`). It reads the 1997 LSTM's
settings plus settings.py's; `forget_gate_bias` None means +1.0 per block (arch.DEFAULT_FORGET_BIAS). Its step
can carry its state from call to call (`ws.carry`), which the continual CERG streams use.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Built, Net
from cerepro.models.packed import pack_net
from cerepro.models.lstm_forget.arch import ForgetArch, ForgetInit, init, masks
from cerepro.models.lstm_forget.arch import n_weights as count_weights
from cerepro.models.lstm_forget.settings import ForgetSettings


def architecture(cfg: ForgetSettings, n_in: int, n_out: int, peepholes: bool = False) -> ForgetArch:
    """The architecture a row's settings describe."""
    return ForgetArch(n_in=n_in, n_out=n_out, n_blocks=cfg.blocks, block_size=cfg.block_size, bias=cfg.bias,
                      recurrent=cfg.recurrent, gate_recurrence=bool(cfg.gate_recurrence),
                      input_to_output=cfg.input_to_output, output_gate=cfg.output_gate, forget_gate=cfg.forget_gate,
                      state_decay=cfg.state_decay, peepholes=peepholes, g=cfg.g, h=cfg.h, output_act=cfg.output_act,
                      output_bias=cfg.output_bias)


def n_weights(cfg: ForgetSettings, n_in: int, n_out: int, peepholes: bool = False) -> int:
    return count_weights(architecture(cfg, n_in, n_out, peepholes))


def build(rng: np.random.Generator, cfg: ForgetSettings, n_in: int, n_out: int, peepholes: bool = False) -> Built:
    from cerepro.models.lstm_forget import kernel  # compiled code: imported when a net is built

    a = architecture(cfg, n_in, n_out, peepholes)
    params = init(rng, a, ForgetInit(cfg.weight_range, cfg.input_gate_bias, cfg.output_gate_bias, cfg.forget_gate_bias))
    m = masks(a)
    setup = kernel.make_setup(a, per_step=cfg.update == "step", output_derivative=cfg.output_derivative)
    return Built(*pack_net(Net.of(params, m, setup), kernel.make_workspace(a)), kernel.step)  # models/packed.py
