"""Error flow back through time (Section 3.1 eqs. 2-3, Section 3.2, Appendix A.2), measured.

The quantity is d theta_v(t-q) / d theta_u(t), theta_j(t) = f'_j(net_j(t)) sum_i w_ij theta_i(t+1) (eq. 2): how
much of an error injected at unit u at the last step t reaches unit v q steps back. It is read off the models'
own backward passes (bptt_reference, lstm_full_reference, the truncated lstm97_reference) through probe input
units, one per probed step, whose weights are 0 (the forward pass is unchanged) and whose weight change is
theta_v(s); +-eps on a probe weight gives the finite-difference check. docs/error-flow.md has the method.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from cerepro.models.bptt import reference as bptt_reference
from cerepro.models.common import Net
from cerepro.models.lstm97 import arch as lstm97
from cerepro.models.lstm97 import reference as lstm97_reference
from cerepro.models.lstm97.arch import LSTMArch
from cerepro.models.lstm_full import reference as lstm_full_reference
from cerepro.models.rtrl import arch as rtrl
from cerepro.models.rtrl.arch import RNNArch

F_PRIME_MAX = 0.25  # max of the logistic's derivative (Section 3.1)
LSTM_GRADIENTS = ("truncated", "full")  # lstm97_reference (Appendix A.1) | lstm_full_reference (BPTT)
TINY_ERROR = 1e-200  # below this an error entering a CEC is not measurable to 1e-12 further back (subnormals lie near)


def lag_grid(max_lag: int, points: int) -> np.ndarray:
    """(n_lags,) int64 lags 1..max_lag, about evenly spaced on a log axis; 1, 10, 100, ... and max_lag included."""
    if max_lag < 1 or points < 2:
        raise ValueError(f"need max_lag >= 1 and points >= 2, got {max_lag}, {points}")
    grid = np.round(np.logspace(0.0, np.log10(max_lag), points)).astype(np.int64)
    decades = 10 ** np.arange(len(str(max_lag)))  # 1, 10, ... <= max_lag
    return np.unique(np.concatenate([grid, decades, [max_lag]]))


def paper_bound(W_rec: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """(n_lags,) the weak upper bound n (f'_max ||W||_A)^q of Section 3.1 for the recurrent weights (n, n)."""
    norm = np.abs(W_rec).sum(axis=1).max()  # ||W||_A = max_r sum_s |w_rs|: the largest fan-in
    return W_rec.shape[0] * (F_PRIME_MAX * norm) ** lags.astype(np.float64)


def weight_norm(W_rec: np.ndarray) -> float:
    """||W||_A of Section 3.1 (max_r sum_s |w_rs|)."""
    return float(np.abs(W_rec).sum(axis=1).max())


@dataclass(frozen=True)
class Probed:
    """A net with probe inputs and one injected error, ready for the model's backward pass."""

    params: dict[str, np.ndarray]  # the net's weights with zero-weight probe columns (and the injecting readout)
    masks: dict[str, np.ndarray]
    arch: RNNArch | LSTMArch  # the net with n_in + P inputs
    x: np.ndarray  # (L, I + P) inputs with one impulse column per probed step
    targets: np.ndarray  # (L, K) the injected error at the last step: targets - outputs = 1 at one unit, 0 elsewhere
    target_mask: np.ndarray  # (L,) True at the last step only
    probe_col: int  # first probe column of W_hid (1 + I)
    steps: np.ndarray  # (P,) probed steps: steps[i] is probed by column probe_col + i
    outputs: np.ndarray  # (L, K) the net's outputs (the forward pass that set the targets)

    def with_probe_weight(self, unit: int, index: int, value: float) -> dict[str, np.ndarray]:
        """A copy of the weights with w_{unit, probe(index)} = value: net_unit(steps[index]) moved by `value`."""
        params = {k: v.copy() for k, v in self.params.items()}
        params["W_hid"][unit, self.probe_col + index] = value
        return params


def _with_probes(x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """(L, I + P): x and one impulse column per probed step (1 at that step, 0 elsewhere)."""
    probes = np.zeros((x.shape[0], steps.shape[0]))
    probes[steps, np.arange(steps.shape[0])] = 1.0
    return np.concatenate([x, probes], axis=1)


def _insert_columns(W: np.ndarray, at: int, n: int) -> np.ndarray:
    return np.concatenate([W[:, :at], np.zeros((W.shape[0], n)), W[:, at:]], axis=1)


def _inject(outputs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets (L, K), mask (L,)): at the last step output k's target is its output + 1, the others' their output."""
    L = outputs.shape[0]
    targets = np.zeros_like(outputs)
    targets[L - 1] = outputs[L - 1]
    targets[L - 1, k] += 1.0
    mask = np.zeros(L, dtype=bool)
    mask[L - 1] = True
    return targets, mask


def squared_error(outputs: np.ndarray, probed: Probed) -> float:
    """E = 1/2 sum_k (t_k - y_k)^2 at the last step: the error both the models and the finite differences use."""
    return 0.5 * float(np.sum((probed.targets[-1] - outputs[-1]) ** 2))


# ---------------------------------------------------------------- conventional recurrent nets (rtrl.py layout)
def rnn_probe(params: dict[str, np.ndarray], arch: RNNArch, x: np.ndarray, steps: np.ndarray, unit: int) -> Probed:
    """Probe net_v(s) of every recurrent unit v at the given steps; inject the error at recurrent unit `unit`.

    With outputs inside the recurrent net (Williams & Zipser), `unit` must be an output unit (H..R-1); with a
    separate output layer it is a hidden unit, read by a new one-unit output layer."""
    I, H, P = arch.n_in, arch.n_hidden, steps.shape[0]
    parch = dataclasses.replace(arch, n_in=I + P, input_to_output=True)  # output units get probe columns too
    W_hid = _insert_columns(params["W_hid"], 1 + I, P)
    if arch.outputs_recurrent:
        if not H <= unit < arch.n_rec:
            raise ValueError(f"with outputs in the recurrent net the error enters at an output unit ({H}..{arch.n_rec - 1}), got {unit}")
        W_out, k = np.zeros((arch.n_out, 0)), unit - H
    else:
        if not 0 <= unit < H:
            raise ValueError(f"unit must be a hidden unit (0..{H - 1}), got {unit}")
        W_out, k = np.zeros((arch.n_out, 1 + I + P + H)), 0
        W_out[0, 1 + I + P + unit] = 1.0  # one output reading `unit` alone
    probed = {"W_hid": W_hid, "W_out": W_out}
    xp = _with_probes(x, steps)
    outputs = rnn_outputs(probed, parch, xp)
    targets, mask = _inject(outputs, k)
    return Probed(probed, rtrl.masks(parch), parch, xp, targets, mask, 1 + I, steps, outputs)


def rnn_outputs(params: dict[str, np.ndarray], arch: RNNArch, x: np.ndarray) -> np.ndarray:
    """(L, K) the net's outputs: bptt_reference's forward pass, learning off."""
    L = x.shape[0]
    return bptt_reference.run_sequence(Net.of({k: v.copy() for k, v in params.items()}, rtrl.masks(arch)), arch, x,
                                       np.zeros((L, arch.n_out)), np.zeros(L, dtype=bool), 1.0, learn=False)


def rnn_theta(probed: Probed) -> np.ndarray:
    """(R, P) theta_v(s) = -dE/dnet_v(s) for every recurrent unit v and probed step s, by bptt_reference's BPTT."""
    params = {k: v.copy() for k, v in probed.params.items()}
    bptt_reference.run_sequence(Net.of(params, probed.masks), probed.arch, probed.x, probed.targets, probed.target_mask, 1.0)
    return params["W_hid"][:, probed.probe_col : probed.probe_col + probed.steps.shape[0]].copy()


def rnn_finite_difference(probed: Probed, unit: int, index: int, eps: float = 1e-6) -> float:
    """-dE/dnet_unit(steps[index]) by central differences of bptt_reference's forward pass."""
    e = [squared_error(rnn_outputs(probed.with_probe_weight(unit, index, d), probed.arch, probed.x), probed) for d in (eps, -eps)]
    return -(e[0] - e[1]) / (2.0 * eps)


def single_unit_closed_form(bias: float, w_in: float, w_self: float, x: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """(n_lags,) prod_{m=1..q} f'(net(t-m)) w for one self-connected logistic unit (Section 3.2), t the last step.

    An independent forward pass: y(-1) = 0, net(t) = bias + w_in x(t) + w_self y(t-1), y = logistic(net)."""
    y, fprime = 0.0, np.zeros(x.shape[0])
    for t in range(x.shape[0]):
        y = 1.0 / (1.0 + np.exp(-(bias + w_in * x[t] + w_self * y)))
        fprime[t] = y * (1.0 - y)
    factors = fprime[::-1][1:] * w_self  # f'(net(t-m)) w for m = 1, 2, ...
    return np.cumprod(factors)[lags - 1]


# ---------------------------------------------------------------- the 1997 LSTM (lstm97.py layout)
def lstm_probe(params: dict[str, np.ndarray], arch: LSTMArch, x: np.ndarray, steps: np.ndarray, cell: int) -> Probed:
    """Probe the net inputs of every cell and gate at the given steps; inject the error at cell `cell`'s output
    (one logistic output unit reading that cell alone with weight 1)."""
    I, H, P = arch.n_in, arch.n_cells, steps.shape[0]
    if not 0 <= cell < H:
        raise ValueError(f"cell must be in 0..{H - 1}, got {cell}")
    parch = dataclasses.replace(arch, n_in=I + P)
    W_out = np.zeros((arch.n_out, 1 + I + P + H))
    W_out[0, 1 + I + P + cell] = 1.0
    probed = {"W_hid": _insert_columns(params["W_hid"], 1 + I, P), "W_out": W_out}
    xp = _with_probes(x, steps)
    outputs = lstm_outputs(probed, parch, xp)
    targets, mask = _inject(outputs, 0)
    return Probed(probed, lstm97.masks(parch), parch, xp, targets, mask, 1 + I, steps, outputs)


def lstm_outputs(params: dict[str, np.ndarray], arch: LSTMArch, x: np.ndarray, record: dict | None = None) -> np.ndarray:
    """(L, K) outputs of lstm97_reference's forward pass (learning off; lstm-full's forward pass is the same)."""
    L = x.shape[0]
    return lstm97_reference.run_sequence(Net.of({k: v.copy() for k, v in params.items()}, lstm97.masks(arch)), arch, x,
                                         np.zeros((L, arch.n_out)), np.zeros(L, dtype=bool), 1.0, learn=False, record=record)


def lstm_theta(probed: Probed, gradient: str) -> np.ndarray:
    """(U, P) -dE/dnet of every cell and gate at every probed step: by lstm97_reference's truncated gradient
    (Appendix A.1, per-step update) or lstm_full_reference's BPTT, learning rate 1."""
    params = {k: v.copy() for k, v in probed.params.items()}
    args = (Net.of(params, probed.masks), probed.arch, probed.x, probed.targets, probed.target_mask, 1.0)
    if gradient == "truncated":
        lstm97_reference.run_sequence(*args, per_step=True)
    elif gradient == "full":
        lstm_full_reference.run_sequence(*args)
    else:
        raise ValueError(f"gradient must be one of {', '.join(LSTM_GRADIENTS)}, got {gradient!r}")
    return params["W_hid"][:, probed.probe_col : probed.probe_col + probed.steps.shape[0]].copy()


def lstm_finite_difference(probed: Probed, unit: int, index: int, eps: float = 1e-6) -> float:
    """-dE/dnet_unit(steps[index]) by central differences of the forward pass: the untruncated gradient."""
    e = [squared_error(lstm_outputs(probed.with_probe_weight(unit, index, d), probed.arch, probed.x), probed) for d in (eps, -eps)]
    return -(e[0] - e[1]) / (2.0 * eps)


def lstm_trajectory(params: dict[str, np.ndarray], arch: LSTMArch, x: np.ndarray) -> dict[str, np.ndarray]:
    """The forward pass of lstm97_reference, step by step: {"y_in", "y_out" (L, C), "s", "g", "dg", "dh" (L, H),
    "y" (L, K)}; dg = g'(net_c) from the net inputs the recorded activations imply, dh = h'(s)."""
    rec: dict[str, list] = {}
    lstm_outputs(params, arch, x, record=rec)
    r = {k: np.stack(v) for k, v in rec.items()}
    L, H, C = x.shape[0], arch.n_cells, arch.n_blocks
    prev = np.concatenate([r["y_c"], r["y_in"], r["y_out"]], axis=1)  # (L, H + 2C) hidden activations at t
    prev = np.concatenate([np.zeros((1, H + 2 * C)), prev[:-1]])  # ... at t-1 (reset: 0)
    z = np.concatenate([np.ones((L, 1)), x, prev], axis=1)  # (L, M) sources of the hidden layer
    net_c = z @ params["W_hid"][:H].T  # (L, H)
    _, dg = lstm97_reference.squash_g(net_c, arch.g)
    _, dh = lstm97_reference.squash_h(r["s"], arch.h)
    return {"y_in": r["y_in"], "y_out": r["y_out"], "s": r["s"], "g": r["g"], "dg": dg, "dh": dh, "y": r["y"]}


def lstm_output_error(probed: Probed) -> float:
    """theta_{y^c}(t) = -dE/dy^c(t): the error the injecting output sends to the cell's output (eq. 19 times w = 1)."""
    y = probed.outputs[-1, 0]
    df = y * (1.0 - y) if probed.arch.output_act == "logistic" else 1.0
    return float(df * (probed.targets[-1, 0] - y))


# ---------------------------------------------------------------- one measurement per net
def _steps(length: int, lags: np.ndarray) -> np.ndarray:
    """(1 + n_lags,) probed steps: the last step t (where the error is injected), then t - q for every lag q."""
    if lags.max() >= length:
        raise ValueError(f"a lag of {lags.max()} needs a sequence of at least {lags.max() + 1} steps, got {length}")
    return np.concatenate([[length - 1], length - 1 - lags]).astype(np.int64)


def rnn_flow(params: dict[str, np.ndarray], arch: RNNArch, x: np.ndarray, lags: np.ndarray, unit: int,
             fd_lags: tuple[int, ...] = (1, 2, 3)) -> dict[str, np.ndarray | float]:
    """Error flow of a conventional recurrent net from recurrent unit `unit` at the last step t.

    Returns {"flow" (n_lags,) max_v |theta_v(t-q) / theta_u(t)|, "self" (n_lags,) |theta_u(t-q) / theta_u(t)|,
    "bound" (n_lags,) the paper's n (f'_max ||W||_A)^q, "fd_error": the largest |finite difference - backward
    pass| / |theta_u(t)| over the unit receiving most at each lag of fd_lags}."""
    probed = rnn_probe(params, arch, x, _steps(x.shape[0], lags), unit)
    theta = rnn_theta(probed)  # (R, 1 + n_lags)
    source = theta[unit, 0]  # theta_u(t)
    ratio = np.abs(theta[:, 1:]) / abs(source)  # (R, n_lags)
    fd = [abs(rnn_finite_difference(probed, v, i) - theta[v, i]) / abs(source)
          for i, v in _fd_points(theta, lags, fd_lags)]
    W_rec = params["W_hid"][:, 1 + arch.n_in :]  # (R, R)
    return {"flow": ratio.max(axis=0), "self": ratio[unit], "bound": paper_bound(W_rec, lags),
            "fd_error": max(fd, default=0.0)}


def _relative_error(measured: np.ndarray, expected: np.ndarray) -> float:
    """max |measured - expected| / |expected| (absolute where expected is 0)."""
    scale = np.where(expected != 0.0, np.abs(expected), 1.0)
    return float(np.max(np.abs(measured - expected) / scale))


def _fd_points(theta: np.ndarray, lags: np.ndarray, fd_lags: tuple[int, ...]) -> list[tuple[int, int]]:
    """(column of theta, unit receiving the largest error there) for every lag of fd_lags on the grid."""
    cols = [1 + int(np.flatnonzero(lags == q)[0]) for q in fd_lags if q in lags]
    return [(i, int(np.argmax(np.abs(theta[:, i])))) for i in cols]


def lstm_flow(params: dict[str, np.ndarray], arch: LSTMArch, x: np.ndarray, lags: np.ndarray,
              fd_lags: tuple[int, ...] = (1, 2, 3)) -> dict[str, np.ndarray | float]:
    """Error flow of a 1997 LSTM from each cell's output at the last step t, truncated and full.

    For each cell c (injected alone) and gradient g in (truncated, full), per lag q, relative to the error
    theta_{y^c}(t) arriving at the cell's output:
        g + "_cell_input"  (H, n_lags)  |theta_{net_c}(t-q)|            leaves the CEC into the cell input (g' y^in)
        g + "_input_gate"  (H, n_lags)  |theta_{net_in_j}(t-q)|         ... into the block's input gate (g f'_in)
        g + "_leak"        (H, n_lags)  max |theta| of all other cells and gates: what reaches the rest of the net
        g + "_cec"         (H, n_lags)  theta_s(t-q) / theta_s(t), theta_s = theta_{net_c} / (y^in g'): the CEC
                                        (NaN for a cell no measurable error enters: h'(s(t)) ~ 0 after state drift)
    "entry" (H,) theta_s(t) / theta_{y^c}(t) = y^out(t) h'(s(t)) (A.2). Checks: "closed_form_error", the largest
    relative deviation of the truncated cell-input and input-gate errors from A.2's products of activations;
    "cec_error" max |truncated cec - 1| over the cells error enters; "truncated_leak" max truncated leak (0: nothing leaves the cell);
    "fd_error" the largest |finite difference - full backward pass| / |theta_{y^c}(t)| at fd_lags."""
    steps = _steps(x.shape[0], lags)
    H, C, S = arch.n_cells, arch.n_blocks, arch.block_size
    probes = [lstm_probe(params, arch, x, steps, c) for c in range(H)]
    tr = lstm_trajectory(probes[0].params, probes[0].arch, probes[0].x)  # the forward pass the backward passes saw
    t, back = steps[0], steps[1:]
    out: dict[str, np.ndarray | float] = {f"{g}_{k}": np.zeros((H, lags.shape[0])) for g in LSTM_GRADIENTS
                                          for k in ("cell_input", "input_gate", "leak", "cec")}
    out["entry"] = np.zeros(H)
    closed, fd = [], []
    for c in range(H):
        j = c // S
        probed = probes[c]
        source = abs(lstm_output_error(probed))  # |theta_{y^c}(t)|
        others = np.array([u for u in range(H + 2 * C) if u not in (c, H + j)])
        for g in LSTM_GRADIENTS:
            theta = lstm_theta(probed, g)  # (U, 1 + n_lags)
            state = theta[c] / (tr["y_in"][steps, j] * tr["dg"][steps, c])  # theta_s at t, t - q (A.2: theta_c = theta_s y^in g')
            out[f"{g}_cell_input"][c] = np.abs(theta[c, 1:]) / source
            out[f"{g}_input_gate"][c] = np.abs(theta[H + j, 1:]) / source
            out[f"{g}_leak"][c] = np.abs(theta[others, 1:]).max(axis=0) / source
            out[f"{g}_cec"][c] = state[1:] / state[0] if abs(state[0]) > TINY_ERROR else np.nan  # nothing (measurable) entered
            if g == "truncated":
                out["entry"][c] = abs(state[0]) / source
                entry = tr["y_out"][t, j] * tr["dh"][t, c]  # y^out(t) h'(s(t))
                expected = {"cell_input": entry * tr["dg"][back, c] * tr["y_in"][back, j],
                            "input_gate": entry * np.abs(tr["g"][back, c]) * tr["y_in"][back, j] * (1.0 - tr["y_in"][back, j])}
                closed += [_relative_error(out[f"truncated_{k}"][c], e) for k, e in expected.items()]
            elif c == int(np.argmax(tr["y_in"][t, np.arange(H) // S])):  # finite differences on one cell whose gate is widest open
                fd += [abs(lstm_finite_difference(probed, u, i) - theta[u, i]) / source
                       for i, u in _fd_points(theta, lags, fd_lags)]
    entered = out["truncated_cec"][~np.isnan(out["truncated_cec"])]
    out.update(closed_form_error=float(max(closed)), cec_error=float(np.abs(entered - 1.0).max(initial=0.0)),
               truncated_leak=float(out["truncated_leak"].max()), fd_error=float(max(fd, default=0.0)))
    return out
