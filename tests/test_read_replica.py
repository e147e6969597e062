"""DATABASE_READ_URL: anonymous GET and HEAD requests read from a PostgreSQL streaming replica.

The settings' checks run in both passes. The rest runs in the PostgreSQL pass against a real hot
standby of the test cluster (`pg_basebackup -R`, started on a port of its own): pausing its replay
shows which reads it serves, and stopping it shows the fall back to the primary.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from app.config import ConfigError, load_settings, normalise_database_url
from app.db import create_engine_for
from app.peps.models import Pep
from app.reader import REPLICA_OK, REPLICA_UNREACHABLE, PostgresReader, ReplicaReader
from app.startup import describe_startup
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL, fresh_database
from tests.servers import Server, StreamingReplica, free_port, running_app

needs_postgres = pytest.mark.skipif(
    not IS_POSTGRES, reason="a read replica is a PostgreSQL standby: runs in the PostgreSQL pass (TEST_DATABASE_URL)"
)
ENOUGH = httpx.Timeout(30.0)
REPLICA_PASSWORD = "replica-secret-pw"  # trust auth ignores it; it must never show in a log or an answer


# ---- the setting


def test_without_a_read_url_there_is_no_replica(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DATABASE_READ_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    settings = load_settings(database_url="postgresql://u:p@primary/app", db_pool_size=5, web_concurrency=2)
    assert (settings.database_read_url, settings.database_read_retry_seconds) == (None, 30.0)
    assert settings.connections_per_instance == 10
    assert "replica" not in describe_startup(settings, "r1")


def test_read_url_is_normalised_like_the_database_url() -> None:
    settings = load_settings(
        database_url="postgres://u:p@primary/app",
        database_read_url=" postgres://u:pw@replica:6432/app?sslmode=require ",
    )
    assert settings.async_database_read_url == normalise_database_url(
        "postgresql+asyncpg://u:pw@replica:6432/app?ssl=require"
    )
    assert load_settings(database_url="postgres://u:p@primary/app", database_read_url="").database_read_url is None


@pytest.mark.parametrize(
    ("primary", "replica", "complaint"),
    [
        ("sqlite:///./app.db", "postgresql://u:p@replica/app", "DATABASE_URL is SQLite"),
        ("postgresql://u:p@primary/app", "sqlite:///./replica.db", "must be a PostgreSQL URL"),
        ("postgresql://u:p@primary/app", "mysql://u:p@replica/app", "scheme 'mysql' is not supported"),
        ("postgresql://u:p@primary/app", "postgresql://u:p@replica", "names no database"),
    ],
)
def test_a_read_url_that_cannot_be_a_replica_stops_start_up_in_one_line(
    primary: str, replica: str, complaint: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(database_url=primary, database_read_url=replica)
    message = str(refused.value)
    assert "DATABASE_READ_URL: " in message and complaint in message and "\n" not in message
    assert ":p@" not in message


def test_start_up_line_counts_both_pools_and_hides_the_passwords() -> None:
    settings = load_settings(
        database_url="postgresql://u:primary-pw@primary/app",
        database_read_url="postgresql://u:replica-pw@replica:6432/app",
        db_pool_size=5,
        db_max_overflow=2,
        web_concurrency=2,
    )
    assert settings.connections_per_instance == 28
    assert describe_startup(settings, "r1") == (
        "Database postgresql primary:5432/app (pool 5+2 per worker x 2 worker(s) = up to 14 connections per instance), "
        "read replica postgresql replica:6432/app (pool 5+2 per worker x 2 worker(s) = up to 14 connections per "
        "instance; 28 connections per instance in all, both pools) for anonymous GET and HEAD requests, "
        "schema revision r1"
    )


def test_a_replica_behind_a_transaction_pooler_gets_no_pool_of_its_own() -> None:
    settings = load_settings(
        database_url="postgresql://u:p@primary/app", database_read_url="postgresql://u:p@replica/app?pgbouncer=true"
    )
    line = describe_startup(settings, "r1")
    assert "read replica postgresql replica:5432/app (through a transaction pooler: no local pool" in line
    assert "in all" not in line
    assert "pgbouncer" not in str(settings.async_database_read_url)


# ---- the fall back, in-process: a replica that refuses connections, or is not what the URL says


@pytest.fixture
async def primary_reader(engine) -> PostgresReader:
    return PostgresReader(engine)


PEP_8 = select(Pep.number, Pep.title).where(Pep.number == 8)


@needs_postgres
@pytest.mark.parametrize(
    "replica_url",
    [
        pytest.param(lambda: f"postgresql://postgres@127.0.0.1:{free_port()}/app", id="nothing listens"),
        pytest.param(
            lambda: normalise_database_url(TEST_DATABASE_URL).set(database="no_such_database").render_as_string(False),
            id="no such database",
        ),
    ],
)
async def test_reads_fall_back_to_the_primary_and_the_replica_is_left_alone_for_a_while(
    primary_reader: PostgresReader, replica_url, caplog: pytest.LogCaptureFixture
) -> None:
    replica_engine = create_engine_for(load_settings(database_url=TEST_DATABASE_URL), replica_url())
    reader = ReplicaReader(replica_engine, primary_reader, retry_seconds=3600)
    try:
        assert await reader.first(PEP_8) == {"number": 8, "title": "Style Guide for Python Code"}
        assert reader.status == REPLICA_UNREACHABLE
        assert "Read replica postgresql 127.0.0.1" in caplog.text and "reading from the primary" in caplog.text
        # Not asked again before its retry time: the next reads go straight to the primary.
        asked = []

        async def replica_fetch(sql: str, arguments: list) -> list:
            asked.append(sql)
            return []

        reader.replica._fetch = replica_fetch
        assert (await reader.first(PEP_8))["number"] == 8
        assert asked == [] and not reader.check_due and reader.background_check is None
        # Once it is due, a check in the background asks the replica; the read itself does not wait for it.
        reader.next_check = 0.0
        assert (await reader.first(PEP_8))["number"] == 8
        assert await reader.background_check is False
        assert asked == [] and reader.status == REPLICA_UNREACHABLE
    finally:
        await replica_engine.dispose()


@needs_postgres
async def test_a_statement_the_database_refuses_is_not_a_replica_outage(primary_reader: PostgresReader) -> None:
    """Bad input fails on the primary too: it must not switch every reader away from the replica."""
    replica_engine = create_engine_for(load_settings(database_url=TEST_DATABASE_URL))
    reader = ReplicaReader(replica_engine, primary_reader, retry_seconds=3600)
    try:
        with pytest.raises(DBAPIError):
            await reader.first(select(Pep.number).where(Pep.number == 2**40))
        assert reader.status == REPLICA_OK
    finally:
        await replica_engine.dispose()


@needs_postgres
@pytest.mark.parametrize(
    "refusal",
    [
        # A standby cancels a read that blocks its replay.
        asyncpg.exceptions.SerializationError("canceling statement due to conflict with recovery"),
        # Right after a deploy's migration, a lagging replica lacks the new table or column.
        asyncpg.exceptions.UndefinedTableError('relation "new_table" does not exist'),
        asyncpg.exceptions.UndefinedColumnError("column pep.new_column does not exist"),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_a_read_the_replica_cannot_answer_yet_is_repeated_on_the_primary(
    primary_reader: PostgresReader, refusal: Exception
) -> None:
    replica_engine = create_engine_for(load_settings(database_url=TEST_DATABASE_URL))
    reader = ReplicaReader(replica_engine, primary_reader, retry_seconds=3600)

    async def replica_refuses(sql: str, arguments: list) -> list:
        raise DBAPIError(sql, None, refusal)

    reader.replica._fetch = replica_refuses
    try:
        assert (await reader.first(PEP_8))["number"] == 8
        # The replica itself is fine: the next read tries it again.
        assert reader.status == REPLICA_OK
    finally:
        await replica_engine.dispose()


# ---- a real streaming replica


@pytest.fixture(scope="module")
def replica() -> Iterator[StreamingReplica]:
    if not IS_POSTGRES:
        pytest.skip("a read replica is a PostgreSQL standby: runs in the PostgreSQL pass (TEST_DATABASE_URL)")
    standby = StreamingReplica(normalise_database_url(TEST_DATABASE_URL))
    try:
        standby.start()
        yield standby
    finally:
        standby.remove()


async def sql(url: str, statement: str, *arguments: object) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(statement, *arguments)
    finally:
        await connection.close()


async def until(condition, what: str, seconds: float = 90) -> None:
    """Wait for a condition the app or the standby reaches by itself, failing after a generous while."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds:.0f} s"
        await asyncio.sleep(0.2)


