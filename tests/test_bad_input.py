"""Bad input never gives a traceback: property-based tests throw malformed specs and options at the CLI."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cerepro import cli
from cerepro.protocols.reber import trial as proto

VALID = {
    "experiment": "mine",
    "protocol": "reber",
    "defaults": {"trials": 1, "max_sequences": 5, "weight_range": 0.2},
    "rows": [{"name": "r", "blocks": 2, "block_size": 1, "lr": 0.5, "output_gate_bias": [-1, -2]}],
}
KEYS = ["experiment", "protocol", "defaults", "rows", "variants", "trials", "lr", "blocks", "block_size", "targets",
        "max_sequences", "output_gate_bias", "set", "name", "bogus", "weight_range", "update", "seed"]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.sampled_from(KEYS), st.integers(-2, 2), max_size=2),
)


@st.composite
def mutated_specs(draw):
    """VALID with one to three random edits at random depths."""
    spec = yaml.safe_load(yaml.safe_dump(VALID))
    for _ in range(draw(st.integers(1, 3))):
        rows = spec.get("rows")
        first_row = rows[0] if isinstance(rows, list) and rows else None
        containers = [spec] + [c for c in (spec.get("defaults"), first_row) if isinstance(c, dict)]
        target = draw(st.sampled_from(containers))
        key = draw(st.sampled_from(KEYS))
        if draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = draw(VALUES)
    return spec


def run_cli(args, tmp_path, last=()):
    """Invoke with a fresh --out per call and tiny budgets; `last` comes last, so its values win."""
    out = Path(tempfile.mkdtemp(dir=tmp_path)) / "out"
    result = CliRunner().invoke(cli.main, [*args, "--out", str(out), "--workers", "1", "--trials", "1",
                                           "--max-sequences", "5", *last])
    return result, out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=mutated_specs())
def test_malformed_specs_exit_2_with_one_line_and_write_nothing(tmp_path, spec):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    result, out = run_cli(["run", str(path)], tmp_path)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if result.exit_code == 0:
        return  # the edit happened to leave a valid spec
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert not list(out.glob("*.csv")) if out.exists() else True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(["--trials", "--seed", "--workers", "--max-sequences"]),
       value=st.one_of(st.integers(-10**6, 0).map(str), st.text(min_size=1, max_size=5).filter(lambda s: not s.strip().isdigit())))
def test_bad_option_values_exit_2(tmp_path, option, value):
    try:
        if option == "--seed" and int(value) >= 0:
            return  # "-0" and friends are a valid seed
    except ValueError:
        pass
    result, out = run_cli(["run", "reber"], tmp_path, last=(option, value))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not list(out.glob("*.csv"))


def test_not_yaml_and_missing_files_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rows: [unclosed\n")
    for args in (["run", str(bad)], ["run", str(tmp_path / "missing.yaml")], ["show", str(bad)]):
        result = CliRunner().invoke(cli.main, args)
        assert result.exit_code == 2 and result.output.startswith("Error: ") and "Traceback" not in result.output


def test_too_many_workers_is_an_error(tmp_path):
    result, _ = run_cli(["run", "reber"], tmp_path)  # sanity: --workers 1 is fine
    assert result.exit_code == 0
    result = CliRunner().invoke(cli.main, ["run", "reber", "--workers", "100000", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--workers" in result.output


def test_a_diverging_trial_is_recorded_as_failed_with_its_reason(monkeypatch):
    """A net whose weights blow up (here: one weight NaN from the start, as after an overflow) stops at once and says why."""
    from cerepro.models import lstm97

    real_init = lstm97.init

    def exploding_init(rng, arch, spec):
        params = real_init(rng, arch, spec)
        params["W_hid"][0, 1] = np.nan  # as an overflow (inf - inf) would leave it
        return params

    monkeypatch.setattr(lstm97, "init", exploding_init)
    cfg = proto.ReberRow(blocks=2, block_size=1, weight_range=0.2, lr=0.1, max_sequences=200, chunk=50)
    record = proto.run_trial(cfg, 1, "exp1/diverge", 0)
    assert record["outcome"] == "diverged" and not record["success"]
    assert "NaN" in record["reason"] and record["sequences"] < 200


def test_sections_of_the_wrong_shape_exit_2(tmp_path):
    for key, value in (("variants", True), ("variants", [{"name": "a", "set": {}, "rows": 3}]),
                       ("variants", [{"name": "a", "set": 5}]), ("aliases", 7), ("rows", {"name": "r"})):
        spec = {**VALID, key: value}
        path = tmp_path / f"{key}.yaml"
        path.write_text(yaml.safe_dump(spec))
        result, _ = run_cli(["run", str(path)], tmp_path)
        assert result.exit_code == 2 and result.output.startswith("Error: "), (key, value, result.output)


@pytest.mark.parametrize("args,message", [
    (["--trials", "10000000000"], "Error: --trials: 10,000,000,000 is more than the limit of 10,000 trials per row"),
    (["--trials", "lstm-2x2=20000"], "Error: --trials: 20,000 is more than the limit of 10,000 trials per row"),
    (["--max-sequences", "2000000000"], "Error: --max-sequences: 2,000,000,000 is more than the limit of 1,000,000,000"),
    (["--workers", "1000"], "Error: --workers 1000 is more than makes sense"),
    (["--rows", ","], "Error: --rows: no names given"),
    (["--variants", ","], "Error: --variants: no names given"),
    (["--rows", "nope"], "Error: unknown row 'nope' of exp6a; rows: lstm-2x2"),
    (["--trials", "0"], "Error: Invalid value for '--trials': '0' is not a positive integer (see 'cerepro run --help')"),
    (["--bogus"], "Error: No such option '--bogus'"),
])
def test_bad_run_options_exit_2_at_once_with_one_line_and_create_nothing(tmp_path, args, message):
    import time

    out = tmp_path / "out"
    started = time.perf_counter()
    result = CliRunner().invoke(cli.main, ["run", "exp6a", *args, "--out", str(out)])
    assert time.perf_counter() - started < 30  # no list of ten billion trials is built
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message) and len(result.output.splitlines()) == 1, result.output
    assert not out.exists()


def test_an_empty_spec_file_says_so(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    result = CliRunner().invoke(cli.main, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output == f"Error: {path}: the file is empty; a spec is a mapping with experiment, protocol and rows\n"


def test_bench_with_no_matching_net_exits_2_naming_the_nets():
    result = CliRunner().invoke(cli.main, ["bench", "--only", "zzz"])
    assert result.exit_code == 2 and result.output.startswith("Error: --only 'zzz' matches no case of --part kernels, rows, lanes; cases: ")
    assert "lstm97 adding T=100" in result.output and "lstm97 adding exp4 lstm-T100" in result.output
    result = CliRunner().invoke(cli.main, ["bench", "--only", "exp4", "--part", "kernels"])  # rows have exp4, kernels not
    assert result.exit_code == 2 and result.output.startswith("Error: --only 'exp4' matches no case of --part kernels; ")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_non_finite_numbers_are_rejected_on_the_command_line(value):
    result = CliRunner().invoke(cli.main, ["bench", "--seconds", value, "--only", "adding"])
    assert result.exit_code == 2 and result.output.startswith("Error: Invalid value for '--seconds'"), result.output


def test_one_row_one_worker_in_the_singular(tmp_path):
    result = CliRunner().invoke(cli.main, ["run", "exp6a", "--trials", "1", "--max-sequences", "20", "--workers", "1",
                                           "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert ": 1 row, seed 1997, 1 worker" in result.output and "1 trial in " in result.output
