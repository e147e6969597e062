"""Sign-in answers as a frontend sees them: the documented 401/403 and the real ones agree."""

import asyncio
import time

import jwt
import pytest
from httpx import AsyncClient
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.sessions import start_session
from app.config import get_settings
from app.main import app
from app.pages import MAX_ID
from app.users import passwords
from app.users.emails import email_skeleton
from app.users.models import User
from tests.conftest import PASSWORD

NOT_SIGNED_IN = ("No valid access token was sent.", "Not authenticated")
NOT_SUPERUSER = ("The signed-in user may not do this.", "Superuser rights needed")

SUPERUSER_ONLY = {
    ("get", "/users"),
    ("patch", "/users/{user_id}"),
    ("delete", "/users/{user_id}"),
    ("post", "/peps"),
    ("patch", "/peps/{number}"),
    ("delete", "/peps/{number}"),
    ("post", "/authors"),
    ("patch", "/authors/{author_id}"),
    ("delete", "/authors/{author_id}"),
}
SIGNED_IN = {("get", "/users/me"), ("patch", "/users/me"), ("get", "/me/notes"), ("post", "/me/notes")}


def documented(method: str, path: str, status: str) -> tuple[str, str] | None:
    response = app.openapi()["paths"][path][method]["responses"].get(status)
    if response is None:
        return None
    return response["description"], response["content"]["application/json"]["example"]["detail"]


@pytest.mark.parametrize(("method", "path"), sorted(SUPERUSER_ONLY | SIGNED_IN))
def test_operations_needing_sign_in_document_the_401(method: str, path: str) -> None:
    assert documented(method, path, "401") == NOT_SIGNED_IN
    assert app.openapi()["paths"][path][method]["security"] == [{"OAuth2PasswordBearer": []}]


@pytest.mark.parametrize(("method", "path"), sorted(SUPERUSER_ONLY))
def test_superuser_operations_document_the_403(method: str, path: str) -> None:
    assert documented(method, path, "403") == NOT_SUPERUSER


@pytest.mark.parametrize(("method", "path"), sorted(SIGNED_IN))
def test_operations_any_user_may_call_document_no_403(method: str, path: str) -> None:
    assert documented(method, path, "403") is None


def test_every_documented_401_and_403_of_a_secured_operation_is_the_shared_one() -> None:
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if "security" not in operation:
                continue
            assert documented(method, path, "401") == NOT_SIGNED_IN, (method, path)
            assert documented(method, path, "403") in (None, NOT_SUPERUSER), (method, path)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["none", "basic"],
)
async def test_missing_token_answers_as_documented(client: AsyncClient, headers: dict) -> None:
    for path in ("/users/me", "/users", "/me/notes"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"detail": NOT_SIGNED_IN[1]}


def signed(claims: dict) -> str:
    return jwt.encode(claims, get_settings().secret_key, algorithm="HS256")


@pytest.mark.parametrize(
    "token",
    [
        "not.a.jwt",
        signed({"sub": "1", "exp": int(time.time()) - 5}),
        signed({"sub": "99999999", "exp": int(time.time()) + 60}),
        signed({"exp": int(time.time()) + 60}),
    ],
    ids=["malformed", "expired", "unknown-user", "no-subject"],
)
async def test_bad_token_answers_invalid_or_expired(client: AsyncClient, token: str) -> None:
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Invalid or expired token"}


async def test_deactivated_user_gets_invalid_or_expired(client: AsyncClient, make_user) -> None:
    _, headers = await make_user(active=False)
    response = await client.get("/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or expired token"}


async def test_signed_in_user_reaches_their_own_routes_but_not_superuser_ones(client: AsyncClient, make_user) -> None:
    _, headers = await make_user("reader@example.com")
    me = await client.get("/users/me", headers=headers)
    assert me.status_code == 200 and me.json()["email"] == "reader@example.com"
    assert (await client.get("/me/notes", headers=headers)).status_code == 200
    response = await client.get("/users", headers=headers)
    assert response.status_code == 403
    assert response.json() == {"detail": NOT_SUPERUSER[1]}
    assert "www-authenticate" not in response.headers


async def test_superuser_reaches_superuser_routes(client: AsyncClient, superuser_headers: dict) -> None:
    response = await client.get("/users", headers=superuser_headers)
    assert response.status_code == 200
    assert [u["email"] for u in response.json()["items"]] == ["admin@example.com"]


async def test_the_docs_sign_in_form_posts_to_the_token_route(client: AsyncClient, make_user) -> None:
    [scheme] = app.openapi()["components"]["securitySchemes"].values()
    token_url = scheme["flows"]["password"]["tokenUrl"]
    user, _ = await make_user("form@example.com")
    response = await client.post(token_url, data={"username": "form@example.com", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert (await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})).json()["id"] == user.id


async def test_password_hashes_run_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 spreads each hash over threads of its own: several at once starved the event loop."""
    running, most = 0, 0

    def slow_hash(password: str) -> str:
        nonlocal running, most
        running += 1
        most = max(most, running)
        time.sleep(0.05)
        running -= 1
        return f"hashed {password}"

    monkeypatch.setattr(passwords.password_hash, "hash", slow_hash)
    hashes = await asyncio.gather(*(passwords.hash_password(f"password {i}") for i in range(4)))
    assert hashes == [f"hashed password {i}" for i in range(4)]
    assert most == 1


async def test_the_largest_id_is_a_valid_account(
    client: AsyncClient, session: AsyncSession, password_hash: str
) -> None:
    """Ids up to 2^31-1 are real accounts: a token naming the last one works (one past it is a forgery)."""
    email = "last@example.com"
    user = User(id=MAX_ID, email=email, email_skeleton=email_skeleton(email), hashed_password=password_hash)
    session.add(user)
    await session.flush()
    tokens = await start_session(session, user, get_settings())
    await session.commit()
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {tokens.access_token}"})
    assert response.status_code == 200 and response.json()["id"] == MAX_ID
