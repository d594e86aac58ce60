"""The baseline learners (rtrl, bptt, elman, lstm-full): weight counts, gradients, kernels against references."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cerepro import models
from cerepro.models import vexp
from cerepro.models.bptt import kernel as bptt_kernel
from cerepro.models.bptt import reference as bptt_reference
from cerepro.models.common import Net
from cerepro.models.elman import kernel as elman_kernel
from cerepro.models.elman import reference as elman_reference
from cerepro.models.lstm97 import arch as lstm97
from cerepro.models.lstm97.kernel import make_setup as lstm_setup
from cerepro.models.lstm_full import kernel as lstm_full_kernel
from cerepro.models.lstm_full import reference as lstm_full_reference
from cerepro.models.rtrl import arch as rtrl
from cerepro.models.rtrl import kernel as rtrl_kernel
from cerepro.models.rtrl import reference as rtrl_reference
from cerepro.protocols.common import BaseRow

from netcheck import finite_difference, random_sequence


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


# ---------------------------------------------------------------- weight counts
def table2_net(p: int) -> rtrl.RNNArch:
    """Table 2: one self-recurrent hidden unit, p+1 non-recurrent outputs fed by inputs and hidden, no bias."""
    return rtrl.RNNArch(p + 1, p + 1, 1, bias="none", input_to_output=True)


@pytest.mark.parametrize("p,count", [(4, 36), (10, 144), (100, 10404)])
def test_table2_weight_counts(p, count):
    assert rtrl.n_weights(table2_net(p)) == count
    cfg = BaseRow(model="rtrl", hidden_units=1, bias="none", input_to_output=True, recurrent=False)
    for name in ("rtrl", "bptt"):  # through the model interface, self-recurrence only or full: same net
        assert models.get(name).n_weights(cfg, p + 1, p + 1) == count
        assert models.get(name).n_weights(dataclasses.replace(cfg, recurrent=True), p + 1, p + 1) == count


@pytest.mark.parametrize("hidden,count", [(3, 170), (12, 494)])
def test_table1_rtrl_estimates_are_the_fully_recurrent_net_without_bias(hidden, count):
    assert rtrl.n_weights(rtrl.RNNArch(7, 7, hidden, bias="none", outputs_recurrent=True)) == count


def test_table1_elman_estimate():
    arch = rtrl.RNNArch(7, 7, 15, bias="none", input_to_output=False)
    assert rtrl.n_weights(arch) == 435
    cfg = BaseRow(model="elman", hidden_units=15, bias="none")
    assert models.get("elman").n_weights(cfg, 7, 7) == 435


def test_gate_bias_mode_is_rejected_for_nets_without_gates():
    with pytest.raises(ValueError, match="no gates"):
        rtrl.RNNArch(7, 7, 3, bias="ga")


# ---------------------------------------------------------------- an independent forward pass, and finite differences
def rnn_loss(params, arch, x, targets, mask, context=None):
    """SSE/2 of the conventional nets, from the formulas of rtrl.py's docstring.

    context: if given (T, H), the hidden units read these recorded values instead of y^h(t-1) (Elman's
    truncation: the context is an input).
    """
    I, H, R = arch.n_in, arch.n_hidden, arch.n_rec
    y, loss = np.zeros(R), 0.0
    for t in range(x.shape[0]):
        prev = y if context is None else (context[t - 1] if t > 0 else np.zeros(H))
        y = sig(params["W_hid"] @ np.concatenate(([1.0], x[t], prev)))
        if arch.outputs_recurrent:
            out = y[H:]
        else:
            net = params["W_out"] @ np.concatenate(([1.0], x[t], y[:H]))
            out = sig(net) if arch.output_act == "logistic" else net
        if mask[t]:
            loss += 0.5 * np.sum((targets[t] - out) ** 2)
    return loss


def hidden_record(params, arch, x):
    """y^h(t) of an ordinary forward pass, (T, H)."""
    y, rec = np.zeros(arch.n_hidden), []
    for t in range(x.shape[0]):
        y = sig(params["W_hid"] @ np.concatenate(([1.0], x[t], y)))
        rec.append(y)
    return np.array(rec)


def lstm_loss(params, arch, x, targets, mask):
    """SSE/2 of the 1997 LSTM (eqs. 7-9, three-step timing), with every recurrent path live."""
    H, C, S = arch.n_cells, arch.n_blocks, arch.block_size
    g = (lambda a: sig(a)) if arch.g == "g1" else (lambda a: 4.0 * sig(a) - 2.0)  # noqa: E731
    h = (lambda a: a) if arch.h == "id" else (lambda a: 2.0 * sig(a) - 1.0)  # noqa: E731
    s, prev, loss = np.zeros(H), np.zeros(H + 2 * C), 0.0
    for t in range(x.shape[0]):
        net = params["W_hid"] @ np.concatenate(([1.0], x[t], prev))
        y_in = sig(net[H : H + C])
        y_out = sig(net[H + C :]) if arch.output_gate else np.ones(C)
        s = s + np.repeat(y_in, S) * g(net[:H])
        y_c = np.repeat(y_out, S) * h(s)
        y = sig(params["W_out"] @ np.concatenate(([1.0], x[t], y_c)))
        if mask[t]:
            loss += 0.5 * np.sum((targets[t] - y) ** 2)
        prev = np.concatenate((y_c, y_in, y_out))
    return loss


def learned_gradient(run, params, lr=1e-3):
    """dE/dW recovered from one sequence-end update of size lr: dE/dW = -(W_after - W_before) / lr."""
    after = {k: v.copy() for k, v in params.items()}
    run(after, lr)
    return {k: -(after[k] - params[k]) / lr for k in params}


def kernel_runner(kernel, setup, ws, masks, x, targets, mask, one_hot=False):
    """run(params, lr) through a compiled kernel, dense inputs."""
    T = x.shape[0]
    x_index = np.zeros(T, dtype=np.int64) if not one_hot else np.argmax(x, axis=1).astype(np.int64)
    x_dense = x if not one_hot else np.zeros((T, 0))

    def run(p, lr):
        kernel(Net.of(p, masks, setup), ws, x_index, x_dense, targets, mask, T, lr, True, np.zeros((T, targets.shape[1])))

    return run


def problem(seed, n_in, n_out, T=7):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (T, n_in))
    targets = rng.uniform(0, 1, (T, n_out))
    mask = np.array([0, 1, 0, 1, 1, 0, 1, 1, 0, 1][:T], dtype=bool)
    return rng, x, targets, mask


RNN_ARCHS = [
    ("table2-like", rtrl.RNNArch(3, 3, 1, bias="none", input_to_output=True)),
    ("3 hidden, bias all, layer", rtrl.RNNArch(3, 2, 3, bias="all", input_to_output=True)),
    ("fully recurrent outputs", rtrl.RNNArch(3, 2, 2, bias="all", outputs_recurrent=True)),
    ("self-recurrent only, b1", rtrl.RNNArch(2, 2, 3, bias="b1", recurrent=False, input_to_output=False)),
]


@pytest.mark.parametrize("name,arch", RNN_ARCHS, ids=[a[0] for a in RNN_ARCHS])
def test_rtrl_and_bptt_gradients_equal_each_other_and_finite_differences(name, arch):
    rng, x, targets, mask = problem(1, arch.n_in, arch.n_out)
    params, masks = rtrl.init(rng, arch, 0.9), rtrl.masks(arch)  # large weights: every path matters
    fd = finite_difference(lambda: rnn_loss(params, arch, x, targets, mask), params, masks)
    grads = {
        "rtrl reference": learned_gradient(lambda p, lr: rtrl_reference.run_sequence(Net.of(p, masks), arch, x, targets, mask, lr, per_step=False), params),
        "bptt reference": learned_gradient(lambda p, lr: bptt_reference.run_sequence(Net.of(p, masks), arch, x, targets, mask, lr), params),
        "rtrl kernel": learned_gradient(kernel_runner(rtrl_kernel.step, rtrl_kernel.make_setup(arch, per_step=False),
                                                      rtrl_kernel.make_workspace(arch), masks, x, targets, mask), params),
        "bptt kernel": learned_gradient(kernel_runner(bptt_kernel.step, rtrl_kernel.make_setup(arch, per_step=False),
                                                      bptt_kernel.make_workspace(arch), masks, x, targets, mask), params),
    }
    for how, grad in grads.items():
        for key in params:
            np.testing.assert_allclose(grad[key], fd[key], rtol=1e-5, atol=1e-9, err_msg=f"{how} {key}")
    for key in params:  # RTRL summed over the sequence is BPTT, to rounding
        np.testing.assert_allclose(grads["rtrl kernel"][key], grads["bptt kernel"][key], rtol=1e-9, atol=1e-12)


def test_elman_gradient_is_the_gradient_with_the_context_frozen():
    arch = rtrl.RNNArch(3, 2, 3, bias="all", input_to_output=True)
    rng, x, targets, mask = problem(2, 3, 2)
    params, masks = rtrl.init(rng, arch, 0.9), rtrl.masks(arch)
    context = hidden_record(params, arch, x)
    fd = finite_difference(lambda: rnn_loss(params, arch, x, targets, mask, context=context), params, masks)
    full = finite_difference(lambda: rnn_loss(params, arch, x, targets, mask), params, masks)
    for run in (lambda p, lr: elman_reference.run_sequence(Net.of(p, masks), arch, x, targets, mask, lr, per_step=False),
                kernel_runner(elman_kernel.step, rtrl_kernel.make_setup(arch, per_step=False), elman_kernel.make_workspace(arch),
                              masks, x, targets, mask)):
        grad = learned_gradient(run, params)
        for key in params:
            np.testing.assert_allclose(grad[key], fd[key], rtol=1e-5, atol=1e-9, err_msg=key)
    assert np.abs(grad["W_hid"] - full["W_hid"]).max() > 1e-4  # and the truncation is not vacuous


LSTM_ARCHS = [
    ("2 blocks of 2, bias all", lstm97.LSTMArch(3, 2, 2, 2, bias="all")),
    ("reber-like, inputs to outputs", lstm97.LSTMArch(3, 2, 2, 1, bias="ga", input_to_output=True)),
    ("2a-like: no og, g1, h id", lstm97.LSTMArch(3, 3, 1, 1, bias="none", recurrent=False, input_to_output=True,
                                                 output_gate=False, g="g1", h="id")),
]


@pytest.mark.parametrize("name,arch", LSTM_ARCHS, ids=[a[0] for a in LSTM_ARCHS])
def test_lstm_full_gradient_equals_finite_differences_of_the_full_loss(name, arch):
    rng, x, targets, mask = problem(3, arch.n_in, arch.n_out)
    params, masks = lstm97.init(rng, arch, lstm97.LSTMInit(0.8)), lstm97.masks(arch)
    fd = finite_difference(lambda: lstm_loss(params, arch, x, targets, mask), params, masks)
    for run in (lambda p, lr: lstm_full_reference.run_sequence(Net.of(p, masks), arch, x, targets, mask, lr),
                kernel_runner(lstm_full_kernel.step, lstm_setup(arch), lstm_full_kernel.make_workspace(arch),
                              masks, x, targets, mask)):
        grad = learned_gradient(run, params)
        for key in params:
            np.testing.assert_allclose(grad[key], fd[key], rtol=1e-5, atol=1e-9, err_msg=key)


# ---------------------------------------------------------------- kernels against the numpy references
def _rnn_case(model, arch, per_step):
    setup = rtrl_kernel.make_setup(arch, per_step=per_step)
    if model == "rtrl":
        return rtrl_kernel.step, setup, rtrl_kernel.make_workspace(arch), \
            lambda p, m, x, t, k, lr: rtrl_reference.run_sequence(Net.of(p, m), arch, x, t, k, lr, per_step=per_step)
    if model == "bptt":
        return bptt_kernel.step, setup, bptt_kernel.make_workspace(arch), \
            lambda p, m, x, t, k, lr: bptt_reference.run_sequence(Net.of(p, m), arch, x, t, k, lr)
    return elman_kernel.step, setup, elman_kernel.make_workspace(arch), \
        lambda p, m, x, t, k, lr: elman_reference.run_sequence(Net.of(p, m), arch, x, t, k, lr, per_step=per_step)


KERNEL_CASES = [
    ("rtrl table1 fully recurrent one-hot", "rtrl", rtrl.RNNArch(7, 7, 3, outputs_recurrent=True), True, True),
    ("rtrl table2 one-hot", "rtrl", table2_net(4), True, True),
    ("rtrl layer dense, update at end", "rtrl", rtrl.RNNArch(2, 1, 3, bias="all"), False, False),
    ("rtrl linear output dense", "rtrl", rtrl.RNNArch(2, 1, 2, bias="all", output_act="linear"), False, True),
    ("bptt table2 one-hot", "bptt", table2_net(4), True, False),
    ("bptt fully recurrent dense", "bptt", rtrl.RNNArch(3, 2, 3, bias="all", outputs_recurrent=True), False, False),
    ("elman one-hot", "elman", rtrl.RNNArch(7, 7, 5, input_to_output=False), True, True),
    ("elman dense, update at end", "elman", rtrl.RNNArch(2, 1, 3, bias="all"), False, False),
]


def _compare(kernel, setup, ws, reference, params, masks, n_in, n_out, one_hot, lr=0.3):
    rng = np.random.default_rng(11)
    ker = {k: v.copy() for k, v in params.items()}
    start = {k: v.copy() for k, v in params.items()}
    steps = 0
    while steps < 300:
        T, x, idx, x_dense, targets, mask = random_sequence(rng, n_in, n_out, one_hot)
        y_ref = reference(params, masks, x, targets, mask, lr)
        y_ker = np.zeros((T, n_out))
        kernel(Net.of(ker, masks, setup), ws, idx, x_dense, targets, mask, T, lr, True, y_ker)
        np.testing.assert_allclose(y_ker, y_ref, atol=1e-12)
        steps += T
    for key in params:
        np.testing.assert_allclose(ker[key], params[key], atol=1e-11)
        if params[key].size:
            assert not np.array_equal(ker[key], start[key])  # it did learn


@pytest.mark.parametrize("name,model,arch,one_hot,per_step", KERNEL_CASES, ids=[c[0] for c in KERNEL_CASES])
def test_rnn_kernels_match_references_after_hundreds_of_steps(name, model, arch, one_hot, per_step):
    kernel, setup, ws, reference = _rnn_case(model, arch, per_step)
    params = rtrl.init(np.random.default_rng(5), arch, 0.2)
    _compare(kernel, setup, ws, reference, params, rtrl.masks(arch), arch.n_in, arch.n_out, one_hot)


@pytest.mark.parametrize("name,arch", LSTM_ARCHS, ids=[a[0] for a in LSTM_ARCHS])
@pytest.mark.parametrize("one_hot", [True, False])
def test_lstm_full_kernel_matches_reference_after_hundreds_of_steps(name, arch, one_hot):
    params = lstm97.init(np.random.default_rng(5), arch, lstm97.LSTMInit(0.2))
    reference = lambda p, m, x, t, k, lr: lstm_full_reference.run_sequence(Net.of(p, m), arch, x, t, k, lr)  # noqa: E731
    _compare(lstm_full_kernel.step, lstm_setup(arch), lstm_full_kernel.make_workspace(arch), reference, params,
             lstm97.masks(arch), arch.n_in, arch.n_out, one_hot)


WIDE_RNN_CASES = [("rtrl", True, True), ("rtrl", False, False), ("bptt", True, False), ("elman", True, True)]


@pytest.mark.parametrize("model,one_hot,per_step", WIDE_RNN_CASES)
def test_wide_output_layer_gives_the_scalar_outputs_bit_for_bit(model, one_hot, per_step):
    """Nets with many logistic outputs (2a, 2b: 101) compute them 8 at a time (vexp.logistic_in_place): the same
    outputs, errors and weights as one by one, bit for bit, learning on, with outputs far out on both sides (the
    library's exp) and a remainder that is not a whole vector."""
    if not vexp.available():
        pytest.skip("vexp does not give this C library's exp bits: make_setup never sets wide here")
    arch = rtrl.RNNArch(37, 37, 2)
    start = rtrl.init(np.random.default_rng(3), arch, 0.5)
    start["W_out"][3, 0], start["W_out"][20, 0], start["W_out"][36, 0] = 700.0, -600.0, 800.0
    runs = []
    for wide in (True, False):
        kernel, setup, ws, _ = _rnn_case(model, arch, per_step)
        runs.append((kernel, setup._replace(wide=wide), ws, {k: v.copy() for k, v in start.items()}))
    rng = np.random.default_rng(4)
    for _ in range(30):
        T, _, idx, x_dense, targets, mask = random_sequence(rng, arch.n_in, arch.n_out, one_hot)
        got = []
        for kernel, setup, ws, params in runs:
            y = np.zeros((T, arch.n_out))
            got.append((kernel(Net.of(params, rtrl.masks(arch), setup), ws, idx, x_dense, targets, mask, T, 0.3, True, y), y))
        assert got[0][0] == got[1][0]
        assert np.array_equal(got[0][1].view(np.int64), got[1][1].view(np.int64))
    for key in start:
        assert np.array_equal(runs[0][3][key], runs[1][3][key]) and not np.array_equal(runs[0][3][key], start[key])


def test_only_many_logistic_outputs_of_a_separate_layer_are_wide():
    wide = vexp.available() and vexp.lanes_available()
    assert rtrl_kernel.make_setup(table2_net(100)).wide == wide  # 2a's 101 outputs
    assert not rtrl_kernel.make_setup(table2_net(4)).wide
    assert not rtrl_kernel.make_setup(rtrl.RNNArch(40, 40, 2, output_act="linear")).wide
    assert not rtrl_kernel.make_setup(rtrl.RNNArch(40, 40, 2, outputs_recurrent=True)).wide


def test_forward_only_call_leaves_weights_alone_and_gives_the_same_outputs():
    arch = rtrl.RNNArch(7, 7, 3, outputs_recurrent=True)
    for kernel, ws in ((rtrl_kernel.step, rtrl_kernel.make_workspace(arch)), (bptt_kernel.step, bptt_kernel.make_workspace(arch))):
        params, masks = rtrl.init(np.random.default_rng(0), arch, 0.5), rtrl.masks(arch)
        idx = np.array([0, 3, 2, 6, 1], dtype=np.int64)
        x = np.eye(7)[idx]
        y = np.zeros((5, 7))
        sse = kernel(Net.of(params, masks, rtrl_kernel.make_setup(arch)), ws, idx, np.zeros((5, 0)), np.zeros((1, 7)),
                     np.zeros(5, dtype=bool), 5, 0.5, False, y)
        assert sse == 0.0
        expected = rtrl_reference.run_sequence(Net.of({k: v.copy() for k, v in params.items()}, masks), arch, x, np.zeros((5, 7)),
                                                np.zeros(5, dtype=bool), 0.5, learn=False)
        np.testing.assert_allclose(y, expected, atol=1e-14)


# ---------------------------------------------------------------- learning smoke test
@pytest.mark.parametrize("model", ["rtrl", "bptt", "lstm-full", "elman"])
def test_error_goes_down_on_a_tiny_task(model):
    """Random strings over 3 symbols. Full-gradient models: the target at step t >= 1 is the input of t-1 (needs
    the recurrence). Elman: the target is the successor of the current symbol in the cycle 0 -> 1 -> 2 -> 0; its
    one-step gradient cannot teach the hidden layer to keep x(t-1) for the echo (it only keeps what it keeps
    incidentally), which is the point of the truncation.
    """
    cfg = BaseRow(model=model, hidden_units=3, bias="all", input_to_output=True, weight_range=0.2, lr=0.5, blocks=2,
                  block_size=1, update="step")
    net, ws, step = models.get(model).build(np.random.default_rng(0), cfg, 3, 3)
    rng, T = np.random.default_rng(1), 6
    y, mask, errs = np.zeros((T, 3)), np.arange(T) >= 1, []
    for _ in range(3000):
        s = rng.integers(0, 3, T).astype(np.int64)
        targets = np.zeros((T, 3))
        if model == "elman":
            targets[np.arange(T), (s + 1) % 3] = 1.0
        else:
            targets[np.arange(1, T), s[:-1]] = 1.0
        errs.append(step(net, ws, s, np.zeros((T, 0)), targets, mask, T, cfg.lr, True, y))
    assert np.mean(errs[-300:]) < 0.3 * np.mean(errs[:300])
