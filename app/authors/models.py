"""Authors: the people PEPs name. They know nothing of PEPs but their count (app/peps builds on this)."""

from typing import Annotated, Literal

from pydantic import StringConstraints
from sqlmodel import Field, SQLModel

from app.base import NEVER_REUSE_IDS, Timestamps
from app.listing import Collection, Search
from app.pages import Page, PageParams

AuthorName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class AuthorBase(SQLModel):
    name: AuthorName = Field(unique=True, max_length=100, description="The author's name as PEPs print it.")


class Author(Timestamps, AuthorBase, table=True):
    __tablename__ = "author"
    # A deleted author's id is never given to a new one: `/peps?author_id=` keeps meaning the same person.
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    # Kept by triggers on pep_author (app.search): sorting by it reads an index, not every link.
    pep_count: int = Field(default=0, index=True, sa_column_kwargs={"server_default": "0"})


class AuthorCreate(AuthorBase):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"name": "Grace Hopper"}]}}


class AuthorUpdate(SQLModel):
    """An author's only editable field is the name, so a rename must send it."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"name": "Guido van Rossum (BDFL emeritus)"}]},
    }

    name: AuthorName


class AuthorSummary(SQLModel):
    id: int
    name: str
    pep_count: int = Field(description="How many PEPs the author is on.")


class AuthorPage(Page[AuthorSummary]):
    """A page of authors with how many PEPs each wrote."""


class AuthorListParams(PageParams):
    q: str | None = Field(
        None, min_length=1, max_length=100, description="Only authors whose name contains this (any case)."
    )
    sort: Literal["name", "-name", "pep_count", "-pep_count"] = Field(
        "name", description="Sort key; a leading `-` sorts descending."
    )


AUTHORS = Collection(
    Author,
    AuthorPage,
    AuthorListParams,
    filters={"q": Search(Author.id, "author_search", Author.name)},
    sorts={"name": Author.name, "pep_count": Author.pep_count},
)
