"""What happens before the app serves: reach the database, bring the schema up to date, seed it."""

import logging
import sqlite3
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import ConfigError, Settings, describe_database
from app.db import SQLITE_BEGIN_OPTION, wait_for_database
from app.errors import is_database_unavailable, short_reason
from app.peps.importer import BUNDLED_PEPS, import_peps, parse_feed, read_source, refresh_statistics
from app.peps.models import Pep
from app.reader import replica_reader
from app.schema import missing_from_database
from app.users.service import ensure_superuser

logger = logging.getLogger("app.startup")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STARTUP_LOCK_ID = 7_408_022


class SchemaOutOfDateError(RuntimeError):
    """The database's schema is older than the code: the release step has not run."""


class StartupFailed(RuntimeError):
    """Start-up stopped for a reason its one-line message explains, with the fix."""


def why_unavailable(error: BaseException) -> str:
    """'cannot reach the database' for a connection that failed; SQLite's own words for a busy file."""
    cause = error.orig if isinstance(error, DBAPIError) else None
    if isinstance(cause, sqlite3.OperationalError):  # "database is locked": another process is writing
        return f"the SQLite database is unavailable: {cause}"
    return f"cannot reach the database ({short_reason(error)})"


def explain_failure(error: BaseException, settings: Settings | None = None) -> str | None:
    """One line naming what stopped start-up and its fix, for the failures a user can fix; None for a bug."""
    where = f" {describe_database(settings.async_database_url)}" if settings is not None else ""
    if isinstance(error, ConfigError):
        return error.with_fix()
    if isinstance(error, SchemaOutOfDateError):
        return str(error)
    if is_database_unavailable(error):
        reason = why_unavailable(error)
        if reason.startswith("cannot reach"):
            reason = reason.replace("the database", f"the database{where}", 1)
            return f"{reason[0].upper()}{reason[1:]}. Check DATABASE_URL, and that the database server is running."
        return f"{reason[0].upper()}{reason[1:]}: another process holds it; try again when it is done."
    if isinstance(error, DBAPIError) and error.orig is not None:
        # A wrong database name, user or password: the server's own first line says which.
        first_line = str(error.orig).strip().splitlines()[0]
        return f"The database{where} refused the connection: {first_line}. Check DATABASE_URL, or create the database."
    return None


class OneLineStartupFailure:
    """ASGI wrapper: when the lifespan stops with StartupFailed, the server logs its message, not a traceback.

    Starlette reports a failed start-up with the whole traceback as the message; uvicorn logs that message.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_one_line(message: Message) -> None:
            # Starlette sends this from inside its `except` block: the exception being handled is ours.
            failure = sys.exc_info()[1]
            if message["type"] == "lifespan.startup.failed" and isinstance(failure, StartupFailed):
                message = {**message, "message": str(failure)}
            await send(message)

        await self.app(scope, receive, send_one_line)


def alembic_config() -> Config:
    """The project's Alembic configuration, wherever the process was started from."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["configure_logging"] = False  # the app's logging is already set up
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def _take_startup_lock(connection: AsyncConnection) -> None:
    """Only one worker at a time migrates and seeds; the others then find nothing to do."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": STARTUP_LOCK_ID})
    else:
        await connection.execute(text("SELECT 1"))  # BEGIN IMMEDIATE, already emitted, holds the lock


async def prepare_database(engine: AsyncEngine, settings: Settings, seed: bool | None = None) -> str | None:
    """Wait for the database, migrate or check the schema, seed an empty catalogue; return the revision.

    `seed` defaults to the SEED_DEMO_DATA setting.
    """
    await wait_for_database(engine, attempts=settings.db_connect_attempts)
    async with engine.connect() as connection:
        await connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        async with connection.begin():
            await _take_startup_lock(connection)
            revision = await connection.run_sync(_current_revision)
            head = head_revision()
            if revision != head:
                if not settings.should_auto_migrate:
                    raise SchemaOutOfDateError(
                        f"The database schema is at revision {revision or 'none'} but this code needs {head}. "
                        "Run `alembic upgrade head` (the Procfile's release step does), or set AUTO_MIGRATE=true."
                    )
                logger.info("Migrating the database schema from %s to %s", revision or "empty", head)
                await connection.run_sync(_upgrade_to_head)
                revision = head
            if missing := await connection.run_sync(missing_from_database):
                raise SchemaOutOfDateError(
                    f"The models declare {', '.join(missing)}, which the database lacks: the migration is not "
                    'written yet. Write it with `alembic revision --autogenerate -m "what changed"`, review it, then '
                    "run `alembic upgrade head` (on SQLite, starting the app runs it)."
                )
            async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                seeded = (settings.should_seed_demo_data if seed is None else seed) and await _seed_if_empty(session)
                if settings.first_superuser_email and settings.first_superuser_password:
                    outcome = await ensure_superuser(
                        session, settings.first_superuser_email, settings.first_superuser_password
                    )
                    logger.info(outcome)
    if seeded:
        await refresh_statistics(engine)
    return revision


async def _seed_if_empty(session: AsyncSession) -> bool:
    """Load the bundled catalogue into an empty database; whether it did."""
    if (await session.exec(select(func.count()).select_from(Pep))).one():
        return False
    report = await import_peps(session, parse_feed(read_source(BUNDLED_PEPS), BUNDLED_PEPS.name))
    logger.info("Seeded the empty database with the bundled catalogue: %s", report.summary())
    return True


def describe_startup(settings: Settings, revision: str | None) -> str:
    pools = _describe_pool(settings.uses_transaction_pooler, settings)
    line = f"Database {describe_database(settings.async_database_url)} ({pools})"
    if settings.async_database_read_url is not None:
        replica_pool = _describe_pool(settings.replica_uses_transaction_pooler, settings)
        line += f", read replica {describe_database(settings.async_database_read_url)} ({replica_pool}"
        if not (settings.uses_transaction_pooler or settings.replica_uses_transaction_pooler):
            line += f"; {settings.connections_per_instance} connections per instance in all, both pools"
        line += ") for anonymous GET and HEAD requests"
    return f"{line}, schema revision {revision or 'none'}"


def _describe_pool(through_pooler: bool, settings: Settings) -> str:
    if settings.is_sqlite:
        return "SQLite, no pool"
    if through_pooler:
        return "through a transaction pooler: no local pool, no prepared-statement cache"
    return (
        f"pool {settings.db_pool_size}+{settings.db_max_overflow} per worker x {settings.web_concurrency} "
        f"worker(s) = up to {settings.connections_per_pool} connections per instance"
    )


async def check_read_replica() -> None:
    """Say at start-up whether the read replica answers; an unreachable one does not stop the app."""
    replica = replica_reader()
    if replica is not None and await replica.check():
        logger.info("Read replica %s answers: anonymous GET and HEAD requests read from it", replica.where)
