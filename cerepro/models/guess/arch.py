"""Random weight guessing (RG): the guessed nets, and how a guess is drawn.

Schmidhuber & Hochreiter (1996), "Guessing can outperform many long time lag algorithms" (SPEC section 10);
the 1997 paper (Section 5.3) says RG solves task 3a faster than LSTM. RG: REPEAT draw every weight of a
fixed net at random UNTIL the net happens to classify all training sequences correctly; then test it on a
separate test set. There is no learning rule.

The guessed nets are the conventional recurrent nets of rtrl.py (RNNArch; notation I inputs, K outputs,
H hidden units, R recurrent units, all logistic, activations reset to 0 at each sequence):

* Exp 3 (one input line, one output): Schmidhuber & Hochreiter's architecture A1, "a recurrent, fully
  connected net with 1 input, 1 output and n hidden units; each hidden unit has a bias weight". In rtrl.py
  terms: outputs_recurrent, input_to_output, bias b1 (hidden units only), recurrent: every non-input unit
  sees the input, the bias (hidden units) and every non-input unit at t-1, giving n(n+3) + (n+2) = n^2 + 4n + 2
  weights (7 for n = 1, 14 for n = 2).
* Exp 2a: Table 2's RTRL/BPTT net (one self-recurrent hidden unit, p+1 outputs fed by inputs and hidden
  unit, no bias, (p+2)^2 weights), so that guessing is measured on the net the gradient rows train.

A guess w ~ U[-r, r]^D is drawn for the dense layout [W_hid (R, M) | W_out (K, Mo)] flattened row by row
(D = R*M + K*Mo) and multiplied by the 0/1 masks, as rtrl.init does; r = `weight_range` (Schmidhuber &
Hochreiter: 100). Guess g is row g of one stream of such draws, so it does not depend on how many guesses
are drawn per call (`block_size`).
"""

from __future__ import annotations

import numpy as np

from cerepro.models import rtrl

BLOCK_DOUBLES = 1 << 16  # about this many uniforms are drawn per call (speed only: guesses are rows of one stream)


def arch(cfg, n_in: int, n_out: int) -> rtrl.RNNArch:
    """The guessed net a row's settings describe (the rtrl.py settings: hidden_units, bias, ...)."""
    return rtrl.arch_from_cfg(cfg, n_in, n_out)


def n_weights(a: rtrl.RNNArch) -> int:
    """The number of guessed (free) weights."""
    return rtrl.n_weights(a)


def flat_mask(a: rtrl.RNNArch) -> np.ndarray:
    """(D,) 0/1: which entries of a flat guess are connections, [W_hid rows | W_out rows]."""
    m = rtrl.masks(a)
    return np.concatenate([m["W_hid"].ravel(), m["W_out"].ravel()])


def block_size(a: rtrl.RNNArch) -> int:
    """Guesses drawn per call: BLOCK_DOUBLES uniforms, at least one guess."""
    return max(1, BLOCK_DOUBLES // flat_mask(a).size)


def draw(rng: np.random.Generator, a: rtrl.RNNArch, weight_range: float, n: int) -> np.ndarray:
    """The next n guesses of the stream `rng`: (n, D), uniform in [-r, r] where a connection exists, 0 elsewhere."""
    mask = flat_mask(a)  # (D,)
    draws = rng.random((n, mask.size))  # (n, D) in [0, 1); scaled in place: equal to rng.uniform(-r, r, (n, D))
    draws *= 2.0 * weight_range
    draws -= weight_range
    draws *= mask
    return draws


def unpack(vec: np.ndarray, a: rtrl.RNNArch) -> dict[str, np.ndarray]:
    """One flat guess (D,) as the weight matrices {"W_hid": (R, M), "W_out": (K, Mo)} (copies)."""
    n_hid = a.n_rec * a.n_hidden_cols
    return {"W_hid": vec[:n_hid].reshape(a.n_rec, a.n_hidden_cols).copy(),
            "W_out": vec[n_hid:].reshape(a.n_out, a.n_output_cols).copy()}
