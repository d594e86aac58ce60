"""Plain-numpy reference of the 1997 LSTM trained with the full, untruncated gradient (BPTT; Section 6).

The net is the 1997 LSTM (models/lstm97); only the learning rule differs. The forward pass is stored and the
backward pass at the sequence end follows every path the truncation cuts: the recurrent connections into
cells and gates, the gates, and the CEC. With e_* = -dE/d(.) and E = 1/2 SSE (eq. 16 with e_k omitting the 2):

    e_y(t) = W_rec^T e_net(t+1) + [W_out^T e_k(t) on the cells],  e_s(t) = e_s(t+1) + e_yc(t) y^out h'(s(t)),
    e_net_out = f'_out (e_yout + sum_v e_yc h(s)),  e_net_in = f'_in (e_yin + sum_v e_s g),  e_net_c = e_s y^in g'

The summed change is applied at the sequence end whatever `update` says (docs/decisions.md).
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Net, logistic
from cerepro.models.lstm97.arch import LSTMArch
from cerepro.models.lstm97.reference import squash_g, squash_h


def run_sequence(net: Net, arch: LSTMArch, x: np.ndarray, targets: np.ndarray, target_mask: np.ndarray, lr: float,
                 learn: bool = True, output_derivative: bool = True) -> np.ndarray:
    """One sequence x (T, I), targets (T, K), target_mask (T,) from reset state; learn in place at its end if
    `learn`. Returns the outputs (T, K)."""
    W_hid, W_out = net.W_hid, net.W_out  # (U, M), (K, Mo)
    I, H, C = arch.n_in, arch.n_cells, arch.n_blocks
    T = x.shape[0]
    block = np.arange(H) // arch.block_size  # (H,)
    y_c, y_in, y_out, s = np.zeros(H), np.zeros(C), np.zeros(C), np.zeros(H)
    cache = []
    outputs = np.zeros((T, arch.n_out))
    for t in range(T):  # forward, as lstm97_reference
        z = np.concatenate(([1.0], x[t], y_c, y_in, y_out))  # (M,)
        nets = W_hid @ z  # (U,)
        y_in = logistic(nets[H : H + C])  # (7)
        y_out = logistic(nets[H + C :]) if arch.output_gate else np.ones(C)  # (8)
        g_c, dg_c = squash_g(nets[:H], arch.g)
        s = s + y_in[block] * g_c  # (9)
        h_s, dh_s = squash_h(s, arch.h)
        y_c = y_out[block] * h_s
        zo = np.concatenate(([1.0], x[t], y_c))  # (Mo,)
        net_k = W_out @ zo
        outputs[t] = logistic(net_k) if arch.output_act == "logistic" else net_k
        cache.append((z, zo, y_in, y_out, g_c, dg_c, h_s, dh_s))
    if not learn:
        return outputs
    d_hid, d_out = np.zeros_like(W_hid), np.zeros_like(W_out)
    W_rec = W_hid[:, 1 + I :]  # (U, H + 2C): reads [y^c, y^in, y^out](t-1)
    e_net_next, e_s_next = np.zeros(W_hid.shape[0]), np.zeros(H)
    for t in range(T - 1, -1, -1):
        z, zo, y_in, y_out, g_c, dg_c, h_s, dh_s = cache[t]
        e_y = W_rec.T @ e_net_next  # (H + 2C,) through the net inputs of t+1
        e_yc, e_yin, e_yout = e_y[:H], e_y[H : H + C], e_y[H + C :]
        if target_mask[t]:
            y_k = outputs[t]
            df_k = y_k * (1.0 - y_k) if (arch.output_act == "logistic" and output_derivative) else 1.0
            e_k = df_k * (targets[t] - y_k)  # (19)
            e_yc = e_yc + W_out[:, 1 + I :].T @ e_k
            d_out += np.outer(e_k, zo)
        e_s = e_s_next + e_yc * y_out[block] * dh_s  # y^c = y^out h(s); the CEC passes e_s(t+1) on unchanged
        e_net_out = y_out * (1.0 - y_out) * (e_yout + np.bincount(block, e_yc * h_s, minlength=C))
        if not arch.output_gate:
            e_net_out = np.zeros(C)
        e_net_in = y_in * (1.0 - y_in) * (e_yin + np.bincount(block, e_s * g_c, minlength=C))
        e_net_c = e_s * y_in[block] * dg_c  # s += y^in g(net_c)
        e_net = np.concatenate((e_net_c, e_net_in, e_net_out))  # (U,)
        d_hid += np.outer(e_net, z)
        e_net_next, e_s_next = e_net, e_s
    W_hid += lr * d_hid * net.M_hid
    W_out += lr * d_out * net.M_out
    return outputs
