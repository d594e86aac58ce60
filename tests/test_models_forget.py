"""Forget-gate and peephole LSTM: weight counts, truncated gradient by finite differences, kernel vs reference,
the 1997 cell as the special case y^phi = 1, and continual (no-reset) feeding."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cerepro.models.common import Net
from cerepro.models.lstm97 import arch as lstm97
from cerepro.models.lstm97 import kernel as lstm97_kernel
from cerepro.models.lstm_forget import arch as lstm_forget
from cerepro.models.lstm_forget import reference as lstm_forget_reference
from cerepro.models.lstm_forget.kernel import make_setup, make_workspace, step

from netcheck import random_sequence

CERG = lstm_forget.ForgetArch(7, 7, 4, 2, bias="ga", input_to_output=True, output_bias=True)


def test_cerg_net_has_424_weights():
    assert lstm_forget.n_weights(CERG) == 424  # Gers et al. 2000: 8 cells x 15 + 12 gates x 16 + 7 outputs x 16
    assert lstm_forget.n_weights(dataclasses.replace(CERG, forget_gate=False)) == 424 - 4 * 16  # no forget gates
    assert lstm_forget.n_weights(dataclasses.replace(CERG, peepholes=True)) == 424 + 3 * 8  # 3 gates x 2 cells x 4 blocks


def test_init_sets_the_three_gate_biases():
    init = lstm_forget.ForgetInit(0.2, (-0.5, -1.0, -1.5, -2.0), (-0.5, -1.0, -1.5, -2.0), (0.5, 1.0, 1.5, 2.0))
    W = lstm_forget.init(np.random.default_rng(0), CERG, init)["W_hid"]
    H, C = 8, 4
    assert W[H : H + C, 0].tolist() == [-0.5, -1.0, -1.5, -2.0]
    assert W[H + C : H + 2 * C, 0].tolist() == [0.5, 1.0, 1.5, 2.0]
    assert W[H + 2 * C :, 0].tolist() == [-0.5, -1.0, -1.5, -2.0]
    default = lstm_forget.init(np.random.default_rng(0), CERG, lstm_forget.ForgetInit(0.2))["W_hid"]
    assert np.all(default[H + C : H + 2 * C, 0] == lstm_forget.DEFAULT_FORGET_BIAS)
    with pytest.raises(ValueError, match="forget-gate biases"):
        lstm_forget.init(np.random.default_rng(0), dataclasses.replace(CERG, forget_gate=False), init)
    no_bias = dataclasses.replace(CERG, bias="none", output_bias=False)  # e.g. the Exp 2c net under --model lstm-forget
    W = lstm_forget.init(np.random.default_rng(0), no_bias, lstm_forget.ForgetInit(0.2))["W_hid"]
    assert np.all(W[:, 0] == 0.0)  # no bias weights, so no default forget bias either


# ------------------------------------------------------------ the truncated gradient, by finite differences
def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _forward(params, arch, x, rec=None):
    """Forward pass written from the equations: returns (outputs, recorded sources per step).

    With `rec`, every recurrent source (cell and gate outputs of t-1) and every peephole source (the states)
    is replaced by its recorded value: the frozen-recurrence pass whose gradient is the truncated one. The
    state itself still flows through the gated CEC, s(t) = y^phi s(t-1) + y^in g.
    """
    W_hid, W_out = params["W_hid"], params["W_out"]
    H, C, S = arch.n_cells, arch.n_blocks, arch.block_size
    rep = lambda a: np.repeat(a, S)  # noqa: E731 - block value per cell
    s, prev, ys, seen = np.zeros(H), np.zeros(H + 3 * C), [], []
    for t in range(x.shape[0]):
        p, s_peek = (rec[t][0], rec[t][1]) if rec is not None else (prev, s)
        net = W_hid @ np.concatenate(([1.0], x[t], p, s_peek))
        y_in = _sig(net[H : H + C])
        y_phi = _sig(net[H + C : H + 2 * C]) if arch.forget_gate else np.full(C, arch.state_decay)
        s = rep(y_phi) * s + rep(y_in) * (4 * _sig(net[:H]) - 2)
        s_out = rec[t][2] if rec is not None else s
        y_out = _sig(W_hid[H + 2 * C :] @ np.concatenate(([1.0], x[t], p, s_out)))
        y_c = rep(y_out) * (2 * _sig(s) - 1)
        ys.append(_sig(W_out @ np.concatenate(([1.0], x[t], y_c))))
        seen.append((prev, s_peek, s.copy()))
        prev = np.concatenate((y_c, y_in, y_phi if arch.forget_gate else np.zeros(C), y_out))
    return np.array(ys), seen


def _loss(params, arch, x, targets, mask, rec):
    y, _ = _forward(params, arch, x, rec)
    return 0.5 * np.sum(((targets - y) ** 2)[mask])


def _fd_along(params, masks, loss, direction, eps=1e-6):
    """Centred finite difference of loss along `direction` (two forward passes, as autograd's check)."""
    up = {k: params[k] + eps * direction[k] for k in params}
    down = {k: params[k] - eps * direction[k] for k in params}
    return (loss(up) - loss(down)) / (2 * eps)


ARCHS = {
    "forget, gates feed back, all biases": lstm_forget.ForgetArch(3, 2, 2, 2, bias="all", gate_recurrence=True, input_to_output=True),
    "peepholes": lstm_forget.ForgetArch(3, 2, 2, 2, bias="all", gate_recurrence=True, input_to_output=True, peepholes=True),
    "state decay 0.9, no forget gate": lstm_forget.ForgetArch(3, 2, 2, 2, bias="ga", forget_gate=False, state_decay=0.9),
}


@pytest.mark.parametrize("name", list(ARCHS))
def test_truncated_gradient_equals_gradient_of_frozen_forward_pass(name):
    arch = ARCHS[name]
    rng = np.random.default_rng(42)
    params = lstm_forget.init(rng, arch, lstm_forget.ForgetInit(0.8))  # large weights: every term matters
    masks = lstm_forget.masks(arch)
    T = 9
    x, targets = rng.uniform(-1, 1, (T, 3)), rng.uniform(0, 1, (T, 2))
    mask = np.array([0, 1, 0, 1, 1, 0, 1, 1, 1], dtype=bool)
    _, rec = _forward(params, arch, x)
    learned = {k: v.copy() for k, v in params.items()}
    lr = 1e-3
    lstm_forget_reference.run_sequence(Net.of(learned, masks), arch, x, targets, mask, lr, per_step=False)
    grad = {k: -(learned[k] - params[k]) / lr for k in params}  # delta w = -lr dE/dw
    frozen = lambda p: _loss(p, arch, x, targets, mask, rec)  # noqa: E731
    for trial in range(6):  # random directions over all weights, and each weight group alone
        direction = {k: rng.standard_normal(v.shape) * masks[k] for k, v in params.items()}
        if trial >= 3:
            rows = (slice(0, 4), slice(4, 6), slice(6, 8))[trial - 3]  # cells / input gates / forget gates alone
            direction["W_out"][:] = 0.0
            keep = np.zeros_like(direction["W_hid"])
            keep[rows] = 1.0
            direction["W_hid"] *= keep
        analytic = sum(np.sum(grad[k] * direction[k]) for k in params)
        np.testing.assert_allclose(analytic, _fd_along(params, masks, frozen, direction), rtol=1e-6, atol=1e-9)
    # not vacuous: the untruncated gradient differs
    direction = {k: rng.standard_normal(v.shape) * masks[k] for k, v in params.items()}
    direction["W_out"][:] = 0.0
    full = _fd_along(params, masks, lambda p: _loss(p, arch, x, targets, mask, _forward(p, arch, x)[1]), direction)
    assert abs(sum(np.sum(grad[k] * direction[k]) for k in params) - full) > 1e-5


# ------------------------------------------------------------ kernel against the numpy reference
KERNEL_CASES = {
    "cerg one-hot": (CERG, True, True),
    "cerg peepholes one-hot": (dataclasses.replace(CERG, peepholes=True), True, True),
    "state decay one-hot": (dataclasses.replace(CERG, forget_gate=False, state_decay=0.9), True, True),
    "dense, gates feed back, update at end": (lstm_forget.ForgetArch(3, 2, 2, 2, bias="all", gate_recurrence=True, peepholes=True), False, False),
}


@pytest.mark.parametrize("name", list(KERNEL_CASES))
def test_kernel_matches_reference_after_hundreds_of_steps(name):
    arch, one_hot, per_step = KERNEL_CASES[name]
    rng = np.random.default_rng(7)
    masks = lstm_forget.masks(arch)
    init = lstm_forget.ForgetInit(0.2, output_gate_bias=(-1.0,) * arch.n_blocks)
    ref = lstm_forget.init(rng, arch, init)
    ker = {k: v.copy() for k, v in ref.items()}
    setup, ws = make_setup(arch, per_step=per_step), make_workspace(arch)
    steps = 0
    while steps < 400:
        T, x, idx, x_dense, targets, mask = random_sequence(rng, arch.n_in, arch.n_out, one_hot, longest=30, masked=0.7)
        y_frozen = np.full((T, arch.n_out), np.nan)  # not learning: the outputs of every step
        step(Net.of(ker, masks, setup), ws, idx, x_dense, targets, mask, T, 0.3, False, y_frozen)
        np.testing.assert_allclose(y_frozen, lstm_forget_reference.run_sequence(Net.of(ref, masks), arch, x, targets, mask,
                                                                                0.3, learn=False, per_step=per_step), atol=1e-12)
        y_ref = lstm_forget_reference.run_sequence(Net.of(ref, masks), arch, x, targets, mask, 0.3, per_step=per_step)
        y_ker = np.full((T, arch.n_out), np.nan)
        step(Net.of(ker, masks, setup), ws, idx, x_dense, targets, mask, T, 0.3, True, y_ker)
        np.testing.assert_allclose(y_ker[mask], y_ref[mask], atol=1e-12)  # learning: the outputs at the target steps
        steps += T
    for key in ref:
        np.testing.assert_allclose(ker[key], ref[key], atol=1e-11)


def test_continual_feeding_equals_one_long_sequence():
    """Step by step with ws.carry = 1 (kernel) = one call = the reference continuing a State."""
    arch = dataclasses.replace(CERG, peepholes=True)
    rng = np.random.default_rng(3)
    masks = lstm_forget.masks(arch)
    base = lstm_forget.init(rng, arch, lstm_forget.ForgetInit(0.2))
    T = 300
    idx = rng.integers(0, 7, T)
    targets, mask = np.eye(7)[np.roll(idx, -1)], np.ones(T, dtype=bool)
    whole = {k: v.copy() for k, v in base.items()}
    y_whole = np.zeros((T, 7))
    step(Net.of(whole, masks, make_setup(arch)), make_workspace(arch), idx, np.zeros((T, 0)), targets, mask, T, 0.5, True,
         y_whole)
    steps = {k: v.copy() for k, v in base.items()}
    net, ws, y1 = Net.of(steps, masks, make_setup(arch)), make_workspace(arch), np.zeros((1, 7))
    ref, state = {k: v.copy() for k, v in base.items()}, lstm_forget_reference.State(arch)
    for t in range(T):  # the kernel, one step per call
        ws.carry[0] = int(t > 0)
        step(net, ws, idx[t : t + 1], np.zeros((1, 0)), targets[t : t + 1], mask[t : t + 1], 1, 0.5, True, y1)
        np.testing.assert_allclose(y1[0], y_whole[t], atol=1e-12)
    for start in range(0, T, 50):  # the reference, in pieces of 50 steps continuing its State
        sl = slice(start, min(start + 50, T))
        y_ref = lstm_forget_reference.run_sequence(Net.of(ref, masks), arch, np.eye(7)[idx[sl]], targets[sl], mask[sl], 0.5, state=state)
        np.testing.assert_allclose(y_ref, y_whole[sl], atol=1e-12)
    for key in base:
        np.testing.assert_allclose(steps[key], whole[key], atol=1e-12)
        np.testing.assert_allclose(ref[key], whole[key], atol=1e-11)


@pytest.mark.parametrize("per_step", [True, False])
def test_forget_gate_fixed_open_equals_the_1997_net_bit_for_bit(per_step):
    """No forget gate, decay 1.0, gates feeding back: the 1997 LSTM on the same weights, to the last bit (one kernel
    computes both: the forget layout only adds zero weights and the factor y^phi = 1.0)."""
    a97 = lstm97.LSTMArch(7, 7, 3, 2, bias="ga")
    af = lstm_forget.ForgetArch(7, 7, 3, 2, bias="ga", gate_recurrence=True, forget_gate=False)
    assert lstm_forget.n_weights(af) == lstm97.n_weights(a97) == 276
    rng = np.random.default_rng(11)
    p97 = lstm97.init(rng, a97, lstm97.LSTMInit(0.2, None, (-1.0, -2.0, -3.0)))
    H, C, I = 6, 3, 7
    rows = list(range(H + C)) + list(range(H + 2 * C, H + 3 * C))  # cells, input gates, output gates
    cols = list(range(1 + I + H + C)) + list(range(1 + I + H + 2 * C, 1 + I + H + 3 * C))  # ..., y^in, y^out
    pf = {"W_hid": np.zeros((af.n_hidden_rows, af.n_hidden_cols)), "W_out": p97["W_out"].copy()}
    pf["W_hid"][np.ix_(rows, cols)] = p97["W_hid"]
    m97, mf = lstm97.masks(a97), lstm_forget.masks(af)
    np.testing.assert_array_equal(mf["W_hid"][np.ix_(rows, cols)], m97["W_hid"])
    n97, w97 = Net.of(p97, m97, lstm97_kernel.make_setup(a97, per_step=per_step)), lstm97_kernel.make_workspace(a97)
    nf, wf = Net.of(pf, mf, make_setup(af, per_step=per_step)), make_workspace(af)
    for _ in range(40):
        T = int(rng.integers(8, 20))
        idx = rng.integers(0, 7, T)
        targets, mask = np.eye(7)[np.roll(idx, -1)], np.ones(T, dtype=bool)
        y97, yf = np.zeros((T, 7)), np.zeros((T, 7))
        e97 = lstm97_kernel.step(n97, w97, idx, np.zeros((T, 0)), targets, mask, T, 0.5, True, y97)
        ef = step(nf, wf, idx, np.zeros((T, 0)), targets, mask, T, 0.5, True, yf)
        np.testing.assert_array_equal(yf, y97)
        assert ef == e97
    np.testing.assert_array_equal(pf["W_hid"][np.ix_(rows, cols)], p97["W_hid"])
    np.testing.assert_array_equal(pf["W_out"], p97["W_out"])
    assert not pf["W_hid"][H + C : H + 2 * C].any()  # no forget-gate weights appeared
