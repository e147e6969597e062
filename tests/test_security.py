"""The findings of the attack run against the app, each reproduced: none may come back."""

import json
import re
import shlex
import time
from pathlib import Path

import jwt
import pytest
from httpx import AsyncClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.config import DEFAULT_FORWARDED_ALLOW_IPS, get_settings
from app.users import passwords
from tests.conftest import IS_POSTGRES, PASSWORD, StatementCounter, sign_in

PROJECT_ROOT = Path(__file__).resolve().parent.parent


async def test_a_deleted_users_token_never_opens_the_next_account_with_its_id(
    client: AsyncClient, make_user, superuser_headers: dict
) -> None:
    victim, _ = await make_user("first@example.com")
    first_token = (await sign_in(client, "first@example.com")).json()["access_token"]
    first_id = victim.id
    assert (await client.delete(f"/users/{first_id}", headers=superuser_headers)).status_code == 204
    registered = await client.post("/auth/register", json={"email": "second@example.com", "password": PASSWORD})
    assert registered.status_code == 201
    assert registered.json()["id"] != first_id, "a deleted user's id was given to a new account"
    assert (await sign_in(client, "second@example.com")).status_code == 200
    stale = await client.get("/users/me", headers={"Authorization": f"Bearer {first_token}"})
    assert stale.status_code == 401


async def test_note_ids_are_never_reused(client: AsyncClient, make_user) -> None:
    _, headers = await make_user()
    first = (await client.post("/me/notes", json={"pep_number": 8, "body": "one"}, headers=headers)).json()
    assert (await client.delete(f"/me/notes/{first['id']}", headers=headers)).status_code == 204
    second = (await client.post("/me/notes", json={"pep_number": 8, "body": "two"}, headers=headers)).json()
    assert second["id"] > first["id"]


async def test_a_large_body_is_413_without_reading_it(client: AsyncClient) -> None:
    limit = get_settings().max_request_body_bytes
    body = json.dumps({"email": "big@example.com", "password": "x" * (limit + 10)})
    response = await client.post("/auth/register", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"detail": f"The request body is larger than {limit} bytes."}
    assert len(response.content) < 200


async def test_a_large_streamed_body_without_length_is_413(client: AsyncClient) -> None:
    limit = get_settings().max_request_body_bytes

    async def chunks():
        yield b'{"email": "big@example.com", "password": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post("/auth/register", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "detail" in response.json() and len(response.content) < 200


