"""PEP queries. Reads run on the fast read path (app.reader) in one statement; writes use the ORM session."""

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import String, bindparam, cast, delete, func, literal
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authors.models import Author
from app.authors.service import ensure_authors
from app.base import id_of, table_of, utcnow
from app.errors import ConflictError, NotFoundError
from app.pagination import Position, page_statements, read_page
from app.peps.models import (
    Pep,
    PepAuthorLink,
    PepCreate,
    PepDetail,
    PepListParams,
    PepPage,
    PepUpdate,
)
from app.peps.queries import PEP_TABLE, SUMMARY_COLUMNS, author_pairs_of, with_author_names
from app.reader import Reader
from app.search import contains_text, search_values
from app.sql import LIKE_ESCAPE, contains_pattern

# Writes load a PEP's authors with two extra queries, however many there are.
# SQLModel types a relationship as its Python value (a list, an Author), not as the ORM attribute it is.
WITH_AUTHORS = selectinload(Pep.author_links).selectinload(PepAuthorLink.author)  # type: ignore[arg-type]

# sqlalchemy's select for the Core statements of the read path (sqlmodel's is typed for models and columns).
PEP_DETAIL = sa.select(*PEP_TABLE.c, author_pairs_of(PEP_TABLE.c.number).label("author_pairs")).where(
    PEP_TABLE.c.number == bindparam("number")
)


def contains_list_item(column: ColumnElement[str], parameter: str) -> ColumnElement[bool]:
    """True where a comma-separated text column (`"2.6, 3.0"`) has the item bound as `parameter`.

    Bind `list_item_pattern(item)`: the column's spaces are dropped and it is wrapped in commas, so
    `3.0` matches `"2.6, 3.0"` but not `"3.01"`.
    """
    padded = literal(",") + func.replace(func.lower(column), " ", "") + literal(",")
    return cast(padded, String).like(bindparam(parameter), escape=LIKE_ESCAPE)


def list_item_pattern(item: str) -> str:
    return contains_pattern("," + item.replace(" ", "").lower() + ",")


def pep_filter_values(params: PepListParams) -> dict[str, Any]:
    """The filters the client set, as the values their conditions in `pep_conditions` bind."""
    patterns: dict[str, Callable[[str], str]] = {"topic": list_item_pattern, "python_version": list_item_pattern}
    values: dict[str, Any] = {}
    for name in ("status", "type", "topic", "python_version", "created_after", "created_before", "author_id"):
        value = getattr(params, name)
        if value is not None:
            values[name] = patterns[name](value) if name in patterns else value
    for name in ("author", "q"):
        value = getattr(params, name)
        if value is not None:
            values |= search_values(name, value)
    return values


def pep_conditions(filters: frozenset[str]) -> list[ColumnElement[bool]]:
    """The WHERE conditions for the filters named; each binds its value under the filter's name."""
    pep = PEP_TABLE.c
    conditions: dict[str, ColumnElement[bool]] = {
        "status": pep.status == bindparam("status"),
        "type": pep.type == bindparam("type"),
        "topic": contains_list_item(pep.topic, "topic"),
        "python_version": contains_list_item(pep.python_version, "python_version"),
        "created_after": pep.created >= bindparam("created_after"),
        "created_before": pep.created <= bindparam("created_before"),
    }
    if "author_id" in filters:
        link = table_of(PepAuthorLink).c
        conditions["author_id"] = pep.number.in_(
            select(link.pep_number).where(link.author_id == bindparam("author_id"))
        )
    if "author" in filters:
        link, author = table_of(PepAuthorLink).c, table_of(Author).c
        authors = select(author.id).where(contains_text(author.id, "author_search", [author.name], "author", filters))
        conditions["author"] = pep.number.in_(select(link.pep_number).where(link.author_id.in_(authors)))
    if "q" in filters:
        conditions["q"] = contains_text(pep.number, "pep_search", [pep.title, pep.abstract], "q", filters)
    return [condition for name, condition in conditions.items() if name in filters]


