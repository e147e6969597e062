"""Request ids, log lines and error reports, read from a real server's output and a local Sentry stand-in."""

import gzip
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest

from app.error_reports import slower_than
from app.logs import RequestFields, is_sane_request_id, make_formatter, without_secrets
from tests.servers import PROJECT_ROOT, app_environment, running_app

FAILING_APP = "tests.failing_app:app"
PASSWORD = "hunter2-never-logged"


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every line of the server's output, each of which must be one JSON object."""
    return [json.loads(line) for line in output.splitlines() if line.strip()]


async def test_an_incoming_sane_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "edge-7f3a:2026/11=+_.x"})
    assert response.headers["x-request-id"] == "edge-7f3a:2026/11=+_.x"


@pytest.mark.parametrize(
    "sent",
    [None, b"", b"has spaces", b'quote"d', b"x" * 129, b"tab\tbreak", "ünïcode".encode(), b"semi;colon"],
)
async def test_a_missing_or_unsafe_id_is_replaced_by_a_new_one(client: httpx.AsyncClient, sent: bytes | None) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}
    first = await client.get("/health", headers=headers)
    second = await client.get("/health", headers=headers)
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_refused_and_not_found_answers_carry_the_id(client: httpx.AsyncClient) -> None:
    assert (await client.get("/no-such-page")).headers["x-request-id"]
    too_large = await client.post("/peps", content=b"x" * 2_000_000, headers={"Content-Type": "application/json"})
    assert too_large.status_code == 413 and too_large.headers["x-request-id"]


def test_the_id_accepts_a_uuid_a_trace_id_and_at_most_128_safe_characters() -> None:
    assert is_sane_request_id("0f14d0ab-9605-4a62-a9e4-5ed26688389b")
    assert is_sane_request_id("Root=1-67891233-abcdef012345678912345678")
    assert is_sane_request_id("a" * 128)
    assert not is_sane_request_id("a" * 129)
    assert not is_sane_request_id("a\nINFO forged line")


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/peps?limit=5&offset=10&q=a%20b", "/peps?limit=5&offset=10&q=a%20b"),
        ("/x?token=abc&limit=1", "/x?token=[redacted]&limit=1"),
        (
            "/x?access_token=a&Password=b&api_key=c&code=d&X-Signature=e",
            "/x?access_token=[redacted]&Password=[redacted]&api_key=[redacted]&code=[redacted]&X-Signature=[redacted]",
        ),
        ("/x", "/x"),
    ],
)
def test_credentials_in_a_query_string_are_left_out_of_the_access_line(path: str, logged: str) -> None:
    assert without_secrets(path) == logged


def test_plain_lines_name_the_request_id_or_a_dash_outside_requests() -> None:
    formatter = make_formatter("plain")
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "started", None, None)
    RequestFields().filter(record)
    assert formatter.format(record) == "INFO: [-] app: started"


def test_without_sentry_dsn_sentry_is_not_even_imported() -> None:
    probe = "import sys, app.main; print('sentry_sdk' in sys.modules)"
    env = app_environment(DATABASE_URL="sqlite:///./unused.db", SENTRY_DSN="")
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_json_logs_follow_one_request_from_its_error_to_its_access_line(tmp_path: Path) -> None:
    with running_app(tmp_path, asgi_app=FAILING_APP, LOG_FORMAT="json", LOG_LEVEL="info") as server:
        echoed = httpx.get(f"{server.base_url}/peps?limit=1", headers={"X-Request-ID": "req-42"}, timeout=30)
        failed = httpx.post(
            f"{server.base_url}/test-only/bug?token=query-secret",
            json={"password": PASSWORD},
            headers={"X-Request-ID": "bad id\tforged", "Authorization": "Bearer header-secret"},
            timeout=30,
        )
    assert echoed.headers["x-request-id"] == "req-42"
    assert failed.status_code == 500
    failed_id = failed.headers["x-request-id"]
    assert failed_id != "bad id\tforged" and is_sane_request_id(failed_id)

    output = server.output()
    lines = json_lines(output)  # every line, start-up and shutdown included, is JSON
    assert all({"level", "time", "logger", "message", "request_id"} <= line.keys() for line in lines)
    [access] = [line for line in lines if line["logger"] == "uvicorn.access" and line["request_id"] == "req-42"]
    assert (access["method"], access["path"], access["status"], access["level"]) == ("GET", "/peps", 200, "INFO")
    assert access["duration_ms"] >= 0
    of_the_failure = [line for line in lines if line["request_id"] == failed_id]
    assert {line["logger"] for line in of_the_failure} == {"app.errors", "uvicorn.error", "uvicorn.access"}
    [error] = [line for line in of_the_failure if line["logger"] == "app.errors"]
    assert error["level"] == "ERROR" and "RuntimeError: a bug in the code" in error["exc_info"]
    assert (error["method"], error["path"]) == ("POST", "/test-only/bug")
    [failed_access] = [line for line in of_the_failure if line["logger"] == "uvicorn.access"]
    assert failed_access["status"] == 500 and "token=[redacted]" in failed_access["message"]
    for secret in ("query-secret", "header-secret", PASSWORD, "forged"):
        assert secret not in output


