"""Run the real app under uvicorn in a subprocess, a TCP proxy that can cut the database off, and a
streaming replica of the test cluster."""

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import URL

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUPERUSER = {"username": "root@example.com", "password": "root password for tests"}


def as_postgres_user(*command: str, **options: object) -> subprocess.CompletedProcess[str]:
    # PgBouncer and PostgreSQL refuse to run as root, which CI machines are.
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *command], check=True, capture_output=True, text=True, timeout=120, **options)


def postgres_owned_directory(prefix: str) -> Path:
    """A new directory under the system's temporary folder that the PostgreSQL binaries may write in."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    return directory


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def superuser_headers(self) -> dict[str, str]:
        response = httpx.post(f"{self.base_url}/auth/token", data=SUPERUSER, timeout=30)
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def app_environment(**settings: str) -> dict[str, str]:
    """The environment a deployed app would see: no test settings, plus the ones given."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ENV", "TEST_DATABASE_URL")}
    env |= {"PYTHONPATH": str(PROJECT_ROOT), "FIRST_SUPERUSER_EMAIL": SUPERUSER["username"]}
    env |= {"FIRST_SUPERUSER_PASSWORD": SUPERUSER["password"]}
    return env | settings


@contextmanager
def running_app(
    cwd: Path, workers: int = 1, startup_seconds: float = 90, asgi_app: str = "app.main:app", **settings: str
) -> Iterator[Server]:
    """uvicorn serving the app until the block ends; its output goes to a file, never a full pipe."""
    port = free_port()
    log = cwd / f"uvicorn-{port}.log"
    command = [sys.executable, "-m", "uvicorn", asgi_app, "--port", str(port), "--workers", str(workers)]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=cwd, env=app_environment(**settings), stdout=output, stderr=output)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            assert process.poll() is None, f"the app exited during start-up:\n{server.output()}"
            try:
                if httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the app did not start serving in time:\n{server.output()}"
            time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class TcpProxy:
    """Forwards a local port to the database; `cut()` drops every connection and refuses new ones.

    It runs its own event loop in a thread, so it keeps forwarding while a test blocks.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.base_events.Server | None = None
        self._transports: set[asyncio.BaseTransport] = set()

    def start(self) -> None:
        self._run(self._start())

    def cut(self) -> None:
        """As if the database server stopped: existing connections reset, new ones refused."""
        self._run(self._cut())

    def close(self) -> None:
        if self._server is not None:
            self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self, coroutine: Coroutine[None, None, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        await self._server.wait_closed()
        self._server = None

    async def _connect(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._transports |= {client_writer.transport, upstream_writer.transport}
        await asyncio.gather(
            self._pipe(client_reader, upstream_writer),
            self._pipe(upstream_reader, client_writer),
            return_exceptions=True,
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()


# Settings a hot standby must have at least as high as its primary's; pg_controldata names them so.
_STANDBY_MINIMUMS = {
    "max_connections": "max_connections setting",
    "max_worker_processes": "max_worker_processes setting",
    "max_wal_senders": "max_wal_senders setting",
    "max_prepared_transactions": "max_prepared_xacts setting",
    "max_locks_per_transaction": "max_locks_per_xact setting",
}

REPLICATION_HINT = (
    "the read-replica tests copy the test cluster with pg_basebackup: it must allow replication connections "
    "from 127.0.0.1 without a password (a first line `host replication all 127.0.0.1/32 trust` in pg_hba.conf, "
    "then reload) and have wal_level=replica and max_wal_senders >= 3; .ci/run sets both"
)


class StreamingReplica:
    """A hot standby of the test cluster: `pg_basebackup -R` into a temporary folder, on a port of its own.

    Its configuration lives beside the copy (Debian keeps the primary's in /etc, and a copy from
    elsewhere would name the primary's port), so nothing of the primary's setup is changed.
    """

    def __init__(self, primary: URL) -> None:
        self.primary = primary
        self.directory = postgres_owned_directory("pep-replica-")
        self.data = self.directory / "data"
        self.port = free_port()
        source = f"host={primary.host or '127.0.0.1'} port={primary.port or 5432} user={primary.username or 'postgres'}"
        environment = os.environ | ({"PGPASSWORD": primary.password} if primary.password else {})
        try:
            as_postgres_user(
                "pg_basebackup", "-d", source, "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "-w", "-N",
                env=environment,
            )  # fmt: skip
        except subprocess.CalledProcessError as error:
            self.remove()
            raise AssertionError(f"pg_basebackup failed ({error.stderr.strip()}): {REPLICATION_HINT}") from None
        # The copy's server must be the primary's major version.
        self.bin = Path("/usr/lib/postgresql") / (self.data / "PG_VERSION").read_text().strip() / "bin"
        control = as_postgres_user(str(self.bin / "pg_controldata"), "-D", str(self.data)).stdout
        values = dict(line.split(":", 1) for line in control.splitlines() if ":" in line)
        minimums = "".join(f"{name} = {values[label].strip()}\n" for name, label in _STANDBY_MINIMUMS.items())
        self._write(
            "pg_hba.conf",
            "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
        )
        self._write("pg_ident.conf", "")
        self._write(
            "replica.conf",
            f"data_directory = '{self.data}'\nhba_file = '{self.directory / 'pg_hba.conf'}'\n"
            f"ident_file = '{self.directory / 'pg_ident.conf'}'\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.directory}'\nhot_standby = on\nshared_buffers = '16MB'\n"
            f"fsync = off\n{minimums}",
        )

    def _write(self, name: str, text: str) -> None:
        path = self.directory / name
        path.write_text(text)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def url(self, database: str, password: str | None = None) -> str:
        return URL.create("postgresql", "postgres", password, "127.0.0.1", self.port, database).render_as_string(
            hide_password=False
        )

    def start(self) -> None:
        options = f"-c config_file={self.directory / 'replica.conf'}"
        log = str(self.directory / "replica.log")
        try:
            as_postgres_user(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        except subprocess.CalledProcessError:
            raise AssertionError(f"the replica did not start:\n{self.log()}") from None

    def stop(self, mode: str = "fast") -> None:
        as_postgres_user(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def log(self) -> str:
        path = self.directory / "replica.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")  # its data is thrown away: nothing to shut down cleanly
        shutil.rmtree(self.directory, ignore_errors=True)
