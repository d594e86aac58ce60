"""Error flow through time (Section 3, Appendix A.2): the numbers come from the models' own backward passes and
are held to closed forms and finite differences; the tables and the figure are rebuilt from stored records."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cerepro import cli, errorflow as ef, errorflow_report, seeding
from cerepro.models.bptt import reference as bptt_reference
from cerepro.models.common import Net
from cerepro.models.lstm97 import arch as lstm97
from cerepro.models.lstm97 import reference as lstm97_reference
from cerepro.models.lstm_full import reference as lstm_full_reference
from cerepro.models.rtrl import arch as rtrl
from cerepro.protocols import errorflow as protocol
from cerepro.protocols.common import untimed

LAGS = ef.lag_grid(60, 12)  # 1 .. 60
LENGTH = 80  # steps per test sequence


def _unit(scale: float, noise: float, seed: int = 0):
    """The single unit of the error-flow rows, and its input (the first step lifts it to net = 0)."""
    w = scale / ef.F_PRIME_MAX
    params = {"W_hid": np.array([[-w / 2.0, 1.0, w]]), "W_out": np.zeros((1, 3))}
    x = noise * np.random.default_rng(seed).uniform(-1.0, 1.0, size=(LENGTH, 1))
    x[0, 0] += w / 2.0
    return params, rtrl.RNNArch(1, 1, 1, bias="b1"), x


def _table1_net(scale: float, seed: int = 0):
    """Table 1's fully recurrent RTRL net (3 hidden + 7 outputs) with f'_max ||W_rec||_A = scale."""
    arch = rtrl.RNNArch(7, 7, 3, bias="none", outputs_recurrent=True, input_to_output=True)
    rng = np.random.default_rng(seed)
    params = rtrl.init(rng, arch, 0.2)
    W_rec = params["W_hid"][:, 8:]
    W_rec *= scale / (0.25 * np.abs(W_rec).sum(axis=1).max())
    return params, arch, rng.uniform(-1.0, 1.0, size=(LENGTH, 7))


def _adding_lstm(seed: int = 0, weight_range: float = 0.1):
    """The adding problem's 1997 LSTM (2 blocks of 2 cells, input-gate biases -3, -6) and a noise sequence."""
    arch = lstm97.LSTMArch(2, 1, 2, 2, bias="all")
    rng = np.random.default_rng(seed)
    params = lstm97.init(rng, arch, lstm97.LSTMInit(weight_range, (-3.0, -6.0), None))
    return params, arch, rng.uniform(-1.0, 1.0, size=(LENGTH, 2))


# ---------------------------------------------------------------- Section 3: one unit, a fully recurrent net
@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_single_unit_flow_is_the_product_of_f_prime_w_along_its_trajectory(scale):
    """Section 3.2: theta(t-q) / theta(t) = prod_{m=1..q} f'(net(t-m)) w, to 1e-12, f' varying along the way."""
    params, arch, x = _unit(scale, noise=0.3)
    flow = ef.rnn_flow(params, arch, x, LAGS, unit=0)
    w, y, fprime = 4.0 * scale, 0.0, []
    for t in range(LENGTH):  # written out here, independently of the model and of errorflow
        y = 1.0 / (1.0 + np.exp(-(-w / 2.0 + x[t, 0] + w * y)))
        fprime.append(y * (1.0 - y))
    closed = np.array([np.prod([fprime[LENGTH - 1 - m] * w for m in range(1, q + 1)]) for q in LAGS])
    assert np.all(np.abs(flow["self"] - closed) <= 1e-12 * closed)
    assert np.ptp(fprime[1:]) > 0.01  # the noise really moves the unit off its steepest point
    assert np.allclose(ef.single_unit_closed_form(-w / 2.0, 1.0, w, x[:, 0], LAGS), closed, rtol=1e-12, atol=0)


