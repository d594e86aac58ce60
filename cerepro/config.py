"""Experiment specs: the YAML files of tasks/ loaded into frozen dataclasses, strictly validated.

A spec names the paper table it reproduces, the protocol that runs it, `defaults` shared by its rows, the
faithful `rows` (each with a `paper` reference into cerepro/paper/tables.yaml), `variants` (named deviations
that re-run paper rows with some settings changed) and `baselines` (the methods the paper compared with).
Reading the YAML is specfile.py's job; what a command runs is planned by plan.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cerepro import catalog
from cerepro.catalog import HYPOTHESES_FILE, SPEC_DIR, TOP_KEYS  # noqa: F401 - where the shipped files are
from cerepro.specfile import SpecError, check_keys, coerce, hint, read

if TYPE_CHECKING:
    from cerepro.protocols.common import BaseRow

ROW_KEYS = ("name", "paper")
VARIANT_KEYS = ("name", "description", "rows", "set", "lr_factor")
# Bounds on what one row may ask for, from the YAML or the command line: 10,000 trials is 300x the paper's
# largest row; 10^9 sequences is 100x its largest cap (10^7) and days of compute for one trial.
LIMITS = {"trials": 10_000, "max_sequences": 1_000_000_000}
UNHASHED = ("trials", "chunk", "paper_cap")  # settings that cannot change a trial's outcome


@dataclass(frozen=True)
class Row:
    """One row of a results table: a paper row, or a paper row re-run with a named variant."""

    experiment: str
    name: str  # the paper row it reproduces, e.g. "lstm-3x2-lr0.5"
    variant: str  # "paper" for the faithful configuration
    note: str  # what the variant changes
    config: BaseRow
    paper: dict[str, Any] | None  # match criteria into cerepro/paper/tables.yaml
    spec: BaseRow | None = None  # the settings as the spec has them, before --trials/--max-sequences (None: `config`)
    skip: frozenset[int] = frozenset()  # trials a run leaves out: final in the ledger at another cap (explain --scale bound)

    def to_run(self, done: set[int] | dict[int, Any]) -> list[int]:
        """The trials a run of this row computes: those of range(trials) not `done` and not skipped."""
        return [t for t in range(self.config.trials) if t not in done and t not in self.skip]

    @property
    def seed_key(self) -> str:
        """Trial seeds depend on the paper row, not the variant: a variant sees the faithful row's data and inits."""
        return f"{self.experiment}/{self.name}"

    @property
    def key(self) -> tuple[str, str]:
        return self.name, self.variant

    def config_hash(self) -> str:
        """Hash of every setting that can change a trial's outcome (the trial count and the paper's cap cannot).

        Settings at their dataclass default are left out, so adding a new setting whose default keeps the old
        behaviour does not invalidate the ledger."""
        settings = {k: v for k, v in settings_of(self.config).items() if k not in UNHASHED}
        blob = json.dumps({"experiment": self.experiment, "row": self.name, **settings}, sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def reduced(self, trials_done: int) -> bool:
        """Fewer trials or a lower cap than the spec asks for, or a lower cap than the paper's that the spec names."""
        cfg, spec = self.config, self.spec or self.config
        return (trials_done < spec.trials or cfg.max_sequences < spec.max_sequences
                or (cfg.paper_cap is not None and cfg.max_sequences < cfg.paper_cap))


def settings_of(cfg: BaseRow) -> dict[str, Any]:
    """The settings of a row that differ from their dataclass default (what the config hash and the ledger keep)."""
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if getattr(cfg, f.name) != f.default}


