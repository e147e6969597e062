"""SQL building blocks every resource's queries share, written once and compiled for each database."""

from typing import Any

from sqlalchemy import JSON, String, bindparam, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

# The escape character of every LIKE pattern made by `contains_pattern` (SQLAlchemy's autoescape uses it too).
LIKE_ESCAPE = "/"


def contains_pattern(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere, its `%` and `_` taken as themselves, not as wildcards."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def contains_any_case(column: ColumnElement[Any], parameter: str) -> ColumnElement[bool]:
    """`column` contains the pattern bound as `parameter` (made by `contains_pattern`), in any case."""
    pattern = bindparam(parameter, type_=String)
    return func.lower(column).like(func.lower(pattern), escape=LIKE_ESCAPE)


class json_array_agg(GenericFunction[Any]):
    """Aggregate values into one JSON array: `json_agg` on PostgreSQL, `json_group_array` on SQLite."""

    type = JSON()
    inherit_cache = True


class json_array(GenericFunction[Any]):
    """A JSON array of the arguments: `json_build_array` on PostgreSQL, `json_array` on SQLite."""

    type = JSON()
    inherit_cache = True


@compiles(json_array_agg, "postgresql")
def _json_agg(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_agg({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg, "sqlite")
def _json_group_array(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(json_array, "postgresql")
def _json_build_array(element: json_array, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_build_array({compiler.process(element.clauses, **kw)})"
