"""PEP tables and API schemas (SQLModel's Base / table / Create / Update / Public pattern)."""

from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import MISSING, AfterValidator, Strict, field_validator
from pydantic import Field as PydanticField
from sqlmodel import JSON, Field, SQLModel

from app.authors.models import Author, AuthorName, AuthorSummary
from app.base import IsoDate, Timestamps, table_of
from app.listing import AtLeast, AtMost, Collection, Computed, OneOf, Search, Where
from app.pages import MAX_ID, Page, PageParams
from app.sql import LIKE_ESCAPE, contains_pattern, json_array, json_array_agg


class PepStatus(StrEnum):
    ACCEPTED = "Accepted"
    ACTIVE = "Active"
    DEFERRED = "Deferred"
    DRAFT = "Draft"
    FINAL = "Final"
    PROVISIONAL = "Provisional"
    REJECTED = "Rejected"
    SUPERSEDED = "Superseded"
    WITHDRAWN = "Withdrawn"


class PepType(StrEnum):
    STANDARDS_TRACK = "Standards Track"
    INFORMATIONAL = "Informational"
    PROCESS = "Process"


def _stored_as_text(enum: type[Enum]) -> sa.Enum:
    # VARCHAR holding the values ("Standards Track"): no native PostgreSQL type to migrate.
    return sa.Enum(enum, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


# Strict: in a JSON body, `true` or "8" is not a PEP number (lax mode would read them as 1 and 8).
PepNumber = Annotated[int, Strict(), PydanticField(ge=0, le=99999)]


def normalise_topic(value: str) -> str:
    """`"Typing,packaging "` -> `"packaging, typing"`: the feed's comma-separated form."""
    topics = sorted({part.strip().lower() for part in value.split(",") if part.strip()})
    return ", ".join(topics)


class PepBase(SQLModel):
    number: int = Field(ge=0, le=99999, description="The PEP's number: its key in every URL.")
    title: str = Field(min_length=1, max_length=200, index=True)
    status: PepStatus = Field(sa_type=_stored_as_text(PepStatus), index=True)
    type: PepType = Field(sa_type=_stored_as_text(PepType), index=True)
    topic: str = Field(
        default="", max_length=100, index=True, description="Comma-separated topics, e.g. `packaging, typing`."
    )
    created: date
    python_version: str | None = Field(
        default=None, max_length=50, index=True, description="Free text, e.g. `3.12` or `2.6, 3.0`."
    )
    discussions_to: str | None = Field(default=None, max_length=300)
    post_history: str | None = Field(default=None, max_length=4000)
    resolution: str | None = Field(default=None, max_length=300)
    requires: list[PepNumber] = Field(
        default_factory=list, sa_type=JSON, description="Numbers of the PEPs this one requires."
    )
    replaces: list[PepNumber] = Field(default_factory=list, sa_type=JSON)
    superseded_by: list[PepNumber] = Field(default_factory=list, sa_type=JSON)
    abstract: str | None = Field(default=None, max_length=4000)

    @field_validator("topic", mode="after")
    @classmethod
    def tidy_topic(cls, value: str) -> str:
        return normalise_topic(value)


class Pep(Timestamps, PepBase, table=True):
    __tablename__ = "pep"
    # Cursor pages seek on (sort key, number); each index serves its sort in both directions.
    __table_args__ = (
        sa.Index("ix_pep_lower_title_number", sa.func.lower(sa.column("title")), "number"),
        sa.Index("ix_pep_created_number", "created", "number"),
    )

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    url: str = Field(max_length=200)


class PepAuthorLink(SQLModel, table=True):
    """Who wrote which PEP, and in which place on its author list."""

    __tablename__ = "pep_author"
    __table_args__ = (
        sa.UniqueConstraint("pep_number", "position"),
        # An author's PEP numbers from the index alone: `author=` and an author's page read no table rows.
        sa.Index("ix_pep_author_author_id_pep_number", "author_id", "pep_number"),
    )

    pep_number: int = Field(foreign_key="pep.number", primary_key=True, ondelete="CASCADE")
    author_id: int = Field(foreign_key="author.id", primary_key=True, ondelete="RESTRICT")
    position: int


def default_pep_url(number: int) -> str:
    return f"https://peps.python.org/pep-{number:04d}/"


def _distinct(names: list[str]) -> list[str]:
    if len(set(names)) != len(names):
        raise ValueError("lists an author more than once")
    return names


AuthorList = Annotated[list[AuthorName], AfterValidator(_distinct)]


class PepCreate(PepBase):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "number": 9999,
                    "title": "A PEP made from the docs",
                    "status": "Draft",
                    "type": "Informational",
                    "created": "2026-11-25",
                    "authors": ["Ada Lovelace", "Guido van Rossum"],
                }
            ]
        },
    }

    number: PepNumber = Field(description="The PEP's number: its key in every URL.")
    created: IsoDate
    url: str | None = Field(default=None, max_length=200, description="Defaults to the PEP's page on peps.python.org.")
    authors: AuthorList = Field(
        min_length=1, max_length=50, description="Author names in order; new names become authors."
    )

    def column_values(self) -> dict[str, Any]:
        """What the `pep` row stores for this PEP: every field but `authors`, with the URL filled in."""
        return self.model_dump(exclude={"authors", "url"}) | {"url": self.url or default_pep_url(self.number)}


