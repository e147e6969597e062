"""Sign-up, sign-in, tokens, and who may change what."""

import time

import jwt
import pytest
from httpx import AsyncClient

from app.config import get_settings
from app.users import passwords
from tests.conftest import PASSWORD, sign_in


async def test_register_then_sign_in_then_read_me(client: AsyncClient) -> None:
    response = await client.post(
        "/auth/register", json={"email": "Ada@Example.com", "password": PASSWORD, "full_name": "Ada"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "ada@example.com" and body["full_name"] == "Ada"
    assert body["is_superuser"] is False and body["is_active"] is True
    assert not {"password", "hashed_password"} & body.keys() and PASSWORD not in response.text
    token = await sign_in(client, "ADA@example.com")
    assert token.status_code == 200 and token.json()["token_type"] == "bearer"
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "ada@example.com"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"email": "user0@EXAMPLE.com", "password": PASSWORD}, 409, None),
        ({"email": "not-an-email", "password": PASSWORD}, 422, "email"),
        ({"email": "new@example.com", "password": "short"}, 422, "password"),
        ({"email": "new@example.com"}, 422, "password"),
    ],
)
async def test_register_rejects_duplicates_and_bad_input(client: AsyncClient, make_user, body, status, field) -> None:
    await make_user("user0@example.com")
    response = await client.post("/auth/register", json=body)
    assert response.status_code == status
    if field:
        assert field in response.json()["detail"][0]["loc"]
    else:
        assert response.json() == {"detail": "A user with this email already exists"}


async def test_sign_up_can_be_switched_off(client: AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "allow_signup", False)
    response = await client.post("/auth/register", json={"email": "late@example.com", "password": PASSWORD})
    assert response.status_code == 403 and response.json() == {"detail": "Sign-up is closed"}


async def test_wrong_email_and_wrong_password_look_the_same(
    client: AsyncClient, make_user, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_user("known@example.com")
    verified: list[str] = []
    real_verify = passwords.password_hash.verify
    monkeypatch.setattr(passwords.password_hash, "verify", lambda pw, h: verified.append(h) or real_verify(pw, h))
    wrong_password = await sign_in(client, "known@example.com", "not the password")
    unknown_email = await sign_in(client, "nobody@example.com", "not the password")
    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        assert response.json() == {"detail": "Incorrect email or password"}
        assert response.headers["www-authenticate"] == "Bearer"
    assert len(verified) == 2, "an unknown email must cost one Argon2 check too"


async def test_deactivated_user_cannot_sign_in(client: AsyncClient, make_user) -> None:
    await make_user("gone@example.com", active=False)
    response = await sign_in(client, "gone@example.com")
    assert response.status_code == 403


async def test_update_me_name_and_password(client: AsyncClient, make_user) -> None:
    _, headers = await make_user("me@example.com")
    renamed = await client.patch("/users/me", json={"full_name": "New Name"}, headers=headers)
    assert renamed.status_code == 200 and renamed.json()["full_name"] == "New Name"
    refused = await client.patch("/users/me", json={"password": "another password"}, headers=headers)
    assert refused.status_code == 400 and "current_password" in refused.json()["detail"]
    wrong = await client.patch(
        "/users/me", json={"password": "another password", "current_password": "nope"}, headers=headers
    )
    assert wrong.status_code == 400
    changed = await client.patch(
        "/users/me", json={"password": "another password", "current_password": PASSWORD}, headers=headers
    )
    assert changed.status_code == 200
    assert (await sign_in(client, "me@example.com")).status_code == 401
    assert (await sign_in(client, "me@example.com", "another password")).status_code == 200


def forged(claims: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key or get_settings().secret_key, algorithm=algorithm)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda uid: "not.a.jwt", id="malformed"),
        pytest.param(lambda uid: "", id="empty"),
        pytest.param(lambda uid: forged({"sub": str(uid), "exp": int(time.time()) - 10}), id="expired"),
        pytest.param(lambda uid: forged({"sub": str(uid)}), id="no-expiry"),
        pytest.param(lambda uid: forged({"sub": str(uid), "exp": int(time.time()) + 60}, key="x" * 40), id="wrong-key"),
        pytest.param(
            lambda uid: forged({"sub": str(uid), "exp": int(time.time()) + 60}, algorithm="HS384"), id="wrong-algorithm"
        ),
        pytest.param(
            lambda uid: jwt.encode({"sub": str(uid), "exp": int(time.time()) + 60}, None, algorithm="none"),
            id="alg-none",
        ),
        pytest.param(lambda uid: forged({"sub": "999999", "exp": int(time.time()) + 60}), id="deleted-user"),
        pytest.param(lambda uid: forged({"sub": "admin", "exp": int(time.time()) + 60}), id="non-numeric-sub"),
    ],
)
async def test_bad_tokens_are_401(client: AsyncClient, make_user, make_token) -> None:
    user, _ = await make_user()
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {make_token(user.id)}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "detail" in response.json()


