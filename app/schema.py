"""What start-up and migrations know about the schema beyond the models: what is missing, what autogenerate
writes (a new column's default for existing rows, a new table's change counting), and which database
objects it leaves alone."""

import warnings
from enum import Enum
from typing import Any

from alembic.autogenerate import comparators, renderers, rewriter
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from sqlalchemy import DefaultClause, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SAWarning
from sqlmodel import SQLModel

import app.models  # noqa: F401 - every table on the metadata
from app.changes import TRACKED, create_triggers, drop_triggers, trigger_names
from app.search import include_name

__all__ = ["fill_new_columns", "include_name", "missing_from_database"]


def missing_from_database(connection: Connection) -> list[str]:
    """The tables and columns the models declare that the database lacks (`note.pinned`, `venue`), and the
    tables whose writes it does not count (`counting of venue's changes`: app/changes.py).

    Only what is missing, read from the database's catalogue (one query a table): enough to name a model
    changed without its migration, at a cost start-up does not feel. `alembic check` compares everything.
    """
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    missing = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in present:
            missing.append(table.name)
            continue
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{column.name}" for column in table.columns if column.name not in columns]
    triggers = change_triggers(connection)
    missing += [
        f"the counting of {name}'s changes" for name in sorted(TRACKED) if name in present and name not in triggers
    ]
    return missing


def change_triggers(connection: Connection) -> set[str]:
    """The tracked tables whose change-counting trigger the database has."""
    if connection.dialect.name == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    names = set(connection.execute(text(query)).scalars())
    return {table for table in TRACKED if trigger_names(table)[0] in names}


class CountChangesOp(ops.MigrateOperation):
    """Make a table's writes move its change counter (app/changes.py), on whichever database runs it."""

    def __init__(self, table: str, owner: str | None) -> None:
        self.table, self.owner = table, owner

    def reverse(self) -> "StopCountingChangesOp":
        return StopCountingChangesOp(self.table, self.owner)


class StopCountingChangesOp(ops.MigrateOperation):
    def __init__(self, table: str, owner: str | None) -> None:
        self.table, self.owner = table, owner

    def reverse(self) -> CountChangesOp:
        return CountChangesOp(self.table, self.owner)


@comparators.dispatch_for("schema")
def count_every_tracked_tables_changes(
    autogen_context: AutogenContext, upgrade_ops: ops.UpgradeOps, schemas: Any
) -> None:
    """Autogenerate: a table a Collection reads (a new resource's, say) gets its change-counting triggers."""
    assert autogen_context.connection is not None, "autogenerate compares with a database"
    counted = change_triggers(autogen_context.connection)
    for table in sorted(set(TRACKED) - counted):
        upgrade_ops.ops.append(CountChangesOp(table, TRACKED[table]))


def _statements_by_dialect(statements: dict[str, list[str]]) -> str:
    # Written out in the revision, which must not import the app: the SQL of both databases, picked as it runs.
    lines = ["for statement in {"]
    for dialect, listed in statements.items():
        lines.append(f"    {dialect!r}: [")
        lines += [f"        {statement!r}," for statement in listed]
        lines.append("    ],")
    lines.append("}[op.get_bind().dialect.name]:")
    lines.append("    op.execute(statement)")
    return "\n".join(lines)


@renderers.dispatch_for(CountChangesOp)
def _render_count_changes(autogen_context: AutogenContext, op: CountChangesOp) -> str:
    return f"# Count the writes of {op.table} (list ETags: app/changes.py).\n" + _statements_by_dialect(
        {
            "postgresql": create_triggers("postgresql", op.table, op.owner),
            "sqlite": create_triggers("sqlite", op.table, op.owner),
        }
    )


@renderers.dispatch_for(StopCountingChangesOp)
def _render_stop_counting_changes(autogen_context: AutogenContext, op: StopCountingChangesOp) -> str:
    return f"# Stop counting the writes of {op.table}.\n" + _statements_by_dialect(
        {dialect: drop_triggers(dialect, op.table) for dialect in ("postgresql", "sqlite")}
    )


# SQLite cannot reflect an index on an expression (`ix_pep_lower_title_number`, on lower(title)): comparing
# the models with the database, or copying the PEP table in batch mode, reads it and SQLAlchemy warns. The
# index is left out of SQLite's comparison (PostgreSQL compares it); nothing is lost.
warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)

_fill_new_columns = rewriter.Rewriter()


def _as_sql_default(value: Any) -> str | None:
    """A Python default as the text of a server default both databases read the same way; None if it has none."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "1" if value else "0"  # PostgreSQL reads '1' as true, SQLite stores 1
    if isinstance(value, int | float | str):
        return str(value)
    return None


@_fill_new_columns.rewrites(ops.AddColumnOp)
def give_rows_the_default(context: Any, revision: Any, op: ops.AddColumnOp) -> ops.AddColumnOp:
    """A NOT NULL column added to a table that has rows needs a value for them: the model's own default.

    `pinned: bool = False` becomes `server_default="0"` in the migration, so `ALTER TABLE ... ADD COLUMN`
    works on a table with rows instead of failing with "Cannot add a NOT NULL column with default value NULL".
    """
    column = op.column
    default = column.default
    if column.nullable or column.server_default is not None or default is None or not default.is_scalar:
        return op
    text_value = _as_sql_default(default.arg)  # type: ignore[attr-defined]  # a scalar default has `arg`
    if text_value is None:
        return op
    column = column._copy()
    column.server_default = DefaultClause(text_value)
    return ops.AddColumnOp(op.table_name, column, schema=op.schema)


def fill_new_columns(context: Any, revision: Any, directives: list[Any]) -> None:
    """Alembic's `process_revision_directives` for autogenerate: new tables' change counting goes after the
    tables are made (and goes first on the way down), and new required columns get their default."""
    for script in directives:
        upgrade, downgrade = script.upgrade_ops.ops, script.downgrade_ops.ops
        upgrade.sort(key=lambda operation: isinstance(operation, CountChangesOp))
        downgrade.sort(key=lambda operation: not isinstance(operation, StopCountingChangesOp))
    _fill_new_columns(context, revision, directives)
