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
