"""Error flow through time (Section 3, Appendix A.2): the problem the paper solves, measured on real nets.

Not a training protocol: a trial draws one net (`net`: a self-connected logistic unit, a fully recurrent net
scaled to f'_max ||W||_A = scale, or the 1997 LSTM, drawn or trained by a committed trial of `trained_from`),
runs one sequence of at least max_lag + 1 steps, injects an error at the last step and measures how much
reaches every unit q = 1 .. max_lag steps back (cerepro.errorflow). The record holds the curves and the checks
that make each number trustworthy (finite differences, closed forms); `success` means every check passed.
docs/error-flow.md has the rows and the method.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cerepro import errorflow as ef
from cerepro import models, seeding
from cerepro.generators import TASKS as GENERATORS
from cerepro.generators import adding, temporal
from cerepro.generators.base import dense_inputs
from cerepro.models import lstm97, rtrl
from cerepro.protocols.common import BaseRow, experiment

NETS = ("unit", "recurrent", "lstm")
TASKS = ("noise", "adding", "6a")  # what drives the net: uniform noise, or a task's inputs stretched to max_lag + 1 steps
TASK_IO = {task: GENERATORS[task].io() for task in ("adding", "6a")}  # (inputs, outputs) of the trained nets
SUMMARY_LAGS = (1, 10, 100, 1000)  # the lags of the table columns
FD_TOLERANCE = 1e-6  # |finite difference - backward pass| relative to the injected error (central differences, eps 1e-6)
EXACT_TOLERANCE = 1e-12  # closed forms and the CEC: equal up to rounding


@dataclass(frozen=True)
class ErrorFlowRow(BaseRow):
    """One net (and scale) of the error-flow measurement; BaseRow's settings describe the net."""

    net: str = "lstm"  # unit | recurrent | lstm (see the module docstring)
    scale: float = 1.0  # unit, recurrent: f'_max |w| resp. f'_max ||W||_A, the base of the paper's bound scale^q
    task: str = "noise"  # the input sequence: noise | adding | 6a (lstm nets; stretched to max_lag + 1 steps)
    inputs: int = 1  # input units of a net driven by noise
    outputs: int = 1  # output units of a net driven by noise (recurrent: the error enters at the first one)
    input_noise: float = 1.0  # amplitude of the uniform input noise
    max_lag: int = 1000  # lags 1 .. max_lag
    lag_points: int = 31  # points of the log-spaced lag grid (plus 1, 10, 100, ...)
    trained_from: str = ""  # lstm: experiment whose first faithful row's trial `trained_trial` is retrained; its
    #                         net settings are that row's, the cap on retraining is max_sequences
    trained_trial: int = 0

    def validate(self) -> None:
        super().validate()
        for key, allowed in (("net", NETS), ("task", TASKS)):
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {getattr(self, key)!r}")
        for key in ("inputs", "outputs", "max_lag"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.lag_points < 2:
            raise ValueError(f"lag_points must be at least 2, got {self.lag_points}")
        if not self.scale > 0:
            raise ValueError(f"scale must be positive, got {self.scale}")
        if self.input_noise < 0:
            raise ValueError(f"input_noise must not be negative, got {self.input_noise}")
        if self.task == "6a" and self.max_lag < 60:
            raise ValueError(f"max_lag must be at least 60 for task 6a (its second window ends at position 60), got {self.max_lag}")
        if self.task == "adding" and self.max_lag < 19:
            raise ValueError(f"max_lag must be at least 19 for task adding (T = max_lag + 1 >= 20), got {self.max_lag}")
        if self.trained_trial < 0:
            raise ValueError(f"trained_trial must be at least 0, got {self.trained_trial}")
        if self.net in ("unit", "recurrent"):
            if self.model != "bptt":
                raise ValueError(f"a {self.net} net is measured by BPTT: set model: bptt (got {self.model!r})")
            if self.task != "noise":
                raise ValueError(f"a {self.net} net is driven by noise (task: noise), got {self.task!r}")
            rtrl.architecture(self, self.inputs, self.outputs)  # the net must exist
        unit = (self.hidden_units, self.inputs, self.outputs, self.outputs_recurrent, self.bias)
        if self.net == "unit" and unit != (1, 1, 1, False, "b1"):
            raise ValueError("a single unit is hidden_units: 1, inputs: 1, outputs: 1, outputs_recurrent: false, bias: b1")
        if self.net == "lstm" and self.model != "lstm97":
            raise ValueError(f"an lstm net is the 1997 LSTM (model: lstm97; both gradients are measured), got {self.model!r}")
        for key, default in (("reset_activation", 0.0), ("gate_bias_init", "set"), ("lr_scale", "none")):
            if getattr(self, key) != default:  # the measurement's forward passes read the paper's conventions only
                raise ValueError(f"{key} is not measured by error-flow rows (leave it at {default!r})")
        if self.trained_from:
            if self.net != "lstm":
                raise ValueError("trained_from applies to lstm nets only")
            source = _source_row(self.trained_from)
            if source.task != self.task:
                raise ValueError(f"task must be the trained net's ({source.task!r}), got {self.task!r}")

    def sizes(self) -> tuple[int, int]:
        return net_io(self)

    def n_weights(self) -> int:
        cfg, n_in, n_out = self.net_settings()
        return models.get(cfg.model).n_weights(cfg, n_in, n_out)

    def net_settings(self) -> tuple[BaseRow, int, int]:
        """(settings describing the net, inputs, outputs): this row's, or for a trained net its source row's."""
        if self.trained_from:
            source = _source_row(self.trained_from)
            return source, *TASK_IO[source.task]
        return self, *net_io(self)


def net_io(cfg: ErrorFlowRow) -> tuple[int, int]:
    """(input units, output units) of the row's net."""
    return (cfg.inputs, cfg.outputs) if cfg.task == "noise" else TASK_IO[cfg.task]


@functools.lru_cache(maxsize=None)
def _source_row(name: str):
    """The first faithful row of an experiment (an online 1997 LSTM row): the net a trained row measures."""
    try:
        cfg = experiment(name).rows[0].config
    except ValueError as exc:  # config.SpecError: an unknown experiment
        raise ValueError(f"trained_from: {exc}") from None
    if cfg.model != "lstm97" or getattr(cfg, "task", None) not in TASK_IO:
        raise ValueError(f"trained_from: {name}'s first row is not an online lstm97 row on {' or '.join(TASK_IO)}")
    return cfg


@functools.lru_cache(maxsize=4)
def trained_net(name: str, trial: int, max_sequences: int) -> tuple[dict[str, np.ndarray], dict]:
    """(weights, training record) of a committed trial, retrained by its protocol from the experiment's seed
    (cached: the rows of one process share it)."""
    from cerepro.protocols.online import trial as online  # compiled code: imported when a trial runs

    exp = experiment(name)
    row = exp.rows[0]
    cfg = dataclasses.replace(row.config, max_sequences=min(max_sequences, _source_row(name).max_sequences))
    params: dict = {}
    record = online.run_trial(cfg, exp.seed, row.seed_key, trial, keep_params=params)
    return params, record


def drive(cfg: ErrorFlowRow, rng: np.random.Generator) -> np.ndarray:
    """(L, I) the input sequence, L >= max_lag + 1: noise, or one sequence of the task with T = max_lag + 1."""
    length = cfg.max_lag + 1
    if cfg.task == "noise":
        return cfg.input_noise * rng.uniform(-1.0, 1.0, size=(length, cfg.inputs))
    if cfg.task == "adding":
        batch = adding.generate_adding(rng, 1, T=length)  # lengths T .. T + T/10, markers in the first half
    else:  # 6a: E, distractors with X/Y at the paper's t1, t2 windows, B at the end
        batch = temporal.generate(rng, 1, windows=temporal.WINDOWS_6A, length=(length, length + 10))
    return dense_inputs(batch)[0, : int(batch.lengths[0])]


def unit_weights(cfg: ErrorFlowRow) -> dict[str, np.ndarray]:
    """The single unit: net(t) = -w/2 + x(t) + w y(t-1), w = scale / f'_max (rtrl.py layout [bias | x | y])."""
    w = cfg.scale / ef.F_PRIME_MAX
    return {"W_hid": np.array([[-w / 2.0, 1.0, w]]), "W_out": np.array([[0.0, 0.0, 1.0]])}


def run_trial(cfg: ErrorFlowRow, seed: int, row_key: str, trial: int, progress: Callable[[int], None] | None = None) -> dict:
    """Measure the error flow of one net (one input sequence); return the trial record."""
    start, cpu_start = time.perf_counter(), time.thread_time()
    tseed = seeding.trial_seed(seed, row_key, trial)
    lags = ef.lag_grid(cfg.max_lag, cfg.lag_points)
    x = drive(cfg, seeding.stream(tseed, "input"))
    record: dict = {"trial": trial, "seed": tseed, "sequences": 0, "net": cfg.net, "scale": cfg.scale if cfg.net != "lstm" else None,
                    "input_noise": cfg.input_noise if cfg.task == "noise" else None, "lags": lags.tolist()}
    n_in, n_out = net_io(cfg)
    if cfg.net == "unit":
        params = unit_weights(cfg)
        bias, w_in, w = params["W_hid"][0]
        x[0, 0] -= bias  # the first input lifts net(0) to 0: y(0) = 1/2, the steepest point
        flow = ef.rnn_flow(params, rtrl.architecture(cfg, n_in, n_out), x, lags, unit=0)
        closed = ef.single_unit_closed_form(bias, w_in, w, x[:, 0], lags)
        checks = {"fd_error": flow["fd_error"], "closed_form_error": _closed_form_error(flow["self"], closed)}
        record.update(flow=flow["flow"], bound=flow["bound"])
    elif cfg.net == "recurrent":
        arch = rtrl.architecture(cfg, n_in, n_out)
        params = models.get(cfg.model).build(seeding.stream(tseed, "init"), cfg, n_in, n_out).net.weights()
        W_rec = params["W_hid"][:, 1 + n_in :]  # view: scaled in place
        W_rec *= cfg.scale / (ef.F_PRIME_MAX * ef.weight_norm(W_rec))
        unit = arch.n_hidden if arch.outputs_recurrent else 0  # the first output unit (or hidden unit 0)
        flow = ef.rnn_flow(params, arch, x, lags, unit=unit)
        checks = {"fd_error": flow["fd_error"]}
        record.update(flow=flow["flow"], bound=flow["bound"], weight_norm=ef.weight_norm(W_rec))
    else:
        net_cfg, n_in, n_out = cfg.net_settings()
        if cfg.trained_from:
            params, trained = trained_net(cfg.trained_from, cfg.trained_trial, cfg.max_sequences)
            record["sequences"] = trained["sequences"]
            record["trained"] = {"experiment": cfg.trained_from, "trial": cfg.trained_trial, "seed": trained["seed"],
                                 **{k: trained[k] for k in ("outcome", "sequences", "test_wrong", "test_n")}}
        else:
            params = models.get(cfg.model).build(seeding.stream(tseed, "init"), cfg, n_in, n_out).net.weights()
        flow = ef.lstm_flow(params, lstm97.architecture(net_cfg, n_in, n_out), x, lags)
        checks = {k: flow[k] for k in ("fd_error", "closed_form_error", "cec_error", "truncated_leak")}
        record.update(flow=flow["truncated_cell_input"].max(axis=0), full=flow["full_cell_input"].max(axis=0),
                      leak=flow["full_leak"].max(axis=0), entry=flow["entry"],
                      cells={k: flow[k] for k in flow if k.startswith(ef.LSTM_GRADIENTS)})
    failed = _failed(checks)
    record.update(checks=checks, success=not failed, outcome="checked" if not failed else "check failed",
                  reason="; ".join(failed), length=int(x.shape[0]), wall_s=time.perf_counter() - start,
                  cpu_s=time.thread_time() - cpu_start)
    return _plain(record)


def _closed_form_error(measured: np.ndarray, closed: np.ndarray) -> float:
    """Largest relative deviation where the closed form is a normal float (an underflowed product says nothing)."""
    ok = np.abs(closed) > 1e-290
    return float(np.max(np.abs(measured[ok] - np.abs(closed[ok])) / np.abs(closed[ok]))) if ok.any() else 0.0


CHECK_LIMITS = {"fd_error": FD_TOLERANCE, "closed_form_error": EXACT_TOLERANCE, "cec_error": EXACT_TOLERANCE,
                "truncated_leak": 0.0}  # a check passes if its residual is at most this


def _failed(checks: dict[str, float]) -> list[str]:
    return [f"{k} {v:.3g} > {CHECK_LIMITS[k]:g}" for k, v in checks.items() if not v <= CHECK_LIMITS[k]]


def _plain(value):
    """The record as JSON-ready lists and floats (NaN and infinities: None)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def curve(records: list[dict], key: str) -> np.ndarray:
    """(trials, n_lags) one measured curve of every trial (NaN where a record has none)."""
    return np.array([[np.nan if v is None else v for v in r.get(key) or [None] * len(r["lags"])] for r in records], dtype=float)


def summarize(cfg: ErrorFlowRow, records: list[dict]) -> dict:
    """Table columns: the median over trials of the measured flow at q = 1, 10, 100, 1000 (truncated LSTM: the
    error reaching a cell's input), the paper's bound (conventional nets), the full gradient's cell-input and
    out-of-cell flow (LSTM), and the largest check errors."""
    lags = np.array(records[0]["lags"])
    out: dict = {}
    for key in ("flow", "bound", "full", "leak"):
        values = curve(records, key)
        for q in SUMMARY_LAGS:
            hit = np.flatnonzero(lags == q)
            column = values[:, hit[0]] if hit.size else np.full(len(records), np.nan)
            out[f"{key}_q{q}"] = float(np.median(column)) if not np.isnan(column).all() else float("nan")
    for check in ("fd_error", "closed_form_error", "cec_error"):
        values = [r["checks"][check] for r in records if check in r["checks"]]
        out[f"max_{check}"] = float(max(values)) if values else float("nan")
    return out
