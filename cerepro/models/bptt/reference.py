"""Plain-numpy reference of backpropagation through time for the nets of models/rtrl (same notation).

Epochwise BPTT (Williams & Zipser 1995): run the sequence forward storing z(t) and y(t), then go back from the
last step: e_y(t) = W_rec^T delta(t+1) + (error injected at t), delta(t) = f'(net(t)) e_y(t), dW_hid +=
delta(t) z(t)^T, dW_out += e_k(t) zo(t)^T; apply the summed change once, at the sequence end. This is offline
RTRL's gradient (Section 5); there is no per-step form, so `update: step` rows also update at the end.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Net, logistic
from cerepro.models.rtrl.arch import RNNArch
from cerepro.models.rtrl.reference import output_error, output_layer


def run_sequence(net: Net, arch: RNNArch, x: np.ndarray, targets: np.ndarray, target_mask: np.ndarray, lr: float,
                 learn: bool = True, output_derivative: bool = True) -> np.ndarray:
    """One sequence x (T, I), targets (T, K), target_mask (T,) from reset state; learn in place at its end if
    `learn`. Returns the outputs (T, K)."""
    W_hid, W_out = net.W_hid, net.W_out  # (R, M), (K, Mo)
    I, H, R, K = arch.n_in, arch.n_hidden, arch.n_rec, arch.n_out
    T = x.shape[0]
    zs, ys, zos, outputs = [], [], [], np.zeros((T, K))
    y = np.zeros(R)
    for t in range(T):  # forward, storing the cache
        z = np.concatenate(([1.0], x[t], y))  # (M,)
        y = logistic(W_hid @ z)  # (R,)
        if arch.outputs_recurrent:
            zo, y_k = np.zeros(0), y[H:]
        else:
            zo = np.concatenate(([1.0], x[t], y[:H]))  # (Mo,)
            y_k = output_layer(W_out, zo, arch)
        zs.append(z)
        ys.append(y)
        zos.append(zo)
        outputs[t] = y_k
    if not learn:
        return outputs
    d_hid, d_out = np.zeros_like(W_hid), np.zeros_like(W_out)
    W_rec = W_hid[:, 1 + I :]  # (R, R)
    delta = np.zeros(R)  # delta(t+1)
    for t in range(T - 1, -1, -1):  # backward
        e_y = W_rec.T @ delta  # through the recurrent connections into t+1
        if target_mask[t]:
            if arch.outputs_recurrent:
                e_y[H:] += targets[t] - outputs[t]
            else:
                e_k = output_error(outputs[t], targets[t], arch, output_derivative)
                e_y[:H] += W_out[:, 1 + I :].T @ e_k
                d_out += np.outer(e_k, zos[t])
        delta = ys[t] * (1.0 - ys[t]) * e_y
        d_hid += np.outer(delta, zs[t])
    W_hid += lr * d_hid * net.M_hid
    W_out += lr * d_out * net.M_out
    return outputs
