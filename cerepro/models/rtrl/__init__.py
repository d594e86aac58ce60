"""RTRL (Williams & Zipser 1989) behind the common model interface (see cerepro/models/__init__.py).

Row settings used: hidden_units, bias (none | b1 | all), recurrent, input_to_output, outputs_recurrent (if
the row has it), output_act, output_bias, weight_range, update (step: online RTRL | sequence), output_derivative.
"""

from __future__ import annotations

import numpy as np

from cerepro.models import Net, rtrl
from cerepro.models.rtrl_kernel import make_workspace, run_sequence


def check_learning_rule(cfg, arch: rtrl.RNNArch) -> None:
    """Settings that would make the rule something other than the gradient it claims to be."""
    if arch.outputs_recurrent and not cfg.output_derivative:
        raise ValueError("output_derivative: false is defined for a separate output layer only")


def n_weights(cfg, n_in: int, n_out: int) -> int:
    return rtrl.n_weights(rtrl.arch_from_cfg(cfg, n_in, n_out))


def build(rng: np.random.Generator, cfg, n_in: int, n_out: int) -> Net:
    a = rtrl.arch_from_cfg(cfg, n_in, n_out)
    check_learning_rule(cfg, a)
    spec = rtrl.make_spec(a, per_step=cfg.update == "step", output_derivative=cfg.output_derivative)
    return Net(rtrl.init(rng, a, cfg.weight_range), rtrl.masks(a), spec, make_workspace(a), run_sequence)
