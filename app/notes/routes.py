"""`/me/notes`: the signed-in user's notes on PEPs."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.auth.dependencies import UNAUTHORIZED, CurrentUser
from app.db import SessionDep
from app.notes import service
from app.notes.models import NoteCreate, NoteListParams, NotePage, NotePublic, NoteUpdate
from app.pagination import MAX_ID
from app.reader import ReaderDep
from app.responses import UNAVAILABLE, UNREADABLE_BODY, Responses, error_response

router = APIRouter(prefix="/me/notes", tags=["notes"], responses=UNAVAILABLE | UNREADABLE_BODY | UNAUTHORIZED)

NoteIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The note's id.")]
NOT_FOUND: Responses = {404: error_response("You have no note with this id.", "Note 9999 not found")}


@router.get("", operation_id="notes-list", summary="List my notes")
async def list_notes(reader: ReaderDep, user: CurrentUser, params: Annotated[NoteListParams, Query()]) -> NotePage:
    """Your notes, newest first; filter by PEP."""
    return await service.list_notes(reader, user, params)


@router.post("", operation_id="notes-create", summary="Write a note", status_code=status.HTTP_201_CREATED)
async def create_note(session: SessionDep, user: CurrentUser, data: NoteCreate, response: Response) -> NotePublic:
    """Write a note on a PEP; only you can see it."""
    note = await service.create_note(session, user, data)
    response.headers["Location"] = f"/me/notes/{note.id}"
    return NotePublic.model_validate(note)


@router.get("/{note_id}", operation_id="notes-get", summary="Get my note", responses=NOT_FOUND)
async def get_note(session: SessionDep, user: CurrentUser, note_id: NoteIdPath) -> NotePublic:
    """One of your notes."""
    return NotePublic.model_validate(await service.get_note(session, user, note_id))


@router.patch("/{note_id}", operation_id="notes-update", summary="Edit my note", responses=NOT_FOUND)
async def update_note(session: SessionDep, user: CurrentUser, note_id: NoteIdPath, data: NoteUpdate) -> NotePublic:
    """Change the text of one of your notes."""
    return NotePublic.model_validate(await service.update_note(session, user, note_id, data))


@router.delete(
    "/{note_id}",
    operation_id="notes-delete",
    summary="Delete my note",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
)
async def delete_note(session: SessionDep, user: CurrentUser, note_id: NoteIdPath) -> None:
    """Delete one of your notes."""
    await service.delete_note(session, user, note_id)
