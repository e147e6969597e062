"""Imports point one way: schemas import no driver, no module imports itself round a circle, and below the
routes (the HTTP edge, which may use any folder) the resource folders form layers."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
# The driver layer: what runs statements. Schemas and declarations (models.py, pages, listing) stay clear of it.
DRIVER = {"app.db", "app.reader", "app.reads", "app.writes", "asyncpg", "aiosqlite", "sqlite3"}
SCHEMA_MODULES = {"app.pages", "app.listing", "app.cursors"}


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_at_module_level(path: Path) -> set[str]:
    """What a module imports when it is imported (imports inside functions are deliberate late binding)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in APP.rglob("*.py")}
    return {name: {m for m in imports_at_module_level(path) if m in modules} for name, path in modules.items()}


def cycle_from(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the list of its nodes, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_itself_round_a_circle() -> None:
    assert cycle_from(graph()) is None


def test_schemas_and_declarations_import_no_driver() -> None:
    modules = {module_name(path): path for path in APP.rglob("*.py")}
    schemas = {name for name in modules if name.endswith(".models") or name in SCHEMA_MODULES}
    assert {"app.notes.models", "app.peps.models", "app.pages", "app.listing"} <= schemas
    for name in sorted(schemas):
        imported = imports_at_module_level(modules[name])
        assert not imported & DRIVER, f"{name} imports {sorted(imported & DRIVER)}"


def test_resource_folders_form_layers_below_the_routes() -> None:
    """peps build on authors, auth on users, notes on PEPs...: never the two ways at once."""
    folders: dict[str, set[str]] = {}
    for name, targets in graph().items():
        parts = name.split(".")
        if len(parts) < 3 or parts[-1] == "routes":
            continue
        folder = parts[1]
        folders.setdefault(folder, set())
        folders[folder] |= {t.split(".")[1] for t in targets if len(t.split(".")) >= 3 and t.split(".")[1] != folder}
    assert folders["peps"] >= {"authors"} and folders["auth"] >= {"users"}
    assert cycle_from(folders) is None
