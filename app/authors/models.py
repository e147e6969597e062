"""Author tables and API schemas."""

from typing import TYPE_CHECKING, Literal

from sqlmodel import Field, Relationship, SQLModel

from app.base import Timestamps
from app.pagination import Page, PageParams
from app.peps.models import AuthorName, PepSummary

if TYPE_CHECKING:
    from app.peps.models import PepAuthorLink


class AuthorBase(SQLModel):
    name: AuthorName = Field(unique=True, max_length=100, description="The author's name as PEPs print it.")


class Author(Timestamps, AuthorBase, table=True):
    __tablename__ = "author"

    id: int | None = Field(default=None, primary_key=True)
    # Kept by triggers on pep_author (app.search): sorting by it reads an index, not every link.
    pep_count: int = Field(default=0, index=True, sa_column_kwargs={"server_default": "0"})
    pep_links: list["PepAuthorLink"] = Relationship(back_populates="author", sa_relationship_kwargs={"lazy": "raise"})


class AuthorCreate(AuthorBase):
    model_config = {"json_schema_extra": {"examples": [{"name": "Grace Hopper"}]}}


class AuthorUpdate(SQLModel):
    """An author's only editable field is the name, so a rename must send it."""

    model_config = {"json_schema_extra": {"examples": [{"name": "Guido van Rossum (BDFL emeritus)"}]}}

    name: AuthorName


class AuthorSummary(SQLModel):
    id: int
    name: str
    pep_count: int


class AuthorDetail(SQLModel):
    id: int
    name: str
    pep_count: int = Field(description="How many PEPs the author is on.")
    peps: list[PepSummary] = Field(
        description="The author's PEPs, lowest numbers first: at most 100; `all_peps` pages through every one."
    )
    all_peps: str = Field(
        description="The path of the list of all the author's PEPs, to filter, sort and page: `/peps?author_id=`."
    )


class AuthorPage(Page[AuthorSummary]):
    """A page of authors with how many PEPs each wrote."""


class AuthorListParams(PageParams):
    q: str | None = Field(
        None, min_length=1, max_length=100, description="Only authors whose name contains this (any case)."
    )
    sort: Literal["name", "-name", "pep_count", "-pep_count"] = Field(
        "name", description="Sort key; a leading `-` sorts descending."
    )
