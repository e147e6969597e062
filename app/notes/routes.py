"""`/me/notes`: HTTP routes for notes: reads run on the declared `NOTES`, writes through the service."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.auth.dependencies import UNAUTHORIZED, CurrentUser
from app.db import SessionDep
from app.notes import service
from app.notes.models import NOTES, NoteCreate, NoteListParams, NotePage, NotePublic, NoteUpdate
from app.pages import MAX_ID
from app.reads import ReadDep
from app.responses import PRECONDITION_FAILED, UNAVAILABLE, UNREADABLE_BODY, Responses, error_response
from app.writes import IfMatch

router = APIRouter(prefix="/me/notes", tags=["notes"], responses=UNAVAILABLE | UNREADABLE_BODY | UNAUTHORIZED)

NoteIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The note's id.", examples=[1])]
NOT_FOUND: Responses = {404: error_response("You have no note with this id.", "Note 9999 not found")}


@router.get("", operation_id="notes-list", summary="List my notes", response_model=NotePage)
async def list_notes(read: ReadDep, user: CurrentUser, params: Annotated[NoteListParams, Query()]) -> Response:
    """Your notes, newest first; filter, sort and page through them."""
    return await read.page(NOTES, params, owner=user)


@router.get(
    "/{note_id}", operation_id="notes-get", summary="Get my note", response_model=NotePublic, responses=NOT_FOUND
)
async def get_note(read: ReadDep, user: CurrentUser, note_id: NoteIdPath) -> Response:
    """One of your notes."""
    return await read.one(NOTES, note_id, owner=user)


@router.post(
    "",
    operation_id="notes-create",
    summary="Write a note",
    status_code=status.HTTP_201_CREATED,
)
async def create_note(session: SessionDep, user: CurrentUser, data: NoteCreate, response: Response) -> NotePublic:
    """Write a note on a PEP; only you can see it."""
    note = await service.create_note(session, user, data)
    response.headers["Location"] = f"/me/notes/{note.id}"
    return NotePublic.model_validate(note)


@router.patch(
    "/{note_id}",
    operation_id="notes-update",
    summary="Edit my note",
    responses=NOT_FOUND | PRECONDITION_FAILED,
)
async def update_note(
    session: SessionDep, user: CurrentUser, note_id: NoteIdPath, data: NoteUpdate, if_match: IfMatch = None
) -> NotePublic:
    """Change only the fields sent of one of your notes."""
    return NotePublic.model_validate(await service.update_note(session, user, note_id, data, if_match))


@router.delete(
    "/{note_id}",
    operation_id="notes-delete",
    summary="Delete my note",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND | PRECONDITION_FAILED,
)
async def delete_note(session: SessionDep, user: CurrentUser, note_id: NoteIdPath, if_match: IfMatch = None) -> None:
    """Delete one of your notes."""
    await service.delete_note(session, user, note_id, if_match)