def test_single_unit_at_its_steepest_point_vanishes_below_1_is_constant_at_1_and_explodes_above_1():
    """Held at net = 0 (f' = 0.25) the flow is (f'_max |w|)^q exactly: the paper's bound, reached."""
    flows = {s: ef.rnn_flow(*_unit(s, noise=0.0), LAGS, unit=0) for s in (0.5, 1.0, 2.0)}
    for scale, flow in flows.items():
        assert np.array_equal(flow["flow"], scale ** LAGS.astype(float))  # exact: powers of 2
        assert np.array_equal(flow["bound"], flow["flow"])
    assert flows[0.5]["flow"][-1] < 1e-18 and np.all(np.diff(flows[0.5]["flow"]) < 0)  # vanishing
    assert np.all(flows[1.0]["flow"] == 1.0)  # constant error flow (Section 3.2: f' w = 1)
    assert flows[2.0]["flow"][-1] > 1e18 and np.all(np.diff(flows[2.0]["flow"]) > 0)  # blowing up


def test_nudged_unit_above_1_saturates_and_its_error_vanishes():
    """Section 3.1: for large |w| f' goes to zero faster than |w| grows; off its unstable fixed point it saturates."""
    flow = ef.rnn_flow(*_unit(2.0, noise=0.01), LAGS, unit=0)["flow"]
    assert flow[LAGS == 10][0] < 1e-6 and np.all(np.diff(flow) < 0)


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_recurrent_net_stays_under_the_papers_bound(scale):
    params, arch, x = _table1_net(scale)
    flow = ef.rnn_flow(params, arch, x, LAGS, unit=3)
    assert np.array_equal(flow["bound"], 10 * scale ** LAGS.astype(float))  # n (f'_max ||W||_A)^q, n = 10
    assert np.all(flow["flow"] <= flow["bound"]) and flow["flow"][0] > 0
    assert flow["fd_error"] < 1e-6


def test_rnn_flow_equals_finite_differences_for_every_unit_at_small_lags():
    params, arch, x = _table1_net(2.0, seed=3)
    steps = np.array([LENGTH - 1, LENGTH - 2, LENGTH - 3])  # q = 0, 1, 2
    probed = ef.rnn_probe(params, arch, x, steps, unit=5)
    theta = ef.rnn_theta(probed)
    fd = np.array([[ef.rnn_finite_difference(probed, v, i) for i in range(3)] for v in range(10)])
    assert np.abs(fd - theta).max() < 1e-7 * abs(theta[5, 0])
    assert np.all(theta[:, 0][np.arange(10) != 5] == 0.0)  # at t the error is at the injected unit only
    assert np.all(theta[:, 1:] != 0.0)


# ---------------------------------------------------------------- the probes are the model's own backward pass
def test_probes_leave_the_forward_pass_unchanged_up_to_rounding():
    """Zero-weight probes add exact zeros to every net input (the longer dot products may round differently)."""
    params, arch, x = _table1_net(1.0)
    probed = ef.rnn_probe(params, arch, x, np.array([LENGTH - 1, 10]), unit=3)
    assert np.allclose(probed.outputs, ef.rnn_outputs(params, arch, x), rtol=1e-13, atol=0)
    params, arch, x = _adding_lstm()
    rec_plain, rec_probed = {}, {}
    ef.lstm_outputs(params, arch, x, record=rec_plain)
    probed = ef.lstm_probe(params, arch, x, np.array([LENGTH - 1, 10]), cell=0)
    ef.lstm_outputs(probed.params, probed.arch, probed.x, record=rec_probed)
    for key in ("s", "y_in", "y_out", "y_c"):
        assert np.allclose(np.stack(rec_plain[key]), np.stack(rec_probed[key]), rtol=1e-13, atol=1e-16), key


@pytest.mark.parametrize("model", ["bptt", "truncated", "full"])
def test_probe_errors_summed_against_the_inputs_are_the_models_input_weight_gradient(model):
    """Probing every step: sum_s theta_v(s) x_i(s) must be the change the model's rule gives w_{v,i} (same targets)."""
    steps = np.arange(LENGTH)[::-1].copy()
    if model == "bptt":
        params, arch, x = _table1_net(1.0)
        probed = ef.rnn_probe(params, arch, x, steps, unit=4)
        theta = ef.rnn_theta(probed)
        plain = {k: v.copy() for k, v in params.items()}
        bptt_reference.run_sequence(Net.of(plain, rtrl.masks(arch)), arch, x, probed.targets, probed.target_mask, 1.0)
    else:
        params, arch, x = _adding_lstm()
        probed = ef.lstm_probe(params, arch, x, steps, cell=1)
        theta = ef.lstm_theta(probed, model)
        plain = {"W_hid": params["W_hid"].copy(), "W_out": np.zeros_like(params["W_out"])}
        plain["W_out"][0, 3 + 1] = 1.0  # the readout of cell 1, as lstm_probe puts it
        args = (Net.of(plain, lstm97.masks(arch)), arch, x, probed.targets, probed.target_mask, 1.0)
        if model == "truncated":
            lstm97_reference.run_sequence(*args, per_step=True)
        else:
            lstm_full_reference.run_sequence(*args)
    inputs = slice(1, 1 + arch.n_in)
    change = plain["W_hid"][:, inputs] - params["W_hid"][:, inputs]
    assert np.allclose(theta @ x[steps], change, rtol=1e-10, atol=1e-15)
    assert np.abs(change).max() > 0


