"""The 1997 LSTM: weight counts, the truncated gradient against finite differences, kernel against reference."""

from __future__ import annotations

import numpy as np
import pytest

from cerepro.models import vexp
from cerepro.models.common import Net
from cerepro.models.lstm97 import arch as lstm97
from cerepro.models.lstm97 import kernel
from cerepro.models.lstm97 import reference as lstm97_reference
from cerepro.models.lstm97.kernel import make_setup, make_workspace, step

from netcheck import finite_difference, random_sequence

# (arch, printed weight count) for every architecture of Table 10
TABLE10 = [
    (lstm97.LSTMArch(7, 7, 4, 1, bias="ga"), 264),
    (lstm97.LSTMArch(7, 7, 3, 2, bias="ga"), 276),
    (lstm97.LSTMArch(101, 101, 1, 1, bias="none", recurrent=False, input_to_output=True, output_gate=False, g="g1", h="id"), 10504),
    *[(lstm97.LSTMArch(p + 4, 2, 2, 1, bias="none"), w) for p, w in ((50, 364), (100, 664), (200, 1264), (500, 3064), (1000, 6064))],
    (lstm97.LSTMArch(1, 1, 3, 1, bias="b1"), 102),
    (lstm97.LSTMArch(2, 1, 2, 2, bias="all"), 93),
    (lstm97.LSTMArch(8, 4, 2, 2, bias="all"), 156),
    (lstm97.LSTMArch(8, 8, 3, 2, bias="all"), 308),
]


@pytest.mark.parametrize("arch,count", TABLE10)
def test_weight_counts_match_the_paper(arch, count):
    assert lstm97.n_weights(arch) == count


def test_init_sets_gate_biases_and_leaves_absent_weights_zero():
    arch = lstm97.LSTMArch(7, 7, 3, 2)
    params = lstm97.init(np.random.default_rng(0), arch, lstm97.LSTMInit(0.2, None, (-1.0, -2.0, -3.0)))
    H, C = arch.n_cells, arch.n_blocks
    assert params["W_hid"][H + C :, 0].tolist() == [-1.0, -2.0, -3.0]
    assert np.all(params["W_hid"][:H, 0] == 0.0)  # cells have no bias ("ga")
    masks = lstm97.masks(arch)
    random_part = masks["W_hid"].copy()
    random_part[H + C :, 0] = 0.0  # the output-gate biases set above
    assert np.abs(params["W_hid"][random_part == 1.0]).max() <= 0.2
    assert np.all(params["W_hid"][masks["W_hid"] == 0.0] == 0.0)


def test_init_rejects_wrong_number_of_biases():
    with pytest.raises(ValueError, match="one output-gate bias per block"):
        lstm97.init(np.random.default_rng(0), lstm97.LSTMArch(7, 7, 3, 2), lstm97.LSTMInit(0.2, None, (-1.0, -2.0)))


# ---------------------------------------------------------------- the truncated gradient, by finite differences
def _frozen_loss(params, arch, x, targets, mask, rec):
    """SSE/2 of a forward pass in which every recurrent source y(t-1) of a gate or cell is the recorded value.

    Written independently of the model code: plain formulas of eqs. 7-9 and the three-step timing.
    """
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    W_hid, W_out = params["W_hid"], params["W_out"]
    H, C, S = arch.n_cells, arch.n_blocks, arch.block_size
    s, loss = np.zeros(H), 0.0
    for t in range(x.shape[0]):
        prev = rec[t - 1] if t > 0 else np.zeros(H + 2 * C)
        net = W_hid @ np.concatenate(([1.0], x[t], prev))
        y_in, y_out = sig(net[H : H + C]), sig(net[H + C :])
        s = s + np.repeat(y_in, S) * (4.0 * sig(net[:H]) - 2.0)
        y_c = np.repeat(y_out, S) * (2.0 * sig(s) - 1.0)
        y = sig(W_out @ np.concatenate(([1.0], x[t], y_c)))
        if mask[t]:
            loss += 0.5 * np.sum((targets[t] - y) ** 2)
    return loss


