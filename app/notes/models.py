"""Notes: the pattern for a resource each user owns. Copy this folder for your own."""

from datetime import datetime
from typing import Literal

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.base import NEVER_REUSE_IDS, Timestamps
from app.pagination import Page, PageParams
from app.peps.models import PepNumber


class NoteBase(SQLModel):
    body: str = Field(min_length=1, max_length=10_000, description="The note's text.")


class Note(Timestamps, NoteBase, table=True):
    __tablename__ = "note"
    # Cursor pages of one user's notes seek on (user, sort key, id), whichever way they sort.
    __table_args__ = (
        Index("ix_note_user_id_created_at_id", "user_id", "created_at", "id"),
        Index("ix_note_user_id_pep_number_id", "user_id", "pep_number", "id"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    # ON DELETE CASCADE: deleting a user or a PEP deletes its notes in the database itself.
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    pep_number: int = Field(foreign_key="pep.number", ondelete="CASCADE", index=True)


class NoteCreate(NoteBase):
    model_config = {
        "json_schema_extra": {"examples": [{"pep_number": 8, "body": "Read the naming conventions again."}]}
    }

    pep_number: PepNumber = Field(description="The PEP the note is about.")


class NoteUpdate(SQLModel):
    model_config = {
        "json_schema_extra": {"examples": [{"body": "Read the naming conventions again, and the section on comments."}]}
    }

    body: str = Field(min_length=1, max_length=10_000)


class NotePublic(NoteBase):
    id: int
    pep_number: int
    created_at: datetime
    updated_at: datetime


class NotePage(Page[NotePublic]):
    """A page of the signed-in user's notes."""


class NoteListParams(PageParams):
    pep_number: int | None = Field(None, ge=0, le=99999, description="Only notes about this PEP.")
    sort: Literal["created_at", "-created_at", "pep_number", "-pep_number"] = Field(
        "-created_at", description="Sort key; a leading `-` sorts descending."
    )
