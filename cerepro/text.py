"""Numbers and counts as people read them: the one formatter of tables, reports and terminal lines."""

from __future__ import annotations

import math
import numbers
from typing import Any


def number(value: Any, digits: int = 0) -> str:
    """`1,234.5` style with `digits` decimals; "-" for a missing value (None, NaN, empty)."""
    value = to_float(value)
    return "-" if value is None else f"{value:,.{digits}f}"


def compact(value: Any) -> str:
    """Four significant digits for the protocols' own columns; text as it is, "-" for nothing."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return "-" if value is None else str(value)


def to_float(value: Any) -> float | None:
    """A number read from a table cell, or None if the cell holds none (empty, NaN, text)."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """`1 trial`, `2 trials`, `1,000 sequences` (thousands separated)."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"