def shown_settings(cfg: BaseRow, show_all: bool = False) -> dict[str, Any]:
    """A row's settings as plain YAML values: all of them, or (default) without those only other models read."""
    from cerepro.models import MODELS, settings_for_model

    names = [f.name for f in dataclasses.fields(cfg)]
    if not show_all:
        others = {s for m in MODELS if m != cfg.model for s in settings_for_model(m)} - set(settings_for_model(cfg.model))
        names = [n for n in names if n not in others]
    return {n: list(getattr(cfg, n)) if isinstance(getattr(cfg, n), tuple) else getattr(cfg, n) for n in names}


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

    @property
    def heading(self) -> str:
        """The title of its tables: "<title> (paper Table <n>)"."""
        return f"{self.title} (paper Table {self.paper_table})" if self.paper_table else self.title

    def spec_rows(self) -> tuple[Row, ...]:
        """Every row the spec defines, in table order: faithful rows, variants, baselines."""
        return self.rows + self.variants + self.baselines

    def variant_names(self) -> list[str]:
        return list(dict.fromkeys(v.variant for v in self.variants))

    def select(self, variants: str | tuple[str, ...] = (), baselines: bool = False) -> tuple[Row, ...]:
        """Faithful rows, the named variants ("all" for every variant), and the baselines if asked."""
        known = self.variant_names()
        for name in variants if variants != "all" else ():
            if name not in known:
                listing = f"; variants: {', '.join(known)}" if known else f"; {self.name} has no variants"
                raise SpecError(f"unknown variant {name!r} for {self.name}{hint(name, known) or listing}")
        chosen = [v for v in self.variants if variants == "all" or v.variant in variants]
        return self.rows + tuple(chosen) + (self.baselines if baselines else ())

    def spec_row(self, name: str, variant: str) -> Row | None:
        """The spec's own row (name, variant), including `model-<name>` rows (`--model`); None if it has none."""
        for row in self.spec_rows():
            if row.key == (name, variant):
                return row
        model = variant.removeprefix("model-")
        faithful = [r for r in self.rows if r.name == name]
        if variant.startswith("model-") and faithful:
            try:
                return next(iter(with_model(tuple(faithful), model)), None)
            except SpecError:
                return None
        return None


def with_model(rows: tuple[Row, ...], model: str) -> tuple[Row, ...]:
    """Each faithful row again, trained by another model: a variant named `model-<name>` (e.g. --model lstm-forget)."""
    from cerepro.models import MODELS

    if model not in MODELS:
        raise SpecError(f"unknown model {model!r}{hint(model, MODELS)}; models: {', '.join(MODELS)}")
    out = []
    for row in rows:
        if row.variant != "paper" or row.config.model == model:
            continue
        cfg = dataclasses.replace(row.config, model=model)
        note = f"the faithful row trained by {model}"
        if getattr(cfg, "sequential_construction", False) and model != "lstm97":  # only the 1997 net grows its cell (Exp 2a/2b)
            cfg = dataclasses.replace(cfg, sequential_construction=False)
            note += ", the cell present from the start (no sequential construction)"
        cfg = _valid(cfg, f"--model {model} on {row.name}")
        out.append(dataclasses.replace(row, variant=f"model-{model}", note=note, config=cfg))
    return tuple(out)


def with_overrides(rows: tuple[Row, ...], **overrides: Any) -> tuple[Row, ...]:
    """Rows with command-line overrides (trials, max_sequences) applied and re-validated; each keeps the spec's
    settings as `spec`. An override is a value for every row, or a {row name: value} mapping for some rows."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    out = []
    for row in rows:
        mine = {k: v[row.name] if isinstance(v, dict) else v for k, v in overrides.items()
                if not isinstance(v, dict) or row.name in v}
        for key, value in mine.items():
            _check_limit(key, value, f"--{key.replace('_', '-')}")
        out.append(dataclasses.replace(row, config=_valid(dataclasses.replace(row.config, **mine), ""),
                                       spec=row.spec or row.config))
    return tuple(out)


def _valid(cfg: BaseRow, where: str) -> BaseRow:
    try:
        cfg.validate()
    except ValueError as exc:
        raise SpecError(f"{where}: {exc}" if where else str(exc)) from None
    return cfg


def _check_limit(key: str, value: Any, where: str) -> None:
    if key in LIMITS and isinstance(value, int) and value > LIMITS[key]:
        raise SpecError(f"{where}: {value:,} is more than the limit of {LIMITS[key]:,} {key.replace('_', ' ')} per row")


def protocol_class(protocol: str, where: str) -> type:
    """The row dataclass of a protocol (catalog.protocol_class); registers `resolve` with the protocols first."""
    from cerepro.protocols.common import register_experiments

    register_experiments(resolve)  # a protocol that measures another experiment's nets looks it up there
    return catalog.protocol_class(protocol, where)


def build_config(cls: type, settings: dict[str, Any], where: str) -> BaseRow:
    """Instantiate a protocol's row dataclass from settings, with key, type, limit and value checks."""
    hints = typing.get_type_hints(cls)
    check_keys(settings, hints, where)
    values = {k: coerce(v, hints[k], f"{where}.{k}") for k, v in settings.items()}
    for key, value in values.items():
        _check_limit(key, value, f"{where}.{key}")
    return _valid(cls(**values), where)


