"""Experiment specs: YAML files in tasks/ loaded into frozen dataclasses, strictly validated.

A spec names the paper table it reproduces, the protocol that runs it, `defaults` shared by its rows,
the faithful `rows` (each with a `paper` reference into cerepro/paper/tables.yaml) and `variants`: named
deviations that re-run paper rows with some settings changed. Unknown keys, wrong types and impossible
values raise SpecError naming the file and key path, with the closest valid key suggested.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cerepro.protocols import PROTOCOLS
from cerepro.protocols.common import BaseRow, register_experiments

SPEC_DIR = Path(__file__).resolve().parent.parent / "tasks"
HYPOTHESES_FILE = "hypotheses.yaml"  # not an experiment: the hypotheses `cerepro explain` tests (cerepro/hypotheses.py)
TOP_KEYS = ("experiment", "aliases", "title", "paper_table", "protocol", "seed", "description", "defaults", "rows", "variants",
            "baselines")
ROW_KEYS = ("name", "paper")
VARIANT_KEYS = ("name", "description", "rows", "set", "lr_factor")


class SpecError(ValueError):
    """A spec or option that cannot be used; the message is one line, ready for the user."""


@dataclass(frozen=True)
class Row:
    """One row of a results table: a paper row, or a paper row re-run with a named variant."""

    experiment: str
    name: str  # the paper row it reproduces, e.g. "lstm-3x2-lr0.5"
    variant: str  # "paper" for the faithful configuration
    note: str  # what the variant changes
    config: BaseRow
    paper: dict[str, Any] | None  # match criteria into cerepro/paper/tables.yaml

    @property
    def seed_key(self) -> str:
        """Trial seeds depend on the paper row, not the variant: a variant sees the faithful row's data and inits."""
        return f"{self.experiment}/{self.name}"

    def config_hash(self) -> str:
        """Hash of every setting that can change a trial's outcome (the trial count and the paper's cap cannot).

        Settings at their dataclass default are left out, so adding a new setting whose default keeps the old
        behaviour does not invalidate the ledger."""
        settings = {
            f.name: getattr(self.config, f.name)
            for f in dataclasses.fields(self.config)
            if f.name not in ("trials", "chunk", "paper_cap") and getattr(self.config, f.name) != f.default
        }
        blob = json.dumps({"experiment": self.experiment, "row": self.name, **settings}, sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Experiment:
    name: str
    aliases: tuple[str, ...]
    title: str
    paper_table: str
    protocol: str
    seed: int
    description: str
    rows: tuple[Row, ...]  # faithful rows
    variants: tuple[Row, ...]  # variant rows
    baselines: tuple[Row, ...]  # rows of the methods the paper compared with (RTRL, BPTT, ...), variant "baseline"
    source: str
    raw: dict[str, Any]  # the spec as loaded, for `cerepro show`

    def select(self, variants: str | tuple[str, ...] = (), baselines: bool = False) -> tuple[Row, ...]:
        """Faithful rows, the named variants ("all" for every variant), and the baselines if asked."""
        extra = self.baselines if baselines else ()
        if variants == "all":
            return self.rows + self.variants + extra
        known = sorted({v.variant for v in self.variants})
        for name in variants:
            if name not in known:
                raise SpecError(f"unknown variant {name!r} for {self.name}{_hint(name, known) or f'; variants: {chr(44).join(known)}'}")
        return self.rows + tuple(v for v in self.variants if v.variant in variants) + extra


def with_model(rows: tuple[Row, ...], model: str) -> tuple[Row, ...]:
    """Each faithful row again, trained by another model: a variant named `model-<name>` (e.g. --model lstm-forget)."""
    from cerepro.models import MODELS

    if model not in MODELS:
        raise SpecError(f"unknown model {model!r}{_hint(model, MODELS)}; models: {', '.join(MODELS)}")
    out = []
    for row in rows:
        if row.variant != "paper" or row.config.model == model:
            continue
        cfg = dataclasses.replace(row.config, model=model)
        note = f"the faithful row trained by {model}"
        if getattr(cfg, "sequential_construction", False) and model != "lstm97":  # only the 1997 net grows its cell (Exp 2a/2b)
            cfg = dataclasses.replace(cfg, sequential_construction=False)
            note += ", the cell present from the start (no sequential construction)"
        try:
            cfg.validate()
        except ValueError as exc:
            raise SpecError(f"--model {model} on {row.name}: {exc}") from None
        out.append(dataclasses.replace(row, variant=f"model-{model}", note=note, config=cfg))
    return tuple(out)


def _hint(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(mapping: Any, allowed: typing.Iterable[str], where: str) -> None:
    if not isinstance(mapping, dict):
        raise SpecError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            raise SpecError(f"{where}: unknown key {key!r}{_hint(str(key), allowed)}")


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check a YAML value against a dataclass field type; ints are accepted for floats."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SpecError(f"{where}: expected a list, got {value!r}")
        return tuple(_coerce(v, args[0], where) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise SpecError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise SpecError(f"{where}: expected a string, got {value!r}")
        return value
    raise SpecError(f"{where}: unsupported field type {hint}")


def build_config(cls: type, settings: dict[str, Any], where: str) -> BaseRow:
    """Instantiate a protocol's row dataclass from settings, with key, type and value checks."""
    hints = typing.get_type_hints(cls)
    _check_keys(settings, hints, where)
    values = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in settings.items()}
    cfg = cls(**values)
    try:
        cfg.validate()
    except ValueError as exc:
        raise SpecError(f"{where}: {exc}") from None
    return cfg


def load(path: str | Path) -> Experiment:
    """Load and validate one spec file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark else ""
        raise SpecError(f"{path}: not valid YAML{at}") from None
    where = path.name
    _check_keys(raw, TOP_KEYS, where)
    for key in ("experiment", "protocol", "rows"):
        if key not in raw:
            raise SpecError(f"{where}: missing key {key!r}")
    protocol = raw["protocol"]
    if protocol not in PROTOCOLS:
        raise SpecError(f"{where}.protocol: unknown protocol {protocol!r}{_hint(str(protocol), PROTOCOLS)}")
    cls = PROTOCOLS[protocol][1]
    name = str(raw["experiment"])
    defaults = raw.get("defaults") or {}
    build_config(cls, defaults, f"{where}.defaults")  # report bad defaults once, at their own path
    if not isinstance(raw["rows"], list) or not raw["rows"]:
        raise SpecError(f"{where}.rows: expected a non-empty list of rows")
    rows = _rows(raw["rows"], "rows", "paper", name, cls, defaults, where)
    if not isinstance(raw.get("baselines") or [], list):
        raise SpecError(f"{where}.baselines: expected a list of rows")
    baselines = _rows(raw.get("baselines") or [], "baselines", "baseline", name, cls, defaults, where)
    by_name = {r.name: r for r in rows}
    if len(by_name) + len({r.name for r in baselines}) != len(rows) + len(baselines) or set(by_name) & {r.name for r in baselines}:
        raise SpecError(f"{where}: row names must be unique")
    variants: list[Row] = []
    if not isinstance(raw.get("variants") or [], list):
        raise SpecError(f"{where}.variants: expected a list of variants")
    if not isinstance(raw.get("aliases") or [], list):
        raise SpecError(f"{where}.aliases: expected a list of names")
    for i, item in enumerate(raw.get("variants") or []):
        at = f"{where}.variants[{i}]"
        _check_keys(item, VARIANT_KEYS, at)
        if "name" not in item or "set" not in item:
            raise SpecError(f"{at}: a variant needs 'name' and 'set'")
        if item["name"] == "paper":
            raise SpecError(f"{at}.name: 'paper' is reserved for the faithful rows")
        targets = item.get("rows", "all")
        targets = list(by_name) if targets == "all" else targets
        if not isinstance(targets, list):
            raise SpecError(f"{at}.rows: expected 'all' or a list of row names, got {targets!r}")
        if not isinstance(item["set"] or {}, dict):
            raise SpecError(f"{at}.set: expected a mapping of settings, got {item['set']!r}")
        for row_name in targets:
            if row_name not in by_name:
                raise SpecError(f"{at}.rows: unknown row {row_name!r}{_hint(str(row_name), by_name)}")
            base = by_name[row_name]
            settings = {**dataclasses.asdict(base.config), **(item["set"] or {})}
            factor = item.get("lr_factor", 1.0)
            if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
                raise SpecError(f"{at}.lr_factor: expected a positive number, got {factor!r}")
            settings["lr"] = settings["lr"] * factor
            _check_keys(item["set"] or {}, typing.get_type_hints(cls), f"{at}.set")
            cfg = build_config(cls, settings, f"{at}.set")
            variants.append(Row(name, row_name, str(item["name"]), str(item.get("description", "")).strip(), cfg, base.paper))
    seed = raw.get("seed", 1997)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"{where}.seed: expected a non-negative integer, got {seed!r}")
    return Experiment(
        name=name,
        aliases=tuple(raw.get("aliases") or ()),
        title=str(raw.get("title", name)),
        paper_table=str(raw.get("paper_table", "")),
        protocol=protocol,
        seed=seed,
        description=str(raw.get("description", "")).strip(),
        rows=tuple(rows),
        variants=tuple(variants),
        baselines=baselines,
        source=str(path),
        raw=raw,
    )


def _rows(items: list, section: str, variant: str, experiment: str, cls: type, defaults: dict, where: str) -> tuple[Row, ...]:
    rows = []
    for i, item in enumerate(items):
        at = f"{where}.{section}[{i}]"
        _check_keys(item, list(ROW_KEYS) + list(typing.get_type_hints(cls)), at)
        if "name" not in item:
            raise SpecError(f"{at}: missing key 'name'")
        settings = {**defaults, **{k: v for k, v in item.items() if k not in ROW_KEYS}}
        rows.append(Row(experiment, str(item["name"]), variant, "", build_config(cls, settings, at), item.get("paper")))
    return tuple(rows)


def spec_files() -> dict[str, Path]:
    """Experiment name and alias -> spec file, for every spec in tasks/."""
    names: dict[str, Path] = {}
    for path in sorted(SPEC_DIR.glob("*.yaml")):
        if path.name == HYPOTHESES_FILE:
            continue
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name in [raw.get("experiment", path.stem)] + list(raw.get("aliases") or []):
            names[str(name)] = path
    return names


def resolve(name: str) -> Experiment:
    """An experiment by name, alias, or path to a user's YAML file."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return load(name)
    files = spec_files()
    if name not in files:
        raise SpecError(f"unknown experiment {name!r}{_hint(name, files)}; see 'cerepro list'")
    return load(files[name])


def with_overrides(rows: tuple[Row, ...], **overrides: Any) -> tuple[Row, ...]:
    """Rows with command-line overrides (trials, max_sequences) applied and re-validated.

    An override is a value for every row, or a {row name: value} mapping for some rows (all their variants)."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    out = []
    for row in rows:
        mine = {k: v[row.name] if isinstance(v, dict) else v for k, v in overrides.items()
                if not isinstance(v, dict) or row.name in v}
        cfg = dataclasses.replace(row.config, **mine)
        try:
            cfg.validate()
        except ValueError as exc:
            raise SpecError(str(exc)) from None
        out.append(dataclasses.replace(row, config=cfg))
    return tuple(out)


register_experiments(resolve)  # a protocol that measures another experiment's nets looks it up there
