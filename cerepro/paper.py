"""The paper's own numbers (cerepro/paper/tables.yaml, the machine-readable tables of the paper).

Used only for the "paper" columns of our tables, never as a target.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from cerepro.specfile import SpecLoader


@lru_cache(maxsize=1)
def paper_rows() -> tuple[dict[str, Any], ...]:
    text = resources.files("cerepro").joinpath("paper/tables.yaml").read_text(encoding="utf-8")
    return tuple(yaml.load(text, Loader=SpecLoader)["rows"])  # noqa: S506 - SpecLoader is a SafeLoader


def _value(row: dict[str, Any], key: str) -> Any:
    if key in row:
        return row[key]
    return (row.get("settings") or {}).get(key)


def find(match: dict[str, Any]) -> dict[str, Any] | None:
    """The one paper row whose fields (or settings) equal every item of `match`; None if there is none."""
    hits = [r for r in paper_rows() if all(str(_value(r, k)) == str(v) for k, v in match.items())]
    if len(hits) > 1:
        raise ValueError(f"paper reference {match} matches {len(hits)} rows; make it more specific")
    return hits[0] if hits else None


def number(value: Any) -> float | None:
    """A paper number as float; None for text such as 'some fraction' or '>200,000'."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
