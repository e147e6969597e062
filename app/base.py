"""Machinery every model shares: constraint naming, UTC timestamps, strict dates, times and numbers."""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Protocol

from pydantic import AfterValidator, AllowInfNan, AwareDatetime, BeforeValidator, Strict
from sqlalchemy import DateTime, Table, inspect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# Named constraints make migrations portable: SQLite's batch mode and PostgreSQL both need the name.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# `__table_args__` for tables whose ids reach clients: SQLite would otherwise give a deleted row's id
# to the next row (AUTOINCREMENT stops that). PostgreSQL sequences never reuse a value anyway.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table (SQLModel sets `__table__` on the class without declaring it to type checkers)."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


class Stored(Protocol):
    id: int | None


def id_of(row: Stored) -> int:
    """The id of a row that is in the database: table models say `int | None`, None only until the first flush."""
    if row.id is None:
        raise ValueError(f"this {type(row).__name__} is not stored yet: it has no id")
    return row.id


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores no zone, so one is added back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use app.base.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Timestamps(SQLModel):
    """`created_at` / `updated_at`, set by the app; `updated_at` moves on every UPDATE."""

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def _iso_date_only(value: object) -> object:
    # Pydantic would also take 0 or 1700000000 as a timestamp; a date here means YYYY-MM-DD.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date written YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("must be a date written YYYY-MM-DD, not a number")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


def _iso_datetime_only(value: object) -> object:
    # As for dates: a number (or "0.5" in a query string) is not a moment, though Pydantic would read
    # it as a Unix timestamp.
    if isinstance(value, int | float) or (
        isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", value)
    ):
        raise ValueError("must be a date and time written like 2026-11-25T12:00:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first moment Python can hold in UTC
        raise ValueError("is out of range once converted to UTC") from None


# A moment with its time zone (a naive time is ambiguous), kept in UTC as UTCDateTime stores it.
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime_only), AfterValidator(_in_utc)]
# In a JSON body `true` or "1.5" is not a number, and NaN or Infinity is none a database compares sensibly.
StrictFiniteFloat = Annotated[float, Strict(), AllowInfNan(False)]
