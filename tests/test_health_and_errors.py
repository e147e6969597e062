"""/health, the JSON error bodies, and the OpenAPI document frontends generate clients from."""

import re

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import InterfaceError, OperationalError

from app import health
from app.config import load_settings
from app.db import create_engine_for
from app.main import app
from app.reader import Reader


async def test_health_ok(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_unavailable_when_database_unreachable(
    client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable = create_engine_for(load_settings(database_url="postgresql://app:secret-pw@127.0.0.1:9/none"))
    monkeypatch.setattr(health, "get_engine", lambda: unreachable)
    try:
        response = await client.get("/health")
    finally:
        await unreachable.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["database"]
    assert "secret-pw" not in response.text and "app" not in body["database"]
    assert response.headers["retry-after"]


async def test_database_failure_in_a_route_is_503_not_500(
    client: AsyncClient, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **values: object) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("password=secret-pw refused"))

    monkeypatch.setattr(reader, "all", broken)
    response = await client.get("/peps")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "database is unavailable" in response.json()["detail"]
    assert "secret-pw" not in response.text


async def test_unexpected_errors_are_json_500(
    client: AsyncClient, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def buggy(*args: object, **values: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(reader, "all", buggy)
    # As a real server does: the catch-all answers, then re-raises so the traceback is logged.
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as server:
        response = await server.get("/peps/8", headers={"X-Request-ID": "bug-report-7"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    # Sent from outside the middleware, it still names the request (for the bug report) and is hardened.
    assert response.headers["x-request-id"] == "bug-report-7"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("invalidated", "status"),
    [(True, 503), (False, 500)],
    ids=["connection lost: try again", "driver misuse: a bug, not an outage"],
)
async def test_an_interface_error_is_an_outage_only_when_the_connection_was_lost(
    client: AsyncClient, reader: Reader, monkeypatch: pytest.MonkeyPatch, invalidated: bool, status: int
) -> None:
    async def failing(*args: object, **values: object) -> None:
        # What asyncpg raised for an IN list longer than a statement can carry: not an outage.
        cause = Exception("the number of query arguments cannot exceed 32767")
        raise InterfaceError("SELECT 1", {}, cause, connection_invalidated=invalidated)

    monkeypatch.setattr(reader, "all", failing)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as server:
        response = await server.get("/peps/8")
    assert response.status_code == status
    assert ("retry-after" in response.headers) is (status == 503)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_load_nothing_from_another_host(client: AsyncClient, page: str) -> None:
    """On a train or in a locked-down lab, /docs and /redoc must still work: every asset comes from the app."""
    html = (await client.get(page)).text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"""url:\s*['"]([^'"]+)['"]""", html)
    assert assets, html
    assert not [url for url in assets if "//" in url], assets
    for url in assets:
        assert (await client.get(url)).status_code == 200, url


async def test_every_request_body_example_succeeds_as_it_stands(client: AsyncClient, superuser_headers: dict) -> None:
    """Swagger pre-fills each body with its schema's example: run unchanged on the bundled data, it works.

    Only bodies that carry a token (refresh, password-reset confirmation, email verification) cannot have one.
    """
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    path_values = {"user_id": (await client.get("/users/me", headers=superuser_headers)).json()["id"]}
    without_example = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema_name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            schema = schemas[schema_name]
            # The schema's own example, or one made of its fields' examples, as Swagger makes it.
            fields = {name: field["examples"][0] for name, field in schema["properties"].items() if "examples" in field}
            body = schema["examples"][0] if schema.get("examples") else fields
            if not body:
                without_example.add(schema_name)
                continue
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["schema"].get("examples"):
                    path_values.setdefault(parameter["name"], parameter["schema"]["examples"][0])
            url = path.format(**path_values)
            response = await client.request(method, url, json=body, headers=superuser_headers)
            assert response.status_code in (200, 201, 202), (method, url, body, response.text)
            if (method, path) == ("post", "/me/notes"):
                path_values["note_id"] = response.json()["id"]
    assert without_example == {"RefreshRequest", "PasswordResetConfirm", "VerifyEmailRequest"}


async def test_unknown_route_is_json_404(client: AsyncClient) -> None:
    response = await client.get("/no-such-thing")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


async def test_every_operation_is_documented_for_client_generators(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation_ids = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            operation_ids.append(operation["operationId"])
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert operation.get("description"), f"{method} {path} has no description"
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and status != "422":
                    assert "example" in response["content"]["application/json"], f"{method} {path} {status}"
    assert len(operation_ids) == len(set(operation_ids))
    assert {
        "peps-list",
        "peps-get",
        "peps-create",
        "peps-update",
        "peps-delete",
        "authors-list",
        "health-check",
    } <= set(operation_ids)
    assert {"PepPage", "PepDetail", "PepSummary", "AuthorPage"} <= set(spec["components"]["schemas"])


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/peps/8", "DELETE, GET, HEAD, PATCH"),
        ("DELETE", "/users/me", "GET, HEAD, PATCH"),
        ("PUT", "/me/notes", "GET, HEAD, POST"),
    ],
)
async def test_wrong_method_is_405_listing_every_allowed_method(client: AsyncClient, method, path, allowed) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/peps/8", 200),
        ("/peps?q=typing&limit=3", 200),
        ("/peps/99999", 404),
        ("/peps?limit=abc", 422),
        ("/health", 200),
    ],
)
async def test_head_answers_as_get_without_the_body(client: AsyncClient, path: str, status: int) -> None:
    got = await client.get(path)
    head = await client.head(path)
    assert (head.status_code, got.status_code) == (status, status)
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"] == "application/json"
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["x-content-type-options"] == "nosniff"


async def test_head_on_a_private_list_needs_the_same_credentials(client: AsyncClient, superuser_headers: dict) -> None:
    assert (await client.head("/me/notes")).status_code == 401
    assert (await client.head("/me/notes", headers=superuser_headers)).status_code == 200
    wrong_method = await client.head("/auth/token")
    assert (wrong_method.status_code, wrong_method.headers["allow"], wrong_method.content) == (405, "POST", b"")
    # Served by a middleware, not declared: the API document and generated clients have no HEAD operations.
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert all("head" not in operations for operations in paths.values())


async def test_text_the_database_cannot_store_is_422(client: AsyncClient, superuser_headers: dict) -> None:
    response = await client.post("/authors", json={"name": "Nul\u0000Byte"}, headers=superuser_headers)
    # PostgreSQL cannot store NUL in text and says so (422); SQLite stores it. Never a 500.
    assert response.status_code in (201, 422)
    if response.status_code == 422:
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["body"] and "cannot be stored" in problem["msg"]


@pytest.mark.parametrize("path", ["/authors/3733596840293", "/users/3733596840293", "/me/notes/3733596840293"])
async def test_ids_beyond_the_integer_range_are_422(client: AsyncClient, superuser_headers: dict, path: str) -> None:
    response = await client.get(path, headers=superuser_headers)
    assert response.status_code in (405, 422)  # GET /users/{id} does not exist; the others validate the id
    if response.status_code == 422:
        assert response.json()["detail"][0]["loc"][0] == "path"
