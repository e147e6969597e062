"""What start-up and migrations know about the schema beyond the models: what is missing, what autogenerate
writes, and which database objects it leaves alone."""

import warnings
from enum import Enum
from typing import Any

from alembic.autogenerate import rewriter
from alembic.operations import ops
from sqlalchemy import DefaultClause, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SAWarning
from sqlmodel import SQLModel

import app.models  # noqa: F401 - every table on the metadata
from app.search import include_name

__all__ = ["fill_new_columns", "include_name", "missing_from_database"]


def missing_from_database(connection: Connection) -> list[str]:
    """The tables and columns the models declare that the database lacks: `note.pinned`, `venue`.

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
    return missing


# SQLite cannot reflect an index on an expression (`ix_pep_lower_title_number`, on lower(title)): comparing
# the models with the database, or copying the PEP table in batch mode, reads it and SQLAlchemy warns. The
# index is left out of SQLite's comparison (PostgreSQL compares it); nothing is lost.
warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)

fill_new_columns = rewriter.Rewriter()


def _as_sql_default(value: Any) -> str | None:
    """A Python default as the text of a server default both databases read the same way; None if it has none."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "1" if value else "0"  # PostgreSQL reads '1' as true, SQLite stores 1
    if isinstance(value, int | float | str):
        return str(value)
    return None


@fill_new_columns.rewrites(ops.AddColumnOp)
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
