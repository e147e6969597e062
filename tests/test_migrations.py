"""Alembic: the revisions run up and down on both databases and match the models exactly."""

from collections.abc import AsyncIterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import app.models  # noqa: F401 - every table on the metadata
from app.config import load_settings
from app.db import create_engine_for
from app.startup import alembic_config, head_revision


@pytest.fixture
async def fresh_engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_for(load_settings(database_url=fresh_database_url))
    yield engine
    await engine.dispose()


async def migrate(engine: AsyncEngine, direction: str, target: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, direction)(config, target)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_upgrade_downgrade_upgrade(fresh_engine: AsyncEngine) -> None:
    model_tables = set(SQLModel.metadata.tables)
    await migrate(fresh_engine, "upgrade", "head")
    assert await table_names(fresh_engine) == model_tables | {"alembic_version"}
    await migrate(fresh_engine, "downgrade", "base")
    assert await table_names(fresh_engine) == {"alembic_version"}
    await migrate(fresh_engine, "upgrade", "head")
    assert await table_names(fresh_engine) == model_tables | {"alembic_version"}
    async with fresh_engine.connect() as connection:
        revision = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    assert revision == head_revision()


async def test_models_and_migrations_do_not_drift(fresh_engine: AsyncEngine) -> None:
    await migrate(fresh_engine, "upgrade", "head")

    def differences(connection: Connection) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with fresh_engine.connect() as connection:
        assert await connection.run_sync(differences) == []
