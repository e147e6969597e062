"""Change counters: a number per table (and per owner, for a table each user owns) that every write moves on.

A list's ETag is made from the counters of the tables its statement reads, so deciding that a page is
unchanged costs one look-up of a few rows instead of building the page. Triggers keep them, in the very
transaction that writes, so a reader sees a new count exactly when it sees the new rows, on both
databases and on a replica (which replays both together):

- PostgreSQL: statement-level triggers; for an owned table, one row per owner the statement touched,
  taken in owner order (two statements touching the same owners wait for each other, not deadlock).
- SQLite: row-level triggers (its only kind); writers take turns anyway.

A counter starts at a random number, so a database made afresh never repeats an old database's counts
(and so its ETags). Counters only grow: the sum of a list's counters changes whenever any of them does.

Every table a Collection reads is tracked (app/listing.py registers it); migrations create the triggers
(`alembic revision --autogenerate` writes them for a new table: app/schema.py), and `create_all` gets
the same through `add_change_tracking_ddl`.
"""

from typing import Any

from sqlalchemy import DDL, BigInteger, Integer, MetaData, Table, and_, bindparam, event, func, or_, select
from sqlalchemy.sql import ColumnElement, visitors
from sqlmodel import Field, SQLModel

# The owner id of a table no user owns.
NOBODY = 0
# table name -> the column naming a row's owner (None: nobody owns its rows).
TRACKED: dict[str, str | None] = {}


class TableChanges(SQLModel, table=True):
    """How many writes each table (and, for owned tables, each owner's rows) has seen, from a random start."""

    __tablename__ = "table_changes"

    table_name: str = Field(primary_key=True, max_length=63)
    owner_id: int = Field(primary_key=True)
    changes: int = Field(sa_type=BigInteger)


CHANGES = TableChanges.__table__  # type: ignore[attr-defined]  # SQLModel sets it on every table model


def track(table: Table, owner: str | None = None) -> None:
    """Count this table's writes, per `owner` column if given (a table one collection scopes to an owner is
    counted per owner wherever it is read). A table outside the app's schema (a test's own) is left alone."""
    if SQLModel.metadata.tables.get(table.name) is not table:
        return
    known = TRACKED.get(table.name)
    if owner is not None and known is not None and known != owner:
        raise ValueError(f"table {table.name} is counted per {known!r} already, not per {owner!r}")
    TRACKED[table.name] = owner or known


def tables_read(statement: Any) -> set[Table]:
    """The tables a statement reads, in its subqueries and conditions too (the counters' own aside)."""
    return {element for element in visitors.iterate(statement) if isinstance(element, Table) and element is not CHANGES}


def changes_of(tables: set[Table], scoped: str | None, owner_parameter: str) -> ColumnElement[int]:
    """The sum of the counters of these tables. `scoped` is the one table read for one owner only (the owner
    bound as `owner_parameter`); another owned table read counts every owner's writes."""
    rows = []
    for name in sorted(table.name for table in tables):
        if name == scoped:
            rows.append(
                and_(CHANGES.c.table_name == name, CHANGES.c.owner_id == bindparam(owner_parameter, type_=Integer))
            )
        elif TRACKED.get(name):
            rows.append(CHANGES.c.table_name == name)
        else:
            rows.append(and_(CHANGES.c.table_name == name, CHANGES.c.owner_id == NOBODY))
    return select(func.coalesce(func.sum(CHANGES.c.changes), 0)).where(or_(*rows)).scalar_subquery()


# A random start: a counter row is made on a table's (or owner's) first write.
_START = {"postgresql": "floor(random() * 1000000000000)::bigint", "sqlite": "abs(random() % 1000000000000)"}
_BUMP = "ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1"

POSTGRESQL_FUNCTIONS = [
    f"""CREATE OR REPLACE FUNCTION count_table_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO table_changes (table_name, owner_id, changes) VALUES (TG_TABLE_NAME, {NOBODY}, {_START["postgresql"]})
    {_BUMP};
    RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION count_owned_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO table_changes (table_name, owner_id, changes) '
        'SELECT %L, owner, {_START["postgresql"]} FROM (SELECT DISTINCT %I AS owner FROM changed_rows) AS owners '
        'WHERE owner IS NOT NULL ORDER BY owner {_BUMP}',
        TG_TABLE_NAME, TG_ARGV[0]);
    RETURN NULL;
END $$""",
]
POSTGRESQL_DROP_FUNCTIONS = [
    "DROP FUNCTION IF EXISTS count_table_changes()",
    "DROP FUNCTION IF EXISTS count_owned_changes()",
]


def trigger_names(table: str) -> list[str]:
    return [f"{table}_changes_{event_name}" for event_name in ("insert", "update", "delete", "update_old")]


def create_triggers(dialect: str, table: str, owner: str | None) -> list[str]:
    """The statements that make `table`'s writes move its counters (the functions exist already on PostgreSQL)."""
    insert, update, delete, update_old = trigger_names(table)
    if dialect == "postgresql":
        if owner is None:
            return [
                f"CREATE TRIGGER {insert} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION count_table_changes()"
            ]
        # A trigger with a transition table takes one event; an update counts its rows' old and new owners.
        return [
            f"CREATE TRIGGER {name} AFTER {when} ON {table} REFERENCING {rows} TABLE AS changed_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION count_owned_changes('{owner}')"
            for name, when, rows in (
                (insert, "INSERT", "NEW"),
                (update, "UPDATE", "NEW"),
                (update_old, "UPDATE", "OLD"),
                (delete, "DELETE", "OLD"),
            )
        ]

    def bump(row: str) -> str:
        owner_id = f"{row}.{owner}" if owner else str(NOBODY)
        skip = f" WHERE {row}.{owner} IS NOT NULL" if owner else ""
        return (
            f"INSERT INTO table_changes (table_name, owner_id, changes) SELECT '{table}', {owner_id}, "
            f"{_START['sqlite']}{skip or ' WHERE true'} {_BUMP};"
        )

    return [
        f"CREATE TRIGGER {insert} AFTER INSERT ON {table} BEGIN {bump('new')} END",
        f"CREATE TRIGGER {update} AFTER UPDATE ON {table} BEGIN {bump('new')}{bump('old') if owner else ''} END",
        f"CREATE TRIGGER {delete} AFTER DELETE ON {table} BEGIN {bump('old')} END",
    ]


def drop_triggers(dialect: str, table: str) -> list[str]:
    on = f" ON {table}" if dialect == "postgresql" else ""
    return [f"DROP TRIGGER IF EXISTS {name}{on}" for name in trigger_names(table)]


def _ddl(statement: str, dialect: str) -> Any:
    # DDL() formats its text with %-parameters: a literal % (SQLite's modulo, format()'s %L) is written %%.
    return DDL(statement.replace("%", "%%")).execute_if(dialect=dialect)  # type: ignore[no-untyped-call]


def add_change_tracking_ddl(metadata: MetaData) -> None:
    """Have `create_all` make the counters' functions and every tracked table's triggers, as the migrations do."""
    for statement in POSTGRESQL_FUNCTIONS:
        event.listen(metadata, "before_create", _ddl(statement, "postgresql"))
    for statement in POSTGRESQL_DROP_FUNCTIONS:
        event.listen(metadata, "after_drop", _ddl(statement, "postgresql"))
    tables = metadata.tables
    for name, owner in TRACKED.items():
        for dialect in ("postgresql", "sqlite"):
            for statement in create_triggers(dialect, name, owner):
                event.listen(tables[name], "after_create", _ddl(statement, dialect))
