"""The one async engine of this process, and the sessions every route and script uses."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Annotated, Any
from uuid import uuid4

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, describe_database, get_settings, normalise_database_url, uses_transaction_pooler

logger = logging.getLogger("app.db")

# How SQLite opens a transaction; start-up and writers may ask for "BEGIN IMMEDIATE" to take the
# write lock up front instead of failing later with "database is locked".
SQLITE_BEGIN_OPTION = "sqlite_begin"


def create_engine_for(settings: Settings, database_url: str | None = None) -> AsyncEngine:
    """Build an async engine from settings: aiosqlite for SQLite, asyncpg with a pool for PostgreSQL.

    `database_url` is another database to reach with the same settings (the read replica's);
    by default, DATABASE_URL.
    """
    database_url = settings.database_url if database_url is None else database_url
    url = normalise_database_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url,
            echo=settings.debug,
            # timeout: how long a writer waits for SQLite's lock (its busy timeout).
            connect_args={"check_same_thread": False, "timeout": settings.db_pool_timeout},
        )
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {
        "timeout": settings.db_connect_timeout,
        "command_timeout": settings.db_command_timeout,
    }
    if uses_transaction_pooler(database_url):
        # PgBouncer in transaction mode hands each transaction to any server connection, so a
        # statement prepared on one is unknown (or taken) on the next: no cache, unique names, and
        # no second pool in front of PgBouncer's (SQLAlchemy's asyncpg documentation).
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
        }
        return create_async_engine(url, echo=settings.debug, poolclass=NullPool, connect_args=connect_args)
    engine = create_async_engine(
        url,
        echo=settings.debug,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=settings.db_pool_recycle,
        connect_args=connect_args,
    )
    if settings.db_pool_pre_ping:
        _ping_idle_connections(engine)
    return engine


# A connection used this recently is taken to be alive (HikariCP's default bypass window is 500 ms).
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Check a pooled connection before use only when it has been idle: platforms drop idle ones.

    SQLAlchemy's pool_pre_ping pings on every checkout, which costs a round trip per request and
    halved the read rate. A busy connection that died anyway (a database restart under load) is
    caught where it is used: reads retry on a fresh connection (app.reader), writes answer 503.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def remember_checkin(dbapi_connection: Any, connection_record: Any) -> None:
        connection_record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def ping_if_idle(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
        checked_in_at = connection_record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # whatever the driver raises, the connection is unusable
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"pooled connection failed its ping: {type(error).__name__}") from error


def prepare_sqlite_connection(dbapi_connection: Any) -> None:
    """Settings every SQLite connection of the app gets, the engine's and the reader's alike."""
    # The sqlite3 module's own transaction handling breaks SAVEPOINT and transactional DDL, so
    # SQLAlchemy emits BEGIN itself (the recipe from SQLAlchemy's SQLite documentation).
    dbapi_connection.isolation_level = None
    # SQLite's own lower() folds only ASCII: "Łukasz" must match a search for "łukasz".
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        prepare_sqlite_connection(dbapi_connection)

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "BEGIN"))


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


@lru_cache
def get_engine() -> AsyncEngine:
    """The process-wide engine, made on first use from `get_settings()`."""
    return create_engine_for(get_settings())


@lru_cache
def get_read_engine() -> AsyncEngine | None:
    """The engine of the read replica (DATABASE_READ_URL), with a pool of its own; None without one."""
    settings = get_settings()
    return None if settings.database_read_url is None else create_engine_for(settings, settings.database_read_url)


@lru_cache
def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(get_engine())


def make_sessionmaker(bind: Any, **options: Any) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without a lazy reload,
    # which async code cannot do.
    return async_sessionmaker(bind, class_=AsyncSession, expire_on_commit=False, **options)


async def dispose_engine() -> None:
    if get_read_engine.cache_info().currsize:
        if (read_engine := get_read_engine()) is not None:
            await read_engine.dispose()
        get_read_engine.cache_clear()
    if get_engine.cache_info().currsize:
        await get_engine().dispose()
        get_engine.cache_clear()
        get_sessionmaker.cache_clear()
        get_writing_sessionmaker.cache_clear()


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> AsyncIterator[AsyncSession]:
    """A session that commits if the block succeeds, rolls back if it raises, and always closes."""
    async with (sessionmaker or get_sessionmaker())() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}


@lru_cache
def get_writing_sessionmaker() -> async_sessionmaker[AsyncSession]:
    """Sessions whose transaction starts ready to write.

    On SQLite the transaction takes the write lock at BEGIN (waiting up to the busy timeout for it):
    one that read first and then wrote could otherwise fail at once with "database is locked" when
    another worker wrote in between. Elsewhere the option is ignored.
    """
    return make_sessionmaker(get_engine().execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"}))


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request, committed before the response is sent.

    The session takes a pooled connection at its first statement, not before: a request never holds
    one while its other dependencies (such as the signed-in user, read by app.reader) need another.
    """
    writing = request.method not in READ_ONLY_METHODS
    async with session_scope(get_writing_sessionmaker() if writing else None) as session:
        yield session


# scope="function" closes the session (and commits) as the route returns, so a failed commit
# becomes an error response instead of happening after a success was already sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def wait_for_database(engine: AsyncEngine, attempts: int = 5, first_delay: float = 1.0) -> None:
    """Connect, retrying with a doubling wait: a platform's database may still be starting."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            await ping(engine)
            return
        except Exception as error:  # any failure to connect is worth a retry here
            if attempt == attempts:
                raise
            logger.warning(
                "Database %s not reachable (%s), attempt %d of %d; retrying in %.0fs",
                describe_database(engine.url),
                type(error).__name__,
                attempt,
                attempts,
                delay,
            )
            await asyncio.sleep(delay)
            delay *= 2
