"""The read path: SQLAlchemy Core statements, compiled once, run straight on the database driver.

Why not the ORM session for reads: measured on this project, building, compiling and executing a
statement through SQLAlchemy's async layer and materialising ORM objects cost 10-30 times what the
query itself costs in the database. So GET routes use a `Reader` instead:

- queries are still SQLAlchemy expressions, written once for both databases, with `bindparam()`s for
  the values; each is compiled once per process and reused (`compiled_read`);
- on PostgreSQL they run on an asyncpg connection borrowed from the engine's pool (the same pool and
  connection budget as the sessions); a read that finds its connection dropped is retried once;
- on SQLite they run on the process's own `sqlite3` connection, in the event loop: a read takes
  microseconds, and in WAL mode a reader never waits for a writer, so it cannot block on a lock. Writes
  stay on aiosqlite, in a thread, because a writer may wait for the lock.

Every value comes back converted as the ORM would convert it (dates, UTC times, enums, JSON), because
each column's own SQLAlchemy type does the conversion.
"""

import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

import asyncpg
from fastapi import Depends
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select, sqltypes
from sqlalchemy.types import TypeEngine
from sqlalchemy.util import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import get_engine, prepare_sqlite_connection

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
    conversions = [(c.key, result_conversion(c.type, dialect)) for c in columns]
    return CompiledRead(
        sql=compiled.string,
        parameter_names=names,
        parameter_processors=tuple(binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names),
        fixed_values={name: binds[name].effective_value for name in names if not binds[name].required},
        column_names=tuple(column.key for column in columns),
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
        return connection.is_closed()
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
            try:
                records = await connection.fetch(sql, *arguments)
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
            return await connection.fetch(sql, *arguments)
        except Exception as error:
            raise _as_sqlalchemy_error(error, sql, _connection_lost(error, connection)) from error


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


@lru_cache
def reader_for(engine: AsyncEngine) -> Reader:
    """The one reader of an engine (on SQLite it holds the process's read connection)."""
    return SqliteReader(engine) if engine.dialect.name == "sqlite" else PostgresReader(engine)


async def get_reader() -> Reader:
    """FastAPI dependency: the process's reader. Async, because FastAPI runs a plain function in a thread."""
    return reader_for(get_engine())


ReaderDep = Annotated[Reader, Depends(get_reader)]
