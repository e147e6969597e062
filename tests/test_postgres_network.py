"""PostgreSQL as platforms serve it: through PgBouncer in transaction mode, and over SSL.

Both start real servers of their own (PgBouncer in front of the test database; a throwaway
PostgreSQL with SSL on), so they run in the PostgreSQL pass, where CI installs PgBouncer.
"""

import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.config import load_settings, normalise_database_url
from app.db import create_engine_for
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from tests.servers import as_postgres_user, free_port, running_app

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL networking: runs when TEST_DATABASE_URL is set")

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture
def scratch_dir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="pep-pg-"))
    directory.chmod(0o777)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pgbouncer(scratch_dir: Path) -> Iterator[int]:
    """PgBouncer in transaction mode in front of the test database's server; yields its port."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    assert Path(binary).exists(), "PgBouncer is needed for this test: apt-get install pgbouncer"
    upstream = normalise_database_url(TEST_DATABASE_URL)
    port = free_port()
    (scratch_dir / "users.txt").write_text(f'"{upstream.username}" ""\n')
    (scratch_dir / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={upstream.host or "127.0.0.1"} port={upstream.port or 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {scratch_dir / "users.txt"}
pool_mode = transaction
default_pool_size = 3
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = {scratch_dir / "pgbouncer.log"}
pidfile = {scratch_dir / "pgbouncer.pid"}
"""
    )
    as_postgres_user(binary, "-d", str(scratch_dir / "pgbouncer.ini"))
    try:
        wait_for_port(port)
        yield port
    finally:
        pid = (scratch_dir / "pgbouncer.pid").read_text().strip()
        subprocess.run(["kill", pid], check=False)


def test_pgbouncer_url_is_recognised() -> None:
    assert load_settings(database_url="postgres://u:p@h/db?pgbouncer=true").uses_transaction_pooler
    assert load_settings(
        database_url="postgres://u:p@ep-cool-1-pooler.eu-central-1.aws.neon.tech/db"
    ).uses_transaction_pooler
    assert load_settings(
        database_url="postgres://u:p@aws-0-eu.pooler.supabase.com:6543/postgres"
    ).uses_transaction_pooler
    assert not load_settings(
        database_url="postgres://u:p@aws-0-eu.pooler.supabase.com:5432/postgres"
    ).uses_transaction_pooler
    assert not load_settings(database_url="postgres://u:p@h/db").uses_transaction_pooler
    assert "pgbouncer" not in str(load_settings(database_url="postgres://u:p@h/db?pgbouncer=true").async_database_url)


async def test_app_works_through_pgbouncer_in_transaction_mode(
    pgbouncer: int, fresh_database_url: str, tmp_path: Path
) -> None:
    direct = normalise_database_url(fresh_database_url)
    pooled = direct.set(host="127.0.0.1", port=pgbouncer).render_as_string(hide_password=False) + "?pgbouncer=true"

    # The same queries without the pooler settings fail: this really is a transaction pooler.
    naive = create_engine_for(load_settings(database_url=pooled.replace("?pgbouncer=true", "")))
    try:

        async def query(n: int) -> None:
            async with naive.connect() as connection:
                await connection.execute(text(f"SELECT {n} + :x"), {"x": n})

        # return_exceptions: every query finishes and hands its connection back, so none is left
        # holding one of PgBouncer's server connections when the app starts below.
        failures: list[BaseException] = []
        for _ in range(20):
            results = await asyncio.gather(*(query(n) for n in range(10)), return_exceptions=True)
            failures += [result for result in results if isinstance(result, BaseException)]
            if failures:
                break
        assert failures, "without the pooler settings, queries through PgBouncer should fail"
        assert all(isinstance(f, DBAPIError) and "prepared statement" in str(f) for f in failures), failures
    finally:
        await naive.dispose()

    with running_app(tmp_path, workers=2, DATABASE_URL=pooled, AUTO_MIGRATE="true") as server:
        headers = server.superuser_headers()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30, headers=headers) as client:
            requests = [client.get("/peps", params={"limit": 50, "author": "guido"}) for _ in range(30)]
            requests += [client.get(f"/peps/{n}") for n in (8, 20, 484, 8, 20)]
            requests += [client.post("/me/notes", json={"pep_number": 8, "body": f"n{i}"}) for i in range(20)]
            requests += [client.patch("/peps/8", json={"abstract": f"v{i}"}) for i in range(10)]
            responses = await asyncio.gather(*requests)
            assert [r.status_code for r in responses if r.status_code >= 300] == [], responses[-1].text
            assert (await client.get("/me/notes")).json()["total"] == 20
    assert "through a transaction pooler" in server.output()


