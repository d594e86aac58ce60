"""tools/trace_reber.py: its reading of a trained Table 1 net agrees with the trial's own success test, and it
classes the first wrong step of a string by the grammar's positions."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from cerepro import config, hypotheses
from cerepro.protocols.common import untimed
from cerepro.protocols.reber import trial as reber

TOOL = Path(__file__).resolve().parent.parent / "tools" / "trace_reber.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("trace_reber", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_classes_follow_the_embedded_grammar(tool):
    inputs = "BPBPTVPSEP"  # B P <B P T V P S E> P, read without the final E
    assert tool.classify(inputs, 8) == "long lag"  # after the inner E: the repeated P
    assert tool.classify(inputs, 9) == "final E"
    assert tool.classify(inputs, 6) == "after VP"
    assert tool.classify(inputs, 3) == "after BP"  # the inner P: T or V next (after the outer P: B)
    assert tool.classify(inputs, 1) == "start"


def _trained(cap: int, hypothesis: str | None):
    exp = config.resolve("exp1")
    row = exp.rows[0]  # lstm-4x1-lr0.1
    if hypothesis:
        by_name = {h.name: h for h in hypotheses.load()[0]}
        row = hypotheses.at_spec_scale(hypotheses.hypothesis_row(by_name[hypothesis], row))
    cfg = dataclasses.replace(row.config, max_sequences=cap)
    weights: dict = {}
    record = reber.run_trial(cfg, exp.seed, row.seed_key, 0, keep_params=weights)
    assert untimed(record) == untimed(reber.run_trial(cfg, exp.seed, row.seed_key, 0))  # keep_params changes nothing
    return cfg, exp.seed, record, weights


def test_a_net_that_failed_its_tests_gets_strings_wrong(tool):
    cfg, seed, record, weights = _trained(300, None)
    assert not record["success"]
    n, wrong, example = tool.check_strings(cfg, weights, seed, 0)
    assert n > 250 and sum(wrong.values()) > 0 and example


def test_a_net_that_passed_gets_every_string_right(tool):
    cfg, seed, record, weights = _trained(100_000, "output-layer")  # trial 0 learns after 46,883 strings
    assert record["success"]
    n, wrong, example = tool.check_strings(cfg, weights, seed, 0)
    assert sum(wrong.values()) == 0 and example == ""
