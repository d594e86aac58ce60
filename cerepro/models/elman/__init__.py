"""Elman's simple recurrent net behind the common model interface (one-step backprop, context as input).

Row settings as rtrl_net; the outputs are always a separate layer (outputs_recurrent must be false).
"""

from __future__ import annotations

import numpy as np

from cerepro.models import Net, rtrl
from cerepro.models.elman_kernel import make_workspace, run_sequence


def _arch(cfg, n_in: int, n_out: int) -> rtrl.RNNArch:
    a = rtrl.arch_from_cfg(cfg, n_in, n_out)
    if a.outputs_recurrent:
        raise ValueError("elman: the outputs are a separate layer (outputs_recurrent must be false)")
    return a


def n_weights(cfg, n_in: int, n_out: int) -> int:
    return rtrl.n_weights(_arch(cfg, n_in, n_out))


def build(rng: np.random.Generator, cfg, n_in: int, n_out: int) -> Net:
    a = _arch(cfg, n_in, n_out)
    spec = rtrl.make_spec(a, per_step=cfg.update == "step", output_derivative=cfg.output_derivative)
    return Net(rtrl.init(rng, a, cfg.weight_range), rtrl.masks(a), spec, make_workspace(a), run_sequence)
