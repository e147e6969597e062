"""The OpenAPI document as a file, and the committed snapshot of the names generated clients are built from.

A generated client turns each operationId into a function and each schema into a type, so renaming
one breaks every frontend that uses it. `clients/openapi-snapshot.json` records those names (with
each operation's method, path and query parameters, and each schema's fields); a test compares the
app against it, and `python -m app openapi --update-snapshot` rewrites it when a change is deliberate.
"""

import json
from pathlib import Path
from typing import Any

SNAPSHOT_PATH = Path(__file__).resolve().parent.parent / "clients" / "openapi-snapshot.json"
UPDATE_COMMAND = "python -m app openapi --update-snapshot"


def app_document() -> dict[str, Any]:
    """The app's OpenAPI document, built from the app object: no server or database is needed."""
    from app.main import app  # imported here: building the app reads the settings

    return app.openapi()


def as_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def contract(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What a generated client's names and signatures depend on, and nothing that only documents."""
    operations = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            query = sorted(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            route = f"{method.upper()} {path}" + ("?" + "&".join(query) if query else "")
            operations[operation["operationId"]] = route
    schemas = {
        name: sorted(schema.get("properties", {})) or sorted(map(str, schema.get("enum", [])))
        for name, schema in document["components"]["schemas"].items()
    }
    return {"operations": operations, "schemas": schemas}


def update_snapshot(path: Path = SNAPSHOT_PATH, document: dict[str, Any] | None = None) -> Path:
    """Record the app's current names as the deliberate contract (what `--update-snapshot` runs)."""
    path.write_text(json.dumps(contract(document or app_document()), indent=2, sort_keys=True) + "\n")
    return path


def snapshot_changes(document: dict[str, Any], path: Path = SNAPSHOT_PATH) -> list[str]:
    """One line per operation or schema that differs from the snapshot; empty when they agree."""
    recorded = json.loads(path.read_text())
    current = contract(document)
    changes = []
    for section, kind in (("operations", "operation"), ("schemas", "schema")):
        before, after = recorded.get(section, {}), current[section]
        for name in sorted(before.keys() | after.keys()):
            if name not in after:
                changes.append(f"{kind} {name!r} is gone (was {before[name]})")
            elif name not in before:
                changes.append(f"{kind} {name!r} is new: {after[name]}")
            elif before[name] != after[name]:
                changes.append(f"{kind} {name!r} changed: {before[name]} -> {after[name]}")
    return changes
