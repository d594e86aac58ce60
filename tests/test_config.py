"""Spec loading: strict keys with did-you-mean, types, impossible values, variants, paper references."""

from __future__ import annotations

import textwrap

import pytest

from cerepro import config, paper
from cerepro.config import SpecError

GOOD = """
experiment: myexp
protocol: reber
defaults: {trials: 2, max_sequences: 100, weight_range: 0.2}
rows:
  - {name: small, blocks: 3, block_size: 2, lr: 0.5, output_gate_bias: [-1, -2, -3]}
variants:
  - {name: legal, description: multi-hot targets, set: {targets: legal}}
  - {name: fast, lr_factor: 2.0, set: {}}
"""


def write(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_good_spec_loads_with_variants(tmp_path):
    exp = config.load(write(tmp_path, GOOD))
    assert [r.name for r in exp.rows] == ["small"]
    assert exp.rows[0].config.output_gate_bias == (-1.0, -2.0, -3.0)
    assert exp.rows[0].config.n_weights() == 276
    legal, fast = exp.variants
    assert legal.config.targets == "legal" and legal.config.lr == 0.5
    assert fast.config.lr == 1.0
    assert legal.seed_key == exp.rows[0].seed_key  # a variant sees the faithful row's data and inits
    assert legal.config_hash() != exp.rows[0].config_hash()


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("lr: 0.5,", "lrr: 0.5,", r"spec.yaml.rows\[0\]: unknown key 'lrr' \(did you mean 'lr'\?\)"),
        ("{trials: 2,", "{trails: 2,", r"spec.yaml.defaults: unknown key 'trails' \(did you mean 'trials'\?\)"),
        ("protocol: reber", "protocol: rebr", r"spec.yaml.protocol: unknown protocol 'rebr' \(did you mean 'reber'\?\)"),
        ("blocks: 3,", "blocks: three,", r"spec.yaml.rows\[0\].blocks: expected an integer, got 'three'"),
        ("blocks: 3,", "blocks: 0,", r"blocks must be at least 1, got 0"),
        ("lr: 0.5,", "lr: -0.5,", r"lr must be positive"),
        ("[-1, -2, -3]", "[-1, -2]", r"output_gate_bias needs one value per block \(3\), got 2"),
        ("targets: legal", "targets: multi", r"targets must be one of one-hot, legal; got 'multi'"),
        ("set: {targets: legal}", "set: {target: legal}", r"unknown key 'target' \(did you mean 'targets'\?\)"),
        ("max_sequences: 100", "max_sequences: true", r"expected an integer, got True"),
    ],
)
def test_bad_specs_name_the_key(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(SpecError, match=message):
        config.load(write(tmp_path, GOOD.replace(old, new)))


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        config.load(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match=r"not valid YAML \(line \d+\)"):
        config.load(write(tmp_path, "rows: [a, b\nexperiment: x"))
    with pytest.raises(SpecError, match="expected a mapping"):
        config.load(write(tmp_path, "- just\n- a list\n"))


def test_unknown_experiment_gets_a_hint():
    with pytest.raises(SpecError, match=r"unknown experiment 'rebr' \(did you mean 'reber'\?\)"):
        config.resolve("rebr")


def test_every_shipped_spec_loads_and_its_paper_references_resolve():
    from cerepro import catalog

    for path in catalog.experiments():
        exp = config.load(path)
        for row in exp.rows + exp.variants + exp.baselines:
            if row.paper is not None:
                assert paper.find(row.paper) is not None, (path.name, row.name, row.paper)


def test_exp1_rows_have_the_papers_weight_counts_and_protocol():
    exp = config.resolve("reber")
    assert exp.name == "exp1" and config.resolve("exp1").rows == exp.rows
    counts = {r.name: r.config.n_weights() for r in exp.rows}
    assert counts == {"lstm-4x1-lr0.1": 264, "lstm-3x2-lr0.1": 276, "lstm-3x2-lr0.2": 276, "lstm-4x1-lr0.5": 264, "lstm-3x2-lr0.5": 276}
    for row in exp.rows:
        assert (row.config.trials, row.config.max_sequences, row.config.weight_range) == (30, 100_000, 0.2)
        ref = paper.find(row.paper)
        assert ref["settings"]["lr"] == row.config.lr and ref["settings"]["weights"] == row.config.n_weights()


@pytest.mark.parametrize("text", ["1e-3", "1E-3", "1.5e+2", ".5", "5.", "1e308", "2"])
def test_numbers_as_people_write_them_are_numbers(tmp_path, text):
    exp = config.load(write(tmp_path, GOOD.replace("weight_range: 0.2", f"weight_range: {text}")))
    assert exp.rows[0].config.weight_range == float(text)
    if text != "1e308":  # a variant doubles lr: 2e308 is not a finite number
        assert config.load(write(tmp_path, GOOD.replace("lr: 0.5,", f"lr: {text},"))).rows[0].config.lr == float(text)


def test_whole_numbers_in_float_notation_are_accepted_for_counts(tmp_path):
    exp = config.load(write(tmp_path, GOOD.replace("max_sequences: 100", "max_sequences: 1e5")))
    assert exp.rows[0].config.max_sequences == 100_000 and isinstance(exp.rows[0].config.max_sequences, int)
    with pytest.raises(SpecError, match=r"defaults.max_sequences: expected an integer, got 100.5"):
        config.load(write(tmp_path, GOOD.replace("max_sequences: 100", "max_sequences: 100.5")))


@pytest.mark.parametrize("text", [".inf", "-.inf", ".nan", ".NaN", "1e999", "-1e400"])
def test_non_finite_numbers_are_rejected_with_the_key(tmp_path, text):
    with pytest.raises(SpecError, match=r"spec.yaml.rows\[0\].lr: expected a finite number"):
        config.load(write(tmp_path, GOOD.replace("lr: 0.5,", f"lr: {text},")))
    with pytest.raises(SpecError, match=r"lr_factor: expected a positive number"):
        config.load(write(tmp_path, GOOD.replace("lr_factor: 2.0", f"lr_factor: {text}")))


@pytest.mark.parametrize("old,new,message", [
    ("experiment: myexp\n", "experiment: myexp\nexperiment: other\n", r"spec.yaml: key 'experiment' given twice \(line 3\)"),
    ("{name: small,", "{name: small, lr: 0.1,", r"spec.yaml.rows\[0\]: key 'lr' given twice"),
    ("{trials: 2,", "{trials: 2, trials: 3,", r"spec.yaml.defaults: key 'trials' given twice"),
])
def test_duplicate_keys_are_rejected_with_their_path(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(SpecError, match=message):
        config.load(write(tmp_path, GOOD.replace(old, new)))


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_an_empty_file_says_so(tmp_path, text):
    with pytest.raises(SpecError, match=r"spec.yaml: the file is empty; a spec is a mapping with experiment, protocol and rows"):
        config.load(write(tmp_path, text))


@pytest.mark.parametrize("old,new,message", [
    ("{trials: 2,", "{trials: 10001,", r"defaults.trials: 10,001 is more than the limit of 10,000 trials per row"),
    ("max_sequences: 100", "max_sequences: 1000000001",
     r"defaults.max_sequences: 1,000,000,001 is more than the limit of 1,000,000,000 max sequences per row"),
])
def test_trials_and_caps_are_bounded_in_the_spec(tmp_path, old, new, message):
    with pytest.raises(SpecError, match=message):
        config.load(write(tmp_path, GOOD.replace(old, new)))


def test_names_come_from_the_top_of_each_file_and_every_experiment_is_listed_once():
    from cerepro import catalog

    files = catalog.spec_files()
    assert files["reber"] == files["exp1"] and files["adding"] == files["exp4"]
    names = [catalog.outline(p).name for p in catalog.experiments()]
    assert names == sorted(set(names)) and "exp1" in names and len(names) == len(set(files.values()))


def test_show_prints_the_settings_of_the_rows_model_and_all_of_them_with_all():
    from click.testing import CliRunner

    import yaml

    from cerepro import cli

    rows = yaml.safe_load(CliRunner().invoke(cli.main, ["show", "exp4"]).output)["rows"]
    lstm = rows[0]
    assert lstm["model"] == "lstm97" and "output_gate_bias" in lstm and "task" in lstm and "lr" in lstm
    assert not {"forget_gate", "state_decay", "hidden_units", "outputs_recurrent"} & set(lstm)
    everything = yaml.safe_load(CliRunner().invoke(cli.main, ["show", "exp4", "--all"]).output)["rows"][0]
    assert {"forget_gate", "hidden_units"} <= set(everything) and set(lstm) < set(everything)
    rtrl = next(r for r in yaml.safe_load(CliRunner().invoke(cli.main, ["show", "exp1"]).output)["rows"] if r["model"] == "rtrl")
    assert "hidden_units" in rtrl and "blocks" not in rtrl and "output_gate_bias" not in rtrl


def test_make_all_experiments_runs_every_shipped_experiment():
    from pathlib import Path

    from cerepro import catalog

    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    line = next(l for l in makefile.splitlines() if l.startswith("EXPERIMENTS :="))
    assert sorted(line.split(":=")[1].split()) == sorted(catalog.outline(p).name for p in catalog.experiments())
