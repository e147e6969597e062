"""Alembic environment: the app's settings, its models' metadata, and its async engine."""

import asyncio
from logging.config import fileConfig
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table on SQLModel.metadata
from app.base import UTCDateTime
from app.config import get_settings
from app.db import create_engine_for, wait_for_database
from app.schema import fill_new_columns, include_name

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata

# Any constant will do: it only has to be the same for every process migrating this database.
MIGRATION_LOCK_ID = 7_408_021


def render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write the app's UTC datetime as plain `sa.DateTime`: revisions must not import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
        process_revision_directives=fill_new_columns,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two release steps (or workers) at once: the second waits, then finds nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        context.run_migrations()


async def run_migrations_with_own_engine() -> None:
    settings = get_settings()
    engine = create_engine_for(settings)
    try:
        # A release step may run while the platform's database is still starting.
        await wait_for_database(engine, attempts=settings.db_connect_attempts)
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    # Offline mode only prints SQL: the dialect matters, the password does not.
    context.configure(url=get_settings().async_database_url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif (connection := config.attributes.get("connection")) is not None:
    # The app passes its own connection when it migrates at start-up, inside its transaction.
    run_migrations(connection)
else:
    asyncio.run(run_migrations_with_own_engine())