async def test_tampered_payload_is_401(client: AsyncClient, make_user) -> None:
    _, headers = await make_user()
    admin, _ = await make_user(superuser=True)
    header, _, signature = headers["Authorization"].removeprefix("Bearer ").split(".")
    payload = jwt.utils.base64url_encode(f'{{"sub":"{admin.id}","exp":{int(time.time()) + 600}}}'.encode()).decode()
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {header}.{payload}.{signature}"})
    assert response.status_code == 401


async def test_token_carries_no_secret_and_expires(make_user) -> None:
    user, headers = await make_user()
    claims = jwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})
    assert claims["sub"] == str(user.id)
    assert claims["exp"] - claims["iat"] == get_settings().access_token_expire_minutes * 60
    assert set(claims) == {"sub", "sid", "typ", "iat", "exp"} and claims["typ"] == "access"


async def test_deactivated_users_tokens_stop_working(client: AsyncClient, make_user, superuser_headers: dict) -> None:
    user, headers = await make_user()
    assert (await client.get("/users/me", headers=headers)).status_code == 200
    response = await client.patch(f"/users/{user.id}", json={"is_active": False}, headers=superuser_headers)
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert (await client.get("/users/me", headers=headers)).status_code == 401


async def test_superuser_lists_users_and_cannot_lock_themselves_out(client: AsyncClient, make_user) -> None:
    admin, admin_headers = await make_user("root@example.com", superuser=True)
    _, user_headers = await make_user("plain@example.com")
    listing = await client.get("/users", params={"q": "example.com"}, headers=admin_headers)
    assert listing.status_code == 200
    assert [u["email"] for u in listing.json()["items"]] == ["plain@example.com", "root@example.com"]
    assert (await client.get("/users", headers=user_headers)).status_code == 403
    assert (
        await client.patch(f"/users/{admin.id}", json={"is_active": False}, headers=admin_headers)
    ).status_code == 409
    assert (await client.delete(f"/users/{admin.id}", headers=admin_headers)).status_code == 409


WRITES = [
    (
        "post",
        "/peps",
        {"number": 9002, "title": "T", "status": "Draft", "type": "Process", "created": "2026-01-01", "authors": ["X"]},
        201,
    ),
    ("patch", "/peps/8", {"title": "Changed"}, 200),
    ("delete", "/peps/9", None, 204),
    ("post", "/authors", {"name": "Someone New"}, 201),
    ("patch", "/authors/1", {"name": "Renamed Author"}, 200),
]


@pytest.mark.parametrize(("method", "path", "body", "ok"), WRITES)
async def test_catalogue_writes_need_a_superuser(client: AsyncClient, make_user, method, path, body, ok) -> None:
    _, user_headers = await make_user()
    _, admin_headers = await make_user(superuser=True)
    kwargs = {"json": body} if body is not None else {}
    anonymous = await client.request(method, path, **kwargs)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json() == {"detail": "Not authenticated"}
    plain = await client.request(method, path, headers=user_headers, **kwargs)
    assert plain.status_code == 403 and plain.json() == {"detail": "Superuser rights needed"}
    admin = await client.request(method, path, headers=admin_headers, **kwargs)
    assert admin.status_code == ok, admin.text


async def test_deleting_an_author_needs_a_superuser(client: AsyncClient, make_user, superuser_headers: dict) -> None:
    _, user_headers = await make_user()
    author = (await client.post("/authors", json={"name": "Deletable"}, headers=superuser_headers)).json()
    assert (await client.delete(f"/authors/{author['id']}")).status_code == 401
    assert (await client.delete(f"/authors/{author['id']}", headers=user_headers)).status_code == 403
    assert (await client.delete(f"/authors/{author['id']}", headers=superuser_headers)).status_code == 204


async def test_reading_stays_public(client: AsyncClient) -> None:
    for path in ("/peps", "/peps/8", "/authors", "/authors/1", "/health"):
        assert (await client.get(path)).status_code == 200, path


async def test_docs_offer_the_password_flow(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    [scheme] = spec["components"]["securitySchemes"].values()
    assert scheme["type"] == "oauth2" and scheme["flows"]["password"]["tokenUrl"] == "/auth/token"
    assert spec["paths"]["/peps"]["post"]["security"] and "security" not in spec["paths"]["/peps"]["get"]
