"""The package's imports, read with ast: no import cycle, and data flowing one way through the layers.

settings → inputs → statistics → measures → checks → findings → report, with the application modules
(the pipeline, the result, the command line) on top and three helpers (errors, extras, names) below all.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "audit"

#: Rank of each layer: a module may import its own layer and those below it, never one above.
LAYERS = {"base": 0, "settings": 1, "inputs": 2, "statistics": 3, "measures": 4, "checks": 5, "findings": 6,
          "report": 7, "app": 8}
BASE = {"audit._errors", "audit._extras", "audit._names"}
#: The settings layer validates metric names against the registries, the one source of those names; the
#: registries are pure functions of sums and import nothing of the package.
ALLOWED_UP = {("audit.settings._config", "audit.statistics._metrics"),
              ("audit.settings._config", "audit.statistics._multiclass"),
              ("audit.settings._config", "audit.statistics._regression"),
              ("audit.settings._selection", "audit.statistics._metrics"),
              ("audit.settings._boundary", "audit.statistics._metrics"),
              ("audit.settings._boundary", "audit.statistics._multiclass"),
              ("audit.settings._boundary", "audit.statistics._regression")}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    if module in BASE:
        return "base"
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in LAYERS:
        return parts[1]
    if len(parts) == 2 and parts[1] in LAYERS:
        return parts[1]
    return "app"


def _imports() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports (at any depth of the file)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    out: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        package = name.split(".") if is_pkg else name.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                candidates = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            for c in candidates:
                if c in modules and c != name:
                    found.add(c)
        out[name] = found
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # A package's __init__ importing its own submodules (re-exports) is not a cycle of logic.
            if nxt.startswith(node + "."):
                continue
            if colour.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if colour.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(graph):
        if node not in colour and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_cycle():
    graph = _imports()
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])


def test_no_module_imports_a_layer_above_its_own():
    wrong = []
    for name, targets in _imports().items():
        for target in targets:
            if LAYERS[_layer(target)] > LAYERS[_layer(name)] and (name, target) not in ALLOWED_UP:
                wrong.append(f"{name} ({_layer(name)}) imports {target} ({_layer(target)})")
    assert not wrong, "\n".join(sorted(wrong))


def test_every_layer_is_a_folder_and_holds_modules():
    for layer in LAYERS:
        if layer in ("base", "app"):
            continue
        assert (PACKAGE / layer / "__init__.py").is_file(), layer
        assert len(list((PACKAGE / layer).glob("_*.py"))) >= 1, layer


def test_the_checker_sees_a_cycle_and_an_upward_import():
    # The checks above must be able to fail: a two-module cycle and a statistics module importing a renderer.
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert LAYERS[_layer("audit.report._render")] > LAYERS[_layer("audit.statistics._evaluate")]