def _record_hidden(params, arch, x):
    """The hidden activations [y_c, y_in, y_out] of each step of an ordinary forward pass."""
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    H, C, S = arch.n_cells, arch.n_blocks, arch.block_size
    s, prev, rec = np.zeros(H), np.zeros(H + 2 * C), []
    for t in range(x.shape[0]):
        net = params["W_hid"] @ np.concatenate(([1.0], x[t], prev))
        y_in, y_out = sig(net[H : H + C]), sig(net[H + C :])
        s = s + np.repeat(y_in, S) * (4.0 * sig(net[:H]) - 2.0)
        prev = np.concatenate((np.repeat(y_out, S) * (2.0 * sig(s) - 1.0), y_in, y_out))
        rec.append(prev)
    return np.array(rec)


@pytest.fixture
def tiny_problem():
    rng = np.random.default_rng(42)
    arch = lstm97.LSTMArch(3, 2, 2, 2, bias="all")
    params = lstm97.init(rng, arch, lstm97.LSTMInit(0.8))  # large weights: every term of the gradient matters
    T = 7
    x = rng.uniform(-1, 1, (T, 3))
    targets = rng.uniform(0, 1, (T, 2))
    mask = np.array([0, 1, 0, 1, 1, 0, 1], dtype=bool)
    return arch, params, x, targets, mask


def test_truncated_gradient_equals_gradient_of_frozen_forward_pass(tiny_problem):
    arch, params, x, targets, mask = tiny_problem
    masks = lstm97.masks(arch)
    rec = _record_hidden(params, arch, x)
    fd = finite_difference(lambda: _frozen_loss(params, arch, x, targets, mask, rec), params, masks)
    learned = {k: v.copy() for k, v in params.items()}
    lr = 1e-3
    lstm97_reference.run_sequence(Net.of(learned, masks), arch, x, targets, mask, lr, per_step=False)
    for name in params:
        analytic = -(learned[name] - params[name]) / lr  # delta w = -lr dE/dw
        np.testing.assert_allclose(analytic, fd[name], rtol=1e-5, atol=1e-8, err_msg=name)


def test_truncation_differs_from_the_full_gradient(tiny_problem):
    """The frozen-recurrence check above is not vacuous: the untruncated gradient is different."""
    arch, params, x, targets, mask = tiny_problem
    masks = lstm97.masks(arch)

    def full_loss():
        return _frozen_loss(params, arch, x, targets, mask, _record_hidden(params, arch, x))

    full = finite_difference(full_loss, params, masks)
    learned = {k: v.copy() for k, v in params.items()}
    lstm97_reference.run_sequence(Net.of(learned, masks), arch, x, targets, mask, 1e-3, per_step=False)
    analytic = -(learned["W_hid"] - params["W_hid"]) / 1e-3
    assert np.abs(analytic - full["W_hid"]).max() > 1e-4


def test_exp2a_net_learns_by_the_exact_gradient():
    """Table 2's net (one cell, input gate, no output gate, g logistic, h = identity, cell and gate fed by the
    inputs only, outputs by inputs and cell, no bias) has no recurrent path but the CEC, so the truncated
    gradient is the exact one: held to finite differences of a forward pass written out here (2a sequence,
    a target at every step)."""
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    p = 6
    arch = lstm97.LSTMArch(p + 1, p + 1, 1, 1, bias="none", recurrent=False, input_to_output=True, output_gate=False,
                           g="g1", h="id")
    masks = lstm97.masks(arch)
    params = lstm97.init(np.random.default_rng(0), arch, lstm97.LSTMInit(0.8))
    seq = np.array([p - 1] + list(range(p - 1)) + [p - 1])  # (x, a_1 .. a_{p-1}, x)
    x, targets, mask = np.eye(p + 1)[seq[:-1]], np.eye(p + 1)[seq[1:]], np.ones(p, dtype=bool)

    def loss():
        s, total = 0.0, 0.0
        for t in range(p):
            s += sig(params["W_hid"][1, 1 : p + 2] @ x[t]) * sig(params["W_hid"][0, 1 : p + 2] @ x[t])  # gate * g(net_c)
            y = sig(params["W_out"] @ np.concatenate(([1.0], x[t], [s])))
            total += 0.5 * np.sum((targets[t] - y) ** 2)
        return total

    fd = finite_difference(loss, params, masks)
    learned = {k: v.copy() for k, v in params.items()}
    lstm97_reference.run_sequence(Net.of(learned, masks), arch, x, targets, mask, 1e-3, per_step=False)
    for name in params:
        np.testing.assert_allclose(-(learned[name] - params[name]) / 1e-3, fd[name], rtol=1e-5, atol=1e-8, err_msg=name)
    assert np.abs(fd["W_hid"]).max() > 1e-3  # the cell and its gate do get a gradient


