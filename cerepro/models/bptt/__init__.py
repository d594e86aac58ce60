"""Full BPTT behind the common model interface: the nets of rtrl.py, epochwise backprop through time.

Same row settings as rtrl_net. The change is always applied at the sequence end, whatever `update` says
(BPTT has no online form; docs/decisions.md), so with `update: sequence` it equals offline RTRL.
"""

from __future__ import annotations

import numpy as np

from cerepro.models import Net, rtrl
from cerepro.models.bptt_kernel import make_workspace, run_sequence
from cerepro.models.rtrl_net import check_learning_rule


def n_weights(cfg, n_in: int, n_out: int) -> int:
    return rtrl.n_weights(rtrl.arch_from_cfg(cfg, n_in, n_out))


def build(rng: np.random.Generator, cfg, n_in: int, n_out: int) -> Net:
    a = rtrl.arch_from_cfg(cfg, n_in, n_out)
    check_learning_rule(cfg, a)
    spec = rtrl.make_spec(a, per_step=False, output_derivative=cfg.output_derivative)
    return Net(rtrl.init(rng, a, cfg.weight_range), rtrl.masks(a), spec, make_workspace(a), run_sequence)