def test_log_level_warning_leaves_out_the_access_lines(tmp_path: Path) -> None:
    with running_app(tmp_path, LOG_LEVEL="WARNING") as server:
        httpx.get(f"{server.base_url}/peps?limit=1", headers={"X-Request-ID": "quiet-1"}, timeout=30)
    assert "quiet-1" not in server.output()
    assert "Application startup complete" not in server.output()


class SentryStandIn:
    """An HTTP server that takes the SDK's envelopes, as sentry.io would, and keeps what they hold."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.items: list[dict[str, Any]] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                # The SDK compresses with Brotli when the package is installed (the app's compression installs it).
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                elif self.headers.get("Content-Encoding") == "br":
                    body = brotli.decompress(body)
                received.raw.append(body)
                for line in body.splitlines():
                    try:
                        item = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(item, dict) and "event_id" in item and ("exception" in item or "spans" in item):
                        received.items.append(item)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://public@127.0.0.1:{self.server.server_address[1]}/1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, kind: str, request_id: str, seconds: float = 30) -> list[dict[str, Any]]:
        """What has arrived of this kind for this request, once something has (the SDK sends from a thread of
        its own, and not in order: the start-up's health checks are transactions too)."""
        deadline = time.monotonic() + seconds
        while not (
            found := [item for item in self.of_kind(kind) if item.get("tags", {}).get("request_id") == request_id]
        ):
            assert time.monotonic() < deadline, f"no {kind} reached the stand-in: {self.raw!r}"
            time.sleep(0.2)
        return found

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        if kind == "error":
            return [item for item in self.items if "exception" in item]
        return [item for item in self.items if item.get("type") == "transaction"]


@pytest.fixture
def sentry() -> Iterator[SentryStandIn]:
    stand_in = SentryStandIn()
    yield stand_in
    stand_in.server.shutdown()


def test_an_unhandled_error_is_reported_with_its_request_id_and_no_personal_data(
    tmp_path: Path, sentry: SentryStandIn
) -> None:
    settings = {"SENTRY_DSN": sentry.dsn, "SENTRY_TRACES_SAMPLE_RATE": "1.0", "SENTRY_SLOW_REQUEST_MS": "0"}
    with running_app(tmp_path, asgi_app=FAILING_APP, **settings) as server:
        failed = httpx.post(
            f"{server.base_url}/test-only/bug?email=someone%40example.com",
            json={"password": PASSWORD, "email": "someone@example.com"},
            headers={"Authorization": "Bearer header-secret", "Cookie": "session=cookie-secret"},
            timeout=30,
        )
        # Each is reported with the request's id (wait_for looks for it).
        [error] = sentry.wait_for("error", failed.headers["x-request-id"])
        sentry.wait_for("transaction", failed.headers["x-request-id"])
    assert failed.status_code == 500
    assert error["exception"]["values"][-1]["type"] == "RuntimeError"
    sent = b"".join(sentry.raw).decode()
    for personal in (PASSWORD, "someone@example.com", "someone%40example.com", "header-secret", "cookie-secret"):
        assert personal not in sent


def test_a_fast_request_is_not_sent_as_slow() -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    keep = slower_than(500)
    fast: Any = {"type": "transaction", "start_timestamp": started, "timestamp": started + timedelta(milliseconds=499)}
    slow: Any = {"type": "transaction", "start_timestamp": started, "timestamp": started + timedelta(milliseconds=500)}
    assert keep(fast, {}) is None
    assert keep(slow, {}) is slow
    # As the SDK hands them over: already written as text.
    as_text: Any = {"start_timestamp": "2026-11-25T15:09:01.267896Z", "timestamp": "2026-11-25T15:09:01.269023Z"}
    assert keep(as_text, {}) is None
    assert slower_than(1)(as_text, {}) is as_text