class PepUpdate(SQLModel):
    """Every field optional: only the fields sent change. `authors` replaces the whole list."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"status": "Final", "topic": "packaging, typing"}]},
    }

    # Fields whose column is NOT NULL may be left out but not sent as null: typed `X | MISSING`, pydantic's
    # "not given" sentinel, so null fails validation, the OpenAPI schema says "X, optional", and a left-out
    # field is left out of `model_dump()` too.
    title: str | MISSING = Field(default=MISSING, min_length=1, max_length=200)
    status: PepStatus | MISSING = MISSING
    type: PepType | MISSING = MISSING
    topic: str | MISSING = Field(default=MISSING, max_length=100)
    created: IsoDate | MISSING = MISSING
    python_version: str | None = Field(default=None, max_length=50)
    discussions_to: str | None = Field(default=None, max_length=300)
    post_history: str | None = Field(default=None, max_length=4000)
    resolution: str | None = Field(default=None, max_length=300)
    requires: list[PepNumber] | MISSING = MISSING
    replaces: list[PepNumber] | MISSING = MISSING
    superseded_by: list[PepNumber] | MISSING = MISSING
    abstract: str | None = Field(default=None, max_length=4000)
    url: str | MISSING = Field(default=MISSING, max_length=200)
    authors: AuthorList | MISSING = Field(default=MISSING, min_length=1, max_length=50)

    @field_validator("topic", mode="after")
    @classmethod
    def tidy_topic(cls, value: str) -> str:
        return normalise_topic(value)


class PepSummary(SQLModel):
    number: int
    title: str
    status: PepStatus
    type: PepType
    topic: str
    created: date
    python_version: str | None
    authors: list[str]


class PepDetail(PepBase):
    url: str
    authors: list[str]
    created_at: datetime
    updated_at: datetime


class PepPage(Page[PepSummary]):
    """A page of PEP summaries."""


class AuthorDetail(AuthorSummary):
    """An author and their PEPs: defined here, beside the PEPs it lists (app/authors knows nothing of PEPs)."""

    peps: list[PepSummary] = Field(
        description="The author's PEPs, lowest numbers first: at most 100; `all_peps` pages through every one."
    )
    all_peps: str = Field(
        description="The path of the list of all the author's PEPs, to filter, sort and page: `/peps?author_id=`."
    )


class PepListParams(PageParams):
    status: list[PepStatus] | None = Field(None, description="Only PEPs with this status (repeat for any of several).")
    type: list[PepType] | None = Field(None, description="Only PEPs of this type (repeat for any of several).")
    topic: str | None = Field(
        None, min_length=1, max_length=50, description="Only PEPs with this topic among theirs, e.g. `typing`."
    )
    author: str | None = Field(
        None, min_length=1, max_length=100, description="Only PEPs with an author whose name contains this (any case)."
    )
    author_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only PEPs by the author with this id (see `/authors/{id}`)."
    )
    python_version: str | None = Field(
        None, min_length=1, max_length=20, description="Only PEPs targeting this Python version, e.g. `3.12`."
    )
    created_after: IsoDate | None = Field(None, description="Only PEPs created on or after this date (YYYY-MM-DD).")
    created_before: IsoDate | None = Field(None, description="Only PEPs created on or before this date (YYYY-MM-DD).")
    q: str | None = Field(
        None, min_length=1, max_length=200, description="Text to look for in the title and abstract (any case)."
    )
    sort: Literal["number", "-number", "title", "-title", "created", "-created"] = Field(
        "number", description="Sort key; a leading `-` sorts descending."
    )


# The PEP's own conditions and computed field, which the shared filters do not cover.
_LINK, _AUTHOR = table_of(PepAuthorLink).c, table_of(Author).c


def in_comma_list(column: Any) -> Where:
    """`?name=item`: the comma-separated text column lists the item (`3.0` is in `"2.6, 3.0"`, not in `"3.01"`)."""
    padded = sa.cast(sa.literal(",") + sa.func.replace(sa.func.lower(column), " ", "") + sa.literal(","), sa.String)
    return Where(
        lambda name, bound: padded.like(sa.bindparam(name), escape=LIKE_ESCAPE),
        lambda name, value: {name: contains_pattern("," + value.replace(" ", "").lower() + ",")},
    )


def _by_author_id(name: str, bound: frozenset[str]) -> Any:
    return table_of(Pep).c.number.in_(sa.select(_LINK.pep_number).where(_LINK.author_id == sa.bindparam(name)))


_AUTHOR_SEARCH = Search(Author.id, "author_search", Author.name)


def _by_author_name(name: str, bound: frozenset[str]) -> Any:
    authors = sa.select(_AUTHOR.id).where(_AUTHOR_SEARCH.condition(name, bound))
    return table_of(Pep).c.number.in_(sa.select(_LINK.pep_number).where(_LINK.author_id.in_(authors)))


def author_pairs_of(pep_number: Any) -> Any:
    """The PEP's authors as a JSON array of `[position, name]` pairs (in no particular order).

    Aliased tables, so that the subquery never correlates with a query that joins the same tables.
    """
    link, author = table_of(PepAuthorLink).alias("link"), table_of(Author).alias("link_author")
    return (
        sa.select(json_array_agg(json_array(link.c.position, author.c.name)))
        .select_from(link.join(author, author.c.id == link.c.author_id))
        .where(link.c.pep_number == pep_number)
        .scalar_subquery()
    )


def names_in_order(pairs: list[list[Any]] | None) -> list[str]:
    return [name for _, name in sorted(pairs or [])]


PEPS = Collection(
    Pep,
    PepPage,
    PepListParams,
    detail=PepDetail,
    name="PEP",
    filters={
        "status": OneOf(Pep.status),
        "type": OneOf(Pep.type),
        "topic": in_comma_list(Pep.topic),
        "author": Where(_by_author_name, _AUTHOR_SEARCH.bind),
        "author_id": Where(_by_author_id),
        "python_version": in_comma_list(Pep.python_version),
        "created_after": AtLeast(Pep.created),
        "created_before": AtMost(Pep.created),
        "q": Search(Pep.number, "pep_search", Pep.title, Pep.abstract),
    },
    # Titles sort as people read them ("a circuit" before "A Concurrency"), on both databases.
    sorts={"number": Pep.number, "title": sa.func.lower(Pep.title, type_=sa.String), "created": Pep.created},
    computed={"authors": Computed(author_pairs_of, names_in_order)},
)
