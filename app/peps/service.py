"""PEP queries: every function takes the session and does a fixed number of statements."""

from collections.abc import Mapping, Sequence

from sqlalchemy import String, cast, delete, func, literal, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authors.models import Author
from app.authors.service import ensure_authors
from app.base import utcnow
from app.errors import ConflictError, NotFoundError
from app.pagination import fetch_page, order_by
from app.peps.models import Pep, PepAuthorLink, PepCreate, PepListParams, PepUpdate

# Two extra queries load every PEP's authors in order, however many PEPs there are.
WITH_AUTHORS = selectinload(Pep.author_links).selectinload(PepAuthorLink.author)


def contains_list_item(column: ColumnElement[str], item: str) -> ColumnElement[bool]:
    """True where a comma-separated text column (`"2.6, 3.0"`) has `item` as one of its entries."""
    padded = literal(",") + func.replace(func.lower(column), " ", "") + literal(",")
    needle = "," + item.replace(" ", "").lower() + ","
    return cast(padded, String).contains(needle, autoescape=True)


def filter_peps(params: PepListParams):
    statement = select(Pep)
    if params.status:
        statement = statement.where(Pep.status == params.status)
    if params.type:
        statement = statement.where(Pep.type == params.type)
    if params.topic:
        statement = statement.where(contains_list_item(col(Pep.topic), params.topic))
    if params.python_version:
        statement = statement.where(contains_list_item(col(Pep.python_version), params.python_version))
    if params.created_after:
        statement = statement.where(Pep.created >= params.created_after)
    if params.created_before:
        statement = statement.where(Pep.created <= params.created_before)
    if params.author:
        by_author = (
            select(PepAuthorLink.pep_number)
            .join(Author, col(Author.id) == PepAuthorLink.author_id)
            .where(col(Author.name).icontains(params.author, autoescape=True))
        )
        statement = statement.where(col(Pep.number).in_(by_author))
    if params.q:
        statement = statement.where(
            or_(
                col(Pep.title).icontains(params.q, autoescape=True),
                col(Pep.abstract).icontains(params.q, autoescape=True),
            )
        )
    return statement


async def list_peps(session: AsyncSession, params: PepListParams) -> tuple[Sequence[Pep], int]:
    # Titles sort as people read them ("a circuit" before "A Concurrency"), on both databases.
    sortable = {"number": col(Pep.number), "title": func.lower(col(Pep.title)), "created": col(Pep.created)}
    ordering = order_by(params.sort, sortable, col(Pep.number))
    return await fetch_page(session, filter_peps(params).options(WITH_AUTHORS), params, ordering)


async def get_pep(session: AsyncSession, number: int) -> Pep:
    pep = (await session.exec(select(Pep).where(Pep.number == number).options(WITH_AUTHORS))).first()
    if pep is None:
        raise NotFoundError(f"PEP {number} not found")
    return pep


def author_links(names: list[str], authors: Mapping[str, Author]) -> list[PepAuthorLink]:
    return [PepAuthorLink(author=authors[name], position=i) for i, name in enumerate(names)]


async def replace_authors(
    session: AsyncSession, pep: Pep, names: list[str], known_authors: Mapping[str, Author] | None = None
) -> None:
    """Replace a stored PEP's author list, keeping the given order (`known_authors` saves a look-up)."""
    authors = known_authors if known_authors is not None else await ensure_authors(session, names)
    # Old links go first: the new list may reuse their positions.
    pep.author_links = []
    await session.flush()
    pep.author_links = author_links(names, authors)


def new_pep(data: PepCreate, authors: Mapping[str, Author]) -> Pep:
    return Pep(**data.column_values(), author_links=author_links(data.authors, authors))


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
    pep = await get_pep(session, number)
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
