"""/health, the JSON error bodies, and the OpenAPI document frontends generate clients from."""

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import OperationalError

from app import health
from app.config import load_settings
from app.db import create_engine_for
from app.main import app
from app.peps import service


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


async def test_database_failure_in_a_route_is_503_not_500(client: AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: object) -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("password=secret-pw refused"))

    monkeypatch.setattr(service, "list_peps", broken)
    response = await client.get("/peps")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "database is unavailable" in response.json()["detail"]
    assert "secret-pw" not in response.text


async def test_unexpected_errors_are_json_500(client: AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    async def buggy(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "get_pep", buggy)
    # As a real server does: the catch-all answers, then re-raises so the traceback is logged.
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as server:
        response = await server.get("/peps/8")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}


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