# ---------------------------------------------------------------- Appendix A.2: the 1997 LSTM
def test_truncated_lstm_error_is_constant_through_the_cec_and_never_leaves_the_cell():
    params, arch, x = _adding_lstm()
    flow = ef.lstm_flow(params, arch, x, LAGS)
    assert flow["cec_error"] < 1e-12 and np.all(np.abs(flow["truncated_cec"] - 1.0) < 1e-12)
    assert flow["truncated_leak"] == 0.0 and np.all(flow["truncated_leak"] == 0.0)
    assert flow["closed_form_error"] < 1e-12  # g'(net_c) y^in and g f'_in at t-q, times y^out h'(s) at t
    assert flow["fd_error"] < 1e-6
    ratio = flow["truncated_cell_input"][:, -1] / flow["truncated_cell_input"][:, 0]
    assert np.all((0.1 < ratio) & (ratio < 10))  # no decay with the lag: the input gate's modulation only


def test_full_gradient_differs_from_the_truncated_one_outside_the_cec():
    """Non-vacuous: with larger weights the full gradient's cell-state error is not 1 and error leaves the cell."""
    params, arch, x = _adding_lstm(weight_range=1.0)
    flow = ef.lstm_flow(params, arch, x, LAGS)
    assert np.nanmax(np.abs(flow["full_cec"] - 1.0)) > 1e-3
    assert np.all(flow["full_leak"] > 0) and np.all(flow["truncated_leak"] == 0)
    assert flow["fd_error"] < 1e-6


def test_lstm_full_backward_pass_equals_finite_differences_on_every_unit():
    params, arch, x = _adding_lstm(seed=2, weight_range=1.0)
    steps = np.array([LENGTH - 1, LENGTH - 2, LENGTH - 4])
    probed = ef.lstm_probe(params, arch, x, steps, cell=2)
    theta = ef.lstm_theta(probed, "full")
    fd = np.array([[ef.lstm_finite_difference(probed, u, i) for i in range(3)] for u in range(arch.n_hidden_rows)])
    assert np.abs(fd - theta).max() < 1e-7 * abs(ef.lstm_output_error(probed))


# ---------------------------------------------------------------- the protocol: rows, records, checks
def _row(**settings) -> protocol.ErrorFlowRow:
    base = {"net": "unit", "model": "bptt", "hidden_units": 1, "bias": "b1", "max_lag": 40, "lag_points": 8, "input_noise": 0.0}
    cfg = protocol.ErrorFlowRow(**{**base, **settings})
    cfg.validate()
    return cfg


def test_trial_records_are_checked_deterministic_and_json():
    cfg = _row(scale=2.0, input_noise=0.01)
    a = protocol.run_trial(cfg, 1997, "error-flow/unit", 0)
    b = protocol.run_trial(cfg, 1997, "error-flow/unit", 0)
    assert a["success"] and a["outcome"] == "checked" and a["reason"] == ""
    assert a["checks"]["closed_form_error"] <= 1e-12 and a["checks"]["fd_error"] < 1e-6
    assert untimed(a) == untimed(b)
    assert json.loads(json.dumps(a, allow_nan=False)) == a
    assert protocol.run_trial(cfg, 1997, "error-flow/unit", 1)["flow"] != a["flow"]  # another trial, another noise


