"""The 1997 LSTM behind the common model interface (see cerepro/models/__init__.py)."""

from __future__ import annotations

import numpy as np

from cerepro.models import Net, lstm97
from cerepro.models.lstm97_kernel import make_spec, make_workspace, run_sequence


def arch(cfg, n_in: int, n_out: int) -> lstm97.LSTMArch:
    """The architecture a row's settings describe."""
    return lstm97.LSTMArch(
        n_in=n_in, n_out=n_out, n_blocks=cfg.blocks, block_size=cfg.block_size, bias=cfg.bias,
        recurrent=cfg.recurrent, input_to_output=cfg.input_to_output, output_gate=cfg.output_gate,
        g=cfg.g, h=cfg.h, output_act=cfg.output_act, output_bias=cfg.output_bias,
    )


def n_weights(cfg, n_in: int, n_out: int) -> int:
    return lstm97.n_weights(arch(cfg, n_in, n_out))


def build(rng: np.random.Generator, cfg, n_in: int, n_out: int) -> Net:
    a = arch(cfg, n_in, n_out)
    params = lstm97.init(rng, a, lstm97.LSTMInit(cfg.weight_range, cfg.input_gate_bias, cfg.output_gate_bias, cfg.gate_bias_init))
    spec = make_spec(a, per_step=cfg.update == "step", output_derivative=cfg.output_derivative, lr_scale=cfg.lr_scale)
    return Net(params, lstm97.masks(a), spec, make_workspace(a, cfg.reset_activation), run_sequence)
