"""Start-up: migrate or check the schema, seed an empty database, and stay safe with many workers."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import load_settings
from app.db import create_engine_for
from app.peps.models import Pep
from app.startup import SchemaOutOfDateError, head_revision, prepare_database
from app.users.models import User
from app.users.passwords import verify_password
from tests.conftest import IS_POSTGRES
from tests.servers import app_environment, free_port, running_app

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


@pytest.mark.parametrize("auto_migrate", [True, False])
async def test_a_model_ahead_of_its_migration_is_named_at_start_up(fresh_database_url: str, auto_migrate: bool) -> None:
    """A column added to a model without its migration: start-up names it and the command that fixes it, on
    both databases, whether or not it migrates itself (the schema is at the newest revision either way)."""
    settings = load_settings(database_url=fresh_database_url, auto_migrate=True, seed_demo_data=False)
    engine = create_engine_for(settings)
    try:
        await prepare_database(engine, settings)
        async with engine.begin() as connection:  # as if the model had gained `note.body` since the migration
            await connection.execute(text("ALTER TABLE note DROP COLUMN body"))
        with pytest.raises(SchemaOutOfDateError) as stopped:
            await prepare_database(engine, settings.model_copy(update={"auto_migrate": auto_migrate}))
        assert str(stopped.value) == (
            "The models declare note.body, which the database lacks: the migration is not written yet. Write it "
            'with `alembic revision --autogenerate -m "what changed"`, review it, then run `alembic upgrade head` '
            "(on SQLite, starting the app runs it)."
        )
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


def start_and_fail(cwd: Path, *command: str, **settings: str) -> tuple[int, str]:
    """Run a start command as a user would (uvicorn by default), expecting it to stop; its exit code and output."""
    command = command or ("uvicorn", "app.main:app", "--port", str(free_port()))
    result = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=cwd,
        env=app_environment(**settings),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    return result.returncode, result.stdout + result.stderr


def test_a_schema_behind_stops_the_server_with_the_fix(fresh_database_url: str, tmp_path: Path) -> None:
    code, output = start_and_fail(tmp_path, DATABASE_URL=fresh_database_url, AUTO_MIGRATE="false")
    assert code != 0
    assert "Traceback" not in output and len(output.splitlines()) <= 10, output
    [error] = [line for line in output.splitlines() if "schema" in line]
    assert error.startswith("ERROR:") and "Run `alembic upgrade head`" in error and "AUTO_MIGRATE=true" in error
    debug_code, debug_output = start_and_fail(
        tmp_path, DATABASE_URL=fresh_database_url, AUTO_MIGRATE="false", DEBUG="true"
    )
    assert debug_code != 0 and "Traceback" in debug_output and "SchemaOutOfDateError" in debug_output


def test_an_unreachable_database_stops_the_server_with_the_fix(fresh_database_url: str, tmp_path: Path) -> None:
    unreachable = "postgresql://nobody:secret-pw@127.0.0.1:9/none"
    code, output = start_and_fail(tmp_path, DATABASE_URL=unreachable, DB_CONNECT_ATTEMPTS="1")
    assert code != 0 and "Traceback" not in output and "secret-pw" not in output, output
    assert "Cannot reach the database postgresql 127.0.0.1:9/none" in output and "Check DATABASE_URL" in output
    if IS_POSTGRES:  # reachable, but the database named does not exist
        missing = fresh_database_url.rsplit("/", 1)[0] + "/no_such_database_here"
        code, output = start_and_fail(tmp_path, DATABASE_URL=missing, DB_CONNECT_ATTEMPTS="1")
        assert code != 0 and "Traceback" not in output, output
        assert 'refused the connection: database "no_such_database_here" does not exist' in output
        assert "Check DATABASE_URL, or create the database" in output


@pytest.mark.parametrize("command", [(), ("app", "import-peps")], ids=["uvicorn", "command"])
def test_a_bad_setting_stops_start_up_with_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    code, output = start_and_fail(tmp_path, *command, DB_POOL_SIZE="lots")
    assert code == 1 and "Traceback" not in output, output
    [error] = [line for line in output.splitlines() if line.startswith("error:")]
    assert "DB_POOL_SIZE: Input should be a valid integer" in error and "in .env (.env.example" in error
    debug_code, debug_output = start_and_fail(tmp_path, *command, DB_POOL_SIZE="lots", DEBUG="true")
    assert debug_code == 1 and "Traceback" in debug_output and "ConfigError" in debug_output
