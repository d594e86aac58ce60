"""Random weight guessing behind the common model interface (see cerepro/models/__init__.py).

`build` draws one guess; its `step` is forward only (a guessed net never learns), which lets the protocols'
own test code judge a guessed net exactly as it judges a trained one. The search itself is a trial loop of
its own (cerepro/protocols/guess.py), which the online and longlag protocols hand guess rows to.

Row settings used: hidden_units, bias (none | b1 | all), recurrent, input_to_output, outputs_recurrent,
output_act, output_bias (the net, as rtrl_net) and weight_range (guesses are uniform in [-r, r]).
"""

from __future__ import annotations

import numpy as np

from cerepro.models import Net, guess, rtrl
from cerepro.models.guess_kernel import make_workspace, run_sequence


def n_weights(cfg, n_in: int, n_out: int) -> int:
    return guess.n_weights(guess.arch(cfg, n_in, n_out))


def build(rng: np.random.Generator, cfg, n_in: int, n_out: int) -> Net:
    a = guess.arch(cfg, n_in, n_out)
    return net_from(guess.unpack(guess.draw(rng, a, cfg.weight_range, 1)[0], a), a)


def net_from(params: dict[str, np.ndarray], a: rtrl.RNNArch) -> Net:
    """A net with the given weights {"W_hid": (R, M), "W_out": (K, Mo)} (e.g. the guess that solved a task)."""
    return Net(params, rtrl.masks(a), rtrl.make_spec(a), make_workspace(a), run_sequence)
