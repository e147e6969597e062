"""Sessions (refresh, rotation, sign-out, revocation), password reset by email, and operators' password tools."""

import fcntl
import os
import pty
import re
import subprocess
import sys
import termios
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import jwt
import pytest
from httpx import AsyncClient
from sqlmodel import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import sessions
from app.auth.security import encode_token
from app.base import id_of, utcnow
from app.config import get_settings, load_settings
from app.db import create_engine_for
from app.users.models import AuthSession, User
from app.users.passwords import password_fingerprint, verify_password
from tests.conftest import PASSWORD, sign_in
from tests.mailbox import Mailbox, text_of

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "a brand new passphrase"


def bearer(pair: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def signed_in_pair(client: AsyncClient, email: str, password: str = PASSWORD) -> dict:
    response = await sign_in(client, email, password)
    assert response.status_code == 200, response.text
    return response.json()


async def test_sign_in_returns_a_short_access_token_and_a_refresh_token(client: AsyncClient, make_user) -> None:
    await make_user("pair@example.com")
    pair = await signed_in_pair(client, "pair@example.com")
    assert (
        pair["token_type"] == "bearer"
        and pair["expires_in"] == 15 * 60 == get_settings().access_token_expire_minutes * 60
    )
    claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    assert claims["typ"] == "refresh"
    assert claims["exp"] - claims["iat"] == get_settings().refresh_token_expire_days * 86400
    assert (await client.get("/users/me", headers=bearer(pair))).status_code == 200


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(client: AsyncClient, make_user) -> None:
    await make_user("rotate@example.com")
    first = await signed_in_pair(client, "rotate@example.com")
    refreshed = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/users/me", headers=bearer(second))).status_code == 200
    # The first refresh token was stolen and is used again: the whole session ends, for both holders.
    replay = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json() == {"detail": "Invalid or expired token"}
    assert (await client.get("/users/me", headers=bearer(second))).status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})).status_code == 401


def session_id_of(pair: dict) -> int:
    return int(jwt.decode(pair["access_token"], options={"verify_signature": False})["sid"])


async def expiry_of(session: AsyncSession, pair: dict) -> datetime:
    found = await session.exec(select(AuthSession.expires_at).where(AuthSession.id == session_id_of(pair)))
    return found.one()


async def test_each_refresh_extends_the_session(client: AsyncClient, make_user, session: AsyncSession) -> None:
    """A session used at least once a refresh lifetime never ends: each refresh moves its end on."""
    await make_user("regular@example.com")
    pair = await signed_in_pair(client, "regular@example.com")
    # A minute before the session would end, it is refreshed twice in a row.
    await session.exec(
        update(AuthSession)
        .where(AuthSession.id == session_id_of(pair))
        .values(expires_at=utcnow() + timedelta(minutes=1))
    )
    await session.commit()
    for _ in range(2):
        refreshed = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        pair = refreshed.json()
    lifetime = timedelta(days=get_settings().refresh_token_expire_days)
    assert await expiry_of(session, pair) >= utcnow() + lifetime - timedelta(minutes=1)


async def test_a_session_ends_at_the_instant_it_expires(
    client: AsyncClient, make_user, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At its `expires_at` a session can no longer be refreshed, and the owner's next sign-in deletes it;
    other users' expired sessions wait for their own sign-in."""
    now = utcnow()
    monkeypatch.setattr(sessions, "utcnow", lambda: now)
    await make_user("expiring@example.com")
    other, _ = await make_user("other@example.com")
    pair = await signed_in_pair(client, "expiring@example.com")
    older = await signed_in_pair(client, "expiring@example.com")
    await session.exec(update(AuthSession).where(AuthSession.id == session_id_of(pair)).values(expires_at=now))
    await session.exec(
        update(AuthSession).where(AuthSession.id == session_id_of(older)).values(expires_at=now - timedelta(days=1))
    )
    others_expired = AuthSession(user_id=id_of(other), expires_at=now - timedelta(days=1))
    session.add(others_expired)
    await session.commit()
    refused = await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refused.status_code == 401 and refused.json() == {"detail": "Invalid or expired token"}

    await signed_in_pair(client, "expiring@example.com")
    left = set((await session.exec(select(AuthSession.id))).all())
    assert session_id_of(pair) not in left and session_id_of(older) not in left
    assert others_expired.id in left


async def test_tokens_only_work_where_their_kind_belongs(client: AsyncClient, make_user) -> None:
    await make_user("kinds@example.com")
    pair = await signed_in_pair(client, "kinds@example.com")
    as_access = await client.get("/users/me", headers={"Authorization": f"Bearer {pair['refresh_token']}"})
    assert as_access.status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": pair["access_token"]})).status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": "garbage"})).status_code == 401


