"""Writing PEPs: their fields through the ORM, their author list as ordered link rows.

Reads need no code here: `PEPS` (models.py) declares them. A write answers with the PEP as a read
would (`read_one` on the write's own transaction), authors in order.
"""

from sqlalchemy import delete, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authors.models import AUTHORS, Author
from app.authors.service import ensure_author_ids
from app.base import table_of, utcnow
from app.peps.models import (
    PEPS,
    AuthorDetail,
    Pep,
    PepAuthorLink,
    PepCreate,
    PepDetail,
    PepListParams,
    PepUpdate,
    default_pep_url,
)
from app.reader import Reader, SessionReader
from app.reads import read_one, read_page
from app.writes import load, retry_on_deadlock, save

# An author's detail shows this many of their PEPs, lowest numbers first; `/peps?author_id=` has them all.
PEPS_SHOWN = 100


async def read_author_detail(reader: Reader, author_id: int) -> AuthorDetail:
    """An author, and their first PEPs by number: two statements, however many PEPs they wrote."""
    author = await read_one(reader, AUTHORS, author_id)
    peps = await read_page(reader, PEPS, PepListParams(author_id=author_id, limit=PEPS_SHOWN))
    return AuthorDetail.model_validate(
        author.model_dump() | {"peps": peps.items, "all_peps": f"/peps?author_id={author_id}"}
    )


async def _lock_authors(session: AsyncSession, author_ids: set[int]) -> None:
    """Lock the authors whose PEP count will change, in id order (PostgreSQL; SQLite's writers are one at a time).

    The count triggers lock them too, but the old authors' links go in one statement and the new ones'
    in another: two writers swapping authors in opposite directions would each hold one and wait for the
    other. Taken all at once, in one order, the second writer waits for the first.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql" and author_ids:
        author = table_of(Author).c
        await connection.execute(
            select(author.id).where(author.id.in_(author_ids)).order_by(author.id).with_for_update(key_share=True)
        )


async def _set_authors(session: AsyncSession, number: int, names: list[str], replacing: bool) -> None:
    """Give the PEP this author list, in order; names no author has yet become authors."""
    ids = await ensure_author_ids(session, names)
    link = table_of(PepAuthorLink)
    connection = await session.connection()
    old = set((await connection.execute(select(link.c.author_id).where(link.c.pep_number == number))).scalars())
    await _lock_authors(session, old | set(ids.values()))
    if replacing:
        await connection.execute(delete(link).where(link.c.pep_number == number))
    rows = [{"pep_number": number, "author_id": ids[name], "position": i} for i, name in enumerate(names)]
    await connection.execute(insert(link), rows)


async def create_pep(session: AsyncSession, data: PepCreate) -> PepDetail:
    async def attempt() -> PepDetail:
        pep = Pep.model_validate(data, update={"url": data.url or default_pep_url(data.number)})
        await save(session, pep, taken=f"PEP {data.number} already exists")
        await _set_authors(session, data.number, data.authors, replacing=False)
        return await _read_back(session, data.number)

    return await retry_on_deadlock(session, attempt)


async def update_pep(session: AsyncSession, number: int, data: PepUpdate, if_match: str | None = None) -> PepDetail:
    async def attempt() -> PepDetail:
        pep = await load(session, PEPS, number, if_match=if_match)
        changes = data.model_dump(exclude_unset=True)
        authors = changes.pop("authors", None)
        pep.sqlmodel_update(changes)
        if authors is not None:
            pep.updated_at = utcnow()  # its author list is part of the PEP
        await save(session, pep)
        if authors is not None:
            await _set_authors(session, number, authors, replacing=True)
        return await _read_back(session, number)

    return await retry_on_deadlock(session, attempt)


async def delete_pep(session: AsyncSession, number: int, if_match: str | None = None) -> None:
    """Delete a PEP; the database drops its author links and the notes on it. Authors themselves stay."""
    await session.delete(await load(session, PEPS, number, if_match=if_match))
    await save(session)


async def _read_back(session: AsyncSession, number: int) -> PepDetail:
    detail = await read_one(SessionReader(session), PEPS, number)
    assert isinstance(detail, PepDetail)
    return detail
