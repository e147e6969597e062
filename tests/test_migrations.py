"""Alembic: the revisions run up and down on both databases and match the models exactly."""

from collections.abc import AsyncIterator
from datetime import date

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Boolean, Column, MetaData, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import app.models  # noqa: F401 - every table on the metadata
from app.base import utcnow
from app.config import load_settings
from app.db import create_engine_for
from app.peps.models import Pep
from app.schema import fill_new_columns, include_name
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
    """The tables, but for the search structures' own (tests/test_search.py checks those)."""
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return {name for name in names if include_name(name, "table", {})}


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


# SQLite's reflection cannot read an index on an expression (lower(title)): alembic/env.py quiets its
# warning, and leaves that one index out of the comparison there; PostgreSQL reads and compares it.
async def test_models_and_migrations_do_not_drift(fresh_engine: AsyncEngine) -> None:
    await migrate(fresh_engine, "upgrade", "head")

    def differences(connection: Connection) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
        return compare_metadata(context, SQLModel.metadata)

    async with fresh_engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_upgrading_keeps_users_and_their_notes(fresh_engine: AsyncEngine) -> None:
    """The accounts revision copies tables on SQLite; no note may be lost to the user table's cascade."""
    await migrate(fresh_engine, "upgrade", "0c0f5f8b68e0")
    async with AsyncSession(fresh_engine) as session:  # the PEP table is the same at both revisions
        session.add(
            Pep(number=8, title="Style Guide", status="Active", type="Process", created=date(2001, 7, 5), url="u")
        )
        await session.commit()
    add_user = (
        "INSERT INTO user_account (email, is_active, is_superuser, created_at, updated_at, hashed_password) "
        "VALUES (:email, true, false, :now, :now, 'x') RETURNING id"
    )
    async with fresh_engine.begin() as connection:
        for email in ("first@example.com", "\u0430dmin@example.com"):
            user_id = (await connection.execute(text(add_user), {"email": email, "now": utcnow()})).scalar_one()
        await connection.execute(
            text(
                "INSERT INTO note (body, user_id, pep_number, created_at, updated_at) VALUES ('kept', :id, 8, :now, :now)"
            ),
            {"id": user_id, "now": utcnow()},
        )
    await migrate(fresh_engine, "upgrade", "head")
    async with fresh_engine.begin() as connection:
        assert (await connection.execute(text("SELECT user_id, body FROM note"))).all() == [(user_id, "kept")]
        skeleton = (
            await connection.execute(text("SELECT email_skeleton FROM user_account WHERE id = :id"), {"id": user_id})
        ).scalar_one()
        assert skeleton == "admin@example.com"
        await connection.execute(text("DELETE FROM user_account WHERE id = :id"), {"id": user_id})
        add_user_now = add_user.replace("(email,", "(email_skeleton, email,").replace("(:email,", "(:email, :email,")
        new_id = (
            await connection.execute(text(add_user_now), {"email": "b@example.com", "now": utcnow()})
        ).scalar_one()
    assert new_id > user_id, "a deleted user's id was handed out again"


async def test_a_new_required_column_with_a_default_is_added_to_a_table_with_rows(fresh_engine: AsyncEngine) -> None:
    """As the README's worked example: `pinned: bool = False` on notes, its migration autogenerated, run on a
    table that holds notes. The autogenerated column carries the model's default for the rows already there."""
    await migrate(fresh_engine, "upgrade", "head")
    async with fresh_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO pep (number, title, status, type, topic, created, requires, replaces, superseded_by, url, "
                "created_at, updated_at) VALUES (8, 't', 'Final', 'Process', '', '2001-07-05', '[]', '[]', '[]', 'u', "
                ":now, :now)"
            ),
            {"now": utcnow()},
        )
        user_id = (
            await connection.execute(
                text(
                    "INSERT INTO user_account (email, email_skeleton, is_active, is_superuser, created_at, updated_at, "
                    "hashed_password) VALUES ('a@example.com', 'a@example.com', true, false, :now, :now, 'x') RETURNING id"
                ),
                {"now": utcnow()},
            )
        ).scalar_one()
        await connection.execute(
            text(
                "INSERT INTO note (body, user_id, pep_number, created_at, updated_at) VALUES ('kept', :id, 8, :n, :n)"
            ),
            {"id": user_id, "n": utcnow()},
        )
    models = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(models)
    models.tables["note"].append_column(Column("pinned", Boolean(), nullable=False, default=False))

    def autogenerate_and_run(connection: Connection) -> str:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
        script = produce_migrations(context, models)
        fill_new_columns(context, None, [script])
        code = render_python_code(script.upgrade_ops)
        operations = Operations(context)
        for table_operations in script.upgrade_ops.ops:
            for operation in table_operations.ops:  # type: ignore[attr-defined]
                operations.invoke(operation)
        return code

    async with fresh_engine.begin() as connection:
        code = await connection.run_sync(autogenerate_and_run)
        assert "op.add_column('note', sa.Column('pinned', sa.Boolean(), server_default='0', nullable=False))" in code
        rows = (await connection.execute(text("SELECT body, pinned FROM note"))).all()
    assert [(body, bool(pinned)) for body, pinned in rows] == [("kept", False)]