async def test_logout_ends_only_this_session(client: AsyncClient, make_user) -> None:
    await make_user("leaver@example.com")
    laptop = await signed_in_pair(client, "leaver@example.com")
    phone = await signed_in_pair(client, "leaver@example.com")
    assert (await client.post("/auth/logout", headers=bearer(laptop))).status_code == 204
    assert (await client.get("/users/me", headers=bearer(laptop))).status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": laptop["refresh_token"]})).status_code == 401
    assert (await client.get("/users/me", headers=bearer(phone))).status_code == 200
    assert (await client.post("/auth/logout")).status_code == 401


async def test_changing_my_password_signs_out_my_other_sessions(client: AsyncClient, make_user) -> None:
    await make_user("changer@example.com")
    here = await signed_in_pair(client, "changer@example.com")
    elsewhere = await signed_in_pair(client, "changer@example.com")
    changed = await client.patch(
        "/users/me", json={"password": NEW_PASSWORD, "current_password": PASSWORD}, headers=bearer(here)
    )
    assert changed.status_code == 200
    assert (await client.get("/users/me", headers=bearer(elsewhere))).status_code == 401
    assert (await client.post("/auth/refresh", json={"refresh_token": elsewhere["refresh_token"]})).status_code == 401
    assert (await client.get("/users/me", headers=bearer(here))).status_code == 200


async def test_reactivating_an_account_does_not_revive_its_tokens(
    client: AsyncClient, make_user, superuser_headers: dict
) -> None:
    user, headers = await make_user("paused@example.com")
    assert (await client.patch(f"/users/{user.id}", json={"is_active": False}, headers=superuser_headers)).is_success
    assert (await client.patch(f"/users/{user.id}", json={"is_active": True}, headers=superuser_headers)).is_success
    assert (await client.get("/users/me", headers=headers)).status_code == 401
    assert (await sign_in(client, "paused@example.com")).status_code == 200


async def test_a_superuser_sets_a_users_password(client: AsyncClient, make_user, superuser_headers: dict) -> None:
    user, headers = await make_user("forgetful@example.com")
    _, plain_headers = await make_user("nosy@example.com")
    forbidden = await client.patch(f"/users/{user.id}", json={"password": NEW_PASSWORD}, headers=plain_headers)
    assert forbidden.status_code == 403
    too_short = await client.patch(f"/users/{user.id}", json={"password": "short"}, headers=superuser_headers)
    assert too_short.status_code == 422
    response = await client.patch(f"/users/{user.id}", json={"password": NEW_PASSWORD}, headers=superuser_headers)
    assert response.status_code == 200 and NEW_PASSWORD not in response.text
    assert (await client.get("/users/me", headers=headers)).status_code == 401
    assert (await sign_in(client, "forgetful@example.com")).status_code == 401
    assert (await sign_in(client, "forgetful@example.com", NEW_PASSWORD)).status_code == 200


async def test_a_superuser_setting_their_own_password_stays_signed_in_here(client: AsyncClient, make_user) -> None:
    admin, here = await make_user("boss@example.com", superuser=True)
    elsewhere = bearer(await signed_in_pair(client, "boss@example.com"))
    response = await client.patch(f"/users/{admin.id}", json={"password": NEW_PASSWORD}, headers=here)
    assert response.status_code == 200
    assert (await client.get("/users/me", headers=here)).status_code == 200
    assert (await client.get("/users/me", headers=elsewhere)).status_code == 401


