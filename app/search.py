"""Indexed substring search, and the structures outside the models' tables that make it fast.

`q` and `author` on /peps and `q` on /authors find text anywhere in a column, in any case. A plain
`lower(column) LIKE '%text%'` reads every row, so each database gets a trigram index instead:

- PostgreSQL: `pg_trgm` GIN indexes on `lower(column)`, the very expression the LIKE compares, so
  the same statement (and its escaping of `%` and `_`) uses them; nothing changes in the query.
- SQLite: an FTS5 table per searched table (`pep_search`, `author_search`) with the `trigram`
  tokenizer, holding the rows' text already passed through the app's `lower()` (Unicode, not
  SQLite's ASCII-only one), kept in step by triggers. The search is an FTS5 phrase (`MATCH
  '"text"'`), which matches a run of characters exactly: `%` and `_` are plain characters in a phrase,
  so the meaning is that of the LIKE. A phrase needs three characters (one trigram); a shorter text,
  which would match much of the catalogue anyway, is searched with the LIKE.

`author.pep_count` is kept by triggers on `pep_author` too, on both databases, so sorting authors by
how many PEPs they wrote reads one indexed column instead of counting every link.

Migrations create all of this (revisions 7d4e2a9c1f35 and 3f8b2c6d1a97); `SEARCH_DDL` builds the same
for a schema made by `metadata.create_all`. tests/test_search.py checks the two agree.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import DDL, Boolean, Column, String, Table, bindparam, event, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler

from app.sql import contains_any_case, contains_pattern

# An FTS5 trigram phrase needs this many characters; shorter texts are searched without the index.
TRIGRAM_LENGTH = 3
PHRASE_SUFFIX = "_phrase"

# Tables and their shadow tables, indexes, triggers and functions that the models do not declare:
# Alembic's comparison of models and database leaves them alone (alembic/env.py).
SEARCH_TABLES = ("pep_search", "author_search")
FTS5_SHADOW_SUFFIXES = ("", "_data", "_idx", "_content", "_docsize", "_config")
SEARCH_INDEXES = ("ix_pep_title_trigram", "ix_pep_abstract_trigram", "ix_author_name_trigram")


def is_search_object(name: str | None, type_: str) -> bool:
    """True for a table or index that the search machinery owns (not in the models' metadata)."""
    if name is None:
        return False
    if type_ == "table":
        return any(name == table + suffix for table in SEARCH_TABLES for suffix in FTS5_SHADOW_SUFFIXES)
    return type_ == "index" and name in SEARCH_INDEXES


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name` hook: autogenerate leaves the search structures out."""
    return not is_search_object(name, type_)


def search_values(name: str, text: str) -> dict[str, str]:
    """The values a `contains_text` condition binds for `text`: the LIKE pattern and, if long enough, the phrase.

    The phrase is the text lowered by Python's `str.lower`, as the triggers store the rows (through the
    app's SQLite `lower()`), quoted as an FTS5 string (a `"` doubled).
    """
    values = {name: contains_pattern(text)}
    lowered = text.lower()
    if len(lowered) >= TRIGRAM_LENGTH:
        values[name + PHRASE_SUFFIX] = '"' + lowered.replace('"', '""') + '"'
    return values


def uses_index(name: str, filters: frozenset[str]) -> bool:
    return name + PHRASE_SUFFIX in filters


class _TrigramMatch(ColumnElement[bool]):
    """`key` is the rowid of an FTS5 row of `search_table` holding the phrase bound as `parameter`_phrase.

    On PostgreSQL (and anything but SQLite) it is the LIKE on each column, which the GIN indexes serve.
    """

    type = Boolean()
    # A condition in itself: without this, SQLite (no boolean type) would get `... = 1`, which no index serves.
    _is_implicitly_boolean = True
    # Built once per shape of request and compiled once (app.reader): nothing to gain from SQL caching.
    inherit_cache = False

    def __init__(self, key: Column[Any], search_table: str, columns: Sequence[Column[Any]], parameter: str) -> None:
        self.row_key, self.search_table, self.columns, self.parameter = key, search_table, columns, parameter


@compiles(_TrigramMatch)
def _like_each_column(element: _TrigramMatch, compiler: SQLCompiler, **kw: Any) -> str:
    # Parenthesised: the OR sits among the statement's other conditions, joined by AND.
    conditions = or_(*(contains_any_case(column, element.parameter) for column in element.columns))
    return f"({compiler.process(conditions, **kw)})"


@compiles(_TrigramMatch, "sqlite")
def _fts5_phrase(element: _TrigramMatch, compiler: SQLCompiler, **kw: Any) -> str:
    phrase = compiler.process(bindparam(element.parameter + PHRASE_SUFFIX, type_=String), **kw)
    table = element.search_table
    return f"({compiler.process(element.row_key, **kw)} IN (SELECT rowid FROM {table} WHERE {table} MATCH {phrase}))"


def contains_text(
    key: Column[Any], search_table: str, columns: Sequence[Column[Any]], parameter: str, filters: frozenset[str]
) -> ColumnElement[bool]:
    """One of `columns` contains the text bound by `search_values(parameter, ...)`, in any case.

    Indexed when the text is long enough for a trigram (the phrase is among `filters`).
    """
    if uses_index(parameter, filters):
        return _TrigramMatch(key, search_table, columns, parameter)
    return or_(*(contains_any_case(column, parameter) for column in columns))


# A transaction that sets this to 'on' (the importer: app/peps/importer.py) keeps `author.pep_count`
# itself; PostgreSQL's count triggers then do nothing. Run for each of a bulk import's 200 statements,
# they took 5 s of a 100,000-PEP import, most of it updating the same author rows again and again.
DEFER_PEP_COUNT_SETTING = "app.defer_pep_count"

# What a schema made by `create_all` needs besides the tables; the migrations create the same.
SEARCH_DDL: dict[str, dict[str, list[str]]] = {
    "postgresql": {
        "author": [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE INDEX ix_author_name_trigram ON author USING gin (lower(name) gin_trgm_ops)",
        ],
        "pep": [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE INDEX ix_pep_title_trigram ON pep USING gin (lower(title) gin_trgm_ops)",
            "CREATE INDEX ix_pep_abstract_trigram ON pep USING gin (lower(abstract) gin_trgm_ops)",
        ],
        "pep_author": [
            # Statement triggers: a bulk insert updates each author once. Authors are locked in id
            # order so that two writers touching the same authors wait for each other, not deadlock.
            f"""CREATE OR REPLACE FUNCTION author_pep_count_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('{DEFER_PEP_COUNT_SETTING}', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM author WHERE id IN (SELECT author_id FROM added) ORDER BY id FOR NO KEY UPDATE;
    UPDATE author SET pep_count = author.pep_count + added_links.n
    FROM (SELECT author_id, count(*) AS n FROM added GROUP BY author_id) AS added_links
    WHERE author.id = added_links.author_id;
    RETURN NULL;
END $$""",
            f"""CREATE OR REPLACE FUNCTION author_pep_count_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('{DEFER_PEP_COUNT_SETTING}', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM author WHERE id IN (SELECT author_id FROM removed) ORDER BY id FOR NO KEY UPDATE;
    UPDATE author SET pep_count = author.pep_count - removed_links.n
    FROM (SELECT author_id, count(*) AS n FROM removed GROUP BY author_id) AS removed_links
    WHERE author.id = removed_links.author_id;
    RETURN NULL;
END $$""",
            "CREATE TRIGGER pep_author_count_insert AFTER INSERT ON pep_author REFERENCING NEW TABLE AS added "
            "FOR EACH STATEMENT EXECUTE FUNCTION author_pep_count_add()",
            "CREATE TRIGGER pep_author_count_delete AFTER DELETE ON pep_author REFERENCING OLD TABLE AS removed "
            "FOR EACH STATEMENT EXECUTE FUNCTION author_pep_count_remove()",
            "CREATE TRIGGER pep_author_count_update_old AFTER UPDATE ON pep_author REFERENCING OLD TABLE AS removed "
            "FOR EACH STATEMENT EXECUTE FUNCTION author_pep_count_remove()",
            "CREATE TRIGGER pep_author_count_update_new AFTER UPDATE ON pep_author REFERENCING NEW TABLE AS added "
            "FOR EACH STATEMENT EXECUTE FUNCTION author_pep_count_add()",
        ],
    },
    "sqlite": {
        "author": [
            "CREATE VIRTUAL TABLE author_search USING fts5(name, tokenize='trigram case_sensitive 1')",
            "CREATE TRIGGER author_search_insert AFTER INSERT ON author BEGIN "
            "INSERT INTO author_search (rowid, name) VALUES (new.id, lower(new.name)); END",
            "CREATE TRIGGER author_search_delete AFTER DELETE ON author BEGIN "
            "DELETE FROM author_search WHERE rowid = old.id; END",
            "CREATE TRIGGER author_search_update AFTER UPDATE OF id, name ON author BEGIN "
            "DELETE FROM author_search WHERE rowid = old.id; "
            "INSERT INTO author_search (rowid, name) VALUES (new.id, lower(new.name)); END",
        ],
        "pep": [
            "CREATE VIRTUAL TABLE pep_search USING fts5(title, abstract, tokenize='trigram case_sensitive 1')",
            "CREATE TRIGGER pep_search_insert AFTER INSERT ON pep BEGIN "
            "INSERT INTO pep_search (rowid, title, abstract) VALUES (new.number, lower(new.title), lower(new.abstract)); "
            "END",
            "CREATE TRIGGER pep_search_delete AFTER DELETE ON pep BEGIN "
            "DELETE FROM pep_search WHERE rowid = old.number; END",
            "CREATE TRIGGER pep_search_update AFTER UPDATE OF number, title, abstract ON pep BEGIN "
            "DELETE FROM pep_search WHERE rowid = old.number; "
            "INSERT INTO pep_search (rowid, title, abstract) VALUES (new.number, lower(new.title), lower(new.abstract)); "
            "END",
        ],
        "pep_author": [
            "CREATE TRIGGER pep_author_count_insert AFTER INSERT ON pep_author BEGIN "
            "UPDATE author SET pep_count = pep_count + 1 WHERE id = new.author_id; END",
            "CREATE TRIGGER pep_author_count_delete AFTER DELETE ON pep_author BEGIN "
            "UPDATE author SET pep_count = pep_count - 1 WHERE id = old.author_id; END",
            "CREATE TRIGGER pep_author_count_update AFTER UPDATE OF author_id ON pep_author BEGIN "
            "UPDATE author SET pep_count = pep_count - 1 WHERE id = old.author_id; "
            "UPDATE author SET pep_count = pep_count + 1 WHERE id = new.author_id; END",
        ],
    },
}
# Dropping a table drops its indexes and triggers; FTS5 tables and functions are separate objects.
SEARCH_DROP_DDL: dict[str, dict[str, list[str]]] = {
    "postgresql": {"pep_author": ["DROP FUNCTION author_pep_count_add()", "DROP FUNCTION author_pep_count_remove()"]},
    "sqlite": {"author": ["DROP TABLE author_search"], "pep": ["DROP TABLE pep_search"]},
}


def add_search_ddl(tables: dict[str, Table]) -> None:
    """Have `create_all` and `drop_all` make and drop the search structures with their tables."""
    for events, ddl in (("after_create", SEARCH_DDL), ("after_drop", SEARCH_DROP_DDL)):
        for dialect, by_table in ddl.items():
            for table_name, statements in by_table.items():
                for statement in statements:
                    # SQLAlchemy leaves DDL's constructor unannotated.
                    element = DDL(statement)  # type: ignore[no-untyped-call]
                    event.listen(tables[table_name], events, element.execute_if(dialect=dialect))