class Replicated:
    """The app under uvicorn, writing to a fresh database on the primary and reading from its copy on the replica."""

    def __init__(self, server: Server, replica: StreamingReplica, primary_url: str, database: str) -> None:
        self.server = server
        self.replica = replica
        self.primary_url = primary_url
        self.replica_url = replica.url(database)

    async def caught_up(self) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        position = await sql(self.primary_url, "SELECT pg_current_wal_lsn()::text")
        query = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"
        await until(lambda: sql(self.replica_url, query, position), "the replica did not catch up")

    async def pause_replay(self) -> None:
        await sql(self.replica_url, "SELECT pg_wal_replay_pause()")
        query = "SELECT pg_get_wal_replay_pause_state() = 'paused'"
        await until(lambda: sql(self.replica_url, query), "replay did not pause")

    async def resume_replay(self) -> None:
        await sql(self.replica_url, "SELECT pg_wal_replay_resume()")


@pytest.fixture
async def replicated(replica: StreamingReplica, tmp_path: Path) -> AsyncIterator[Replicated]:
    async with fresh_database(tmp_path) as primary_url:
        database = normalise_database_url(primary_url).database
        primary_url = primary_url.replace("+asyncpg", "")
        settings = {
            "DATABASE_URL": primary_url,
            "DATABASE_READ_URL": replica.url(database, REPLICA_PASSWORD),
            "DATABASE_READ_RETRY_SECONDS": "1",
            "DB_CONNECT_TIMEOUT": "3",
            "AUTO_MIGRATE": "true",
        }
        # The new database reaches the replica by replication too; the app finds it there at start-up.
        await until(
            lambda: sql(replica.url("postgres"), "SELECT count(*) = 1 FROM pg_database WHERE datname = $1", database),
            "the new database did not reach the replica",
        )
        with running_app(tmp_path, **settings) as server:
            yield Replicated(server, replica, primary_url, database)
            assert "Traceback" not in server.output(), server.output()
            assert REPLICA_PASSWORD not in server.output()


