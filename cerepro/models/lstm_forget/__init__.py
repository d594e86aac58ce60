"""The forget-gate LSTM (Gers et al. 2000) behind the common model interface (see cerepro/models/__init__.py).

Row settings this model reads beyond BaseRow's (read with getattr, so any protocol's row works; the
defaults are this model's): `forget_gate` (True; False = the 1997 cell with the fixed self-weight
`state_decay`, 1.0), `gate_recurrence` (False: gates and cells are fed by the inputs and the cell outputs
only, as in Gers' 424-weight CERG net). `forget_gate_bias` None means +1.0 for every block
(lstm_forget.DEFAULT_FORGET_BIAS).

`CONTINUAL_SLOT` tells protocols with continual streams (cerg) which spec slot turns off the reset.
"""

from __future__ import annotations

import numpy as np

from cerepro.models import Net, lstm_forget
from cerepro.models.lstm_forget_kernel import SPEC_CONTINUE, make_spec, make_workspace, run_sequence

PEEPHOLES = False
CONTINUAL_SLOT = SPEC_CONTINUE


def arch(cfg, n_in: int, n_out: int, peepholes: bool = PEEPHOLES) -> lstm_forget.ForgetArch:
    """The architecture a row's settings describe."""
    return lstm_forget.ForgetArch(
        n_in=n_in, n_out=n_out, n_blocks=cfg.blocks, block_size=cfg.block_size, bias=cfg.bias,
        recurrent=cfg.recurrent, gate_recurrence=bool(cfg.gate_recurrence),
        input_to_output=cfg.input_to_output, output_gate=cfg.output_gate,
        forget_gate=cfg.forget_gate, state_decay=cfg.state_decay,
        peepholes=peepholes, g=cfg.g, h=cfg.h, output_act=cfg.output_act, output_bias=cfg.output_bias,
    )


def n_weights(cfg, n_in: int, n_out: int) -> int:
    return lstm_forget.n_weights(arch(cfg, n_in, n_out))


def build(rng: np.random.Generator, cfg, n_in: int, n_out: int, peepholes: bool = PEEPHOLES) -> Net:
    a = arch(cfg, n_in, n_out, peepholes)
    init = lstm_forget.ForgetInit(cfg.weight_range, cfg.input_gate_bias, cfg.output_gate_bias, cfg.forget_gate_bias)
    params = lstm_forget.init(rng, a, init)
    spec = make_spec(a, per_step=cfg.update == "step", output_derivative=cfg.output_derivative)
    return Net(params, lstm_forget.masks(a), spec, make_workspace(a), run_sequence)
