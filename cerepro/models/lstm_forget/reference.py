"""Plain-numpy reference of the forget-gate LSTM's online step (Gers et al. 2000; docs/paper.md, "Forget gates").

One time step at a time, dense inputs; kernel.py must produce the same outputs and weights. Truncation as in
1997; the only long path is the cell state, now scaled by y^phi. Forward traces (y^m the weight's source):

    dS_c   = y^phi dS_c   + g'(net_c) y^in y^m          dS_in = y^phi dS_in + g(net_c) f'(net_in) y^m
    dS_phi = y^phi dS_phi + s(t-1) f'(net_phi) y^m

Peephole sources are s(t-1) (input, forget gates) and s(t) (output gate), plain inputs: no error flows back.
"""

from __future__ import annotations

import numpy as np

from cerepro.models.common import Net, OnlineUpdate, logistic
from cerepro.models.lstm97.reference import squash_g, squash_h
from cerepro.models.lstm_forget.arch import ForgetArch


class State:
    """Activations and traces carried from step to step (all 0 after a reset)."""

    def __init__(self, arch: ForgetArch):
        H, C, M = arch.n_cells, arch.n_blocks, arch.n_hidden_cols
        self.s = np.zeros(H)  # cell states
        self.prev = np.zeros(H + 3 * C)  # [y^c, y^in, y^phi, y^out](t-1)
        self.dS_c = np.zeros((H, M))  # ds_c/dw_{c,m}
        self.dS_in = np.zeros((H, M))  # ds_c/dw_{in_j(c),m}
        self.dS_phi = np.zeros((H, M))  # ds_c/dw_{phi_j(c),m}


def run_sequence(net: Net, arch: ForgetArch, x: np.ndarray, targets: np.ndarray, target_mask: np.ndarray, lr: float,
                 learn: bool = True, per_step: bool = True, output_derivative: bool = True,
                 state: State | None = None) -> np.ndarray:
    """One sequence x (T, I), targets (T, K), target_mask (T,); learn in place if `learn`; returns the outputs (T, K).

    From reset state unless a `state` is passed, which is then continued and left at the sequence's end
    (a continual stream fed in pieces).
    """
    W_hid, W_out = net.W_hid, net.W_out  # (U, M), (K, Mo)
    I, H, C = arch.n_in, arch.n_cells, arch.n_blocks
    P = arch.peep0
    st = state if state is not None else State(arch)
    block = np.arange(H) // arch.block_size  # (H,)
    update = OnlineUpdate(net, lr, per_step)
    outputs = np.zeros((x.shape[0], arch.n_out))
    for t in range(x.shape[0]):
        s_prev = st.s.copy()
        z = np.concatenate(([1.0], x[t], st.prev, s_prev))  # (M,) sources of cells, input and forget gates
        nets = W_hid @ z  # (U,); the output-gate part is recomputed below with s(t)
        net_c, net_in, net_phi = nets[:H], nets[H : H + C], nets[H + C : H + 2 * C]
        y_in = logistic(net_in)
        y_phi = logistic(net_phi) if arch.forget_gate else np.full(C, arch.state_decay)
        g_c, dg_c = squash_g(net_c, arch.g)
        if learn:
            decay = y_phi[block][:, None]
            st.dS_c = decay * st.dS_c + (dg_c * y_in[block])[:, None] * z[None, :]
            st.dS_in = decay * st.dS_in + (g_c * (y_in * (1 - y_in))[block])[:, None] * z[None, :]
            if arch.forget_gate:
                st.dS_phi = decay * st.dS_phi + (s_prev * (y_phi * (1 - y_phi))[block])[:, None] * z[None, :]
        st.s = y_phi[block] * s_prev + y_in[block] * g_c  # the gated CEC
        zo_gate = z.copy()
        zo_gate[P:] = st.s  # the output gate peeks at s(t)
        y_out = logistic(W_hid[H + 2 * C :] @ zo_gate) if arch.output_gate else np.ones(C)
        h_s, dh_s = squash_h(st.s, arch.h)
        y_c = y_out[block] * h_s
        zo = np.concatenate(([1.0], x[t], y_c))  # (Mo,)
        net_k = W_out @ zo
        y_k = logistic(net_k) if arch.output_act == "logistic" else net_k
        outputs[t] = y_k
        st.prev = np.concatenate((y_c, y_in, y_phi if arch.forget_gate else np.zeros(C), y_out))
        if not (learn and target_mask[t]):
            continue
        df_k = y_k * (1 - y_k) if (arch.output_act == "logistic" and output_derivative) else np.ones_like(y_k)
        e_k = df_k * (targets[t] - y_k)  # (19)
        back = W_out[:, 1 + I :].T @ e_k  # (H,)
        e_out = y_out * (1 - y_out) * np.bincount(block, h_s * back, minlength=C)  # (21)
        e_s = y_out[block] * dh_s * back  # (23)
        d_hid = np.zeros_like(W_hid)
        d_hid[:H] = e_s[:, None] * st.dS_c  # (28)
        for j in range(C):
            d_hid[H + j] = (e_s[block == j, None] * st.dS_in[block == j]).sum(0)  # (26)
            d_hid[H + C + j] = (e_s[block == j, None] * st.dS_phi[block == j]).sum(0)  # forget gate
        d_hid[H + 2 * C :] = np.outer(e_out, zo_gate)  # (22) output gates
        d_out = np.outer(e_k, zo)  # (22)
        update.add(d_hid, d_out)
    if learn:
        update.finish()
    return outputs
