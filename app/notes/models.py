"""Note: the table, its API schemas, and `NOTES`: how the list is scoped to its owner, filtered and sorted.

The pattern to copy for a resource each user owns: `python -m app new-resource ... --owned` writes this shape.
"""

from datetime import datetime
from typing import Literal

from pydantic import MISSING, StrictInt
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.base import NEVER_REUSE_IDS, Timestamps
from app.listing import Collection, Contains, Equals
from app.pages import Page, PageParams


class NoteBase(SQLModel):
    body: str = Field(
        min_length=1, max_length=10_000, schema_extra={"examples": ["Read the naming conventions again."]}
    )
    pep_number: StrictInt = Field(
        ge=0, le=99999, foreign_key="pep.number", ondelete="CASCADE", index=True, schema_extra={"examples": [8]}
    )


class Note(Timestamps, NoteBase, table=True):
    __tablename__ = "note"
    # Cursor pages of one user's rows seek on (user, sort key, id), whichever way they sort.
    __table_args__ = (
        Index("ix_note_user_id_created_at_id", "user_id", "created_at", "id"),
        Index("ix_note_user_id_pep_number_id", "user_id", "pep_number", "id"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    # ON DELETE CASCADE: deleting a user deletes their notes in the database itself.
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")  # leads ix_note_user_id_created_at_id


class NoteCreate(NoteBase):
    model_config = {"extra": "forbid"}  # an unknown field is a 422 naming it, as an unknown query parameter is


class NoteUpdate(SQLModel):
    """Only the fields sent change."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"body": "Read it again, slowly."}]}}

    # `X | MISSING`: may be left out, but not sent as null (the column is NOT NULL).
    body: str | MISSING = Field(default=MISSING, min_length=1, max_length=10_000)
    pep_number: StrictInt | MISSING = Field(default=MISSING, ge=0, le=99999)


class NotePublic(NoteBase):
    id: int
    created_at: datetime
    updated_at: datetime


class NotePage(Page[NotePublic]):
    """A page of the signed-in user's notes."""


NoteSort = Literal["created_at", "-created_at", "pep_number", "-pep_number"]


class NoteListParams(PageParams):
    pep_number: int | None = Field(None, ge=0, le=99999, description="Only notes about this PEP.")
    q: str | None = Field(None, min_length=1, max_length=200, description="Text to look for in body (any case).")
    sort: NoteSort = Field("-created_at", description="Sort key; a leading `-` sorts descending.")


NOTES = Collection(
    Note,
    NotePage,
    NoteListParams,
    filters={
        "pep_number": Equals(Note.pep_number),
        "q": Contains(Note.body),
    },
    sorts={
        "created_at": Note.created_at,
        "pep_number": Note.pep_number,
    },
    owner=Note.user_id,
)
