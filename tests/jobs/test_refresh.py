"""The scheduled catalogue refresh: two worker processes (`python -m saq app.worker.settings`), a feed served
over HTTP that changes and breaks; each period's run happens once, a broken feed changes nothing."""

import asyncio
import json
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import as_cron, load_settings
from app.db import create_engine_for
from app.peps.importer import BUNDLED_PEPS
from app.peps.models import Pep
from tests.servers import PROJECT_ROOT, app_environment


class FeedServer:
    """Serves `feed` at /peps.json and counts the downloads."""

    def __init__(self, feed: bytes) -> None:
        self.feed = feed
        self.downloads = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.downloads += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(server.feed)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/peps.json"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@contextmanager
def workers(cwd: Path, count: int, **settings: str) -> Iterator[list[Path]]:
    """`count` worker processes, started with the Procfile's worker line; their log files."""
    logs = [cwd / f"worker-{n}.log" for n in range(count)]
    [line] = [line for line in (PROJECT_ROOT / "Procfile").read_text().splitlines() if line.startswith("worker:")]
    program, *arguments = shlex.split(line.removeprefix("worker:"))
    assert program == "python"
    processes = []
    for log in logs:
        with log.open("w") as output:
            command = [sys.executable, *arguments]
            processes.append(
                subprocess.Popen(
                    command, cwd=PROJECT_ROOT, env=app_environment(**settings), stdout=output, stderr=output
                )
            )
    try:
        yield logs
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def titles(database_url: str) -> dict[int, str]:
    async def read() -> dict[int, str]:
        engine = create_engine_for(load_settings(database_url=database_url))
        try:
            async with engine.connect() as connection:
                return {number: title for number, title in await connection.execute(select(Pep.number, Pep.title))}  # type: ignore[call-overload]
        except Exception:  # the schema is not there yet: the workers are still starting
            return {}
        finally:
            await engine.dispose()

    return asyncio.run(read())


def wait_until(condition, what: str, logs: list[Path], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s\n" + "\n".join(log.read_text() for log in logs))
        time.sleep(0.3)


def test_the_scheduled_refresh_runs_once_per_period_and_applies_a_changed_feed(
    tmp_path: Path, fresh_database_url: str
) -> None:
    bundled = json.loads(BUNDLED_PEPS.read_text(encoding="utf-8"))
    first = {number: bundled[number] for number in ("1", "8", "20")}
    changed = {**first, "8": {**first["8"], "title": "Style Guide for Python Code, revised"}}
    feed = FeedServer(json.dumps(first).encode())
    settings = {
        "DATABASE_URL": fresh_database_url,
        "AUTO_MIGRATE": "true",
        "PEP_FEED_URL": feed.url,
        "PEP_FEED_SCHEDULE": "2",  # seconds
        "LOG_LEVEL": "INFO",
    }
    try:
        with workers(tmp_path, 2, **settings) as logs:
            wait_until(lambda: len(titles(fresh_database_url)) == 3, "the first import", logs)
            feed.feed = b'{"8": {"title": "not a PEP"'  # broken: a failed run must change nothing
            broken_from = feed.downloads
            wait_until(
                lambda: "failed, nothing changed" in "".join(log.read_text() for log in logs), "a failed run", logs
            )
            assert feed.downloads > broken_from
            assert titles(fresh_database_url)[8] == first["8"]["title"]
            feed.feed = json.dumps(changed).encode()
            wait_until(lambda: titles(fresh_database_url).get(8) == changed["8"]["title"], "the changed feed", logs)
        output = [log.read_text() for log in logs]
    finally:
        feed.close()
    runs = [int(run) for text in output for run in re.findall(r"Catalogue refresh \(run of (\d+)\)", text)]
    assert len(runs) >= 3 and len(runs) == len(set(runs)), f"a period ran twice: {sorted(runs)}"
    assert all(run % 2 == 0 for run in runs), "runs start on the schedule's seconds"
    # Every run downloads the feed once; one more may have been cut short when the workers stopped.
    assert len(runs) <= feed.downloads <= len(runs) + 1
    assert all("Worker starting" in text for text in output), "both workers ran"


@pytest.mark.parametrize(
    ("schedule", "cron"),
    [
        ("30", "* * * * * */30"),
        ("60", "*/1 * * * *"),
        ("900", "*/15 * * * *"),
        ("7200", "0 */2 * * *"),
        ("86400", "0 0 * * *"),
        (" 0 4 * * * ", "0 4 * * *"),
        ("*/5 * * * * *", "*/5 * * * * *"),
    ],
)
def test_a_schedule_is_a_cron_expression_or_seconds(schedule: str, cron: str) -> None:
    assert as_cron(schedule) == cron


@pytest.mark.parametrize("schedule", ["7", "90", "5400", "0", "every day", "61 * * * *"])
def test_a_schedule_that_is_neither_is_refused(schedule: str) -> None:
    with pytest.raises(ValueError, match="cron expression such as 0 4"):
        as_cron(schedule)
