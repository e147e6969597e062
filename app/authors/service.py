"""Author queries: every function takes the session and does a fixed number of statements."""

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authors.models import (
    Author,
    AuthorCreate,
    AuthorDetail,
    AuthorListParams,
    AuthorPage,
    AuthorUpdate,
)
from app.base import table_of, utcnow
from app.errors import ConflictError, NotFoundError
from app.pagination import Position, read_page, table_page_statements
from app.peps.models import PepAuthorLink, PepSummary
from app.peps.queries import PEP_TABLE, SUMMARY_COLUMNS, author_pairs_of, with_author_names
from app.reader import Reader
from app.search import contains_text, search_values

# Names looked up or inserted per statement: inside every driver's limit on parameters.
NAMES_PER_STATEMENT = 5000


async def ensure_author_ids(session: AsyncSession, names: Iterable[str]) -> dict[str, int]:
    """Author ids by name, inserting the missing names; safe when two requests add the same name at once."""
    wanted = sorted(set(names))
    ids: dict[str, int] = {}
    connection = await session.connection()
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    author = table_of(Author).c
    for start in range(0, len(wanted), NAMES_PER_STATEMENT):
        chunk = wanted[start : start + NAMES_PER_STATEMENT]
        found = await connection.execute(select(author.name, author.id).where(author.name.in_(chunk)))
        ids |= {name: author_id for name, author_id in found.all()}
        missing = [name for name in chunk if name not in ids]
        if missing:
            now = utcnow()
            rows = [{"name": name, "created_at": now, "updated_at": now} for name in missing]
            await connection.execute(insert(Author).values(rows).on_conflict_do_nothing(index_elements=["name"]))
            added = await connection.execute(select(author.name, author.id).where(author.name.in_(missing)))
            ids |= {name: author_id for name, author_id in added.all()}
    return ids


async def ensure_authors(session: AsyncSession, names: Iterable[str]) -> dict[str, Author]:
    """Authors by name as ORM objects (for a PEP's author links), inserting the missing ones."""
    ids = await ensure_author_ids(session, names)
    if not ids:
        return {}
    authors = await session.exec(select(Author).where(col(Author.id).in_(ids.values())))
    return {author.name: author for author in authors.all()}


def _pep_count() -> ColumnElement[int]:
    return func.count(col(PepAuthorLink.pep_number))


AUTHOR_TABLE = table_of(Author)


@lru_cache(maxsize=32)
def author_page_statements(filters: frozenset[str], sort: str, position: Position) -> tuple[Select[Any], Select[Any]]:
    """The page statement (authors, their PEP counts, the total) and the count, for one shape of request.

    `pep_count` is the column the database keeps (app.search), not a count of the links.
    """
    author = AUTHOR_TABLE.c
    conditions = [contains_text(author.id, "author_search", [author.name], "q", filters)] if filters else []
    sortable = {"name": author.name, "pep_count": author.pep_count}
    columns = [author.id, author.name, author.pep_count]
    return table_page_statements(AUTHOR_TABLE, columns, conditions, sort, sortable, author.id, position)


async def list_authors(reader: Reader, params: AuthorListParams) -> AuthorPage:
    values = search_values("q", params.q) if params.q else {}
    filters = frozenset(values)
    return await read_page(
        reader, AuthorPage, lambda position: author_page_statements(filters, params.sort, position), params, values
    )


async def get_author(session: AsyncSession, author_id: int) -> Author:
    author = await session.get(Author, author_id)
    if author is None:
        raise NotFoundError(f"Author {author_id} not found")
    return author


# An author's detail shows this many of their PEPs, lowest numbers first; `/peps?author_id=` has them all.
PEPS_SHOWN = 100
AUTHOR_BY_ID = sa.select(AUTHOR_TABLE.c.id, AUTHOR_TABLE.c.name, AUTHOR_TABLE.c.pep_count).where(
    AUTHOR_TABLE.c.id == bindparam("author_id")
)
PEPS_OF_AUTHOR = (
    sa.select(*SUMMARY_COLUMNS, author_pairs_of(PEP_TABLE.c.number).label("author_pairs"))
    .join_from(PEP_TABLE, PepAuthorLink, col(PepAuthorLink.pep_number) == PEP_TABLE.c.number)
    .where(col(PepAuthorLink.author_id) == bindparam("author_id"))
    .order_by(PEP_TABLE.c.number)
    .limit(bindparam("limit"))
)


async def get_author_detail(reader: Reader, author_id: int) -> AuthorDetail:
    author = await reader.first(AUTHOR_BY_ID, author_id=author_id)
    if author is None:
        raise NotFoundError(f"Author {author_id} not found")
    peps = [
        PepSummary.model_validate(with_author_names(row))
        for row in await reader.all(PEPS_OF_AUTHOR, author_id=author_id, limit=PEPS_SHOWN)
    ]
    all_peps = f"/peps?author_id={author_id}"
    return AuthorDetail(
        id=author["id"], name=author["name"], pep_count=author["pep_count"], peps=peps, all_peps=all_peps
    )


async def create_author(session: AsyncSession, data: AuthorCreate) -> Author:
    author = Author.model_validate(data)
    session.add(author)
    await _flush_unique_name(session, data.name)
    return author


async def update_author(session: AsyncSession, author_id: int, data: AuthorUpdate) -> Author:
    author = await get_author(session, author_id)
    changes = data.model_dump(exclude_unset=True)
    author.sqlmodel_update(changes)
    author.updated_at = utcnow()
    await _flush_unique_name(session, author.name)
    return author


async def delete_author(session: AsyncSession, author_id: int) -> None:
    author = await get_author(session, author_id)
    pep_count = (await session.exec(select(_pep_count()).where(PepAuthorLink.author_id == author_id))).one()
    if pep_count:
        raise ConflictError(f"Author {author_id} is on {pep_count} PEP(s); take them off those PEPs first")
    await session.delete(author)
    await session.flush()


async def _flush_unique_name(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise ConflictError(f"An author named {name!r} already exists") from None
