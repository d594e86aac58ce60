"""Which experiments exist: the spec files of tasks/, their names and aliases, and light outlines of them.

Names are read from the top-level keys of each file without building its rows, and an outline (what `list`
and `compare` show) without importing any model or protocol, so these commands start fast.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from cerepro.specfile import SpecError, SpecLoader, check_keys, hint, read

HYPOTHESES_FILE = "hypotheses.yaml"  # in tasks/ but not an experiment: the hypotheses `cerepro explain` tests
TOP_KEYS = ("experiment", "aliases", "title", "paper_table", "protocol", "seed", "description", "defaults", "rows", "variants",
            "baselines")


def _spec_dir() -> Path:
    """tasks/ of the checkout; in an installed wheel the same files ship as the package data cerepro/specs."""
    packaged = Path(str(resources.files("cerepro") / "specs"))
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "tasks"


SPEC_DIR = _spec_dir()


class Outline(NamedTuple):
    """What `list` and `compare` need of a spec, read from its YAML without building (or importing) any model."""

    name: str
    aliases: tuple[str, ...]
    title: str
    paper_table: str
    seed: int
    rows: tuple[tuple[str, str, Any], ...]  # faithful rows: (name, model, paper reference)
    baselines: tuple[tuple[str, str, Any], ...]
    variants: tuple[str, ...]  # variant names
    description: str
    path: Path
    protocol: str  # the trial loop that runs it (cerepro/protocols)


def outline(path: Path) -> Outline:
    """The outline of one spec file (SpecError if its YAML, or the shape of its rows, is wrong)."""
    raw = read(path)
    check_keys(raw, TOP_KEYS, path.name)
    for key in ("rows", "baselines", "variants", "aliases"):
        if not isinstance(raw.get(key) or [], list):
            raise SpecError(f"{path.name}.{key}: expected a list, got {raw[key]!r}")
    defaults = raw.get("defaults") if isinstance(raw.get("defaults"), dict) else {}

    def entries(section: str) -> tuple[tuple[str, str, Any], ...]:
        items = raw.get(section) or []
        if not isinstance(items, list) or not all(isinstance(i, dict) and "name" in i for i in items):
            raise SpecError(f"{path.name}.{section}: expected a list of rows, each with a name")
        return tuple((str(i["name"]), str(i.get("model", defaults.get("model", ""))) or _default_model(raw), i.get("paper"))
                     for i in items)

    variants = [str(v.get("name")) for v in raw.get("variants") or [] if isinstance(v, dict)]
    return Outline(str(raw.get("experiment", path.stem)), tuple(str(a) for a in raw.get("aliases") or ()),
                   str(raw.get("title", path.stem)), str(raw.get("paper_table", "")), raw.get("seed", 1997),
                   entries("rows"), entries("baselines"), tuple(dict.fromkeys(variants)),
                   str(raw.get("description", "")).strip(), path, str(raw.get("protocol", "")))


def find(name: str) -> Outline:
    """The outline of an experiment by name, alias, or path to a user's YAML file."""
    return outline(resolve_path(name))


def _default_model(raw: dict) -> str:
    """The protocol's default model, for a spec that names none (the slow path: imports the protocols' registry)."""
    return protocol_class(raw.get("protocol"), "protocol").model


def protocol_class(protocol: str, where: str) -> type:
    """The row dataclass of a protocol (importing the protocols' registry; their kernels load when a trial runs)."""
    from cerepro.protocols import PROTOCOLS

    if not isinstance(protocol, str) or protocol not in PROTOCOLS:
        known = ", ".join(PROTOCOLS)
        raise SpecError(f"{where}: unknown protocol {protocol!r}{hint(str(protocol), PROTOCOLS)}; protocols: {known}")
    return PROTOCOLS[protocol].row


@lru_cache(maxsize=1)
def spec_files() -> dict[str, Path]:
    """Experiment name and alias -> spec file, for every spec in tasks/ (their top-level names only are read)."""
    names: dict[str, Path] = {}
    for path in sorted(SPEC_DIR.glob("*.yaml")):
        if path.name == HYPOTHESES_FILE:
            continue
        for name in _names(path):
            names.setdefault(name, path)
    return names


def _names(path: Path) -> list[str]:
    """`experiment` and `aliases` of a spec file, from its parse events up to those keys; the stem if it has none."""
    found: dict[str, Any] = {}
    depth, key, value_next, items = 0, None, False, None
    try:
        for event in yaml.parse(path.read_text(encoding="utf-8"), Loader=SpecLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                items = [] if depth == 2 and key == "aliases" else items
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
                if depth == 1:
                    found.setdefault(key, items)
                    value_next, items = False, None
            elif isinstance(event, yaml.ScalarEvent) and depth == 1:
                if value_next:
                    found[key], value_next = event.value, False
                else:
                    key, value_next = event.value, True
            elif isinstance(event, yaml.ScalarEvent) and depth == 2 and items is not None:
                items.append(event.value)
            if "experiment" in found and "aliases" in found:
                break
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        pass  # loading the file will say what is wrong with it
    return [str(found.get("experiment") or path.stem)] + [str(a) for a in found.get("aliases") or []]


def experiments() -> list[Path]:
    """Every shipped spec file once (aliases folded), by experiment name."""
    return sorted(set(spec_files().values()), key=lambda p: _names(p)[0])


def resolve_path(name: str) -> Path:
    """The spec file of an experiment name, alias, or path to a user's YAML file."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return Path(name)
    files = spec_files()
    if name not in files:
        raise SpecError(f"unknown experiment {name!r}{hint(name, files)}; see 'cerepro list'")
    return files[name]
