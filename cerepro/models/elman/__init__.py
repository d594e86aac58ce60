"""Elman's simple recurrent net (Elman 1990; Cleeremans et al. 1989) on the nets of models/rtrl: entry points.

Settings as rtrl's; the outputs are always a separate layer (outputs_recurrent must be false). Learning is
one-step backprop with the context (the hidden layer of t-1) held as input.
"""

from __future__ import annotations

import numpy as np

from cerepro.models import rtrl
from cerepro.models.common import Built
from cerepro.models.rtrl.arch import RNNArch, n_weights as count_weights
from cerepro.models.rtrl.settings import RNNSettings


def architecture(cfg: RNNSettings, n_in: int, n_out: int) -> RNNArch:
    a = rtrl.architecture(cfg, n_in, n_out)
    if a.outputs_recurrent:
        raise ValueError("elman: the outputs are a separate layer (outputs_recurrent must be false)")
    return a


def n_weights(cfg: RNNSettings, n_in: int, n_out: int) -> int:
    return count_weights(architecture(cfg, n_in, n_out))


def build(rng: np.random.Generator, cfg: RNNSettings, n_in: int, n_out: int) -> Built:
    from cerepro.models.elman import kernel  # compiled code: imported when a net is built

    return rtrl.assemble(rng, cfg, architecture(cfg, n_in, n_out), kernel, per_step=cfg.update == "step")