@pytest.mark.parametrize("settings,message", [
    ({"model": "lstm97"}, "measured by BPTT"),
    ({"hidden_units": 2}, "a single unit is"),
    ({"scale": 0.0}, "scale must be positive"),
    ({"task": "adding"}, "driven by noise"),
    ({"net": "lstm", "model": "lstm-full", "hidden_units": 0, "bias": "ga"}, "both gradients are measured"),
    ({"net": "lstm", "model": "lstm97", "bias": "ga", "trained_from": "exp1"}, "not an online lstm97 row"),
    ({"net": "lstm", "model": "lstm97", "bias": "ga", "trained_from": "exp4", "task": "6a", "max_lag": 60},
     "task must be the trained net's"),
    ({"net": "lstm", "model": "lstm97", "bias": "ga", "task": "6a"}, "at least 60 for task 6a"),
])
def test_bad_rows_are_rejected_with_the_key_named(settings, message):
    with pytest.raises(ValueError, match=message):
        _row(**settings)


def test_a_trained_net_is_the_protocols_trial_retrained_and_measured_both_ways():
    cfg = protocol.ErrorFlowRow(net="lstm", task="6a", trained_from="exp6a", trained_trial=17, max_sequences=30,
                                max_lag=60, lag_points=6)
    cfg.validate()
    assert cfg.n_weights() == 156
    rec = protocol.run_trial(cfg, 1997, "error-flow/6a", 0)
    assert rec["trained"]["experiment"] == "exp6a" and rec["trained"]["sequences"] == 30 == rec["sequences"]
    assert rec["trained"]["seed"] == seeding.trial_seed(1997, "exp6a/lstm-2x2", 17)  # the committed trial's seed
    assert rec["success"] and rec["checks"]["truncated_leak"] == 0.0
    assert len(rec["flow"]) == len(rec["full"]) == len(rec["lags"]) and all(v > 0 for v in rec["flow"])
    assert rec["length"] >= 61


# ---------------------------------------------------------------- tables and figure from the stored records
SPEC = """
experiment: error-flow
title: "Error flow (test spec)"
protocol: errorflow
seed: 5
defaults: {max_lag: 40, lag_points: 8, trials: 2}
rows:
  - {name: unit-fw2, net: unit, model: bptt, hidden_units: 1, bias: b1, scale: 2.0, input_noise: 0.0, trials: 1}
  - {name: net-fw1, net: recurrent, model: bptt, hidden_units: 3, outputs: 7, inputs: 7, outputs_recurrent: true,
     input_to_output: true, bias: none, weight_range: 0.2, scale: 1.0}
  - {name: lstm-init, net: lstm, model: lstm97, task: adding, blocks: 2, block_size: 2, bias: all, weight_range: 0.1,
     input_gate_bias: [-3, -6]}
"""


def test_tables_and_figure_are_rebuilt_from_the_stored_records_without_running(tmp_path, monkeypatch):
    spec, out = tmp_path / "error-flow.yaml", tmp_path / "out"
    spec.write_text(SPEC)
    result = CliRunner().invoke(cli.main, ["run", str(spec), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "error-flow.csv")
    assert table["row"].tolist() == ["unit-fw2", "net-fw1", "lstm-init"] and table["successes"].tolist() == [1, 2, 2]
    assert table.loc[0, "flow_q10"] == table.loc[0, "bound_q10"] == 2.0 ** 10
    before = (out / "error-flow.csv").read_text()

    def no_running(*args, **kwargs):
        raise AssertionError("a trial was re-run")

    monkeypatch.setattr(protocol, "run_trial", no_running)
    (out / "error-flow.csv").unlink()
    result = CliRunner().invoke(cli.main, ["run", str(spec), "--out", str(out), "--tables-only"])
    assert result.exit_code == 0, result.output
    assert (out / "error-flow.csv").read_text() == before
    result = CliRunner().invoke(cli.main, ["report", "--no-mechanism", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = (out / "REPORT.md").read_text()
    assert '<a id="error-flow"></a>' in report and "![error flow](figures/error_flow.png)" in report
    assert "| unit-fw2 | 2 | 0 | 1 | 1 | 2 | 1.02e+03 |" in report  # flow at q = 1, 10 from the records
    rows = errorflow_report.stored(out)
    assert [len(recs) for _, recs in rows] == [1, 2, 2]
    png = out / "figures" / "error_flow.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20000


def test_report_section_without_results_says_how_to_run(tmp_path):
    from cerepro import config

    lines, figures = errorflow_report.section(config.resolve("error-flow"), tmp_path)
    assert figures == [] and any("_Not run yet_" in line for line in lines)
