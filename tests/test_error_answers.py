"""How every failure becomes an HTTP answer, through `install_error_handlers`.

A tiny app with the project's handlers has one route that raises whatever a test gives it, so each
kind of database failure can be checked without breaking a real database: a programming bug is a
500, an outage a 503 with `Retry-After` and a reason, a value the database refuses a 422.
"""

import logging
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.errors import AppError, BadRequestError, ConflictError, NotFoundError, install_error_handlers
from tests.conftest import IS_POSTGRES


class DriverError(Exception):
    """Stands in for a driver's exception; `sqlstate` as asyncpg gives it."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        if sqlstate is not None:
            self.sqlstate = sqlstate


class RaisingApp:
    def __init__(self) -> None:
        self.error: BaseException = RuntimeError("set by the test")
        self.app = FastAPI()
        install_error_handlers(self.app)

        @self.app.api_route("/boom", methods=["GET", "HEAD", "POST", "PATCH"])
        async def boom() -> None:
            raise self.error

        @self.app.api_route("/odd", methods=["PUT", "HEAD", "OPTIONS"])
        async def odd() -> None:
            return None

        @self.app.get("/read-only")
        async def read_only() -> None:
            # A route may refuse a method itself, with headers of its own.
            raise HTTPException(405, "Frozen", headers={"X-Frozen-Until": "2027-01-01", "Allow": "HEAD"})


@pytest.fixture
async def raising() -> AsyncIterator[tuple[RaisingApp, AsyncClient]]:
    raising = RaisingApp()
    # As a real server does: the catch-all answers 500, then re-raises so that the traceback is logged.
    transport = ASGITransport(app=raising.app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield raising, client


def db_error(kind: type[DBAPIError], orig: BaseException, invalidated: bool = False) -> DBAPIError:
    return kind(
        "SELECT secret_column FROM t WHERE x = $1", {"x": "secret-value"}, orig, connection_invalidated=invalidated
    )


# ---- the service errors


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (AppError("could not"), 400),
        (BadRequestError("cannot do that"), 400),
        (NotFoundError("PEP 1 not found"), 404),
        (ConflictError("PEP 8 already exists"), 409),
    ],
)
async def test_service_errors_answer_their_status_with_the_detail(raising, error: AppError, status: int) -> None:
    app, client = raising
    app.error = error
    response = await client.get("/boom")
    assert response.status_code == status
    assert response.json() == {"detail": error.detail}
    assert str(error) == error.detail  # what a log line or traceback shows


# ---- database failures


async def test_integrity_error_is_409_and_logged_by_kind(raising, caplog: pytest.LogCaptureFixture) -> None:
    app, client = raising
    app.error = db_error(IntegrityError, DriverError("duplicate key value violates unique constraint"))
    with caplog.at_level(logging.INFO, logger="app.errors"):
        response = await client.post("/boom")
    assert response.status_code == 409
    assert response.json() == {"detail": "The request conflicts with data already stored."}
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("app")] == [
        ("app.errors", logging.INFO, "Integrity error on POST /boom: DriverError")
    ]


@pytest.mark.parametrize(
    ("error", "missing"),
    [
        (db_error(ProgrammingError, DriverError('relation "t" does not exist', sqlstate="42P01")), 'relation "t"'),
        (db_error(ProgrammingError, DriverError('column "pinned" does not exist', sqlstate="42703")), "pinned"),
        (db_error(OperationalError, DriverError("no such column: note.pinned")), "note.pinned"),
        (db_error(OperationalError, DriverError("no such table: venue")), "venue"),
    ],
)
async def test_a_table_or_column_the_database_lacks_is_500_naming_the_fix(
    raising, caplog: pytest.LogCaptureFixture, error: Exception, missing: str
) -> None:
    """A model changed without its migration: not an outage (no 503, no Retry-After); the log says what to run."""
    app, client = raising
    app.error = error
    with caplog.at_level(logging.INFO, logger="app.errors"):
        response = await client.get("/boom")
    assert response.status_code == 500 and response.json() == {"detail": "Internal server error."}
    assert "retry-after" not in response.headers
    [record] = [r for r in caplog.records if r.name == "app.errors"]
    assert record.levelno == logging.ERROR and missing in record.getMessage()
    assert "alembic revision --autogenerate, then alembic upgrade head" in record.getMessage()


@pytest.mark.parametrize(
    "error",
    [
        db_error(DBAPIError, DriverError("something else the driver says")),
        RuntimeError("a bug"),
    ],
)
async def test_a_bug_is_500_not_try_again(raising, caplog: pytest.LogCaptureFixture, error: Exception) -> None:
    app, client = raising
    app.error = error
    with caplog.at_level(logging.INFO, logger="app.errors"):
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert "retry-after" not in response.headers
    [record] = [r for r in caplog.records if r.name == "app.errors"]
    assert (record.levelno, record.getMessage()) == (logging.ERROR, "Unhandled error on GET /boom")
    assert record.exc_info is not None and record.exc_info[1] is error  # the traceback reaches the log


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (db_error(OperationalError, ConnectionRefusedError("password=secret-pw refused")), "ConnectionRefusedError"),
        # SQLAlchemy marks a lost connection invalidated; an InterfaceError without that is a bug (500).
        (db_error(InterfaceError, DriverError("connection is closed"), invalidated=True), "DriverError"),
        (db_error(DBAPIError, DriverError("server closed the connection"), invalidated=True), "DriverError"),
        (db_error(ProgrammingError, DriverError("SSL connection closed"), invalidated=True), "DriverError"),
        (
            PoolTimeoutError("QueuePool limit of size 5 overflow 0 reached, connection timed out"),
            "no free connection in the pool",
        ),
        (TimeoutError("connect() to 10.0.0.1 timed out"), "timed out"),
        (ConnectionResetError("reset by 10.0.0.1"), "ConnectionResetError"),
        (OSError("network unreachable"), "OSError"),
        (OperationalError("SELECT 1", {}, None), "OperationalError"),
    ],
)
async def test_an_outage_is_503_with_retry_after_and_a_reason(
    raising, caplog: pytest.LogCaptureFixture, error: Exception, reason: str
) -> None:
    app, client = raising
    app.error = error
    with caplog.at_level(logging.INFO, logger="app.errors"):
        response = await client.get("/boom")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"detail": f"The database is unavailable ({reason}); try again shortly."}
    for secret in ("secret", "10.0.0.1"):
        assert secret not in response.text
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("app")] == [
        ("app.errors", logging.WARNING, f"Database unavailable on GET /boom: {reason}")
    ]


@pytest.mark.parametrize(("method", "where"), [("GET", "query"), ("POST", "body"), ("PATCH", "body")])
async def test_a_value_the_database_refuses_is_422_shaped_like_validation_errors(
    raising, caplog: pytest.LogCaptureFixture, method: str, where: str
) -> None:
    app, client = raising
    app.error = db_error(DBAPIError, DriverError("invalid byte sequence for encoding UTF8: 0x00", sqlstate="22021"))
    with caplog.at_level(logging.INFO, logger="app.errors"):
        response = await client.request(method, "/boom")
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert_unstorable_problem(problem, where)
    # Logged by its code alone: the driver's message quotes the value.
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "app.errors"] == [
        (logging.INFO, f"Invalid data on {method} /boom: SQLSTATE 22021")
    ]


async def test_head_gets_the_same_422_status_without_a_body(raising) -> None:
    app, client = raising
    app.error = db_error(DBAPIError, DriverError("value out of range", sqlstate="22003"))
    response = await client.head("/boom")
    assert response.status_code == 422 and response.content == b""


def assert_unstorable_problem(problem: dict, where: str) -> None:
    assert set(problem) == {"type", "loc", "msg", "input"}
    assert problem["type"] == "value_error"
    assert problem["loc"] == [where]
    assert problem["msg"] == (
        "A value cannot be stored: the database refused it (SQLSTATE 22021: "
        "for example a NUL character in text, or a number out of range)."
    )
    assert problem["input"] is None
    # Never the statement, its parameters, or the wrapper's class name.
    for leak in ("SELECT", "secret", "DriverError", "DBAPIError"):
        assert leak not in problem["msg"]


async def test_nul_in_a_new_authors_name_is_422_on_postgresql_and_stored_on_sqlite(
    client: AsyncClient, superuser_headers: dict
) -> None:
    response = await client.post("/authors", json={"name": "Nul\x00Byte"}, headers=superuser_headers)
    if IS_POSTGRES:
        assert response.status_code == 422
        [problem] = response.json()["detail"]
        assert_unstorable_problem(problem, "body")
    else:
        assert response.status_code == 201 and response.json()["name"] == "Nul\x00Byte"


# ---- 405


async def test_405_lists_every_method_of_the_path(raising) -> None:
    _, client = raising
    response = await client.delete("/odd")
    assert response.status_code == 405
    assert response.headers["allow"] == "HEAD, OPTIONS, PUT"
    assert response.json() == {"detail": "Method Not Allowed"}
    response = await client.put("/boom")
    assert response.headers["allow"] == "GET, HEAD, PATCH, POST"


async def test_405_raised_by_a_route_keeps_its_own_headers(raising) -> None:
    _, client = raising
    response = await client.get("/read-only")
    assert response.status_code == 405
    assert response.headers["x-frozen-until"] == "2027-01-01"
    assert response.json() == {"detail": "Frozen"}


async def test_404_has_no_allow_header(raising) -> None:
    _, client = raising
    response = await client.get("/nowhere")
    assert response.status_code == 404 and "allow" not in response.headers


@pytest.mark.parametrize(("length", "echoed"), [(198, True), (199, False)])
async def test_a_422_repeats_an_input_only_while_its_json_fits_200_characters(
    client: AsyncClient, length: int, echoed: bool
) -> None:
    text = "x" * length  # with its quotes, 198 letters are 200 characters of JSON
    response = await client.get("/peps", params={"sort": text})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["input"] == (text if echoed else None)


# ---- what a 422 repeats (found by mutation testing of the error sanitising)


async def test_an_app_error_keeps_its_own_headers(raising) -> None:
    class Slow(AppError):
        status_code = 429
        headers = {"Retry-After": "7"}

    app, client = raising
    app.error = Slow("Too many attempts; try again in 7 seconds.")
    response = await client.get("/boom")
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert response.json() == {"detail": "Too many attempts; try again in 7 seconds."}


async def test_a_422_for_a_choice_names_the_choices(client: AsyncClient) -> None:
    [problem] = (await client.get("/peps", params={"sort": "bogus"})).json()["detail"]
    assert problem["ctx"] == {"expected": "'number', '-number', 'title', '-title', 'created' or '-created'"}


@pytest.mark.parametrize(("length", "shown"), [(200, "a" * 200), (201, "a" * 200 + "…")])
async def test_a_long_unknown_parameter_is_named_cut_to_200_characters(
    client: AsyncClient, length: int, shown: str
) -> None:
    [problem] = (await client.get("/peps", params={"a" * length: "1"})).json()["detail"]
    assert problem["loc"] == ["query", shown]


async def test_a_problem_inside_a_list_is_located_by_its_index(client: AsyncClient, superuser_headers: dict) -> None:
    body = {"number": 9998, "title": "T", "status": "Draft", "type": "Process", "created": "2026-11-25"}
    response = await client.post("/peps", json=body | {"authors": ["Ada", ""]}, headers=superuser_headers)
    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == [["body", "authors", 1]]


async def test_a_422_repeats_non_ascii_input_as_written(client: AsyncClient) -> None:
    # 60 letters "é" are 62 characters of JSON as sent, but 362 if escaped as \u00e9: still short enough.
    text = "é" * 60
    [problem] = (await client.get("/peps", params={"status": text})).json()["detail"]
    assert problem["input"] == text


async def test_a_lone_surrogate_is_named_where_it_was_sent(client: AsyncClient) -> None:
    body = '{"email": "\\udc00@example.com", "password": "long enough"}'
    response = await client.post("/auth/register", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["input"]) == (["body", "email"], None)


async def test_a_422_problem_has_the_keys_fastapi_documents(client: AsyncClient) -> None:
    [problem] = (await client.get("/peps", params={"status": "Done"})).json()["detail"]
    assert problem["type"] == "enum" and problem["loc"] == ["query", "status", 0]
    assert problem["msg"].startswith("Input should be 'Accepted', 'Active'")


async def test_a_lone_surrogate_in_a_location_is_sent_escaped(raising) -> None:
    # No route of this app puts one there today, but a resource with free-form keys would.
    app, client = raising
    app.error = RequestValidationError([{"type": "extra_forbidden", "loc": ("body", "\udc00"), "msg": "Extra \udc00"}])
    [problem] = (await client.get("/boom")).json()["detail"]
    assert (problem["loc"], problem["msg"]) == (["body", "\\udc00"], "Extra \\udc00")


async def test_text_no_database_can_store_is_422_naming_the_lone_surrogate(raising) -> None:
    # Pydantic refuses lone surrogates in every field today; this is the net under any it lets through.
    app, client = raising
    app.error = UnicodeEncodeError("utf-8", "\udc00", 0, 1, "surrogates not allowed")
    response = await client.post("/boom")
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body"]
    assert problem["msg"] == "A value cannot be stored: it holds a lone surrogate, which is not text."
