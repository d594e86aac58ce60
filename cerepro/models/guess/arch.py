"""Random weight guessing (Schmidhuber & Hochreiter 1996; docs/paper.md, "Random weight guessing"): the drawing.

REPEAT draw every weight of a fixed net at random UNTIL the net passes the task's test; no learning rule. The
guessed nets are models/rtrl's (all units logistic, activations reset at each sequence): for Exp 3 the
architecture A1 (outputs inside the recurrent net, input to output, bias b1: n^2 + 4n + 2 weights), for Exp 2a
Table 2's RTRL net. A guess is the flat layout [W_hid rows | W_out rows] (D = R*M + K*Mo), uniform in
[-r, r] and masked; guess g is row g of one stream of such draws, whatever `block_size` guesses come per call.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.rtrl.arch import RNNArch, masks

BLOCK_DOUBLES = 1 << 16  # about this many uniforms are drawn per call (speed only: guesses are rows of one stream)


def flat_mask(a: RNNArch) -> np.ndarray:
    """(D,) 0/1: which entries of a flat guess are connections, [W_hid rows | W_out rows]."""
    m = masks(a)
    return np.concatenate([m["W_hid"].ravel(), m["W_out"].ravel()])


def block_size(a: RNNArch) -> int:
    """Guesses drawn per call: BLOCK_DOUBLES uniforms, at least one guess."""
    return max(1, BLOCK_DOUBLES // flat_mask(a).size)


def draw(rng: np.random.Generator, a: RNNArch, weight_range: float, n: int) -> np.ndarray:
    """The next n guesses of the stream `rng`: (n, D), uniform in [-r, r] where a connection exists, 0 elsewhere."""
    mask = flat_mask(a)  # (D,)
    draws = rng.random((n, mask.size))  # (n, D) in [0, 1); scaled in place: equal to rng.uniform(-r, r, (n, D))
    draws *= 2.0 * weight_range
    draws -= weight_range
    draws *= mask
    return draws


def unpack(vec: np.ndarray, a: RNNArch) -> dict[str, np.ndarray]:
    """One flat guess (D,) as the weight matrices {"W_hid": (R, M), "W_out": (K, Mo)} (copies)."""
    n_hid = a.n_rec * a.n_hidden_cols
    return {"W_hid": vec[:n_hid].reshape(a.n_rec, a.n_hidden_cols).copy(),
            "W_out": vec[n_hid:].reshape(a.n_out, a.n_output_cols).copy()}
