"""Test fixtures. SQLite by default; set TEST_DATABASE_URL to run the same suite on PostgreSQL.

The app is pointed at the test database through DATABASE_URL before it is imported, the schema
is built by the real start-up path (migrations, then the bundled catalogue), and each test runs
inside a transaction that is rolled back, so tests never see each other's writes.
"""

import asyncio
import json
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

_scratch = Path(tempfile.mkdtemp(prefix="pep-tests-"))
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_scratch / 'test.db'}"
os.environ["DATABASE_URL"] = TEST_DATABASE_URL
os.environ["ENV"] = "test"

import httpx  # noqa: E402
import pytest  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from saq import Job, Worker  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402

from app.auth.sessions import start_session  # noqa: E402
from app.config import get_settings, load_settings, normalise_database_url  # noqa: E402
from app.db import get_engine, get_session, make_sessionmaker, session_scope  # noqa: E402
from app.jobs.queue import SQLQueue  # noqa: E402
from app.main import app  # noqa: E402
from app.peps.importer import BUNDLED_PEPS  # noqa: E402
from app.reader import PostgresReader, Reader, SqliteReader, get_reader  # noqa: E402
from app.startup import prepare_database  # noqa: E402
from app.users import passwords  # noqa: E402
from app.users.emails import email_skeleton  # noqa: E402
from app.users.models import User  # noqa: E402
from app.worker import FUNCTIONS  # noqa: E402
from tests.mailbox import Mailbox  # noqa: E402
from tests.servers import free_port  # noqa: E402

IS_POSTGRES = normalise_database_url(TEST_DATABASE_URL).get_backend_name() == "postgresql"


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = get_engine()
    if IS_POSTGRES:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await prepare_database(engine, load_settings(auto_migrate=True, seed_demo_data=True))
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


def _savepoint_sessions(connection: AsyncConnection):
    # A commit inside the test releases a SAVEPOINT; the outer transaction is still rolled back.
    return make_sessionmaker(connection, join_transaction_mode="create_savepoint")


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    async with session_scope(_savepoint_sessions(connection)) as session:
        yield session


async def driver_connection(connection: AsyncConnection) -> Any:
    """The database driver's own connection under the test's: asyncpg's, or the sqlite3 one aiosqlite wraps."""
    driver = (await connection.get_raw_connection()).driver_connection
    # aiosqlite runs its sqlite3 connection in a thread of its own, idle between awaits; the tests use
    # it from the event loop as the app's reader uses its own, so reads see the test's transaction.
    return driver if IS_POSTGRES else driver._conn


@pytest.fixture
async def reader(connection: AsyncConnection) -> Reader:
    """The app's fast read path, on the test's connection (inside its transaction)."""
    driver = await driver_connection(connection)
    return PostgresReader(connection.engine, driver) if IS_POSTGRES else SqliteReader(connection.engine, driver)


@pytest.fixture
async def client(connection: AsyncConnection, reader: Reader) -> AsyncIterator[httpx.AsyncClient]:
    sessions = _savepoint_sessions(connection)

    async def test_session() -> AsyncIterator[AsyncSession]:
        async with session_scope(sessions) as session:
            yield session

    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[get_reader] = lambda: reader
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    app.dependency_overrides.clear()


class ConnectionQueue(SQLQueue):
    """The app's job queue on the test's connection, inside its transaction: each write a SAVEPOINT."""

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection.engine)
        self.connection = connection

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        yield self.connection

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self.connection.begin_nested():
            yield self.connection


@pytest.fixture
def run_jobs(connection: AsyncConnection):
    """Run the jobs that are due (queued by the test's requests) as the app's worker does, on the test's
    connection; returns every job of the test's queue, as it stands after."""

    async def run() -> list[Job]:
        queue = ConnectionQueue(connection)
        worker = Worker(queue, functions=FUNCTIONS, dequeue_timeout=0.01, poll_interval=0.01)
        worker.context["sessions"] = _savepoint_sessions(connection)  # type: ignore[typeddict-unknown-key]
        while await worker.process():
            pass
        return [job async for job in queue.iter_jobs()]

    return run


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server on a free local port, with the app's SMTP settings pointing at it."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = get_settings()
    for name, value in {"smtp_host": "127.0.0.1", "smtp_port": controller.port, "smtp_tls": "none"}.items():
        monkeypatch.setattr(settings, name, value)
    monkeypatch.setattr(settings, "public_url", "https://pep.example")
    try:
        yield box
    finally:
        controller.stop()


class StatementCounter:
    """Counts the SQL statements the database driver runs, leaving out transaction bookkeeping."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def record(self, statement: str) -> None:
        # SQLite also reports the work inside one statement: trigger programs and FTS5's reads of its own
        # tables (prefixed `-- `), and FTS5 opening its table (`'main'.'pep_search_config'`).
        if statement.startswith("-- ") or "'main'." in statement:
            return
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")):
            self.statements.append(statement)

    # asyncpg calls its query loggers on the event loop's next turn: both steps let those calls land first.
    async def reset(self) -> None:
        await asyncio.sleep(0)
        self.statements.clear()

    async def count(self) -> int:
        await asyncio.sleep(0)
        return len(self.statements)


@pytest.fixture
async def count_statements(connection: AsyncConnection) -> AsyncIterator[StatementCounter]:
    """Counts at the driver, below both the ORM sessions and the fast read path."""
    counter = StatementCounter()
    driver = await driver_connection(connection)
    if IS_POSTGRES:

        def log(query: Any) -> None:
            counter.record(query.query)

        driver.add_query_logger(log)
        yield counter
        driver.remove_query_logger(log)
    else:
        driver.set_trace_callback(counter.record)
        yield counter
        driver.set_trace_callback(None)


@asynccontextmanager
async def fresh_database(scratch: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database of the kind under test, dropped afterwards."""
    if not IS_POSTGRES:
        yield f"sqlite:///{scratch / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"pep_test_{uuid.uuid4().hex[:12]}"
    admin_url = normalise_database_url(TEST_DATABASE_URL).set(database="postgres")
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalise_database_url(TEST_DATABASE_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def fresh_database_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(tmp_path) as url:
        yield url


PASSWORD = "correct horse battery staple"


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/token", data={"username": email, "password": password})


@pytest.fixture(scope="session")
def password_hash() -> str:
    # Argon2 is slow on purpose; hash the shared test password once.
    return passwords.password_hash.hash(PASSWORD)


@pytest.fixture
def make_user(session: AsyncSession, password_hash: str):
    """Create a user (password: PASSWORD) in the test's transaction; returns (user, auth headers)."""
    counter = iter(range(1_000_000))

    async def make(email: str | None = None, superuser: bool = False, active: bool = True) -> tuple[User, dict]:
        email = email or f"user{next(counter)}@example.com"
        user = User(
            email=email,
            email_skeleton=email_skeleton(email),
            hashed_password=password_hash,
            is_superuser=superuser,
            is_active=active,
        )
        session.add(user)
        await session.flush()
        tokens = await start_session(session, user, get_settings())
        await session.commit()
        return user, {"Authorization": f"Bearer {tokens.access_token}"}

    return make


@pytest.fixture
async def superuser_headers(make_user) -> dict:
    return (await make_user("admin@example.com", superuser=True))[1]


@pytest.fixture(scope="session")
def catalogue() -> dict[int, dict]:
    """The bundled feed, read independently of the app: the oracle the API's answers are checked against."""
    with BUNDLED_PEPS.open(encoding="utf-8") as feed:
        return {int(number): record for number, record in json.load(feed).items()}
