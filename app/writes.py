"""What every write shares: loading a row to change it, and turning the database's refusals into answers.

Writes use the ORM session as the SQLModel tutorial does (`model_validate`, `sqlmodel_update`,
`session.add`); these two functions hold what each resource would otherwise repeat.
"""

import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Header
from pydantic import BaseModel
from sqlalchemy import Table, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import SQLModel
from sqlmodel import select as select_rows
from sqlmodel.ext.asyncio.session import AsyncSession

from app.base import Stored, id_of, table_of
from app.errors import ConflictError, InvalidValueError, NotFoundError, PreconditionFailedError, sqlstate_of
from app.http_caching import etag_of, matches_strongly
from app.listing import Collection, ModelT
from app.reader import Reader, SessionReader
from app.reads import read_one

T = TypeVar("T")
# PostgreSQL's "deadlock detected" and "could not serialize access": the transaction lost a race and
# may simply be run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 3


# An answer to a read of one row, as its GET route makes it (for the ETag that If-Match names).
Answer = Callable[[Reader], Awaitable[BaseModel]]
IfMatch = Annotated[
    str | None,
    Header(
        description="The ETag of the version you read (from its GET): the change is made only if the resource is "
        "still at that version, else 412. Leave it out to change it whatever its version."
    ),
]


async def load(
    session: AsyncSession,
    collection: Collection[ModelT, Any],
    key: Any,
    owner: Stored | None = None,
    *,
    if_match: str | None = None,
    answer: Answer | None = None,
) -> ModelT:
    """The row as an ORM object, locked until the transaction ends, to change or delete it.

    404 if there is none, or (with `owner`) if it is another user's. The lock (PostgreSQL's `FOR NO KEY
    UPDATE`; SQLite's writers hold the database's write lock anyway) makes a concurrent change of the same
    row wait for this one, and a concurrent delete make this one a 404, never a half-applied write.
    With `if_match`, 412 unless the row's answer (its GET's, by `answer`; by default the collection's own
    read of the row) still has that ETag: checked under the lock, so two writes naming one version cannot
    both pass.
    """
    statement = select_rows(collection.model).where(collection.key == key)
    if collection.owner is not None:
        if owner is None:
            raise TypeError(f"the {collection.name} collection needs `owner=` (each user changes only their own rows)")
        statement = statement.where(collection.owner == id_of(owner))
    found = (await session.exec(statement.with_for_update(key_share=True))).first()
    if found is None:
        raise NotFoundError(f"{collection.name} {key} not found")
    if if_match is not None:
        reader = SessionReader(session)
        current = await answer(reader) if answer is not None else await read_one(reader, collection, key, owner)
        if not matches_strongly(if_match, etag := etag_of(current)):
            raise PreconditionFailedError(etag)
    return found


def constraint_broken(error: IntegrityError) -> str:
    """Which kind of constraint the database refused a write for: "unique", "foreign key" or "other"."""
    sqlstate = sqlstate_of(error)
    if sqlstate:
        return {"23505": "unique", "23503": "foreign key"}.get(sqlstate, "other")
    message = str(error.orig) if isinstance(error.orig, sqlite3.IntegrityError) else ""
    if message.startswith("UNIQUE constraint failed"):
        return "unique"
    return "foreign key" if message.startswith("FOREIGN KEY constraint failed") else "other"


async def save(
    session: AsyncSession,
    row: SQLModel | None = None,
    *,
    taken: str | None = None,
    references: Mapping[str, str] | None = None,
) -> None:
    """Add `row` (if given) and flush; the database's refusals become the API's answers.

    `taken`: the 409 message for a unique value that another row has. `references`: the fields naming
    another row, with how to call it (`{"pep_number": "PEP"}`): one naming no row is a 422 on that field.
    The database checks both, so two requests at once cannot get past them; no look-up comes first.
    """
    if row is not None:
        session.add(row)
    # Read before the flush: a rollback expires the row, and reading it again would need the database.
    referenced = {field: getattr(row, field) for field in references or {}} if row is not None else {}
    table = table_of(type(row)) if row is not None else None
    try:
        await session.flush()
    except IntegrityError as error:
        kind = constraint_broken(error)
        # The transaction is unusable after the refusal (PostgreSQL); the request fails anyway.
        await session.rollback()
        if kind == "unique" and taken is not None:
            raise ConflictError(taken) from None
        if kind == "foreign key" and table is not None and references:
            await _name_missing_reference(session, table, referenced, references)
        raise


async def _name_missing_reference(
    session: AsyncSession, table: Table, referenced: Mapping[str, Any], references: Mapping[str, str]
) -> None:
    for field, label in references.items():
        value = referenced[field]
        if value is None:
            continue
        (foreign_key,) = table.c[field].foreign_keys
        target = foreign_key.column
        connection = await session.connection()
        if (await connection.execute(select(target).where(target == value))).first() is None:
            raise InvalidValueError(f"{label} {value} not found", field=field)


async def retry_on_deadlock(session: AsyncSession, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` (the request's writes), again from the start if the database aborted it for a deadlock.

    Writes take their locks in one order (the row first, then related rows by id), so a deadlock should
    not happen; a bounded retry keeps a valid edit from failing if one does all the same.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await work()
        except DBAPIError as error:
            if sqlstate_of(error) not in RETRYABLE_SQLSTATES or attempt == ATTEMPTS:
                raise
            await session.rollback()
    raise AssertionError("unreachable")