@pytest.fixture
def ssl_postgres(scratch_dir: Path) -> Iterator[tuple[int, Path]]:
    """A throwaway PostgreSQL accepting only SSL, with a self-signed certificate for `localhost`.

    Yields its port and the certificate, which serves as its own certificate authority.
    """
    assert PG_BIN is not None, "PostgreSQL server binaries are needed for this test"
    data = scratch_dir / "data"
    as_postgres_user(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
    as_postgres_user(
        "openssl", "req", "-new", "-x509", "-days", "1", "-nodes", "-subj", "/CN=localhost",
        "-keyout", str(data / "server.key"), "-out", str(data / "server.crt"),
    )  # fmt: skip
    (data / "pg_hba.conf").write_text(
        "hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n"
        "hostnossl all all 127.0.0.1/32 reject\nhostnossl all all ::1/128 reject\nlocal all all trust\n"
    )
    port = free_port()
    options = f"-c port={port} -c listen_addresses=localhost -c ssl=on -c unix_socket_directories={scratch_dir}"
    as_postgres_user(
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(scratch_dir / "pg.log"), "-w", "start"
    )
    try:
        yield port, data / "server.crt"
    finally:
        as_postgres_user(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")


async def connection_uses_ssl(database_url: str) -> bool:
    engine = create_engine_for(load_settings(database_url=database_url, db_connect_timeout=5))
    try:
        async with engine.connect() as connection:
            query = text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            return (await connection.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def test_sslmode_in_the_url_keeps_its_meaning(
    ssl_postgres: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, certificate = ssl_postgres
    by_ip, by_name = (
        f"postgresql://postgres@127.0.0.1:{port}/postgres",
        f"postgresql://postgres@localhost:{port}/postgres",
    )
    # require: encrypted, certificate not checked.
    assert await connection_uses_ssl(f"{by_ip}?sslmode=require") is True
    # disable: no SSL, which this server rejects (hostnossl ... reject).
    with pytest.raises(DBAPIError, match=r"no encryption"):
        await connection_uses_ssl(f"{by_ip}?sslmode=disable")
    # verify-full: needs the certificate authority (as libpq: PGSSLROOTCERT or ~/.postgresql/root.crt) ...
    monkeypatch.setenv("PGSSLROOTCERT", str(scratch_copy(certificate)))
    assert await connection_uses_ssl(f"{by_name}?sslmode=verify-full") is True
    # ... and the host name to match the certificate's.
    with pytest.raises(Exception, match=r"(?i)certificate verify failed|mismatch"):
        await connection_uses_ssl(f"{by_ip}?sslmode=verify-full")
    # With no certificate authority configured at all, verify-full refuses to connect.
    monkeypatch.delenv("PGSSLROOTCERT")
    monkeypatch.setenv("HOME", tempfile.mkdtemp())
    with pytest.raises(DBAPIError, match=r"root certificate file"):
        await connection_uses_ssl(f"{by_name}?sslmode=verify-full")


def scratch_copy(path: Path) -> Path:
    """A copy this process can read (the server's files belong to the postgres user)."""
    copy = Path(tempfile.mkdtemp()) / path.name
    copy.write_text(as_postgres_user("cat", str(path)).stdout)
    return copy
