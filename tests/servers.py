"""Run the real app under uvicorn in a subprocess, and a TCP proxy that can cut the database off."""

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUPERUSER = {"username": "root@example.com", "password": "root password for tests"}


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