async def test_swagger_authorize_flow_still_works(client: AsyncClient, make_user) -> None:
    """What /docs' Authorize button does: the password grant as a form, then the bearer token."""
    await make_user("swagger@example.com")
    spec = (await client.get("/openapi.json")).json()
    [scheme] = spec["components"]["securitySchemes"].values()
    form = {"grant_type": "password", "username": "swagger@example.com", "password": PASSWORD, "scope": ""}
    response = await client.post(scheme["flows"]["password"]["tokenUrl"], data=form)
    assert response.status_code == 200
    assert (await client.get("/users/me", headers=bearer(response.json()))).json()["email"] == "swagger@example.com"
    assert spec["paths"]["/auth/logout"]["post"]["security"]


def reset_token_from(message: EmailMessage) -> str:
    link = re.search(r"https://pep\.example/reset-password\?token=(\S+)", text_of(message))
    assert link, text_of(message)
    return link.group(1)


async def test_password_reset_by_email(client: AsyncClient, make_user, mailbox: Mailbox, run_jobs) -> None:
    await make_user("lost@example.com")
    old_session = await signed_in_pair(client, "lost@example.com")
    asked = await client.post("/auth/password-reset", json={"email": " LOST@example.com "})
    assert asked.status_code == 202
    assert mailbox.messages == [], "sent by a job, not by the request"
    await run_jobs()
    [message] = mailbox.messages
    assert message["To"] == "lost@example.com" and "reset" in message["Subject"].lower()
    token = reset_token_from(message)
    confirmed = await client.post("/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert confirmed.status_code == 204, confirmed.text
    assert (await client.get("/users/me", headers=bearer(old_session))).status_code == 401
    assert (await sign_in(client, "lost@example.com")).status_code == 401
    assert (await sign_in(client, "lost@example.com", NEW_PASSWORD)).status_code == 200
    again = await client.post("/auth/password-reset/confirm", json={"token": token, "new_password": "yet another one"})
    assert again.status_code == 400 and again.json() == {"detail": "This reset link is invalid or expired"}


async def test_password_reset_answers_the_same_for_unknown_addresses(
    client: AsyncClient, make_user, mailbox: Mailbox, run_jobs
) -> None:
    await make_user("known@example.com")
    await make_user("dormant@example.com", active=False)
    known = await client.post("/auth/password-reset", json={"email": "known@example.com"})
    unknown = await client.post("/auth/password-reset", json={"email": "unknown@example.com"})
    dormant = await client.post("/auth/password-reset", json={"email": "dormant@example.com"})
    assert known.status_code == unknown.status_code == dormant.status_code == 202
    assert known.json() == unknown.json() == dormant.json()
    await run_jobs()
    assert [m["To"] for m in mailbox.messages] == ["known@example.com"]


async def test_reset_tokens_expire_and_cannot_be_forged(client: AsyncClient, make_user, session) -> None:
    user, _ = await make_user("victim@example.com")
    settings = get_settings()
    fingerprint = password_fingerprint(user.hashed_password)
    expired = encode_token("reset", timedelta(minutes=-1), settings, sub=str(user.id), pwd=fingerprint)
    wrong_password = encode_token("reset", timedelta(minutes=5), settings, sub=str(user.id), pwd="0" * 32)
    other_key = jwt.encode({"typ": "reset", "sub": str(user.id), "pwd": fingerprint, "exp": 2**33}, "k" * 40, "HS256")
    access = (await signed_in_pair(client, "victim@example.com"))["access_token"]
    for token in (expired, wrong_password, other_key, access, "x"):
        response = await client.post(
            "/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert response.status_code == 400, token
    await session.refresh(user)
    assert await verify_password(PASSWORD, user.hashed_password)


async def test_without_smtp_the_reset_link_goes_to_the_log(
    client: AsyncClient, make_user, caplog: pytest.LogCaptureFixture, run_jobs
) -> None:
    await make_user("dev@example.com")
    assert get_settings().smtp_host is None
    with caplog.at_level("WARNING", logger="app.mail"):
        assert (await client.post("/auth/password-reset", json={"email": "dev@example.com"})).status_code == 202
        await run_jobs()
    [record] = [r for r in caplog.records if r.name == "app.mail"]
    assert "dev@example.com" in record.getMessage() and "/reset-password?token=" in record.getMessage()


def run_app_command(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "AUTO_MIGRATE": "true", "SEED_DEMO_DATA": "false"}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=environment | env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def run_in_terminal(args: list[str], answers: list[str], **env: str) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as its controlling terminal, typing `answers` at its prompts."""
    controller, terminal = pty.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)

    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=environment,
        preexec_fn=take_terminal,
    )
    os.close(terminal)
    screen = b""
    for answer in answers:
        while b": " not in screen.rsplit(b"\n", 1)[-1]:
            screen += os.read(controller, 1024)
        os.write(controller, answer.encode() + b"\n")
        screen += os.read(controller, 1024)
    code = process.wait(timeout=120)
    try:
        while chunk := os.read(controller, 1024):
            screen += chunk
    except OSError:  # the terminal closed with the process
        pass
    os.close(controller)
    return code, screen.decode(errors="replace")


async def stored_password_hash(database_url: str, email: str) -> str:
    engine = create_engine_for(load_settings(database_url=database_url))
    try:
        async with AsyncSession(engine) as session:
            return (await session.exec(select(User.hashed_password).where(User.email == email))).one()
    finally:
        await engine.dispose()


async def test_set_password_command(fresh_database_url: str) -> None:
    database = {"DATABASE_URL": fresh_database_url}
    created = run_app_command(
        "create-superuser", "--email", "ops@example.com", FIRST_SUPERUSER_PASSWORD="the first password", **database
    )
    assert created.returncode == 0, created.stderr
    changed = run_app_command("set-password", "--email", " OPS@example.com", NEW_PASSWORD=NEW_PASSWORD, **database)
    assert changed.returncode == 0, changed.stderr
    assert "ops@example.com" in changed.stdout and NEW_PASSWORD not in changed.stdout + changed.stderr
    assert await verify_password(NEW_PASSWORD, await stored_password_hash(fresh_database_url, "ops@example.com"))
    unknown = run_app_command("set-password", "--email", "nobody@example.com", NEW_PASSWORD=NEW_PASSWORD, **database)
    assert unknown.returncode == 1 and "No user has the email" in unknown.stderr
    weak = run_app_command("set-password", "--email", "ops@example.com", NEW_PASSWORD="short", **database)
    assert weak.returncode == 1 and "Nothing was written" in weak.stderr
    no_terminal = run_app_command("set-password", "--email", "ops@example.com", **database)
    assert no_terminal.returncode == 1 and "NEW_PASSWORD" in no_terminal.stderr


async def test_set_password_command_asks_twice_in_a_terminal(fresh_database_url: str) -> None:
    database = {"DATABASE_URL": fresh_database_url, "AUTO_MIGRATE": "true", "SEED_DEMO_DATA": "false"}
    created = run_app_command(
        "create-superuser", "--email", "ops@example.com", FIRST_SUPERUSER_PASSWORD="the first password", **database
    )
    assert created.returncode == 0, created.stderr
    command = ["set-password", "--email", "ops@example.com"]
    mistyped, screen = run_in_terminal(command, ["typed once", "typed twice"], **database)
    assert mistyped == 1 and "the two passwords differ" in screen
    code, screen = run_in_terminal(command, ["the terminal password"] * 2, **database)
    assert code == 0, screen
    assert "New password for ops@example.com" in screen and "the terminal password" not in screen
    assert await verify_password(
        "the terminal password", await stored_password_hash(fresh_database_url, "ops@example.com")
    )
