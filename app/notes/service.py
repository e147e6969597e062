"""Writing notes, each for its owner only. Reads need no code here: `NOTES` (models.py) declares them."""

from sqlmodel.ext.asyncio.session import AsyncSession

from app.notes.models import NOTES, Note, NoteCreate, NoteUpdate
from app.users.models import User
from app.writes import load, save

# The fields that name another row, and what to call it when there is none: "PEP 9999 not found".
REFERENCES = {"pep_number": "PEP"}


async def create_note(session: AsyncSession, owner: User, data: NoteCreate) -> Note:
    note = Note.model_validate(data, update={"user_id": owner.id})
    await save(session, note, references=REFERENCES)
    return note


async def update_note(
    session: AsyncSession, owner: User, note_id: int, data: NoteUpdate, if_match: str | None = None
) -> Note:
    note = await load(session, NOTES, note_id, owner=owner, if_match=if_match)
    note.sqlmodel_update(data.model_dump(exclude_unset=True))
    await save(session, note, references=REFERENCES)
    return note


async def delete_note(session: AsyncSession, owner: User, note_id: int, if_match: str | None = None) -> None:
    await session.delete(await load(session, NOTES, note_id, owner=owner, if_match=if_match))
    await save(session)
