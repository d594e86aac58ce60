"""Plain-numpy reference of Elman's simple recurrent net (Elman 1990; Cleeremans et al. 1989).

The net of models/rtrl with a separate output layer: the context units hold a copy of the hidden layer of
t-1 and feed the hidden units like extra inputs, z(t) = [1, x(t), context = y^h(t-1)]. The gradient is
truncated at the context (one-step backprop): the context is treated as input, so

    e_k = f'_k (t_k - y_k),   e_h = f'(net_h) sum_k W_out[k, h] e_k,   dW_out = e_k zo^T,  dW_hid = e_h z^T.

per_step=True applies each step's change at once (Elman's setting), False sums them to the sequence end.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Net, OnlineUpdate, logistic
from cerepro.models.rtrl.arch import RNNArch
from cerepro.models.rtrl.reference import output_error, output_layer


def run_sequence(net: Net, arch: RNNArch, x: np.ndarray, targets: np.ndarray, target_mask: np.ndarray, lr: float,
                 learn: bool = True, per_step: bool = True, output_derivative: bool = True) -> np.ndarray:
    """One sequence x (T, I), targets (T, K), target_mask (T,) from reset state, learning in place if `learn`.
    Returns the outputs (T, K)."""
    assert not arch.outputs_recurrent, "Elman's outputs are a separate layer"
    W_hid, W_out = net.W_hid, net.W_out  # (H, M), (K, Mo)
    I, H = arch.n_in, arch.n_hidden
    T = x.shape[0]
    context = np.zeros(H)  # reset with all activations
    update = OnlineUpdate(net, lr, per_step)
    outputs = np.zeros((T, arch.n_out))
    for t in range(T):
        z = np.concatenate(([1.0], x[t], context))  # (M,)
        y_h = logistic(W_hid @ z)  # (H,)
        zo = np.concatenate(([1.0], x[t], y_h))  # (Mo,)
        y_k = output_layer(W_out, zo, arch)
        outputs[t] = y_k
        context = y_h  # copied for the next step
        if not (learn and target_mask[t]):
            continue
        e_k = output_error(y_k, targets[t], arch, output_derivative)
        e_h = y_h * (1.0 - y_h) * (W_out[:, 1 + I :].T @ e_k)  # stops here: no error into the context
        d_hid, d_out = np.outer(e_h, z), np.outer(e_k, zo)
        update.add(d_hid, d_out)
    if learn:
        update.finish()
    return outputs
