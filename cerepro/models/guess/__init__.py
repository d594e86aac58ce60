"""Random weight guessing (Schmidhuber & Hochreiter 1996): entry points of the guessed nets.

`build` draws one guess; its step is forward only (a guessed net never learns), so that the protocols' own
tests judge a guessed net exactly as a trained one. The search is a trial loop of its own (cerepro/guessing.py),
to which cerepro.dispatch sends `model: guess` rows. Settings: models/rtrl's (the net) and weight_range.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Built, Net
from cerepro.models.guess.arch import draw, unpack
from cerepro.models.rtrl import architecture, n_weights  # noqa: F401 - this model's entry points too
from cerepro.models.rtrl.arch import RNNArch, masks
from cerepro.models.rtrl.settings import RNNSettings


def build(rng: np.random.Generator, cfg: RNNSettings, n_in: int, n_out: int) -> Built:
    a = architecture(cfg, n_in, n_out)
    return net_from(unpack(draw(rng, a, cfg.weight_range, 1)[0], a), a)


def net_from(params: dict[str, np.ndarray], a: RNNArch) -> Built:
    """A net with the given weights {"W_hid": (R, M), "W_out": (K, Mo)} (e.g. the guess that solved a task)."""
    from cerepro.models.guess import kernel  # compiled code: imported when a net is built
    from cerepro.models.rtrl.kernel import make_setup

    m = masks(a)
    return Built(Net.of(params, m, make_setup(a)), kernel.make_workspace(a), kernel.step)
