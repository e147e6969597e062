"""Start-up: migrate or check the schema, seed an empty database, and stay safe with many workers."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.security import verify_password
from app.config import load_settings
from app.db import create_engine_for
from app.peps.models import Pep
from app.startup import SchemaOutOfDateError, head_revision, prepare_database
from app.users.models import User
from tests.conftest import IS_POSTGRES
from tests.servers import running_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent


async def pep_count(database_url: str) -> int:
    engine = create_engine_for(load_settings(database_url=database_url))
    try:
        async with AsyncSession(engine) as session:
            return (await session.exec(select(func.count()).select_from(Pep))).one()
    finally:
        await engine.dispose()


async def test_empty_database_is_migrated_and_seeded_once(fresh_database_url: str, catalogue: dict) -> None:
    settings = load_settings(database_url=fresh_database_url, auto_migrate=True, seed_demo_data=True)
    engine = create_engine_for(settings)
    try:
        assert await prepare_database(engine, settings) == head_revision()
        assert await pep_count(fresh_database_url) == len(catalogue)
        assert await prepare_database(engine, settings) == head_revision()
        assert await pep_count(fresh_database_url) == len(catalogue)
    finally:
        await engine.dispose()


async def test_seeding_off_leaves_the_catalogue_empty(fresh_database_url: str) -> None:
    settings = load_settings(database_url=fresh_database_url, env="prod", auto_migrate=True, secret_key="k" * 40)
    engine = create_engine_for(settings)
    try:
        await prepare_database(engine, settings)
    finally:
        await engine.dispose()
    assert await pep_count(fresh_database_url) == 0


async def test_out_of_date_schema_stops_start_up_with_instructions(fresh_database_url: str) -> None:
    settings = load_settings(database_url=fresh_database_url, auto_migrate=False)
    engine = create_engine_for(settings)
    try:
        with pytest.raises(SchemaOutOfDateError, match="alembic upgrade head"):
            await prepare_database(engine, settings)
    finally:
        await engine.dispose()


def test_several_workers_start_on_one_empty_database(fresh_database_url: str, tmp_path: Path, catalogue: dict) -> None:
    """`uvicorn --workers 4` on an empty database: no failed worker, no double insert.

    On SQLite nothing is configured at all, as a student would run it: the default file appears in the
    working directory. On PostgreSQL AUTO_MIGRATE stands in for the release step.
    """
    settings = {"DATABASE_URL": fresh_database_url, "AUTO_MIGRATE": "true"} if IS_POSTGRES else {}
    with running_app(tmp_path, workers=4, **settings) as server:
        for _ in range(8):  # several requests, so that more than one worker answers
            response = httpx.get(f"{server.base_url}/peps", params={"limit": 1}, timeout=10)
            assert response.json()["total"] == len(catalogue)
    output = server.output()
    assert "Traceback" not in output, output
    assert output.count("Application startup complete") == 4
    assert output.count("Seeded the empty database") == 1
    if not IS_POSTGRES:
        assert (tmp_path / "pep_viewer.db").exists()


async def test_first_superuser_is_created_once_and_can_edit(fresh_database_url: str) -> None:
    settings = load_settings(
        database_url=fresh_database_url,
        auto_migrate=True,
        seed_demo_data=False,
        first_superuser_email="Boss@Example.com",
        first_superuser_password="a strong password",
    )
    engine = create_engine_for(settings)
    try:
        await prepare_database(engine, settings)
        await prepare_database(engine, settings)  # a restart, or a second worker
        async with AsyncSession(engine) as session:
            users = (await session.exec(select(User))).all()
    finally:
        await engine.dispose()
    assert [(u.email, u.is_superuser, u.is_active) for u in users] == [("boss@example.com", True, True)]
    assert await verify_password("a strong password", users[0].hashed_password)


def test_create_superuser_command_is_idempotent(fresh_database_url: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": fresh_database_url,
        "AUTO_MIGRATE": "true",
        "SEED_DEMO_DATA": "false",
        "FIRST_SUPERUSER_PASSWORD": "a strong password",
    }
    command = [sys.executable, "-m", "app", "create-superuser", "--email", "root@example.com"]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    first, second = run(), run()
    assert first.returncode == 0, first.stderr
    assert "Created superuser root@example.com" in first.stdout
    assert second.returncode == 0 and "already exists; nothing changed" in second.stdout
    env["FIRST_SUPERUSER_PASSWORD"] = "short"
    weak = subprocess.run(
        [*command[:-1], "other@example.com"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert weak.returncode == 1 and "password" in weak.stderr and "Nothing was written" in weak.stderr
