"""Reading spec files: YAML as a person writes it, checked before anything is built from it.

Numbers follow YAML 1.2 (`1e-3`, `1E-3`, `1.5e+2`, `.5`, `5.` are floats; PyYAML's YAML 1.1 resolver reads
them as strings), a key given twice in one mapping is an error naming its path, and non-finite numbers
(`.inf`, `.nan`, `1e999`) are rejected wherever a number is expected. Errors are SpecError: one line, the
file and the key path, the closest valid key suggested.
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, Iterable

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecError(ValueError):
    """A spec or option that cannot be used; the message is one line, ready for the user."""


class SpecLoader(_Loader):  # type: ignore[misc, valid-type]
    """SafeLoader with the YAML 1.2 core schema's floats."""


FLOAT_12 = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?
                           |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
                           |[-+]?\.(?:inf|Inf|INF)
                           |\.(?:nan|NaN|NAN))$""", re.X)
SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
SpecLoader.add_implicit_resolver("tag:yaml.org,2002:float", FLOAT_12, list("-+0123456789."))
for _first in list("-+0123456789."):  # floats are tried before ints, as in PyYAML: "1e3" is a float, "13" an int
    _list = SpecLoader.yaml_implicit_resolvers[_first]
    _list.insert(0, _list.pop())


def hint(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read(path: Path) -> Any:
    """The YAML document in `path`; SpecError for a missing, unreadable, invalid or empty file, and for a key
    given twice in one mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from None
    loader = SpecLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError(f"{path}: the file is empty; a spec is a mapping with experiment, protocol and rows")
        _check_duplicates(node, path.name)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark else ""
        raise SpecError(f"{path}: not valid YAML{at}") from None
    finally:
        loader.dispose()


def _check_duplicates(node: yaml.Node, where: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            if name in seen:
                raise SpecError(f"{where}: key {name!r} given twice (line {key.start_mark.line + 1})")
            seen.add(name)
            _check_duplicates(value, f"{where}.{name}")
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicates(item, f"{where}[{i}]")


def check_keys(mapping: Any, allowed: Iterable[str], where: str) -> None:
    """SpecError unless `mapping` is a mapping whose keys are all in `allowed`."""
    if not isinstance(mapping, dict):
        got = "nothing" if mapping is None else f"{type(mapping).__name__} {mapping!r}"
        raise SpecError(f"{where}: expected a mapping, got {got}")
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            raise SpecError(f"{where}: unknown key {key!r}{hint(str(key), allowed)}")


def coerce(value: Any, hint_type: Any, where: str) -> Any:
    """A YAML value checked against a dataclass field type. Ints are accepted for floats, whole floats
    (`1e6`) for ints; non-finite numbers nowhere."""
    origin, args = typing.get_origin(hint_type), typing.get_args(hint_type)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return coerce(value, [a for a in args if a is not type(None)][0], where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SpecError(f"{where}: expected a list, got {value!r}")
        return tuple(coerce(v, args[0], where) for v in value)
    if hint_type is bool:
        if not isinstance(value, bool):
            raise SpecError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint_type is str:
        if not isinstance(value, str):
            raise SpecError(f"{where}: expected a string, got {value!r}")
        return value
    if hint_type not in (int, float):
        raise SpecError(f"{where}: unsupported field type {hint_type}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{where}: expected {'an integer' if hint_type is int else 'a number'}, got {value!r}")
    if not math.isfinite(value):
        raise SpecError(f"{where}: expected a finite number, got {value!r}")
    if hint_type is int:
        if isinstance(value, float) and not value.is_integer():
            raise SpecError(f"{where}: expected an integer, got {value!r}")
        return int(value)
    return float(value)
