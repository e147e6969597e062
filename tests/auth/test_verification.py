"""Verified email addresses: the emailed link, used once, expiring; asking again; and with
REQUIRE_VERIFIED_EMAIL=true a sign-up that tells nobody whether an address has an account."""

import re
from datetime import timedelta

import jwt
import pytest
from httpx import AsyncClient
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import routes
from app.auth.security import encode_token
from app.config import get_settings
from app.users import service
from app.users.models import User
from tests.conftest import PASSWORD, sign_in
from tests.mailbox import Mailbox, text_of

SIGN_UP = {"email": "new@example.com", "password": PASSWORD, "full_name": "New <b>User</b>"}


def verification_token(mailbox: Mailbox, to: str) -> str:
    [message] = [m for m in mailbox.messages if m["To"] == to and "Confirm" in m["Subject"]]
    found = re.search(r"https://pep\.example/verify-email\?token=(\S+)", text_of(message))
    assert found, text_of(message)
    html = message.get_body(("html",))
    assert html is not None and found.group(1) in html.get_content(), "the HTML part carries the same link"
    return found.group(1)


@pytest.fixture
def require_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "require_verified_email", True)


async def test_sign_up_sends_a_link_that_verifies_the_address_once(
    client: AsyncClient, mailbox: Mailbox, run_jobs
) -> None:
    created = await client.post("/auth/register", json=SIGN_UP)
    assert created.status_code == 201 and created.json()["is_verified"] is False
    await run_jobs()
    [message] = mailbox.messages
    assert message["To"] == "new@example.com" and message["Message-ID"]
    html = message.get_body(("html",))
    assert html is not None and "New &lt;b&gt;User&lt;/b&gt;" in html.get_content(), "values are escaped in HTML"
    token = verification_token(mailbox, "new@example.com")

    assert (await client.post("/auth/verify-email", json={"token": token})).status_code == 204
    headers = {"Authorization": f"Bearer {(await sign_in(client, 'new@example.com')).json()['access_token']}"}
    assert (await client.get("/users/me", headers=headers)).json()["is_verified"] is True
    again = await client.post("/auth/verify-email", json={"token": token})
    assert again.status_code == 400 and again.json() == {"detail": "This verification link is invalid, expired or used"}


async def test_verification_links_expire_and_cannot_be_forged(client: AsyncClient, make_user, session) -> None:
    user, _ = await make_user("unverified@example.com")
    settings = get_settings()
    claims = {"sub": str(user.id), "email": user.email}
    expired = encode_token("verify", timedelta(minutes=-1), settings, **claims)
    other_address = encode_token("verify", timedelta(hours=1), settings, sub=str(user.id), email="x@example.com")
    reset_kind = encode_token("reset", timedelta(hours=1), settings, **claims)
    other_key = jwt.encode({**claims, "typ": "verify", "exp": 2**33}, "k" * 40, "HS256")
    for token in (expired, other_address, reset_kind, other_key, "x" * 2048):
        response = await client.post("/auth/verify-email", json={"token": token})
        assert response.status_code == 400, token
    await session.refresh(user)
    assert user.is_verified is False
    valid = encode_token("verify", timedelta(hours=1), settings, **claims)
    assert (await client.post("/auth/verify-email", json={"token": valid})).status_code == 204


async def test_resend_answers_the_same_whoever_asks_and_mails_only_an_unverified_account(
    client: AsyncClient, make_user, mailbox: Mailbox, run_jobs, session: AsyncSession
) -> None:
    waiting, _ = await make_user("waiting@example.com")
    done, _ = await make_user("done@example.com")
    done.is_verified = True
    await session.commit()
    answers = [
        await client.post("/auth/verify-email/resend", json={"email": email})
        for email in ("waiting@example.com", "done@example.com", "nobody@example.com")
    ]
    assert {a.status_code for a in answers} == {202} and len({a.text for a in answers}) == 1
    await run_jobs()
    assert [m["To"] for m in mailbox.messages] == ["waiting@example.com"]
    assert (
        await client.post("/auth/verify-email", json={"token": verification_token(mailbox, waiting.email)})
    ).status_code == 204


