"""Committed trials re-compute identically: a few cheap trials of every protocol and model (tools/recompute.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "recompute.py"


@pytest.mark.slow
def test_committed_trials_recompute_bit_for_bit(capsys):
    spec = importlib.util.spec_from_file_location("recompute", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    status = tool.main(["--max-wall", "0.2"])  # the ALWAYS rows of every protocol and model, and the cheapest others
    out = capsys.readouterr().out
    assert status == 0, out
    assert "0 differ" in out and "DIFF" not in out


def test_error_flow_records_compare_up_to_rounding_and_the_side_of_each_check_limit():
    spec = importlib.util.spec_from_file_location("recompute", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    then = {"flow": [0.16761814827358718, 1.8525501695938093e-172], "checks": {"fd_error": 1.68e-10, "cec_error": 2e-15},
            "outcome": "checked", "success": True, "wall_s": 1.0}
    rounded = {**then, "flow": [0.16761814827358715, 1.8525501695938032e-172], "wall_s": 2.0,
               "checks": {"fd_error": 3.91e-10, "cec_error": 6e-16}}  # residuals are rounding noise: both pass
    assert tool.close(rounded, then)
    assert not tool.close({**rounded, "flow": [0.1676181483, 1.8525501695938032e-172]}, then)  # 1e-10 off: a change
    assert not tool.close({**rounded, "checks": {"fd_error": 2e-6, "cec_error": 6e-16}}, then)  # a check now fails
    assert not tool.close({**rounded, "outcome": "check failed"}, then)
    assert not tool.close({**rounded, "flow": rounded["flow"][:1]}, then)
