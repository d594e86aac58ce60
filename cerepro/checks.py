"""Value checks of row settings: each raises a one-line ValueError that names the key (config adds the path)."""

from __future__ import annotations

from typing import Any, Iterable


def at_least(obj: Any, minimum: int, *keys: str) -> None:
    for key in keys:
        if getattr(obj, key) < minimum:
            raise ValueError(f"{key} must be at least {minimum}, got {getattr(obj, key)}")


def positive(obj: Any, *keys: str) -> None:
    for key in keys:
        if not getattr(obj, key) > 0:
            raise ValueError(f"{key} must be positive, got {getattr(obj, key)}")


def one_of(obj: Any, key: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if getattr(obj, key) not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {getattr(obj, key)!r}")


def within(obj: Any, key: str, low: float, high: float, low_open: bool = True) -> None:
    """low < value <= high (low <= value <= high if not low_open)."""
    value = getattr(obj, key)
    if not ((low < value) if low_open else (low <= value)) or not value <= high:
        raise ValueError(f"{key} must be in {'(' if low_open else '['}{low:g}, {high:g}], got {value}")