def load(path: str | Path) -> Experiment:
    """Load and validate one spec file."""
    path = Path(path)
    raw = read(path)
    where = path.name
    check_keys(raw, TOP_KEYS, where)
    for key in ("experiment", "protocol", "rows"):
        if key not in raw:
            raise SpecError(f"{where}: missing key {key!r}")
    cls = protocol_class(raw["protocol"], f"{where}.protocol")
    name = str(raw["experiment"])
    defaults = raw.get("defaults") or {}
    build_config(cls, defaults, f"{where}.defaults")  # report bad defaults once, at their own path
    for key, kind in (("rows", "a non-empty list of rows"), ("baselines", "a list of rows"), ("variants", "a list of variants"),
                      ("aliases", "a list of names")):
        if not isinstance(raw.get(key) or [], list) or (key == "rows" and not raw["rows"]):
            raise SpecError(f"{where}.{key}: expected {kind}")
    rows = _rows(raw["rows"], "rows", "paper", name, cls, defaults, where)
    baselines = _rows(raw.get("baselines") or [], "baselines", "baseline", name, cls, defaults, where)
    names = [r.name for r in rows + baselines]
    if len(set(names)) != len(names):
        raise SpecError(f"{where}: row names must be unique")
    seed = raw.get("seed", 1997)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"{where}.seed: expected a non-negative integer, got {seed!r}")
    return Experiment(
        name=name, aliases=tuple(str(a) for a in raw.get("aliases") or ()), title=str(raw.get("title", name)),
        paper_table=str(raw.get("paper_table", "")), protocol=raw["protocol"], seed=seed,
        description=str(raw.get("description", "")).strip(), rows=rows,
        variants=_variants(raw.get("variants") or [], {r.name: r for r in rows}, cls, where), baselines=baselines,
        source=str(path),
    )


def _rows(items: list, section: str, variant: str, experiment: str, cls: type, defaults: dict, where: str) -> tuple[Row, ...]:
    rows = []
    for i, item in enumerate(items):
        at = f"{where}.{section}[{i}]"
        check_keys(item, list(ROW_KEYS) + list(typing.get_type_hints(cls)), at)
        if "name" not in item:
            raise SpecError(f"{at}: missing key 'name'")
        settings = {**defaults, **{k: v for k, v in item.items() if k not in ROW_KEYS}}
        rows.append(Row(experiment, str(item["name"]), variant, "", build_config(cls, settings, at), item.get("paper")))
    return tuple(rows)


def _variants(items: list, by_name: dict[str, Row], cls: type, where: str) -> tuple[Row, ...]:
    variants = []
    for i, item in enumerate(items):
        at = f"{where}.variants[{i}]"
        check_keys(item, VARIANT_KEYS, at)
        if "name" not in item or "set" not in item:
            raise SpecError(f"{at}: a variant needs 'name' and 'set'")
        if item["name"] == "paper":
            raise SpecError(f"{at}.name: 'paper' is reserved for the faithful rows")
        targets = item.get("rows", "all")
        targets = list(by_name) if targets == "all" else targets
        if not isinstance(targets, list):
            raise SpecError(f"{at}.rows: expected 'all' or a list of row names, got {targets!r}")
        changes = item["set"] or {}
        check_keys(changes, typing.get_type_hints(cls), f"{at}.set")
        factor = item.get("lr_factor", 1.0)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < float("inf"):
            raise SpecError(f"{at}.lr_factor: expected a positive number, got {factor!r}")
        for row_name in targets:
            if row_name not in by_name:
                raise SpecError(f"{at}.rows: unknown row {row_name!r}{hint(str(row_name), by_name)}")
            base = by_name[row_name]
            settings = {**dataclasses.asdict(base.config), **changes}
            settings["lr"] = settings["lr"] * factor
            cfg = build_config(cls, settings, f"{at}.set")
            variants.append(Row(base.experiment, row_name, str(item["name"]), str(item.get("description", "")).strip(), cfg,
                                base.paper))
    return tuple(variants)


def resolve(name: str) -> Experiment:
    """An experiment by name, alias, or path to a user's YAML file."""
    return load(catalog.resolve_path(name))