# ---------------------------------------------------------------- kernel against the numpy reference
KERNEL_CASES = [
    ("reber-3x2 one-hot", lstm97.LSTMArch(7, 7, 3, 2), True, True),
    ("reber-4x1 one-hot, update at end", lstm97.LSTMArch(7, 7, 4, 1), True, False),
    ("adding dense", lstm97.LSTMArch(2, 1, 2, 2, bias="all"), False, True),
    ("2a-like: no output gate, g1, h=id", lstm97.LSTMArch(6, 6, 1, 1, bias="none", recurrent=False, input_to_output=True,
                                                          output_gate=False, g="g1", h="id"), True, True),
    ("linear output", lstm97.LSTMArch(2, 1, 2, 2, bias="all", output_act="linear"), False, True),
]


@pytest.mark.parametrize("name,arch,one_hot,per_step", KERNEL_CASES, ids=[c[0] for c in KERNEL_CASES])
def test_kernel_matches_reference_after_hundreds_of_steps(name, arch, one_hot, per_step):
    rng = np.random.default_rng(7)
    masks = lstm97.masks(arch)
    ref = lstm97.init(rng, arch, lstm97.LSTMInit(0.2))
    ker = {k: v.copy() for k, v in ref.items()}
    setup, ws = make_setup(arch, per_step=per_step), make_workspace(arch)
    steps = 0
    while steps < 400:
        T, x, idx, x_dense, targets, mask = random_sequence(rng, arch.n_in, arch.n_out, one_hot, longest=20)
        y_frozen = np.full((T, arch.n_out), np.nan)  # not learning: the outputs of every step
        step(Net.of(ker, masks, setup), ws, idx, x_dense, targets, mask, T, 0.3, False, y_frozen)
        np.testing.assert_allclose(y_frozen, lstm97_reference.run_sequence(Net.of(ref, masks), arch, x, targets, mask, 0.3,
                                                                           per_step=per_step, learn=False), atol=1e-12)
        y_ref = lstm97_reference.run_sequence(Net.of(ref, masks), arch, x, targets, mask, 0.3, per_step=per_step)
        y_ker = np.full((T, arch.n_out), np.nan)
        step(Net.of(ker, masks, setup), ws, idx, x_dense, targets, mask, T, 0.3, True, y_ker)
        np.testing.assert_allclose(y_ker[mask], y_ref[mask], atol=1e-12)  # learning: the outputs at the target steps
        steps += T
    for key in ref:
        np.testing.assert_allclose(ker[key], ref[key], atol=1e-12)
        assert not np.array_equal(ker[key], lstm97.init(np.random.default_rng(7), arch, lstm97.LSTMInit(0.2))[key])


def test_kernel_without_output_derivative_matches_reference():
    arch = lstm97.LSTMArch(2, 1, 2, 2, bias="all")
    rng = np.random.default_rng(3)
    masks, ref = lstm97.masks(arch), lstm97.init(rng, arch, lstm97.LSTMInit(0.2))
    ker = {k: v.copy() for k, v in ref.items()}
    setup, ws = make_setup(arch, output_derivative=False), make_workspace(arch)
    for _ in range(30):
        x, targets, mask = rng.uniform(-1, 1, (12, 2)), rng.uniform(0, 1, (12, 1)), np.ones(12, dtype=bool)
        lstm97_reference.run_sequence(Net.of(ref, masks), arch, x, targets, mask, 0.5, output_derivative=False)
        step(Net.of(ker, masks, setup), ws, np.zeros(12, dtype=np.int64), x, targets, mask, 12, 0.5, True, np.zeros((12, 1)))
    np.testing.assert_allclose(ker["W_hid"], ref["W_hid"], atol=1e-12)


WIDE_CASES = [
    ("2a-like, 40 outputs", lstm97.LSTMArch(39, 40, 1, 1, bias="none", recurrent=False, input_to_output=True,
                                            output_gate=False, g="g1", h="id"), True, True),
    ("3x2 blocks, 33 outputs, update at end", lstm97.LSTMArch(33, 33, 3, 2), True, False),
    ("dense inputs, 32 outputs, no f'_k", lstm97.LSTMArch(3, 32, 2, 2, bias="all"), False, True),
]


