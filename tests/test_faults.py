"""What PaaS platforms do to a running app: outages, killed connections, bursts, races, locked SQLite.

Each test runs the real app under uvicorn. The PostgreSQL ones need TEST_DATABASE_URL (CI's second
pass); the SQLite one runs in the first pass.
"""

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, literal, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import normalise_database_url
from app.reader import PostgresReader
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from tests.servers import TcpProxy, running_app

needs_postgres = pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL fault: runs when TEST_DATABASE_URL is set")
ENOUGH = httpx.Timeout(20.0)  # a request still unanswered after this counts as a hang


async def admin_query(sql: str, **params: object) -> list:
    admin = create_async_engine(normalise_database_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())
    finally:
        await admin.dispose()


async def app_connections(database: str) -> int:
    [(count,)] = await admin_query("SELECT count(*) FROM pg_stat_activity WHERE datname = :db", db=database)
    return count


@needs_postgres
async def test_database_outage_answers_503_then_recovers_without_restart(
    fresh_database_url: str, tmp_path: Path
) -> None:
    target = normalise_database_url(fresh_database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.start()
    through_proxy = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = {
        "DATABASE_URL": through_proxy,
        "AUTO_MIGRATE": "true",
        "DB_POOL_TIMEOUT": "2",
        "DB_CONNECT_TIMEOUT": "2",
    }
    with running_app(tmp_path, **settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=ENOUGH) as client:
            assert (await client.get("/peps/8")).status_code == 200
            proxy.cut()
            for path in ("/peps", "/peps/8", "/authors?sort=-pep_count", "/peps/8", "/authors/1"):
                response = await client.get(path)
                assert response.status_code == 503, (path, response.text)
                assert response.headers["retry-after"].isdigit()
                assert "unavailable" in response.json()["detail"]
            health = await client.get("/health")
            assert health.status_code == 503 and health.json()["status"] == "unavailable"
            signin = await client.post("/auth/token", data={"username": "a@example.com", "password": "whatever1"})
            assert signin.status_code == 503
            assert server.process.poll() is None, "the app must keep running through an outage"

            proxy.start()  # the database is back
            statuses = []
            for _ in range(40):
                statuses.append((await client.get("/peps/8")).status_code)
                if statuses[-1] == 200:
                    break
                await asyncio.sleep(0.25)
            assert statuses[-1] == 200, f"no recovery within 10 s: {statuses}"
            assert (await client.get("/health")).json() == {"status": "ok", "database": "ok"}
    proxy.close()
    assert "Traceback" not in server.output(), server.output()


@needs_postgres
async def test_connections_killed_by_the_server_are_replaced(fresh_database_url: str, tmp_path: Path) -> None:
    database = normalise_database_url(fresh_database_url).database
    with running_app(tmp_path, DATABASE_URL=fresh_database_url, AUTO_MIGRATE="true") as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=ENOUGH) as client:
            warm = await asyncio.gather(*(client.get("/peps", params={"limit": 50}) for _ in range(10)))
            assert {r.status_code for r in warm} == {200}
            killed = await admin_query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()",
                db=database,
            )
            assert killed, "the app held no connection to kill"
            after = await asyncio.gather(*(client.get("/peps/8") for _ in range(10)))
            assert [r.status_code for r in after] == [200] * 10


@needs_postgres
async def test_a_session_after_idle_connections_were_dropped_succeeds(fresh_database_url: str, tmp_path: Path) -> None:
    """Platforms drop idle connections: one idle for a while is pinged before use, and replaced if dead.

    Sign-in is the check: its first statement runs in a session (reads alone would retry instead).
    """
    database = normalise_database_url(fresh_database_url).database
    # No in-process job worker: its poll, every second, would keep the connections from ever being idle.
    settings = {
        "DATABASE_URL": fresh_database_url,
        "AUTO_MIGRATE": "true",
        "DB_POOL_SIZE": "2",
        "JOBS_IN_PROCESS": "false",
    }
    with running_app(tmp_path, **settings) as server:
        server.superuser_headers()
        await asyncio.sleep(1.5)  # longer than the app trusts an unused connection
        killed = await admin_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()",
            db=database,
        )
        assert killed, "the app held no connection to kill"
        headers = server.superuser_headers()  # raises unless the sign-in succeeds
        async with httpx.AsyncClient(base_url=server.base_url, timeout=ENOUGH, headers=headers) as client:
            written = await client.post("/me/notes", json={"pep_number": 8, "body": "after"})
            assert written.status_code == 201, written.text


@needs_postgres
async def test_burst_larger_than_the_pool_gets_200_or_503_and_leaks_nothing(
    fresh_database_url: str, tmp_path: Path
) -> None:
    database = normalise_database_url(fresh_database_url).database
    settings = {
        "DATABASE_URL": fresh_database_url,
        "AUTO_MIGRATE": "true",
        "DB_POOL_SIZE": "5",
        "DB_MAX_OVERFLOW": "0",
        "DB_POOL_TIMEOUT": "3",
    }
    with running_app(tmp_path, **settings) as server:
        before = await app_connections(database)
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=ENOUGH, limits=limits) as client:
            responses = await asyncio.gather(*(client.get("/peps", params={"limit": 100}) for _ in range(200)))
            statuses = Counter(r.status_code for r in responses)
            assert set(statuses) <= {200, 503}, statuses
            assert statuses[200] > 0
            after = await app_connections(database)
            assert after <= 5, f"pool of 5 holds {after} connections"
            assert after <= max(before, 5)
        # Still serving, on a new connection: an idle one of the burst's may be past uvicorn's keep-alive
        # timeout, closed by the server as the request goes out (a client would retry it; httpx does not).
        async with httpx.AsyncClient(base_url=server.base_url, timeout=ENOUGH) as client:
            assert (await client.get("/peps/8")).status_code == 200
    assert "Traceback" not in server.output()