@lru_cache(maxsize=512)
def pep_page_statements(filters: frozenset[str], sort: str, position: Position) -> tuple[Select[Any], Select[Any]]:
    """The page statement (rows, their authors, the total) and the count, for one shape of request.

    The page is chosen first, in a subquery, so that authors are gathered for its rows only.
    """
    conditions = pep_conditions(filters)
    count = select(func.count().label("total")).select_from(PEP_TABLE).where(*conditions)
    pep = PEP_TABLE.c
    # Titles sort as people read them ("a circuit" before "A Concurrency"), on both databases.
    sortable = {"number": pep.number, "title": func.lower(pep.title, type_=String), "created": pep.created}
    return page_statements(
        select(*SUMMARY_COLUMNS).where(*conditions),
        count,
        sort,
        sortable,
        pep.number,
        position,
        around=lambda page: [author_pairs_of(page.c.number).label("author_pairs")],
    )


async def list_peps(reader: Reader, params: PepListParams) -> PepPage:
    values = pep_filter_values(params)
    filters = frozenset(values)
    return await read_page(
        reader,
        PepPage,
        lambda position: pep_page_statements(filters, params.sort, position),
        params,
        values,
        with_author_names,
    )


async def get_pep(reader: Reader, number: int) -> PepDetail:
    row = await reader.first(PEP_DETAIL, number=number)
    if row is None:
        raise NotFoundError(f"PEP {number} not found")
    return PepDetail.model_validate(with_author_names(row))


async def load_pep(session: AsyncSession, number: int) -> Pep:
    """The PEP as an ORM object with its authors, to change it."""
    pep = (await session.exec(select(Pep).where(col(Pep.number) == number).options(WITH_AUTHORS))).first()
    if pep is None:
        raise NotFoundError(f"PEP {number} not found")
    return pep


def author_links(number: int, names: list[str], authors: Mapping[str, Author]) -> list[PepAuthorLink]:
    return [
        PepAuthorLink(pep_number=number, author_id=id_of(authors[name]), author=authors[name], position=i)
        for i, name in enumerate(names)
    ]


async def replace_authors(
    session: AsyncSession, pep: Pep, names: list[str], known_authors: Mapping[str, Author] | None = None
) -> None:
    """Replace a stored PEP's author list, keeping the given order (`known_authors` saves a look-up)."""
    authors = known_authors if known_authors is not None else await ensure_authors(session, names)
    # Old links go first: the new list may reuse their positions.
    pep.author_links = []
    await session.flush()
    pep.author_links = author_links(pep.number, names, authors)


def new_pep(data: PepCreate, authors: Mapping[str, Author]) -> Pep:
    return Pep(**data.column_values(), author_links=author_links(data.number, data.authors, authors))


async def create_pep(session: AsyncSession, data: PepCreate) -> Pep:
    if await session.get(Pep, data.number) is not None:
        raise ConflictError(f"PEP {data.number} already exists")
    pep = new_pep(data, await ensure_authors(session, data.authors))
    session.add(pep)
    try:
        await session.flush()
    except IntegrityError:  # another request created the same number in between
        raise ConflictError(f"PEP {data.number} already exists") from None
    return pep


async def update_pep(session: AsyncSession, number: int, data: PepUpdate) -> Pep:
    pep = await load_pep(session, number)
    changes = data.model_dump(exclude_unset=True)
    authors = changes.pop("authors", None)
    pep.sqlmodel_update(changes)
    pep.updated_at = utcnow()
    if authors is not None:
        await replace_authors(session, pep, authors)
    await session.flush()
    return pep


async def delete_pep(session: AsyncSession, number: int) -> None:
    """Delete a PEP; the database drops its author links. Authors themselves stay."""
    result = await session.exec(delete(Pep).where(col(Pep.number) == number))
    if result.rowcount == 0:
        raise NotFoundError(f"PEP {number} not found")