@pytest.mark.parametrize("name,arch,one_hot,per_step", WIDE_CASES, ids=[c[0] for c in WIDE_CASES])
def test_step_wide_gives_step_bit_for_bit(name, arch, one_hot, per_step):
    """The vector logistic functions of step_wide (models/vexp.py) give step's outputs and weights exactly, learning
    on (the rare lanes that take the library's exp: tests/test_reber_success.py)."""
    if not (vexp.available() and vexp.lanes_available()):
        pytest.skip("vexp gives no vector lanes with this C library's exp bits: step_for never picks step_wide here")
    rng = np.random.default_rng(11)
    masks, start = lstm97.masks(arch), lstm97.init(rng, arch, lstm97.LSTMInit(1.0))
    setup = make_setup(arch, per_step=per_step, output_derivative=not name.endswith("no f'_k"))
    assert kernel.step_for(setup) is kernel.step_wide and kernel.is_1997_step(kernel.step_wide)
    nets = {f: ({k: v.copy() for k, v in start.items()}, make_workspace(arch)) for f in (step, kernel.step_wide)}
    for _ in range(40):
        T = int(rng.integers(3, 30))
        idx = rng.integers(0, arch.n_in, T)
        x_dense = np.zeros((T, 0)) if one_hot else rng.normal(0, 3, (T, arch.n_in))
        targets, mask = (rng.random((T, arch.n_out)) < 0.5).astype(float), rng.random(T) < 0.7
        ys = []
        for f, (params, ws) in nets.items():
            y = np.zeros((T, arch.n_out))
            sse = f(Net.of(params, masks, setup), ws, idx, x_dense, targets, mask, T, 2.0, True, y)
            ys.append((y, sse))
        assert ys[0][1] == ys[1][1]
        np.testing.assert_array_equal(ys[0][0], ys[1][0])
    for key in start:
        np.testing.assert_array_equal(nets[step][0][key], nets[kernel.step_wide][0][key])
        assert not np.array_equal(nets[step][0][key], start[key])  # it learned


def test_step_for_picks_the_plain_step_for_few_or_linear_outputs():
    assert kernel.step_for(make_setup(lstm97.LSTMArch(7, 7, 4, 1))) is step
    assert kernel.step_for(make_setup(lstm97.LSTMArch(2, 40, 2, 2, output_act="linear"))) is step
    assert kernel.is_1997_step(step) and not kernel.is_1997_step(lambda *a: 0.0)


# ---------------------------------------------------------------- readings tested as hypotheses (docs/hypotheses.md)
HYPOTHESIS_CASES = [
    ("reset 0.5, one-hot", lstm97.LSTMArch(7, 7, 3, 2), True, True, 0.5, "none"),
    ("reset 0.5, dense, update at end", lstm97.LSTMArch(2, 1, 2, 2, bias="all"), False, False, 0.5, "none"),
    ("lr mean over steps", lstm97.LSTMArch(2, 1, 2, 2, bias="all"), False, True, 0.0, "mean"),
    ("lr times length, update at end", lstm97.LSTMArch(7, 7, 4, 1), True, False, 0.0, "length"),
]


@pytest.mark.parametrize("name,arch,one_hot,per_step,reset,lr_scale", HYPOTHESIS_CASES, ids=[c[0] for c in HYPOTHESIS_CASES])
def test_kernel_matches_reference_under_each_hypothesis_setting(name, arch, one_hot, per_step, reset, lr_scale):
    rng = np.random.default_rng(11)
    masks = lstm97.masks(arch)
    ref = lstm97.init(rng, arch, lstm97.LSTMInit(0.2))
    ker = {k: v.copy() for k, v in ref.items()}
    setup, ws = make_setup(arch, per_step=per_step, lr_scale=lr_scale), make_workspace(arch, reset)
    for _ in range(20):
        T, x, idx, x_dense, targets, mask = random_sequence(rng, arch.n_in, arch.n_out, one_hot, longest=15)
        y_ref = lstm97_reference.run_sequence(Net.of(ref, masks), arch, x, targets, mask, 0.05, per_step=per_step,
                                              reset_activation=reset, lr_scale=lr_scale)
        y_ker = np.full((T, arch.n_out), np.nan)
        step(Net.of(ker, masks, setup), ws, idx, x_dense, targets, mask, T, 0.05, True, y_ker)
        np.testing.assert_allclose(y_ker[mask], y_ref[mask], atol=1e-12)  # learning: outputs at the target steps only
    for key in ref:
        np.testing.assert_allclose(ker[key], ref[key], atol=1e-12)


