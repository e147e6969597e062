"""The read path: SQLAlchemy Core statements, compiled once, run straight on the database driver.

Why not the ORM session for reads: measured on this project, building, compiling and executing a
statement through SQLAlchemy's async layer and materialising ORM objects cost 10-30 times what the
query itself costs in the database. So GET routes use a `Reader` instead:

- queries are still SQLAlchemy expressions, written once for both databases, with `bindparam()`s for
  the values; each is compiled once per process and reused (`compiled_read`);
- on PostgreSQL they run on an asyncpg connection borrowed from the engine's pool (the same pool and
  connection budget as the sessions); a read that finds its connection dropped is retried once;
- with a read replica (DATABASE_READ_URL), anonymous GET and HEAD requests read there instead, and
  fall back to the primary while it cannot be reached (`ReplicaReader`, chosen per request by `get_reader`);
- on SQLite they run on the process's own `sqlite3` connection, in the event loop: a read takes
  microseconds, and in WAL mode a reader never waits for a writer, so it cannot block on a lock. Writes
  stay on aiosqlite, in a thread, because a writer may wait for the lock.

Every value comes back converted as the ORM would convert it (dates, UTC times, enums, JSON), because
each column's own SQLAlchemy type does the conversion.
"""

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ColumnElement, Select, sqltypes
from sqlalchemy.types import TypeEngine
from sqlalchemy.util import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import describe_database, get_settings
from app.db import get_engine, get_read_engine, ping, prepare_sqlite_connection
from app.errors import is_database_unavailable, short_reason

logger = logging.getLogger("app.reader")

Row = dict[str, Any]
Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class CompiledRead:
    """A statement compiled for one dialect, with the conversions for its parameters and columns."""

    sql: str
    parameter_names: tuple[str, ...]
    parameter_processors: tuple[Processor, ...]
    # Values fixed in the statement itself (literals such as the "," in `"," || topic || ","`).
    fixed_values: Mapping[str, Any]
    column_names: tuple[str, ...]
    # (name, conversion) for the columns whose type converts the driver's value.
    column_conversions: tuple[tuple[str, Callable[[Any], Any]], ...]

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for the driver, in the order the SQL names them."""
        values = {**self.fixed_values, **values}
        try:
            raw = [values[name] for name in self.parameter_names]
        except KeyError as missing:
            raise TypeError(f"no value given for the statement's parameter {missing}") from None
        return [
            value if p is None or value is None else p(value)
            for p, value in zip(self.parameter_processors, raw, strict=True)
        ]

    def rows(self, records: Sequence[Sequence[Any]]) -> list[Row]:
        rows = []
        for record in records:
            row = dict(zip(self.column_names, record, strict=True))
            for name, convert in self.column_conversions:
                row[name] = convert(row[name])
            rows.append(row)
        return rows


def _key(column: ColumnElement[Any]) -> str:
    # Read statements select table columns and labelled expressions: every one has a name.
    if column.key is None:
        raise ValueError(f"a read statement selects an unnamed column: {column}")
    return column.key


def result_conversion(column_type: TypeEngine[Any], dialect: Dialect) -> Processor:
    """How a column's type converts the driver's value, or None when the driver's value is already right."""
    impl = column_type.dialect_impl(dialect)
    if isinstance(impl, sqltypes.Float) and not impl.asdecimal:
        # Both drivers return floats already; asyncpg's float processor wants the column's type code,
        # which only a run of the statement would tell.
        return None
    return impl.result_processor(dialect, None)


@lru_cache(maxsize=512)
def compiled_read(statement: Select[Any], dialect: Dialect) -> CompiledRead:
    """Compile once: statements are built once per shape (see the services' `lru_cache`d builders)."""
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    binds = compiled.binds
    columns = list(statement.selected_columns)
    conversions = [(_key(c), result_conversion(c.type, dialect)) for c in columns]
    return CompiledRead(
        sql=compiled.string,
        parameter_names=names,
        parameter_processors=tuple(binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names),
        fixed_values={name: binds[name].effective_value for name in names if not binds[name].required},
        column_names=tuple(_key(column) for column in columns),
        column_conversions=tuple((name, convert) for name, convert in conversions if convert is not None),
    )


class Reader:
    """Runs read-only statements and returns their rows as dicts keyed by column name."""

    dialect: Dialect
    # Log each statement, as the engine does with DEBUG=true (its `echo`).
    echo: bool = False

    async def all(self, statement: Select[Any], **values: Any) -> list[Row]:
        compiled = compiled_read(statement, self.dialect)
        arguments = compiled.arguments(values)
        if self.echo:
            logger.info("%s\n[reader] %r", compiled.sql, arguments)
        return compiled.rows(await self._fetch(compiled.sql, arguments))

    async def first(self, statement: Select[Any], **values: Any) -> Row | None:
        rows = await self.all(statement, **values)
        return rows[0] if rows else None

    async def _fetch(self, sql: str, arguments: list[Any]) -> Sequence[Sequence[Any]]:
        raise NotImplementedError


