"""Pagination and sorting shared by every list endpoint: one count query plus one page query."""

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlalchemy.sql import ColumnElement
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

ItemT = TypeVar("ItemT")

# The largest id or offset the databases' INTEGER columns can hold.
MAX_ID = 2_147_483_647


class PageParams(BaseModel):
    """`limit` and `offset`; list endpoints extend this with their filters and `sort`."""

    # A misspelt filter is an error, not a silently unfiltered list.
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=100, description="How many items to return (1 to 100).")
    offset: int = Field(0, ge=0, le=MAX_ID, description="How many matching items to skip.")


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


async def fetch_page(
    session: AsyncSession,
    statement: Select[Any] | SelectOfScalar[Any],
    params: PageParams,
    ordering: Sequence[Any],
) -> tuple[Sequence[Any], int]:
    """Run `statement` for one page and count every row it matches, in two queries."""
    total = (await session.exec(select(func.count()).select_from(statement.order_by(None).subquery()))).one()
    page = statement.order_by(*ordering).limit(params.limit).offset(params.offset)
    return (await session.exec(page)).all(), total