async def test_signed_in_burst_with_a_tiny_pool_never_waits_on_itself(fresh_database_url: str, tmp_path: Path) -> None:
    """A request holds at most one pooled connection at a time, so a burst larger than the pool only queues.

    (A route that read the signed-in user on one connection and its data on a second one deadlocked
    here: every connection held by a request waiting for another, until the pool timed out with 503s.)
    """
    settings = {"DATABASE_URL": fresh_database_url, "AUTO_MIGRATE": "true", "DB_POOL_SIZE": "2"}
    with running_app(tmp_path, **settings, DB_MAX_OVERFLOW="0", DB_POOL_TIMEOUT="10") as server:
        headers = server.superuser_headers()
        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=ENOUGH, headers=headers, limits=limits
        ) as client:
            requests = [client.get("/me/notes") for _ in range(40)]
            requests += [client.post("/me/notes", json={"pep_number": 8, "body": f"note {i}"}) for i in range(20)]
            requests += [client.get("/users/me") for _ in range(20)]
            statuses = Counter(r.status_code for r in await asyncio.gather(*requests))
            assert statuses == {200: 60, 201: 20}, statuses
            assert (await client.get("/me/notes")).json()["total"] == 20


async def test_a_burst_of_sign_ins_with_a_tiny_pool_gets_no_503(fresh_database_url: str, tmp_path: Path) -> None:
    """Checking a password takes Argon2 a third of a second: no connection, nor SQLite's write lock, is held for it.

    (Sign-in held both through the hash: 40 at once gave 22 503s on PostgreSQL with a pool of 2, and
    "database is locked" 503s on SQLite.)
    """
    generous = {f"RATE_LIMIT_SIGN_IN_PER_{who}": "1000/minute" for who in ("ACCOUNT", "ADDRESS")}
    generous |= {f"RATE_LIMIT_SIGN_UP_PER_{who}": "1000/minute" for who in ("ACCOUNT", "ADDRESS")}
    settings = {"DATABASE_URL": fresh_database_url, "AUTO_MIGRATE": "true", "DB_POOL_SIZE": "2"}
    with running_app(tmp_path, **settings, **generous, DB_MAX_OVERFLOW="0") as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=ENOUGH) as client:
            emails = [f"burst{i}@example.com" for i in range(4)]
            for email in emails:
                signed_up = await client.post("/auth/register", json={"email": email, "password": "burst password"})
                assert signed_up.status_code == 201, signed_up.text
            form = [{"username": emails[i % 4], "password": "burst password"} for i in range(30)]
            answers = await asyncio.gather(*(client.post("/auth/token", data=fields) for fields in form))
            statuses = Counter(r.status_code for r in answers)
            assert statuses == {200: 30}, [r.text for r in answers if r.status_code != 200][:3]


@needs_postgres
async def test_racing_creates_give_one_201_one_409_and_one_row(fresh_database_url: str, tmp_path: Path) -> None:
    with running_app(tmp_path, DATABASE_URL=fresh_database_url, AUTO_MIGRATE="true") as server:
        headers = server.superuser_headers()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=ENOUGH, headers=headers) as client:
            for number in range(9100, 9110):

                def body(author: str, number: int = number) -> dict:
                    return {
                        "number": number,
                        "title": f"Race {number}",
                        "status": "Draft",
                        "type": "Process",
                        "created": "2026-11-22",
                        "authors": [author],
                    }

                first, second = await asyncio.gather(
                    client.post("/peps", json=body(f"Racer A{number}")),
                    client.post("/peps", json=body(f"Racer B{number}")),
                )
                assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text, second.text)
                winner = first if first.status_code == 201 else second
                stored = (await client.get(f"/peps/{number}")).json()
                assert stored["authors"] == winner.json()["authors"]
                loser_author = "Racer B" if winner is first else "Racer A"
                orphans = (await client.get("/authors", params={"q": f"{loser_author}{number}"})).json()
                assert orphans["total"] == 0, "the losing request's new author must be rolled back with it"
            assert (await client.get("/peps", params={"q": "Race 91"})).json()["total"] == 10


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite locking: runs in the SQLite pass")
async def test_sqlite_concurrent_writes_from_several_workers_never_lock(tmp_path: Path, catalogue: dict) -> None:
    with running_app(tmp_path, workers=4) as server:
        headers = server.superuser_headers()
        limits = httpx.Limits(max_connections=40)
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=ENOUGH, headers=headers, limits=limits
        ) as client:
            writes = [client.patch(f"/peps/{n}", json={"title": f"Edited {n}"}) for n in sorted(catalogue)[:40]]
            writes += [client.post("/me/notes", json={"pep_number": 8, "body": f"note {i}"}) for i in range(40)]
            writes += [client.patch("/peps/8", json={"abstract": f"version {i}"}) for i in range(20)]
            responses = await asyncio.gather(*writes)
            statuses = Counter(r.status_code for r in responses)
            assert set(statuses) <= {200, 201}, [r.text for r in responses if r.status_code >= 300][:3]
            assert (await client.get("/me/notes")).json()["total"] == 40
    assert "database is locked" not in server.output()


@needs_postgres
async def test_a_read_cancelled_mid_statement_gives_its_connection_back(engine) -> None:
    """A client that goes away cancels its read: the pooled connection is dropped, not kept checked out."""
    reader = PostgresReader(engine)
    slow = select(func.pg_sleep(1).label("slept"))
    for _ in range(engine.pool.size() + 1):
        read = asyncio.create_task(reader.all(slow))
        await asyncio.sleep(0.1)
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
    assert engine.pool.checkedout() == 0
    assert await reader.all(select(literal(1).label("one"))) == [{"one": 1}]
