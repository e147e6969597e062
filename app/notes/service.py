"""Notes queries. Every one is filtered by the owner: another user's note does not exist for you."""

from functools import lru_cache
from typing import Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy import bindparam
from sqlalchemy.sql import Select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.base import id_of, table_of, utcnow
from app.errors import NotFoundError
from app.notes.models import Note, NoteCreate, NoteListParams, NotePage, NotePublic, NoteUpdate
from app.pagination import Position, read_page, table_page_statements
from app.peps.models import Pep
from app.reader import Reader
from app.users.models import User

NOTE_TABLE = table_of(Note)
PUBLIC_COLUMNS = [NOTE_TABLE.c[name] for name in NotePublic.model_fields]


@lru_cache(maxsize=32)
def note_page_statements(by_pep: bool, sort: str, position: Position) -> tuple[Select[Any], Select[Any]]:
    """The page statement (the owner's notes and their total) and the count, for one shape of request."""
    conditions = [NOTE_TABLE.c.user_id == bindparam("owner_id")]
    if by_pep:
        conditions.append(NOTE_TABLE.c.pep_number == bindparam("pep_number"))
    sortable = {"created_at": NOTE_TABLE.c.created_at, "pep_number": NOTE_TABLE.c.pep_number}
    return table_page_statements(NOTE_TABLE, PUBLIC_COLUMNS, conditions, sort, sortable, NOTE_TABLE.c.id, position)


async def list_notes(reader: Reader, owner: User, params: NoteListParams) -> NotePage:
    values: dict[str, Any] = {"owner_id": owner.id}
    if params.pep_number is not None:
        values["pep_number"] = params.pep_number
    by_pep = params.pep_number is not None
    return await read_page(
        reader, NotePage, lambda position: note_page_statements(by_pep, params.sort, position), params, values
    )


async def get_note(session: AsyncSession, owner: User, note_id: int) -> Note:
    note = (await session.exec(select(Note).where(Note.id == note_id, Note.user_id == owner.id))).first()
    if note is None:
        # 404, not 403: a note that is not yours must not even be known to exist.
        raise NotFoundError(f"Note {note_id} not found")
    return note


async def create_note(session: AsyncSession, owner: User, data: NoteCreate) -> Note:
    if await session.get(Pep, data.pep_number) is None:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "pep_number"),
                    "msg": f"PEP {data.pep_number} not found",
                    "input": data.pep_number,
                }
            ]
        )
    note = Note(body=data.body, pep_number=data.pep_number, user_id=id_of(owner))
    session.add(note)
    await session.flush()
    return note


async def update_note(session: AsyncSession, owner: User, note_id: int, data: NoteUpdate) -> Note:
    note = await get_note(session, owner, note_id)
    note.sqlmodel_update(data.model_dump(exclude_unset=True))
    note.updated_at = utcnow()
    await session.flush()
    return note


async def delete_note(session: AsyncSession, owner: User, note_id: int) -> None:
    await session.delete(await get_note(session, owner, note_id))
    await session.flush()
