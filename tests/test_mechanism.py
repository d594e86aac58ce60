"""Mechanism figures: the trace is the reference forward pass, the states obey the CEC, the figure is a PNG.

Nets are trained for a few dozen sequences only (far from success): the properties hold for any weights.
"""

from __future__ import annotations

import dataclasses
import numpy as np
import pytest

from cerepro import config, mechanism, models, seeding
from cerepro.generators.base import as_sequences, dense_inputs
from cerepro.models import lstm97
from cerepro.models.common import Net
from cerepro.models.lstm97 import reference as lstm97_reference
from cerepro.protocols.online import trial as online
from cerepro.protocols.common import untimed

TINY = 40  # training sequences: enough to move the weights off their init, seconds to run


@pytest.fixture(scope="module", params=["exp4", "exp6a"])
def trained(request):
    rec: dict = {}
    cfg, params = mechanism.train_net(request.param, max_sequences=TINY, record=rec)
    batch = mechanism.fresh_sequences(request.param, cfg, n=3)
    return request.param, cfg, params, rec, batch


def _arch(cfg):
    return lstm97.architecture(cfg, *cfg.sizes())


def test_train_net_returns_the_final_weights_of_the_specs_trial_and_keep_params_changes_nothing(trained):
    name, cfg, params, rec, _ = trained
    exp = config.resolve(name)
    row = exp.rows[0]
    assert cfg == dataclasses.replace(row.config, max_sequences=TINY)  # the faithful row, only the cap lowered
    assert rec["outcome"] == "cap" and rec["sequences"] == TINY
    masks = lstm97.masks(_arch(cfg))
    init = models.get("lstm97").build(seeding.stream(seeding.trial_seed(exp.seed, row.seed_key, 0), "init"), cfg,
                                      *cfg.sizes()).net.weights()
    for key, mask in masks.items():
        assert params[key].shape == mask.shape
        assert np.all(params[key][mask == 0] == 0.0)  # absent connections stay absent
        assert not np.array_equal(params[key], init[key])  # trained, not the initial weights
    plain = online.run_trial(cfg, exp.seed, row.seed_key, 0)  # the same trial without keep_params
    for key in untimed(rec):
        assert plain[key] == rec[key], key


def test_trace_reproduces_the_reference_and_the_kernel_outputs_exactly(trained):
    _, cfg, params, _, batch = trained
    arch, before = _arch(cfg), {k: v.copy() for k, v in params.items()}
    masks = lstm97.masks(arch)
    for i in range(batch.n):
        tr = mechanism.trace(cfg, params, batch, i)
        L = int(batch.lengths[i])
        x = dense_inputs(batch)[i, :L]
        ref = lstm97_reference.run_sequence(Net.of({k: v.copy() for k, v in params.items()}, masks), arch, x,
                                            batch.targets[i, :L], batch.target_mask[i, :L], cfg.lr, learn=False)
        np.testing.assert_array_equal(tr["y"], ref)  # recording does not change the forward pass
        net, ws, step = models.get("lstm97").build(np.random.default_rng(0), cfg, *cfg.sizes())
        net.W_hid[:], net.W_out[:] = params["W_hid"], params["W_out"]
        x_index, x_dense, targets, mask, lengths = as_sequences(batch)
        y_ker = np.zeros((batch.targets.shape[1], arch.n_out))
        step(net, ws, x_index[i], x_dense[i], targets[i], mask[i], lengths[i], cfg.lr, False, y_ker)
        np.testing.assert_allclose(tr["y"], y_ker[:L], atol=1e-12)  # and it is the compiled net's forward pass
        assert tr["s"].shape == (L, arch.n_cells) and tr["y_in"].shape == (L, arch.n_blocks)
        np.testing.assert_array_equal(tr["target"], batch.targets[i, L - 1])
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])  # tracing never learns


def test_cell_states_start_at_zero_and_grow_only_by_the_gated_cell_input(trained):
    """Restate the forward pass from the recorded activations: s(t) - s(t-1) = y_in(t) g(net_c(t)), s(-1) = 0."""
    _, cfg, params, _, batch = trained
    arch = _arch(cfg)
    H, C = arch.n_cells, arch.n_blocks
    W_hid, W_out = params["W_hid"], params["W_out"]
    tr = mechanism.trace(cfg, params, batch, 0)
    block = np.arange(H) // arch.block_size
    prev = {"y_c": np.zeros(H), "y_in": np.zeros(C), "y_out": np.zeros(C), "s": np.zeros(H)}  # reset: all zero
    for t in range(tr["s"].shape[0]):
        z = np.concatenate(([1.0], tr["x"][t], prev["y_c"], prev["y_in"], prev["y_out"]))
        net = W_hid @ z
        np.testing.assert_allclose(tr["y_in"][t], 1 / (1 + np.exp(-net[H : H + C])), rtol=1e-12)
        np.testing.assert_allclose(tr["y_out"][t], 1 / (1 + np.exp(-net[H + C :])), rtol=1e-12)
        np.testing.assert_allclose(tr["g"][t], 4 / (1 + np.exp(-net[:H])) - 2, atol=1e-12)
        increment = tr["y_in"][t][block] * tr["g"][t]
        np.testing.assert_allclose(tr["s"][t] - prev["s"], increment, atol=1e-12)  # the CEC: self-weight 1, no decay
        np.testing.assert_allclose(tr["y_c"][t], tr["y_out"][t][block] * (2 / (1 + np.exp(-tr["s"][t])) - 1), atol=1e-12)
        zo = np.concatenate(([1.0], tr["x"][t], tr["y_c"][t]))
        np.testing.assert_allclose(tr["y"][t], 1 / (1 + np.exp(-(W_out @ zo))), rtol=1e-12)
        prev = {key: tr[key][t] for key in prev}
    np.testing.assert_allclose(tr["s"][0], tr["y_in"][0][block] * tr["g"][0], atol=1e-15)  # s(0) from s(-1) = 0
    np.testing.assert_allclose(tr["s"], np.cumsum(tr["y_in"][:, block] * tr["g"], axis=0), atol=1e-9)


@pytest.mark.parametrize("name", ["exp4", "exp6a"])
def test_figure_is_a_non_empty_png(tmp_path, name):
    path = mechanism.figure(name, tmp_path / "sub" / f"mechanism_{name}.png", max_sequences=TINY)
    data = path.read_bytes()
    assert path == tmp_path / "sub" / f"mechanism_{name}.png"
    assert len(data) > 10_000 and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((tmp_path / "sub").iterdir()) == [path]  # no temp file left behind
