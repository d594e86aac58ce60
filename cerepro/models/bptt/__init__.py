"""Full backpropagation through time (Williams & Zipser 1995) on the nets of models/rtrl: entry points.

Same nets and settings as rtrl. The change is always applied at the sequence end, whatever `update` says
(BPTT has no online form; docs/decisions.md), so with `update: sequence` it equals offline RTRL.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Built
from cerepro.models.rtrl import architecture, assemble, check_learning_rule, n_weights  # noqa: F401 - entry points too
from cerepro.models.rtrl.settings import RNNSettings


def build(rng: np.random.Generator, cfg: RNNSettings, n_in: int, n_out: int) -> Built:
    from cerepro.models.bptt import kernel  # compiled code: imported when a net is built

    a = architecture(cfg, n_in, n_out)
    check_learning_rule(cfg, a)
    return assemble(rng, cfg, a, kernel, per_step=False)
