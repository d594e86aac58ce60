"""The package's shape: no import cycle, a registry import that compiles nothing, config hashes that never move."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from cerepro import catalog, config
from cerepro.models import MODELS, settings_classes
from cerepro.protocols.common import BaseRow

PACKAGE = Path(__file__).resolve().parent.parent / "cerepro"
HASHES = Path(__file__).resolve().parent / "data" / "config_hashes.json"


def import_graph() -> dict[str, set[str]]:
    """cerepro module -> the cerepro modules it imports, at the top or inside a function (a late import is an
    edge too). `from a import b` is an edge to a.b when that is a module, else to a."""
    modules = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                edges |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names}
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "cerepro.protocols.online.trial" in graph and "cerepro.guessing" in graph["cerepro.dispatch"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_protocol_knows_about_guessing():
    graph = import_graph()
    for module, edges in graph.items():
        if module.startswith("cerepro.protocols"):
            assert not {e for e in edges if "guess" in e}, module


def test_the_registries_and_the_command_line_import_no_compiled_code():
    """`cerepro --help` and `cerepro list` must start fast: kernels are imported when a trial runs."""
    code = ("import sys, cerepro.cli, cerepro.config, cerepro.protocols, cerepro.models, cerepro.generators, cerepro.dispatch; "
            "print(sorted(m for m in sys.modules if m == 'numba' or m.endswith('.kernel') or m == 'cerepro.models.ops'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_command_line_and_the_model_registry_import_no_numpy():
    """`cerepro list` names the models from MODELS without importing any model's code (or numpy)."""
    code = "import sys, cerepro.cli, cerepro.config, cerepro.models; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_every_row_carries_every_models_settings_with_one_default_per_name():
    fields = BaseRow.__dataclass_fields__
    for settings in {m.settings for m in MODELS.values()}:
        for name, f in settings.__dataclass_fields__.items():
            assert name in fields and fields[name].default == f.default, (settings.__name__, name)
    assert len(settings_classes()) == 3  # the 1997 LSTM's, the forget-gate LSTM's, the conventional nets'


def test_config_hashes_of_the_committed_rows_never_change():
    """The ledger is keyed by config hash: a refactoring that moved a hash would orphan every trial of that row.
    tests/data/config_hashes.json holds the hashes of every spec row, variant, baseline and --model variant."""
    recorded = json.loads(HASHES.read_text())
    now = {}
    for path in sorted(set(catalog.spec_files().values())):
        exp = config.load(path)
        rows = exp.rows + exp.variants + exp.baselines
        for model in MODELS:
            try:
                rows += config.with_model(exp.rows, model)
            except config.SpecError:
                pass
        now.update({f"{r.experiment}|{r.name}|{r.variant}": r.config_hash() for r in rows})
    changed = {k: (v, now[k]) for k, v in recorded.items() if k in now and now[k] != v}
    assert not changed, f"config hashes changed (recorded, now): {changed}"
    assert len(set(recorded) & set(now)) > 0.9 * len(recorded)  # the rows are still there
