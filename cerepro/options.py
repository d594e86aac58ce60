"""Click parameter types of the command line: counts for every row or per row, and finite numbers."""

from __future__ import annotations

import math

import click


class Finite(click.FloatRange):
    """A float in a range, never NaN or infinite."""

    def convert(self, value, param, ctx):  # noqa: D102 - click's hook
        value = super().convert(value, param, ctx)
        if not math.isfinite(value):
            self.fail(f"{value} is not a finite number", param, ctx)
        return value


class PerRowCount(click.ParamType):
    """A positive integer for every row ("200000"), or per row ("lstm-p100=200000,rtrl-p10-lr1=1000000")."""

    name = "N|ROW=N,..."

    def convert(self, value, param, ctx):  # noqa: D102 - click's hook
        if isinstance(value, (int, dict)):
            return value
        text = str(value).strip()
        if "=" not in text:
            return self._positive(text, param, ctx)
        counts = {}
        for item in text.split(","):
            row, sep, number = item.partition("=")
            if not sep or not row.strip():
                self.fail(f"{item!r} is not ROW=N", param, ctx)
            counts[row.strip()] = self._positive(number, param, ctx)
        return counts

    def _positive(self, text: str, param, ctx) -> int:
        if not text.strip().isdigit() or int(text) < 1:
            self.fail(f"{text!r} is not a positive integer", param, ctx)
        return int(text)