async def test_validation_errors_never_echo_large_input(client: AsyncClient) -> None:
    long_name = "n" * 50_000
    response = await client.post("/auth/register", json={"email": "a@example.com", "password": long_name})
    assert response.status_code == 422
    assert long_name not in response.text and len(response.content) < 2_000


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_numbers_in_json_are_422_not_500(client: AsyncClient, make_user, literal: str) -> None:
    _, headers = await make_user()
    body = f'{{"pep_number": {literal}, "body": "x"}}'
    response = await client.post("/me/notes", content=body, headers=headers | {"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "pep_number"]


async def test_non_finite_number_where_a_string_belongs_is_422(client: AsyncClient) -> None:
    body = '{"email": NaN, "password": Infinity}'
    response = await client.post("/auth/register", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/register", '{"email": "a@example.com", "password": "\\ud800\\ud800\\ud800\\ud800\\ud800"}'),
        ("/auth/register", '{"email": "\\ud800@example.com", "password": "long enough"}'),
        ("/me/notes", '{"pep_number": 8, "body": "lone \\ud800 surrogate"}'),
        ("/me/notes", '{"pep_number": "\\udc00", "body": "x"}'),
    ],
)
async def test_lone_surrogates_are_422_not_500(client: AsyncClient, make_user, path: str, body: str) -> None:
    _, headers = await make_user()
    response = await client.post(path, content=body, headers=headers | {"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    response.content.decode("utf-8")  # the answer itself is valid UTF-8


@pytest.mark.parametrize("sub", ["9223372036854775808", "2147483648", "0", "-1", "1e3", " 1", "01"])
async def test_token_subjects_outside_the_id_range_are_401(client: AsyncClient, sub: str) -> None:
    claims = {"sub": sub, "sid": "1", "typ": "access", "exp": int(time.time()) + 60}
    token = jwt.encode(claims, get_settings().secret_key, algorithm="HS256")
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Invalid or expired token"}


async def test_every_response_carries_the_security_headers(client: AsyncClient) -> None:
    for response in (await client.get("/peps/8"), await client.get("/no-such-page"), await client.get("/docs")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"


async def test_token_responses_are_not_cached(client: AsyncClient, make_user) -> None:
    await make_user("cache@example.com")
    response = await sign_in(client, "cache@example.com")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    refreshed = await client.post("/auth/refresh", json={"refresh_token": response.json()["refresh_token"]})
    assert refreshed.status_code == 200 and refreshed.headers["cache-control"] == "no-store"


async def test_redirects_do_not_reflect_the_host_header(client: AsyncClient) -> None:
    response = await client.get("/peps/", headers={"Host": "evil.example"})
    assert response.status_code in (307, 308)
    assert "evil.example" not in response.headers["location"]
    assert response.headers["location"].startswith("/peps")


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL refuses NUL in text; SQLite stores it")
async def test_database_refusals_do_not_show_the_drivers_message(client: AsyncClient, superuser_headers: dict) -> None:
    response = await client.post("/authors", json={"name": "Nul\u0000Byte"}, headers=superuser_headers)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["msg"].startswith("A value cannot be stored")
    assert "0x00" not in problem["msg"] and "UTF8" not in problem["msg"] and "invalid byte" not in problem["msg"]


def start_commands() -> list[str]:
    """The web start command of each way to run the app: Procfile, render.yaml, and the Dockerfile
    (whose own command serves on Railway and Fly.io)."""
    procfile = (PROJECT_ROOT / "Procfile").read_text()
    render = (PROJECT_ROOT / "render.yaml").read_text()
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    return [
        re.search(r"^web: (.+)$", procfile, re.M).group(1),
        re.search(r"startCommand: (.+)$", render, re.M).group(1),
        json.loads(re.search(r"^CMD (\[.+\])$", dockerfile, re.M).group(1))[-1],
    ]


@pytest.mark.parametrize("command", start_commands(), ids=["Procfile", "render.yaml", "Dockerfile"])
def test_platforms_trust_forwarded_headers_only_from_private_addresses(command: str) -> None:
    argument = shlex.split(command)[shlex.split(command).index("--forwarded-allow-ips") + 1]
    assert argument == f"${{FORWARDED_ALLOW_IPS:-{DEFAULT_FORWARDED_ALLOW_IPS}}}"
    assert "*" not in DEFAULT_FORWARDED_ALLOW_IPS


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "seen"),
    [
        # The platform's router (a private address) appends the real client: that one counts.
        ("10.1.2.3", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        # A client that reaches the app directly cannot pretend to be someone else.
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),
    ],
)
async def test_the_default_trusted_proxies_resist_spoofed_addresses(peer: str, forwarded_for: str, seen: str) -> None:
    seen_by_app: list[str] = []

    async def app(scope, receive, send) -> None:
        seen_by_app.append(scope["client"][0])

    middleware = ProxyHeadersMiddleware(app, trusted_hosts=DEFAULT_FORWARDED_ALLOW_IPS)
    scope = {"type": "http", "client": (peer, 1234), "headers": [(b"x-forwarded-for", forwarded_for.encode())]}
    await middleware(scope, None, None)
    assert seen_by_app == [seen]


async def test_a_taken_email_costs_sign_up_as_much_as_a_free_one(
    client: AsyncClient, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quick 409 told an attacker which addresses have accounts: both answers now hash the password."""
    await make_user("taken@example.com")
    hashed: list[str] = []
    real_hash = passwords.password_hash.hash
    monkeypatch.setattr(
        passwords.password_hash, "hash", lambda password: hashed.append(password) or real_hash(password)
    )
    taken = await client.post("/auth/register", json={"email": "taken@example.com", "password": PASSWORD})
    free = await client.post("/auth/register", json={"email": "free@example.com", "password": PASSWORD})
    assert (taken.status_code, free.status_code) == (409, 201)
    assert len(hashed) == 2


async def test_authenticating_a_request_costs_one_query(
    client: AsyncClient, make_user, count_statements: StatementCounter
) -> None:
    """The user and their session are checked together: no second query, no write, no hash."""
    _, headers = await make_user()
    await count_statements.reset()
    assert (await client.get("/users/me", headers=headers)).status_code == 200
    assert await count_statements.count() == 1, count_statements.statements


@pytest.mark.parametrize("generation", [2**31, 2**70, -1])
async def test_a_refresh_token_with_a_generation_out_of_range_is_401(
    client: AsyncClient, make_user, generation: int
) -> None:
    """Forging one needs the key; still, SQLite answered 2**70 with a 500 (OverflowError) and dropped the connection."""
    user, _ = await make_user()
    refresh_token = (await sign_in(client, user.email)).json()["refresh_token"]
    claims = jwt.decode(refresh_token, get_settings().secret_key, algorithms=["HS256"])
    forged = jwt.encode({**claims, "gen": generation}, get_settings().secret_key, algorithm="HS256")
    response = await client.post("/auth/refresh", json={"refresh_token": forged})
    assert response.status_code == 401