def _connection_lost(error: BaseException, connection: asyncpg.Connection) -> bool:
    if isinstance(error, TimeoutError):  # a slow statement, not a dead connection
        return False
    if isinstance(error, asyncpg.InterfaceError):
        return bool(connection.is_closed())
    return isinstance(error, (OSError, asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError))


class PostgresReader(Reader):
    """Reads on asyncpg connections from the engine's pool, or on one given connection (tests)."""

    def __init__(self, engine: AsyncEngine, connection: asyncpg.Connection | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.echo = bool(engine.echo)
        self.connection = connection

    async def _fetch(self, sql: str, arguments: list[Any]) -> Sequence[Sequence[Any]]:
        if self.connection is not None:
            return await self._run(self.connection, sql, arguments)
        for attempt in (1, 2):
            pooled = await self.engine.raw_connection()
            connection = pooled.driver_connection
            assert connection is not None, "a pooled connection checked out has its driver's connection"
            try:
                records: Sequence[Sequence[Any]] = await connection.fetch(sql, *arguments)
            except Exception as error:
                lost = _connection_lost(error, connection)
                await greenlet_spawn(pooled.invalidate if lost else pooled.close)
                if lost and attempt == 1:
                    # The database dropped it, probably all of the pool's (a restart): start a
                    # fresh pool and try once more. Reads are safe to repeat.
                    await self.engine.dispose()
                    continue
                raise _as_sqlalchemy_error(error, sql, lost) from error
            except BaseException:
                # Cancelled (the client went away mid-read): the connection may be in the middle of
                # a statement, so it is dropped rather than handed to the next request.
                pooled.invalidate()
                raise
            await greenlet_spawn(pooled.close)
            return records
        raise AssertionError("unreachable")

    @staticmethod
    async def _run(connection: asyncpg.Connection, sql: str, arguments: list[Any]) -> Sequence[Sequence[Any]]:
        try:
            records: Sequence[Sequence[Any]] = await connection.fetch(sql, *arguments)
        except Exception as error:
            raise _as_sqlalchemy_error(error, sql, _connection_lost(error, connection)) from error
        return records


def _as_sqlalchemy_error(error: Exception, sql: str, connection_lost: bool) -> Exception:
    """The error as the session would have raised it, so the app's handlers treat both paths alike."""
    if isinstance(error, TimeoutError):
        return error
    return DBAPIError(sql, None, error, connection_invalidated=connection_lost)


class SqliteReader(Reader):
    """Reads on this process's own `sqlite3` connection, in the event loop (see the module's docstring)."""

    def __init__(self, engine: AsyncEngine, connection: sqlite3.Connection | None = None) -> None:
        self.dialect = engine.dialect
        self.echo = bool(engine.echo)
        # The settings refuse a SQLite URL without a file (an in-memory database would be one per connection).
        assert engine.url.database, "a SQLite database file"
        self.database = engine.url.database
        self.connection = connection

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False: made on first use, perhaps in another thread than the loop's.
        connection = sqlite3.connect(self.database, check_same_thread=False, isolation_level=None)
        prepare_sqlite_connection(connection)
        return connection

    async def _fetch(self, sql: str, arguments: list[Any]) -> Sequence[Sequence[Any]]:
        if self.connection is None:
            self.connection = self._connect()
        try:
            return self.connection.execute(sql, arguments).fetchall()
        except sqlite3.OperationalError as error:
            raise OperationalError(sql, None, error) from error
        except sqlite3.Error as error:
            raise DBAPIError(sql, None, error) from error


class SessionReader(Reader):
    """The same statements inside a session's transaction: a write route reading back what it wrote."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect

    async def all(self, statement: Select[Any], **values: Any) -> list[Row]:
        connection = await self.session.connection()
        return [dict(row) for row in (await connection.execute(statement, values)).mappings()]


# SQLSTATE classes and codes that say the replica as a whole cannot serve, whatever the statement:
# connection exceptions, refused sign-in, a missing database, too many connections, shutting down or
# starting up. A statement's own error (bad input, say) would fail on the primary too and says nothing
# about the replica, so it must not switch reads away from it.
_REPLICA_FAILURE_SQLSTATES = ("08", "28", "3D", "53", "57P")
# Errors after which the replica is fine but this one read is repeated on the primary:
# "canceling statement due to conflict with recovery" (the standby cancelled the read to replay WAL),
# and a table, column or function that is not there yet: right after a deploy's migration, a lagging
# replica still has the old schema, which the new code's statements do not fit.
_READ_AGAIN_ON_PRIMARY_SQLSTATES = ("40001", "40P01", "42P01", "42703", "42883", "42704")


def _sqlstate(error: BaseException) -> str:
    return getattr(getattr(error, "orig", None) or error, "sqlstate", None) or ""


def replica_cannot_serve(error: BaseException) -> bool:
    return is_database_unavailable(error) or _sqlstate(error).startswith(_REPLICA_FAILURE_SQLSTATES)


# As long as /health waits for the primary: platforms poll it and want an answer within seconds.
REPLICA_CHECK_TIMEOUT_SECONDS = 3.0
REPLICA_OK = "ok"
REPLICA_UNREACHABLE = "unreachable, reading from the primary"


class ReplicaReader(Reader):
    """Reads on the read replica; on the primary while the replica cannot be reached.

    A read that finds the replica down (refused, dropped mid-read, shutting down) is answered from the
    primary, and the replica is left alone for DATABASE_READ_RETRY_SECONDS; then a check in the
    background (no request waits for it), or /health, tries it again, and reads return to it once it answers.
    """

    def __init__(self, engine: AsyncEngine, primary: Reader, retry_seconds: float) -> None:
        self.replica = PostgresReader(engine)
        self.primary = primary
        self.dialect = primary.dialect
        self.echo = self.replica.echo
        self.retry_seconds = retry_seconds
        self.reachable = True
        self.next_check = 0.0
        self.background_check: asyncio.Task[bool] | None = None

    @property
    def status(self) -> str:
        return REPLICA_OK if self.reachable else REPLICA_UNREACHABLE

    @property
    def check_due(self) -> bool:
        return self.reachable or time.monotonic() >= self.next_check

    async def _fetch(self, sql: str, arguments: list[Any]) -> Sequence[Sequence[Any]]:
        if self._in_use():
            try:
                return await self.replica._fetch(sql, arguments)
            except Exception as error:
                # A time-out counts as the replica failing too (as it counts as an outage everywhere in
                # the app): the read is repeated on the primary, and the replica is tried again later.
                if replica_cannot_serve(error):
                    self.mark_unreachable(error)
                elif _sqlstate(error) not in _READ_AGAIN_ON_PRIMARY_SQLSTATES:
                    raise
        return await self.primary._fetch(sql, arguments)

    def _in_use(self) -> bool:
        if self.reachable:
            return True
        if self.check_due and (self.background_check is None or self.background_check.done()):
            # Kept in an attribute: the event loop holds only a weak reference to a task.
            self.background_check = asyncio.create_task(self.check())
        return False

    async def check(self) -> bool:
        """Ask the replica for `SELECT 1`; note whether it answered, and return that."""
        try:
            await asyncio.wait_for(ping(self.replica.engine), REPLICA_CHECK_TIMEOUT_SECONDS)
        except Exception as error:  # whatever stops it answering means reading from the primary
            self.mark_unreachable(error)
            # Its pooled connections are probably dead too (a restart): the next check starts afresh.
            await self.replica.engine.dispose()
            return False
        if not self.reachable:
            logger.info("Read replica %s answers again: anonymous reads use it again", self.where)
        self.reachable = True
        return True

    def mark_unreachable(self, error: BaseException) -> None:
        if self.reachable:
            logger.warning(
                "Read replica %s cannot be reached (%s): reading from the primary, checking it again every %gs",
                self.where,
                short_reason(error),
                self.retry_seconds,
            )
        self.reachable = False
        self.next_check = time.monotonic() + self.retry_seconds

    @property
    def where(self) -> str:
        return describe_database(self.replica.engine.url)


@lru_cache
def reader_for(engine: AsyncEngine) -> Reader:
    """The one reader of an engine (on SQLite it holds the process's read connection)."""
    return SqliteReader(engine) if engine.dialect.name == "sqlite" else PostgresReader(engine)


@lru_cache
def replica_reader() -> ReplicaReader | None:
    """The process's reader on the read replica, which remembers whether it answers; None without one."""
    engine = get_read_engine()
    if engine is None:
        return None
    return ReplicaReader(engine, reader_for(get_engine()), get_settings().database_read_retry_seconds)


# Requests that may read from the replica. One that carries credentials reads from the primary: the
# session it signs in with, or the note it wrote a moment ago, may not have reached the replica yet.
REPLICA_METHODS = frozenset({"GET", "HEAD"})


async def get_reader(request: Request) -> Reader:
    """FastAPI dependency: the reader for this request. Async, because FastAPI runs a plain function in a thread."""
    replica = replica_reader()
    if replica is None or request.method not in REPLICA_METHODS or "authorization" in request.headers:
        return reader_for(get_engine())
    return replica


ReaderDep = Annotated[Reader, Depends(get_reader)]
