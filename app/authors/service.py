"""Writing authors. Reads need no code here: `AUTHORS` (models.py) declares them."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authors.models import AUTHORS, Author, AuthorCreate, AuthorUpdate
from app.base import table_of, utcnow
from app.errors import ConflictError
from app.writes import Answer, load, save

# Names looked up or inserted per statement: inside every driver's limit on parameters.
NAMES_PER_STATEMENT = 5000


def name_taken(name: str) -> str:
    return f"An author named {name!r} already exists"


async def ensure_author_ids(session: AsyncSession, names: Iterable[str]) -> dict[str, int]:
    """Author ids by name, inserting the missing names; safe when two requests add the same name at once.

    Names go in sorted order, so two requests adding the same new names wait for each other, not deadlock.
    """
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


async def create_author(session: AsyncSession, data: AuthorCreate) -> Author:
    author = Author.model_validate(data)
    await save(session, author, taken=name_taken(author.name))
    return author


async def update_author(
    session: AsyncSession, author_id: int, data: AuthorUpdate, if_match: str | None = None, answer: Answer | None = None
) -> Author:
    """Rename an author; with `if_match`, only if the author's answer (`answer`: its GET's) still has that ETag."""
    author = await load(session, AUTHORS, author_id, if_match=if_match, answer=answer)
    author.sqlmodel_update(data.model_dump(exclude_unset=True))
    await save(session, author, taken=name_taken(author.name))
    return author


async def delete_author(
    session: AsyncSession, author_id: int, if_match: str | None = None, answer: Answer | None = None
) -> None:
    """Delete an author who is on no PEP (the database refuses the others too: its foreign key RESTRICTs)."""
    author = await load(session, AUTHORS, author_id, if_match=if_match, answer=answer)
    on_peps = f"Author {author_id} is on {author.pep_count} PEP(s); take them off those PEPs first"
    if author.pep_count:
        raise ConflictError(on_peps)
    await session.delete(author)
    try:
        await save(session)
    except IntegrityError:  # put on a PEP in between
        raise ConflictError(f"Author {author_id} is on a PEP now; take them off it first") from None