def _first_step_outputs(arch, params, reset):
    masks = lstm97.masks(arch)
    x, t, m = np.eye(arch.n_in)[[0]], np.zeros((1, arch.n_out)), np.zeros(1, dtype=bool)
    return lstm97_reference.run_sequence(Net.of(params, masks), arch, x, t, m, 0.1, learn=False, reset_activation=reset)[0]


def test_reset_activation_feeds_the_first_step_with_half():
    """JKU: the first step's recurrent sources are 0.5; the same as adding 0.5 * (sum of recurrent weights) to each bias."""
    arch = lstm97.LSTMArch(3, 2, 2, 1, bias="b1")
    params = lstm97.init(np.random.default_rng(2), arch, lstm97.LSTMInit(0.5))
    shifted = {k: v.copy() for k, v in params.items()}
    rec = slice(1 + arch.n_in, arch.n_hidden_cols)
    shifted["W_hid"][:, 0] += 0.5 * params["W_hid"][:, rec].sum(axis=1)
    shifted["W_hid"][:, rec] = 0.0
    np.testing.assert_allclose(_first_step_outputs(arch, params, 0.5), _first_step_outputs(arch, shifted, 0.0), atol=1e-14)
    assert not np.allclose(_first_step_outputs(arch, params, 0.5), _first_step_outputs(arch, params, 0.0))


def test_lr_scale_mean_and_length_are_the_lr_divided_and_multiplied_by_the_length():
    arch = lstm97.LSTMArch(2, 1, 2, 2, bias="all")
    rng = np.random.default_rng(4)
    masks, start = lstm97.masks(arch), lstm97.init(rng, arch, lstm97.LSTMInit(0.2))
    x, targets, mask = rng.uniform(-1, 1, (8, 2)), rng.uniform(0, 1, (8, 1)), np.arange(8) == 7
    out = {}
    for scale, lr in (("none", 0.01), ("mean", 0.08), ("length", 0.00125)):  # all give an effective 0.01
        p = {k: v.copy() for k, v in start.items()}
        lstm97_reference.run_sequence(Net.of(p, masks), arch, x, targets, mask, lr, lr_scale=scale)
        out[scale] = p
    for scale in ("mean", "length"):
        for key in start:
            np.testing.assert_allclose(out[scale][key], out["none"][key], atol=1e-15)


def test_gate_bias_init_add_adds_the_given_bias_to_the_random_value():
    arch = lstm97.LSTMArch(2, 1, 2, 2, bias="all")
    given = lstm97.init(np.random.default_rng(9), arch, lstm97.LSTMInit(0.1, (-3.0, -6.0), None))
    added = lstm97.init(np.random.default_rng(9), arch, lstm97.LSTMInit(0.1, (-3.0, -6.0), None, "add"))
    plain = lstm97.init(np.random.default_rng(9), arch, lstm97.LSTMInit(0.1))
    H = arch.n_cells
    np.testing.assert_array_equal(given["W_hid"][H : H + 2, 0], [-3.0, -6.0])
    np.testing.assert_allclose(added["W_hid"][H : H + 2, 0], plain["W_hid"][H : H + 2, 0] + [-3.0, -6.0])
    assert np.all(added["W_hid"][H : H + 2, 0] != given["W_hid"][H : H + 2, 0])
    others = np.ones(arch.n_hidden_rows, dtype=bool)
    others[H : H + 2] = False
    np.testing.assert_array_equal(added["W_hid"][others], plain["W_hid"][others])


def test_hypothesis_settings_are_validated_and_belong_to_the_1997_lstm():
    from cerepro.protocols.online.settings import OnlineRow

    OnlineRow(reset_activation=0.5, gate_bias_init="add", lr_scale="mean").validate()
    for bad, message in (({"reset_activation": 1.5}, "reset_activation"), ({"lr_scale": "double"}, "lr_scale"),
                         ({"gate_bias_init": "replace"}, "gate_bias_init"),
                         ({"model": "rtrl", "hidden_units": 2, "reset_activation": 0.5}, "only to the 1997 LSTM")):
        with pytest.raises(ValueError, match=message):
            OnlineRow(**bad).validate()
