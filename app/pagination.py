"""Pagination and sorting shared by every list endpoint.

A list is read in one statement: the page's rows, each carrying the total as an extra `total` column
(an uncorrelated subquery, which both databases evaluate once). Only a page past the end, which has
no row to carry it, costs a second statement for the count.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import FromClause, bindparam, func, select
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql import Select as CoreSelect

from app.reader import Reader, Row

ItemT = TypeVar("ItemT")
PageT = TypeVar("PageT", bound="Page[Any]")

# The largest id or offset the databases' INTEGER columns can hold.
MAX_ID = 2_147_483_647


class PageParams(BaseModel):
    """`limit` and `offset`; list endpoints extend this with their filters and `sort`."""

    # A misspelt filter is an error, not a silently unfiltered list.
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=100, description="How many items to return (1 to 100).")
    offset: int = Field(0, ge=0, le=MAX_ID, description="How many matching items to skip.")

    @field_validator("*")
    @classmethod
    def no_nul_character(cls, value: object) -> object:
        # SQLite ends a LIKE pattern at a NUL (`q=a%00b` searched for "a") and PostgreSQL refuses one:
        # no filter may hold it, on either database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


class Page(BaseModel, Generic[ItemT]):
    """One page of results and the total number that match the filters."""

    items: list[ItemT]
    total: int = Field(description="How many items match the filters, on all pages.")
    limit: int
    offset: int


def order_by(sort: str, sortable: Mapping[str, ColumnElement[Any]], tiebreak: ColumnElement[Any]) -> list[Any]:
    """`"-name"` sorts `sortable["name"]` descending; `tiebreak` keeps pages stable."""
    column = sortable[sort.removeprefix("-")]
    return [column.desc() if sort.startswith("-") else column.asc(), tiebreak]


def paginated(statement: CoreSelect[Any], ordering: Sequence[Any]) -> CoreSelect[Any]:
    """`statement` sorted and cut to one page; the page is bound at run time as `limit` and `offset`."""
    return statement.order_by(*ordering).limit(bindparam("limit")).offset(bindparam("offset"))


def table_page_statements(
    table: FromClause, columns: Sequence[Any], conditions: Sequence[Any], ordering: Sequence[Any]
) -> tuple[CoreSelect[Any], CoreSelect[Any]]:
    """For a list of one table's rows: the page statement, carrying the total, and the count alone."""
    count = select(func.count().label("total")).select_from(table).where(*conditions)
    page = select(*columns, count.scalar_subquery().label("total")).where(*conditions)
    return paginated(page, ordering), count


async def read_page(
    reader: Reader,
    page_model: type[PageT],
    statements: tuple[CoreSelect[Any], CoreSelect[Any]],
    params: PageParams,
    values: dict[str, Any],
    shape_row: Callable[[Row], Row] | None = None,
) -> PageT:
    """Run a `paginated()` statement carrying a `total` column; its count statement answers past the end.

    The rows, reshaped by `shape_row` if given, are validated as the page's items in one pass.
    """
    page, count = statements
    rows = await reader.all(page, limit=params.limit, offset=params.offset, **values)
    if rows:
        total = rows[0]["total"]
    elif params.offset == 0:
        total = 0
    else:
        total = (await reader.all(count, **values))[0]["total"]
    items = [shape_row(row) for row in rows] if shape_row else rows
    return page_model.model_validate({"items": items, "total": total, "limit": params.limit, "offset": params.offset})
