"""Real-time recurrent learning (Williams & Zipser 1989) on the conventional recurrent nets: entry points.

arch.py holds the nets shared by rtrl, bptt, elman and guess; settings.py the row settings they read; kernel.py
the compiled RTRL step and the forward pass all four share; reference.py the same rule in plain numpy.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Built, Net
from cerepro.models.rtrl.arch import RNNArch, init, masks
from cerepro.models.rtrl.arch import n_weights as count_weights
from cerepro.models.rtrl.settings import RNNSettings


def architecture(cfg: RNNSettings, n_in: int, n_out: int) -> RNNArch:
    """The architecture a row's settings describe."""
    return RNNArch(n_in=n_in, n_out=n_out, n_hidden=cfg.hidden_units, bias=cfg.bias, recurrent=cfg.recurrent,
                   input_to_output=cfg.input_to_output, outputs_recurrent=cfg.outputs_recurrent,
                   output_act=cfg.output_act, output_bias=cfg.output_bias)


def n_weights(cfg: RNNSettings, n_in: int, n_out: int) -> int:
    return count_weights(architecture(cfg, n_in, n_out))


def check_learning_rule(cfg: RNNSettings, a: RNNArch) -> None:
    """Settings that would make the rule something other than the gradient it claims to be."""
    if a.outputs_recurrent and not cfg.output_derivative:
        raise ValueError("output_derivative: false is defined for a separate output layer only")


def build(rng: np.random.Generator, cfg: RNNSettings, n_in: int, n_out: int) -> Built:
    from cerepro.models.rtrl import kernel  # compiled code: imported when a net is built

    a = architecture(cfg, n_in, n_out)
    check_learning_rule(cfg, a)
    return assemble(rng, cfg, a, kernel, per_step=cfg.update == "step")


def assemble(rng: np.random.Generator, cfg: RNNSettings, a: RNNArch, kernel, per_step: bool) -> Built:
    """A net of architecture `a`, initial weights drawn from rng, learning by `kernel` (rtrl's, bptt's, elman's)."""
    from cerepro.models.rtrl.kernel import make_setup

    params, m = init(rng, a, cfg.weight_range), masks(a)
    setup = make_setup(a, per_step=per_step, output_derivative=cfg.output_derivative)
    return Built(Net.of(params, m, setup), kernel.make_workspace(a), kernel.step)
