"""The package's shape stays true: imports point down the round, only `federation/` imports
Flower, nothing imports the CLI, and no module imports itself back through others.

Read from the source with `ast` (function-level imports included), so a lazy import that
breaks a rule is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fedft"

# What each folder may import from fedft (besides itself). The order of the round:
# cli -> federation -> round -> {train, dp, anonymize, audit, model, data, run} -> config.
ALLOWED = {
    "cli": {"federation", "round", "train", "dp", "anonymize", "audit", "model", "data", "run", "config"},
    "federation": {"round", "train", "dp", "anonymize", "audit", "model", "data", "run", "config"},
    "round": {"train", "dp", "anonymize", "audit", "model", "data", "run", "config"},
    "dp": {"train", "model", "run", "config"},
    "audit": {"train", "model", "data", "run", "config"},
    "train": {"model", "data", "run", "config"},
    "anonymize": {"run", "config"},
    "model": {"config"},
    "data": {"config"},
    "run": {"config"},
    "config": set(),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement anywhere in the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from fedft.x import y` may name the submodule fedft.x.y
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


IMPORTS = {name: _imports(path) for name, path in MODULES.items()}


def _folder(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else None


def test_every_folder_has_a_rule():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(ALLOWED)


def test_no_relative_imports():
    # Absolute imports keep moves greppable and the rules below readable.
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            assert not (isinstance(node, ast.ImportFrom) and node.level), f"{name}: relative import"


def test_only_federation_imports_flower():
    offenders = sorted(
        name
        for name, imported in IMPORTS.items()
        if _folder(name) != "federation" and any(i == "flwr" or i.startswith("flwr.") for i in imported)
    )
    assert offenders == [], f"these import flwr outside fedft/federation/: {offenders}"


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_imports_point_down(folder):
    wrong = sorted(
        f"{name} imports {target}"
        for name, imported in IMPORTS.items()
        if _folder(name) == folder
        for target in imported
        if target.startswith("fedft.")
        and (to := _folder(target)) is not None
        and to != folder
        and to not in ALLOWED[folder]
    )
    assert wrong == [], f"fedft/{folder}/ may import only {sorted(ALLOWED[folder])}: {wrong}"


def test_nothing_imports_the_cli():
    offenders = sorted(
        name
        for name, imported in IMPORTS.items()
        if _folder(name) != "cli" and any(i.startswith("fedft.cli") for i in imported)
    )
    assert offenders == []


def test_no_import_cycles():
    graph = {
        name: {target for target in imported if target in MODULES and target != name}
        for name, imported in IMPORTS.items()
    }
    # A package's __init__ importing its own submodules is not a cycle of design.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_rules_catch_a_violation(tmp_path):
    # The checker itself can fail: a module importing flwr outside federation/ is reported.
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import flwr.common\n    from fedft.cli import main\n")
    assert {"flwr.common", "fedft.cli", "fedft.cli.main"} <= _imports(bad)
