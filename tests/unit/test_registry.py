"""The registry names every part once; the schema agrees with it; the package has no import cycle.

The schema (what Snakemake validates config.yaml against) is read from its file, not through the
package, so a name added on one side only fails here rather than at a user's start-up.
"""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from myoflow import registry
from myoflow.methods.attmnet.settings import AttMnetSettings
from myoflow.methods.myonet.settings import MyoNetSettings
from myoflow.methods.tagseg.settings import TagSegSettings
from myoflow.methods.tagstrain.settings import TagStrainSettings
from myoflow.settings import defaults

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "myoflow"


def _schema() -> dict[str, Any]:
    with open(ROOT / "workflow" / "schemas" / "config.schema.yaml") as fh:
        return yaml.safe_load(fh)


def test_the_schema_names_exactly_the_registered_methods_and_nets() -> None:
    defs = _schema()["$defs"]
    named, _plugin = defs["experiment"]["properties"]["method"]["anyOf"]
    assert named["enum"] == list(registry.METHODS)
    assert defs["myonet_settings"]["properties"]["nets"]["items"]["enum"] == list(registry.NETS)


@pytest.mark.parametrize(
    "target",
    [*registry.NETS.values(), *(t for pair in registry.TRACKERS.values() for t in pair)],
)
def test_every_registered_target_loads(target: str) -> None:
    assert registry.load(target) is not None


@pytest.mark.parametrize("name", [m for m, target in registry.METHODS.items() if target])
def test_every_registered_method_is_a_method_unit_that_loads_without_torch(name: str) -> None:
    """The parse step resolves every experiment through its Method: importing it must not
    import torch (a 10^5-slice dry run would pay for it), and it must be a ``Method``."""
    code = (
        "import sys; from myoflow.methods.base import Method; from myoflow import registry; "
        f"m = registry.load(registry.METHODS[{name!r}]); "
        "assert isinstance(m, Method), type(m); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


#: Settings dataclasses and the schema ``$defs`` entry documenting the same options.
SETTINGS_SCHEMAS = {
    **{
        name: (registry.load(options), f"{name}_options")
        for name, (options, _) in registry.TRACKERS.items()
    },
    "myonet": (MyoNetSettings, "myonet_settings"),
    "tagstrain": (TagStrainSettings, "tagstrain_settings"),
    "tagseg": (TagSegSettings, "tagseg_settings"),
    "attmnet": (AttMnetSettings, "attmnet_settings"),
}


@pytest.mark.parametrize("name", sorted(SETTINGS_SCHEMAS))
def test_settings_defaults_are_the_schemas(name: str) -> None:
    """The dataclass is what the code runs with, the schema what users read: same defaults,
    same option names."""
    cls, key = SETTINGS_SCHEMAS[name]
    properties = _schema()["$defs"][key]["properties"]
    assert set(properties) == {f.name for f in dataclasses.fields(cls)}
    assert {k: p["default"] for k, p in properties.items()} == defaults(cls)
    for prop in properties.values():  # nested settings: every option's own default too
        if "properties" in prop:
            assert {k: p["default"] for k, p in prop["properties"].items()} == prop["default"]


def _imports(path: Path, module: str) -> set[str]:
    """Modules of the package that ``module`` imports anywhere in its file (lazy ones too,
    annotation-only ones not)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    # imports for type annotations only (``if TYPE_CHECKING:``) never run: not a dependency
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            base = node.module
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + [node.module])
            # ``from pkg import sub`` depends on the submodule, ``from mod import name`` on mod:
            # the graph resolves each to the nearest module
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m == "myoflow" or m.startswith("myoflow.")}


def _module_graph() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path, name):
            while imported not in modules and "." in imported:
                imported = imported.rpartition(".")[0]
            if imported in modules and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def test_the_package_has_no_import_cycle() -> None:
    """Lazy imports inside functions count: a cycle hidden in a function is still a knot that
    makes the modules impossible to understand (or to move) one at a time."""
    graph = _module_graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_registry_imports_nothing_but_errors() -> None:
    """Parsing the Snakefile imports the registry: it must stay a leaf."""
    imported = _imports(PACKAGE / "registry.py", "myoflow.registry")
    assert imported == {"myoflow.errors.ConfigError"}


def test_no_module_outside_methods_imports_a_method() -> None:
    """The core never depends on a method: a method is found through the registry (a string),
    so a method can be added, changed or removed without touching the core. Only the
    ``Method`` interface (``myoflow.methods.base``) is shared."""
    graph = _module_graph()
    units = ("myoflow.methods.", "myoflow.methods")
    offenders = {
        module: sorted(
            t
            for t in targets
            if t.startswith(units[0]) and not t.startswith("myoflow.methods.base")
        )
        for module, targets in graph.items()
        if not module.startswith(units)
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_a_method_unit_imports_no_other_method() -> None:
    graph = _module_graph()
    for module, targets in graph.items():
        parts = module.split(".")
        if len(parts) < 3 or parts[1] != "methods" or parts[2] == "base":
            continue
        unit = ".".join(parts[:3])
        others = [
            t
            for t in targets
            if t.startswith("myoflow.methods.")
            and not t.startswith((unit + ".", "myoflow.methods.base"))
            and t != unit
        ]
        assert not others, f"{module} imports another method: {others}"
