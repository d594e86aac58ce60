"""Plain-numpy reference of random weight guessing: the forward pass of a guessed net, the pass test of one
sequence, and the search loop, written to read like the formulas; kernel.py is the compiled version.

Forward pass (models/rtrl; activations 0 at the start of each sequence): z(t) = [1, x(t), y(t-1)],
y(t) = f(W_hid z(t)) for the R recurrent units; the outputs are y_k(t) = y_{H+k}(t) inside the recurrent net
(architecture A1), else f(W_out [1, x(t), y^h(t)]). A sequence passes when |t_k(t) - y_k(t)| < tol for every
output k at every judged step t.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Net
from cerepro.models.guess.arch import unpack
from cerepro.models.rtrl.arch import RNNArch


def logistic(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-net) overflows to inf for net << 0: the unit is then 0, as it should be
        return 1.0 / (1.0 + np.exp(-x))


def forward(params: dict[str, np.ndarray], arch: RNNArch, x: np.ndarray) -> np.ndarray:
    """Outputs (T, K) of the net on one sequence x (T, I), from reset state."""
    W_hid, W_out = params["W_hid"], params["W_out"]  # (R, M), (K, Mo)
    H = arch.n_hidden
    y = np.zeros(arch.n_rec)  # (R,) y(t-1), reset
    outputs = np.zeros((x.shape[0], arch.n_out))  # (T, K)
    for t in range(x.shape[0]):
        y = logistic(W_hid @ np.concatenate(([1.0], x[t], y)))  # (R,)
        if arch.outputs_recurrent:
            outputs[t] = y[H:]
        else:
            net = W_out @ np.concatenate(([1.0], x[t], y[:H]))  # (K,)
            outputs[t] = net if arch.output_act == "linear" else logistic(net)
    return outputs


def run_sequence(net: Net, arch: RNNArch, x: np.ndarray, targets: np.ndarray, target_mask: np.ndarray,
                 lr: float, **_: object) -> float:
    """The common reference signature (bench): forward only, summed squared error over the target steps."""
    y = forward({"W_hid": net.W_hid, "W_out": net.W_out}, arch, x)
    return float(((targets - y) ** 2)[target_mask].sum())


def sequence_passes(params, arch: RNNArch, x: np.ndarray, targets: np.ndarray, judged: np.ndarray,
                    tol: float) -> tuple[bool, int]:
    """(passed, steps the kernel runs): x (T, I), targets (T, K) and judged (T,) bool of one sequence.

    The kernel stops at the first failing judged step, so it runs that step's index + 1 steps."""
    y = forward(params, arch, x)
    bad = judged & ~np.all(np.abs(targets - y) < tol, axis=1)  # (T,) NaN outputs fail
    if bad.any():
        return False, int(np.argmax(bad)) + 1
    return True, x.shape[0]


def search(draws: np.ndarray, arch: RNNArch, xs: list[np.ndarray], targets: list[np.ndarray], judged: list[np.ndarray],
           tol: float, max_wrong: int, cap: int) -> tuple[int, list[int]]:
    """The kernel's search over guesses draws (G, D) on a batch of sequences (lists of (T_i, ...) arrays).

    Returns (index of the first guess that passes, or -1 when the guesses or the cap ran out, [guesses,
    sequences, steps]). A guess is dropped once more than max_wrong sequences failed; no sequence is
    started once `cap` sequences have been tested."""
    counts = [0, 0, 0]
    for g in range(draws.shape[0]):
        if counts[1] >= cap:
            return -1, counts
        params = unpack(draws[g], arch)
        counts[0] += 1
        wrong = 0
        for x, t, j in zip(xs, targets, judged):
            if counts[1] >= cap:
                return -1, counts
            ok, steps = sequence_passes(params, arch, x, t, j, tol)
            counts[1] += 1
            counts[2] += steps
            wrong += not ok
            if wrong > max_wrong:
                break
        if wrong <= max_wrong:
            return g, counts
    return -1, counts
