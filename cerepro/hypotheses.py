"""Hypotheses: named deviations from the faithful reading, applied uniformly to every 1997 LSTM row.

tasks/hypotheses.yaml defines them (docs/hypotheses.md argues each); `plan` turns them into rows of the
experiments, labelled with the variant `hyp-<name>`, at screening scale (cap about 5x the paper's mean,
labelled reduced), at paper scale, or as the paper-scale row whose cap `explain.bound_rows` lowers (`bound`).
Rows run through the same runner and ledger as `cerepro run`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cerepro import config, paper
from cerepro.config import Experiment, Row, SpecError
from cerepro.specfile import check_keys, hint

EXPERIMENTS_1997 = ("exp1", "exp2a", "exp2b", "exp2c", "exp3a", "exp3b", "exp3c", "exp4", "exp5", "exp6a", "exp6b")
PREFIX = "hyp-"  # variant name of a hypothesis row
KEYS = ("name", "title", "source", "rationale", "set", "parts", "no_meaning")


@dataclass(frozen=True)
class Hypothesis:
    name: str
    title: str
    source: str
    rationale: str
    settings: dict[str, Any]  # rules as in tasks/hypotheses.yaml, parts merged
    parts: tuple[str, ...]  # the hypotheses a bundle is made of (empty for a single one)
    no_meaning: dict[str, str]  # experiment -> why the changed setting changes nothing the net computes there

    @property
    def variant(self) -> str:
        return PREFIX + self.name


@dataclass(frozen=True)
class Screen:
    cap_factor: float
    trials: dict[str, dict[str, int]]  # experiment -> row -> trials at screening scale (others: the spec's)


def load(path: str | Path | None = None) -> tuple[tuple[Hypothesis, ...], Screen]:
    """The hypotheses and the screening scale, validated (SpecError names the key path)."""
    path = Path(path) if path else config.SPEC_DIR / config.HYPOTHESES_FILE
    where = path.name
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    check_keys(raw, ("hypotheses", "screen"), where)
    singles: dict[str, Hypothesis] = {}
    out: list[Hypothesis] = []
    for i, item in enumerate(raw.get("hypotheses") or []):
        at = f"{where}.hypotheses[{i}]"
        check_keys(item, KEYS, at)
        if "name" not in item or ("set" in item) == ("parts" in item):
            raise SpecError(f"{at}: a hypothesis needs a name and either 'set' or 'parts'")
        settings: dict[str, Any] = dict(item.get("set") or {})
        parts = tuple(item.get("parts") or ())
        for part in parts:
            if part not in singles:
                raise SpecError(f"{at}.parts: {part!r} is not a hypothesis defined above{hint(part, singles)}")
            for key, value in singles[part].settings.items():
                if key in settings and settings[key] != value:
                    raise SpecError(f"{at}.parts: {part!r} sets {key} differently from another part")
                settings[key] = value
        no_meaning = _no_meaning(item.get("no_meaning") or [], f"{at}.no_meaning")
        if parts:  # a bundle has no meaning only where none of its parts has one
            no_meaning = {e: "no part of the bundle has a meaning here" for e in EXPERIMENTS_1997
                          if all(e in singles[p].no_meaning for p in parts)}
        h = Hypothesis(str(item["name"]), str(item.get("title", "")), str(item.get("source", "")),
                       " ".join(str(item.get("rationale", "")).split()), settings, parts, no_meaning)
        if h.name in singles:
            raise SpecError(f"{at}.name: {h.name!r} is defined twice")
        singles[h.name] = h
        out.append(h)
    screen = raw.get("screen") or {}
    check_keys(screen, ("cap_factor", "trials"), f"{where}.screen")
    return tuple(out), Screen(float(screen.get("cap_factor", 5)), dict(screen.get("trials") or {}))


def _no_meaning(items: Any, where: str) -> dict[str, str]:
    if not isinstance(items, list):
        raise SpecError(f"{where}: expected a list of {{experiments: [...], why: ...}}")
    out = {}
    for i, item in enumerate(items):
        check_keys(item, ("experiments", "why"), f"{where}[{i}]")
        for name in item.get("experiments") or []:
            if name not in EXPERIMENTS_1997:
                raise SpecError(f"{where}[{i}].experiments: unknown experiment {name!r}{hint(name, EXPERIMENTS_1997)}")
            out[name] = str(item.get("why", ""))
    return out


def select(hypotheses: tuple[Hypothesis, ...], names: list[str] | None) -> tuple[Hypothesis, ...]:
    if not names:
        return hypotheses
    known = {h.name: h for h in hypotheses}
    for name in names:
        if name not in known:
            raise SpecError(f"unknown hypothesis {name!r}{hint(name, known)}; hypotheses: {', '.join(known)}")
    return tuple(known[n] for n in names)


def resolve(settings: dict[str, Any], row: Row) -> dict[str, Any]:
    """The row settings a hypothesis changes, its rules resolved against the row ({} where it has no meaning)."""
    cfg = row.config
    changed: dict[str, Any] = {}
    for key, rule in settings.items():
        if not hasattr(cfg, key):
            raise SpecError(f"hypothesis setting {key!r} is not a setting of {row.experiment} rows")
        current = changed.get(key, getattr(cfg, key))
        if isinstance(rule, dict) and "staggered" in rule:
            if current is not None:
                continue  # the paper gives values: keep them
            if key == "output_gate_bias" and not cfg.output_gate:
                continue  # a net without output gates (2a, 2b) has none to bias
            if key.endswith("_gate_bias") and changed.get("bias", cfg.bias) == "none":
                continue  # no gate bias weights (2c), unless the hypothesis adds them first (bias: {none: ga})
            value: Any = tuple(float(rule["staggered"]) * (j + 1) for j in range(cfg.blocks))
        elif isinstance(rule, dict):
            if current not in rule:
                continue
            value = rule[current]
        else:
            value = tuple(rule) if isinstance(rule, list) else rule
        if value != current:
            changed[key] = value
    return changed


def why_no_meaning(h: Hypothesis, row: Row) -> str | None:
    """Why `h` changes nothing the net of `row` computes; None where it does."""
    if h.name == "faithful":
        return None
    if row.experiment in h.no_meaning:
        return h.no_meaning[row.experiment]
    if not resolve(h.settings, row):
        return "the row already has these settings"
    return None


def hypothesis_row(h: Hypothesis, row: Row) -> Row | None:
    """The faithful `row` under hypothesis `h` at the spec's scale; None where `h` has no meaning for it."""
    if why_no_meaning(h, row) is not None:
        return None
    changed = resolve(h.settings, row)
    cfg = dataclasses.replace(row.config, **changed)
    try:
        cfg.validate()
    except ValueError as exc:
        raise SpecError(f"hypothesis {h.name} on {row.experiment}/{row.name}: {exc}") from None
    note = "; ".join(f"{k}: {_show(v)}" for k, v in changed.items()) or "the faithful settings"
    return dataclasses.replace(row, variant=h.variant, note=f"{h.title} ({note})", config=cfg)