async def test_resend_is_rate_limited(client: AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "rate_limit_verify_email_per_account", "2/hour")
    for _ in range(2):
        assert (await client.post("/auth/verify-email/resend", json={"email": "a@example.com"})).status_code == 202
    refused = await client.post("/auth/verify-email/resend", json={"email": "a@example.com"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert (await client.post("/auth/verify-email/resend", json={"email": "b@example.com"})).status_code == 202


async def test_required_verification_answers_a_taken_address_as_a_new_one_and_tells_its_owner(
    client: AsyncClient,
    make_user,
    mailbox: Mailbox,
    run_jobs,
    session: AsyncSession,
    require_verified: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner, _ = await make_user("taken@example.com")
    hashes = []
    real_hash = service.hash_password

    async def counted_hash(password: str) -> str:
        hashes.append(password)
        return await real_hash(password)

    monkeypatch.setattr(service, "hash_password", counted_hash)
    new = await client.post("/auth/register", json=SIGN_UP)
    thief = {"email": "taken@example.com", "full_name": "Thief", "password": "the thief's own password"}
    taken = await client.post("/auth/register", json=SIGN_UP | thief)
    assert new.status_code == taken.status_code == 202
    assert new.json() == taken.json() == {"detail": routes.SIGN_UP_ACCEPTED}
    assert new.headers.keys() - {"x-request-id"} == taken.headers.keys() - {"x-request-id"}
    assert len(hashes) == 2, "a taken address costs the same password hash as a new one"

    await run_jobs()
    notice = next(m for m in mailbox.messages if m["To"] == "taken@example.com")
    assert "already has an account" in text_of(notice)
    assert re.search(r"https://pep\.example/reset-password\?token=\S+", text_of(notice)), "a reset link for the owner"
    assert not re.search(r"verify-email", text_of(notice)), "no link that verifies"
    await session.refresh(owner)
    assert owner.full_name is None and owner.is_verified is False
    assert (await sign_in(client, "taken@example.com", thief["password"])).status_code == 401
    assert (await sign_in(client, "taken@example.com", PASSWORD)).status_code == 403, "the owner's password, unverified"

    refused = await sign_in(client, "new@example.com")
    assert refused.status_code == 403 and refused.json() == {"detail": routes.NOT_VERIFIED}
    assert (await sign_in(client, "new@example.com", "a wrong password")).status_code == 401, "401 first"
    token = verification_token(mailbox, "new@example.com")
    assert (await client.post("/auth/verify-email", json={"token": token})).status_code == 204
    assert (await sign_in(client, "new@example.com")).status_code == 200


async def test_required_verification_answers_a_look_alike_address_the_same_and_sends_nothing(
    client: AsyncClient, make_user, mailbox: Mailbox, run_jobs, session: AsyncSession, require_verified: None
) -> None:
    await make_user("admin@example.com")
    look_alike = await client.post("/auth/register", json=SIGN_UP | {"email": "\u0430dmin@example.com"})
    assert look_alike.status_code == 202 and look_alike.json() == {"detail": routes.SIGN_UP_ACCEPTED}
    await run_jobs()
    assert mailbox.messages == []
    assert (await session.exec(select(User).where(User.email == "\u0430dmin@example.com"))).first() is None


async def test_superusers_count_as_verified(
    client: AsyncClient, make_user, superuser_headers: dict, require_verified: None, session: AsyncSession
) -> None:
    await make_user("boss@example.com", superuser=True)
    assert (await sign_in(client, "boss@example.com")).status_code == 200
    user, _ = await make_user("promoted@example.com")
    assert (await sign_in(client, "promoted@example.com")).status_code == 403
    listed = await client.get("/users", params={"q": "promoted"}, headers=superuser_headers)
    assert [u["is_verified"] for u in listed.json()["items"]] == [False]
    promoted = await client.patch(f"/users/{user.id}", json={"is_superuser": True}, headers=superuser_headers)
    assert promoted.json()["is_verified"] is True
    assert (await sign_in(client, "promoted@example.com")).status_code == 200
    assert (
        await service.ensure_superuser(session, "made@example.com", PASSWORD) == "Created superuser made@example.com."
    )
    made = await service.get_user_by_email(session, "made@example.com")
    assert made is not None and made.is_verified is True
