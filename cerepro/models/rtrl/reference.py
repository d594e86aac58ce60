"""Plain-numpy reference of real-time recurrent learning (Williams & Zipser 1989) for the nets of arch.py.

y(t) the R recurrent units, z(t) = [1, x(t), y(t-1)] their sources, f logistic, W_rec = W_hid[:, 1+I:]. RTRL
carries the sensitivities p^u_ij(t) = dy_u(t)/dW_ij = f'(net_u(t)) (sum_l W_rec[u, l] p^l_ij(t-1) + delta_ui
z_j(t)), p(0) = 0, so -dE(t)/dW_ij = sum_u e_u(t) p^u_ij(t) at time t (E = 1/2 SSE, as the LSTM code).
Outputs inside the recurrent net get e_u = t_k - y_k; a separate output layer learns by the delta rule and
passes e_h = sum_k W_out[k, h] e_k to the hidden units. per_step=True applies each step's change at once
(online RTRL); False sums them to the sequence end, which is then exactly BPTT's gradient.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Net, OnlineUpdate, logistic
from cerepro.models.rtrl.arch import RNNArch


def output_layer(W_out: np.ndarray, zo: np.ndarray, arch: RNNArch) -> np.ndarray:
    """The separate output layer: y_k = f_k(W_out zo)."""
    a = W_out @ zo
    return logistic(a) if arch.output_act == "logistic" else a


def output_error(y_k: np.ndarray, target: np.ndarray, arch: RNNArch, output_derivative: bool) -> np.ndarray:
    """e_k = f'_k (t_k - y_k) (eq. 19); f'_k = 1 for linear outputs or when the derivative is switched off."""
    df = y_k * (1.0 - y_k) if (arch.output_act == "logistic" and output_derivative) else 1.0
    return df * (target - y_k)


def run_sequence(net: Net, arch: RNNArch, x: np.ndarray, targets: np.ndarray, target_mask: np.ndarray, lr: float,
                 learn: bool = True, per_step: bool = True, output_derivative: bool = True) -> np.ndarray:
    """One sequence x (T, I), targets (T, K), target_mask (T,) from reset state, learning in place if `learn`.
    Returns the outputs (T, K)."""
    W_hid, W_out = net.W_hid, net.W_out  # (R, M), (K, Mo)
    I, H, R = arch.n_in, arch.n_hidden, arch.n_rec
    T, M = x.shape[0], W_hid.shape[1]
    y = np.zeros(R)  # all activations reset to 0
    p = np.zeros((R, R, M))  # p[u, i, j] = dy_u / dW_hid[i, j]
    update = OnlineUpdate(net, lr, per_step)
    outputs = np.zeros((T, arch.n_out))
    for t in range(T):
        z = np.concatenate(([1.0], x[t], y))  # (M,)
        y = logistic(W_hid @ z)  # (R,)
        if learn:  # the sensitivity recursion, with the weights that produced y(t)
            W_rec = W_hid[:, 1 + I :]  # (R, R)
            p = np.tensordot(W_rec, p, axes=1)  # sum_l W_rec[u, l] p^l_ij(t-1)
            p[np.arange(R), np.arange(R), :] += z  # + delta_ui z_j(t)
            p *= (y * (1.0 - y))[:, None, None]  # * f'(net_u(t))
        if arch.outputs_recurrent:
            y_k = y[H:]
        else:
            zo = np.concatenate(([1.0], x[t], y[:H]))  # (Mo,)
            y_k = output_layer(W_out, zo, arch)
        outputs[t] = y_k
        if not (learn and target_mask[t]):
            continue
        e_y = np.zeros(R)  # -dE(t)/dy_u(t)
        if arch.outputs_recurrent:
            e_y[H:] = targets[t] - y_k
            d_out = np.zeros_like(W_out)
        else:
            e_k = output_error(y_k, targets[t], arch, output_derivative)
            e_y[:H] = W_out[:, 1 + I :].T @ e_k
            d_out = np.outer(e_k, zo)  # delta rule for the output layer
        d_hid = np.tensordot(e_y, p, axes=1)  # (R, M) sum_u e_u p^u_ij
        update.add(d_hid, d_out)
    if learn:
        update.finish()
    return outputs
