"""Plain-numpy reference of the 1997 LSTM's online step (Appendix A.1, eqs. 7-28; docs/paper.md).

Written to read like the appendix, one time step at a time, with dense inputs; kernel.py must produce the same
weights. f = logistic gates, g = cell-input and h = cell-output squashing, e_k output error, e_s state error;
the forward traces dS_in = ds_c/dw_{in_j,m}, dS_c = ds_c/dw_{c,m} (each cell keeps its own trace of its block's
input-gate weights). E = sum_k (t_k - y_k)^2 with e_k omitting the 2: a gradient step on SSE/2 with rate alpha.
Truncation: errors reaching the net inputs of cells and gates go no further back; output units and output gates
learn by one-step backprop. Three-step timing: hidden units see x(t) and the hidden layer of t-1, outputs the
cells of time t.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Net, OnlineUpdate, logistic
from cerepro.models.lstm97.arch import LSTMArch


def squash_g(net: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """g and g' (eq. 5: g in [-2, 2]; g1: logistic in [0, 1])."""
    sig = logistic(net)
    scale = 4.0 if kind == "g2" else 1.0
    offset = 2.0 if kind == "g2" else 0.0
    return scale * sig - offset, scale * sig * (1.0 - sig)


def squash_h(s: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """h and h' (eq. 4: h in [-1, 1]; id: identity)."""
    if kind == "id":
        return s.copy(), np.ones_like(s)
    sig = logistic(s)
    return 2.0 * sig - 1.0, 2.0 * sig * (1.0 - sig)


def run_sequence(net: Net, arch: LSTMArch, x: np.ndarray, targets: np.ndarray, target_mask: np.ndarray, lr: float,
                 learn: bool = True, per_step: bool = True, output_derivative: bool = True, record: dict | None = None,
                 reset_activation: float = 0.0, lr_scale: str = "none") -> np.ndarray:
    """One sequence x (T, I), targets (T, K), target_mask (T,) from reset state; learn in place if `learn`.
    Returns the outputs (T, K).

    per_step=True applies each step's weight change at once (RTRL style); False sums them and applies the
    sum at the sequence end. output_derivative=False drops f'_k from e_k (a named variant, not the paper).
    record, if given, gets one list per quantity, one array per step appended: "g" g(net_c) (H,), "y_in" (C,),
    "y_out" (C,), "s" (H,), "y_c" (H,), "y" (K,) (cerepro.mechanism stacks them into its traces).
    reset_activation and lr_scale are readings tested as hypotheses (tasks/hypotheses.yaml).
    """
    W_hid, W_out = net.W_hid, net.W_out  # (U, M), (K, Mo)
    I, H, C = arch.n_in, arch.n_cells, arch.n_blocks
    T = x.shape[0]
    block = np.arange(H) // arch.block_size  # (H,) block of each cell
    r = reset_activation  # the t-1 outputs the first step sees: 0 in the paper, 0.5 in the JKU simulator
    y_c, y_in, y_out, s = np.full(H, r), np.full(C, r), np.full(C, r), np.zeros(H)  # activations reset, states 0
    lr = {"none": lr, "mean": lr / T, "length": lr * T}[lr_scale]  # readings of the per-step lr (tasks/hypotheses.yaml)
    dS_in = np.zeros((H, W_hid.shape[1]))  # (H, M) ds_c/dw_{in_j(c), m}
    dS_c = np.zeros((H, W_hid.shape[1]))  # (H, M) ds_c/dw_{c, m}
    update = OnlineUpdate(net, lr, per_step)
    outputs = np.zeros((T, arch.n_out))
    for t in range(T):
        z = np.concatenate(([1.0], x[t], y_c, y_in, y_out))  # (M,) sources y^m(t-1), bias first
        nets = W_hid @ z  # (U,)
        net_c, net_in, net_out = nets[:H], nets[H : H + C], nets[H + C :]
        y_in = logistic(net_in)  # (7)
        y_out = logistic(net_out) if arch.output_gate else np.ones(C)  # (8)
        g_c, dg_c = squash_g(net_c, arch.g)
        if learn:
            dS_in += (g_c * (y_in * (1.0 - y_in))[block])[:, None] * z[None, :]  # (25)
            dS_c += (dg_c * y_in[block])[:, None] * z[None, :]  # (27)
        s = s + y_in[block] * g_c  # (9) the CEC
        h_s, dh_s = squash_h(s, arch.h)
        y_c = y_out[block] * h_s
        zo = np.concatenate(([1.0], x[t], y_c))  # (Mo,)
        net_k = W_out @ zo  # (K,)
        y_k = logistic(net_k) if arch.output_act == "logistic" else net_k
        outputs[t] = y_k
        if record is not None:
            for key, value in (("g", g_c), ("y_in", y_in), ("y_out", y_out), ("s", s), ("y_c", y_c), ("y", y_k)):
                record.setdefault(key, []).append(value.copy())
        if not (learn and target_mask[t]):
            continue
        df_k = y_k * (1.0 - y_k) if (arch.output_act == "logistic" and output_derivative) else np.ones_like(y_k)
        e_k = df_k * (targets[t] - y_k)  # (19)
        back = W_out[:, 1 + I :].T @ e_k  # (H,) sum_k w_{k,c} e_k
        e_out = y_out * (1.0 - y_out) * np.bincount(block, h_s * back, minlength=C)  # (21)
        e_s = y_out[block] * dh_s * back  # (23)
        d_hid = np.zeros_like(W_hid)
        d_hid[:H] = e_s[:, None] * dS_c  # (28)
        d_hid[H : H + C] = np.stack([(e_s[block == j, None] * dS_in[block == j]).sum(0) for j in range(C)])  # (26)
        d_hid[H + C :] = np.outer(e_out, z)  # (22) output gates
        d_out = np.outer(e_k, zo)  # (22) output units
        update.add(d_hid, d_out)
    if learn:
        update.finish()
    return outputs
