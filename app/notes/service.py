"""Notes queries. Every one is filtered by the owner: another user's note does not exist for you."""

from collections.abc import Sequence

from fastapi.exceptions import RequestValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.base import utcnow
from app.errors import NotFoundError
from app.notes.models import Note, NoteCreate, NoteListParams, NoteUpdate
from app.pagination import fetch_page, order_by
from app.peps.models import Pep
from app.users.models import User


async def list_notes(session: AsyncSession, owner: User, params: NoteListParams) -> tuple[Sequence[Note], int]:
    statement = select(Note).where(Note.user_id == owner.id)
    if params.pep_number is not None:
        statement = statement.where(Note.pep_number == params.pep_number)
    sortable = {"created_at": col(Note.created_at), "pep_number": col(Note.pep_number)}
    return await fetch_page(session, statement, params, order_by(params.sort, sortable, col(Note.id)))


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
    note = Note(body=data.body, pep_number=data.pep_number, user_id=owner.id)
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
