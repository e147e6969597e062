"""What the scripts share: a free local port, one statement on PostgreSQL's admin database, and the
rehearsals' way of reporting steps and failures.

The scripts run without the test package (tests/servers.py has its own free_port for the tests).
"""

import asyncio
import socket
import subprocess
import time
from pathlib import Path

import asyncpg
import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def admin_sql(admin_url: str, statement: str) -> None:
    """Run one statement (CREATE or DROP DATABASE) outside a transaction, as those need."""

    async def run() -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


class RehearsalFailed(Exception):
    """A rehearsal step went wrong; the message says which."""


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise RehearsalFailed(message)


def wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path, seconds: float = 90) -> None:
    """Until `GET /health` answers 200; a server that exits or stays silent fails with its log."""
    deadline = time.monotonic() + seconds
    while True:
        check(process.poll() is None, f"the server exited during start-up:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        check(
            time.monotonic() < deadline, f"the server did not answer /health within {seconds:.0f} s:\n{log.read_text()}"
        )
        time.sleep(0.3)


def stop(process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `seconds`."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
