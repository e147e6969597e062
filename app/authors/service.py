"""Author queries: every function takes the session and does a fixed number of statements."""

from collections.abc import Iterable, Sequence

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authors.models import Author, AuthorCreate, AuthorDetail, AuthorListParams, AuthorSummary, AuthorUpdate
from app.base import utcnow
from app.errors import ConflictError, NotFoundError
from app.pagination import fetch_page, order_by
from app.peps.models import Pep, PepAuthorLink, PepSummary


async def ensure_authors(session: AsyncSession, names: Iterable[str]) -> dict[str, Author]:
    """Authors by name, inserting the missing ones; safe when two requests add the same name at once."""
    wanted = set(names)
    if not wanted:
        return {}
    statement = select(Author).where(col(Author.name).in_(wanted))
    found = {author.name: author for author in (await session.exec(statement)).all()}
    missing = wanted - found.keys()
    if missing:
        now = utcnow()
        insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        rows = [{"name": name, "created_at": now, "updated_at": now} for name in sorted(missing)]
        await session.exec(insert(Author).values(rows).on_conflict_do_nothing(index_elements=["name"]))
        added = select(Author).where(col(Author.name).in_(missing))
        found |= {author.name: author for author in (await session.exec(added)).all()}
    return found


def _pep_count():
    return func.count(col(PepAuthorLink.pep_number))


async def list_authors(session: AsyncSession, params: AuthorListParams) -> tuple[list[AuthorSummary], int]:
    statement = (
        select(Author.id, Author.name, _pep_count().label("pep_count"))
        .outerjoin(PepAuthorLink, col(PepAuthorLink.author_id) == Author.id)
        .group_by(col(Author.id), col(Author.name))
    )
    if params.q:
        statement = statement.where(col(Author.name).icontains(params.q, autoescape=True))
    sortable = {"name": col(Author.name), "pep_count": _pep_count()}
    rows, total = await fetch_page(session, statement, params, order_by(params.sort, sortable, col(Author.id)))
    return [AuthorSummary(id=row.id, name=row.name, pep_count=row.pep_count) for row in rows], total


async def get_author(session: AsyncSession, author_id: int) -> Author:
    author = await session.get(Author, author_id)
    if author is None:
        raise NotFoundError(f"Author {author_id} not found")
    return author


async def get_author_detail(session: AsyncSession, author_id: int) -> AuthorDetail:
    author = await get_author(session, author_id)
    statement = (
        select(Pep)
        .join(PepAuthorLink, col(PepAuthorLink.pep_number) == Pep.number)
        .where(PepAuthorLink.author_id == author_id)
        .order_by(col(Pep.number))
        .options(selectinload(Pep.author_links).selectinload(PepAuthorLink.author))
    )
    peps: Sequence[Pep] = (await session.exec(statement)).all()
    return AuthorDetail(id=author_id, name=author.name, peps=[PepSummary.model_validate(pep) for pep in peps])


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