def screen_row(row: Row, screen: Screen) -> Row:
    """A hypothesis row at screening scale: cap about cap_factor x the paper's mean, trials per `screen`."""
    cfg = row.config
    mean = paper_mean(row)
    cap = cfg.max_sequences if mean is None else min(cfg.max_sequences, round_up(screen.cap_factor * mean))
    trials = screen.trials.get(row.experiment, {}).get(row.name, cfg.trials)
    return dataclasses.replace(row, config=dataclasses.replace(cfg, max_sequences=cap, trials=min(trials, cfg.trials),
                                                              paper_cap=cfg.paper_cap or cfg.max_sequences))


def paper_mean(row: Row) -> float | None:
    ref = paper.find(row.paper) if row.paper else None
    return paper.number(ref.get("sequences_to_success")) if ref else None


def lstm_rows(exp: Experiment, only: list[str] | None = None) -> tuple[Row, ...]:
    """The faithful 1997 LSTM rows of an experiment (the columns of the matrix)."""
    return tuple(r for r in exp.rows if r.config.model == "lstm97" and (not only or r.name in only))


def plan(hypotheses: tuple[Hypothesis, ...], exp: Experiment, scale: str, screen: Screen, only_rows: list[str] | None = None,
         trials: int | None = None, max_sequences: int | None = None) -> tuple[tuple[Row, ...], list[tuple[str, str, str]]]:
    """(rows to run, [(hypothesis, row, why it has no meaning there)]). Each row carries its settings at the
    experiment's own scale as `spec` (what labels it reduced); trials / max_sequences, if given, lower every
    row's trials / cap further (smoke runs)."""
    rows, skipped = [], []
    for h in hypotheses:
        for base in lstm_rows(exp, only_rows):
            why = why_no_meaning(h, base)
            if why is not None:
                skipped.append((h.name, base.name, why))
                continue
            full = base if h.name == "faithful" else hypothesis_row(h, base)  # at paper scale, faithful is the row itself
            if scale == "screen":
                row = screen_row(hypothesis_row(h, base), screen)
            elif scale == "bound":  # under the hypothesis's variant (hyp-faithful too): its cap is lowered, never the table's row
                row = hypothesis_row(h, base)
            else:
                row = full
            if trials or max_sequences:
                cfg = row.config
                row = dataclasses.replace(row, config=dataclasses.replace(
                    cfg, trials=min(trials or cfg.trials, cfg.trials), max_sequences=min(max_sequences or cfg.max_sequences, cfg.max_sequences),
                    paper_cap=cfg.paper_cap or full.config.max_sequences))
            rows.append(dataclasses.replace(row, spec=full.config))
    return tuple(rows), skipped


def at_spec_scale(row: Row) -> Row:
    """A planned row at the experiment's own scale (its `spec` settings); for `faithful`, the experiment's own row."""
    variant = "paper" if row.variant == PREFIX + "faithful" else row.variant
    return dataclasses.replace(row, variant=variant, config=row.spec or row.config, spec=None)


def round_up(x: float, step: int = 1000) -> int:
    """x rounded up to a multiple of `step` (the caps of screening and bound rows)."""
    return int(math.ceil(x / step) * step)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(f"{v:g}" for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)