def new_pep(number: int) -> dict:
    return {
        "number": number,
        "title": f"Written while the replica lags {number}",
        "status": "Draft",
        "type": "Informational",
        "created": "2026-11-25",
        "authors": ["Ada Lovelace"],
    }


@needs_postgres
async def test_anonymous_reads_come_from_the_replica_and_see_a_write_only_once_it_is_replayed(
    replicated: Replicated,
) -> None:
    server = replicated.server
    assert f"read replica postgresql 127.0.0.1:{replicated.replica.port}/" in server.output()
    assert "answers: anonymous GET and HEAD requests read from it" in server.output()
    headers = server.superuser_headers()
    await replicated.caught_up()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=ENOUGH) as client:
        health = await client.get("/health")
        assert health.json() == {"status": "ok", "database": "ok", "replica": "ok"}
        assert REPLICA_PASSWORD not in health.text
        assert (await client.get("/peps/9990")).status_code == 404

        await replicated.pause_replay()
        try:
            created = await client.post("/peps", json=new_pep(9990), headers=headers)
            # Writes go to the primary: a standby would refuse them ("read-only transaction").
            assert created.status_code == 201, created.text
            on_primary = await sql(replicated.primary_url, "SELECT title FROM pep WHERE number = 9990")
            assert on_primary == "Written while the replica lags 9990"
            # An anonymous read (GET or HEAD) is served by the replica, which has not replayed the write yet...
            assert (await client.get("/peps/9990")).status_code == 404
            assert (await client.head("/peps/9990")).status_code == 404
            assert (await client.head("/peps/9990", headers=headers)).status_code == 200
            # ... while a request with credentials reads from the primary, and sees it.
            credentialed = await client.get("/peps/9990", headers=headers)
            assert credentialed.status_code == 200 and credentialed.json()["title"] == on_primary
            # Read-your-writes for a session started during the lag: its session row and its new
            # note are on the primary only, and that is where its reads go.
            fresh = server.superuser_headers()
            written = await client.post(
                "/me/notes", json={"pep_number": 8, "body": "written during the lag"}, headers=fresh
            )
            assert written.status_code == 201, written.text
            notes = await client.get("/me/notes", headers=fresh)
            assert notes.status_code == 200
            assert [note["body"] for note in notes.json()["items"]] == ["written during the lag"]
        finally:
            await replicated.resume_replay()

        await replicated.caught_up()
        replayed = await client.get("/peps/9990")
        assert replayed.status_code == 200 and replayed.json()["title"] == "Written while the replica lags 9990"


@needs_postgres
async def test_reads_fall_back_to_the_primary_while_the_replica_is_down_and_return_when_it_is_back(
    replicated: Replicated,
) -> None:
    server = replicated.server
    headers = server.superuser_headers()
    await replicated.caught_up()
    paths = ("/peps", "/peps/8", "/authors?sort=-pep_count", "/authors/1", "/peps?author=guido")
    async with httpx.AsyncClient(base_url=server.base_url, timeout=ENOUGH) as client:
        # Connections to the replica in the pool, which the stop below kills mid-use.
        warm = await asyncio.gather(*(client.get(path) for path in paths * 2))
        assert {response.status_code for response in warm} == {200}

        replicated.replica.stop()
        try:
            for path in paths:
                response = await client.get(path)
                assert response.status_code == 200, (path, response.text)
            health = await client.get("/health")
            assert health.status_code == 200
            assert health.json() == {"status": "ok", "database": "ok", "replica": REPLICA_UNREACHABLE}
            # Reads come from the primary now: a write is visible to an anonymous read at once.
            assert (await client.post("/peps", json=new_pep(9991), headers=headers)).status_code == 201
            assert (await client.get("/peps/9991")).status_code == 200
        finally:
            replicated.replica.start()

        async def replica_in_use_again() -> bool:
            return (await client.get("/health")).json().get("replica") == REPLICA_OK

        await until(replica_in_use_again, "/health did not report the replica back")
        assert "cannot be reached (" in server.output() and "answers again" in server.output()

        # Used again: with its replay paused, it does not have the next write, and anonymous reads miss it.
        await replicated.caught_up()
        await replicated.pause_replay()
        try:
            assert (await client.post("/peps", json=new_pep(9992), headers=headers)).status_code == 201
            assert (await client.get("/peps/9992")).status_code == 404
            assert (await client.get("/peps/9992", headers=headers)).status_code == 200
        finally:
            await replicated.resume_replay()
