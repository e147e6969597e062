"""Rate limits on sign-in, sign-up and password reset: per account and per address, in the database or Redis."""

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from httpx import ASGITransport, AsyncClient
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import rate_limits
from app.auth.models import RateLimitCounter
from app.auth.rate_limits import RedisRateLimiter, account_key, get_limits
from app.config import ConfigError, get_settings, load_settings
from app.main import app
from app.users import passwords
from tests.conftest import PASSWORD, fresh_database, sign_in
from tests.servers import SUPERUSER, running_app

REDIS_URL = "redis://127.0.0.1:6379/8"  # a logical database of its own; keys also carry a per-run prefix


def redis_prefix() -> str:
    return f"pep-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["database", "redis"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the counters in the database, then in Redis."""
    if request.param == "redis":
        limiter = RedisRateLimiter(REDIS_URL, redis_prefix())
        monkeypatch.setattr(rate_limits, "get_rate_limiter", lambda: limiter)
    return request.param


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Three attempts a minute for everything, so a test reaches each limit quickly."""
    settings = get_settings()
    for name in type(settings).model_fields:
        if name.startswith("rate_limit_"):
            monkeypatch.setattr(settings, name, "3/minute")
    get_limits.cache_clear()
    yield
    get_limits.cache_clear()


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Argon2 verification the app runs."""
    verified: list[str] = []
    real_verify = passwords.password_hash.verify
    monkeypatch.setattr(passwords.password_hash, "verify", lambda pw, h: verified.append(h) or real_verify(pw, h))
    return verified


def set_limit(monkeypatch: pytest.MonkeyPatch, setting: str, rule: str) -> None:
    """One limit changed for this test (the `limits` fixture clears the cached rules afterwards)."""
    monkeypatch.setattr(get_settings(), setting, rule)
    get_limits.cache_clear()


def assert_too_many(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    seconds = response.headers["retry-after"]
    assert 1 <= int(seconds) <= 60
    # The body says the same wait as the header.
    assert response.json()["detail"] == f"Too many attempts; try again in {seconds} seconds."


async def test_sign_in_per_account_stops_hashing_once_over(
    client: AsyncClient, make_user, backend: str, limits: None, hashes: list[str]
) -> None:
    await make_user("target@example.com")
    for _ in range(3):
        assert (await sign_in(client, "target@example.com", "a wrong guess")).status_code == 401
    assert len(hashes) == 3
    assert_too_many(await sign_in(client, "target@example.com", "another guess"))
    assert_too_many(await sign_in(client, "Target@Example.com ", PASSWORD))  # however it is spelled
    assert len(hashes) == 3, "a refused attempt must not cost a password hash"
    assert (await client.get("/peps/8")).status_code == 200  # nothing else is slowed or blocked


async def test_sign_in_per_address_covers_every_account(
    client: AsyncClient, make_user, backend: str, limits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_limit(monkeypatch, "rate_limit_sign_in_per_account", "100/minute")
    for n in range(3):
        assert (await sign_in(client, f"sprayed{n}@example.com", "guess")).status_code == 401
    assert_too_many(await sign_in(client, "sprayed9@example.com", "guess"))
    # Another address is not affected.
    await make_user("elsewhere@example.com")
    transport = ASGITransport(app=app, client=("198.51.100.7", 4000))
    async with AsyncClient(transport=transport, base_url="http://test") as other:
        assert (await sign_in(other, "elsewhere@example.com")).status_code == 200


async def test_signing_in_clears_the_accounts_failures(
    client: AsyncClient, make_user, backend: str, limits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_limit(monkeypatch, "rate_limit_sign_in_per_address", "100/minute")
    await make_user("typo@example.com")
    for _ in range(2):
        assert (await sign_in(client, "typo@example.com", "fat fingers")).status_code == 401
    assert (await sign_in(client, "typo@example.com")).status_code == 200
    assert (await sign_in(client, "typo@example.com", "fat fingers")).status_code == 401


async def test_each_account_has_its_own_count(
    client: AsyncClient, make_user, backend: str, limits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guessing one account's password locks only that account, not others signing in from the same place."""
    set_limit(monkeypatch, "rate_limit_sign_in_per_address", "100/minute")
    await make_user("guessed@example.com")
    await make_user("colleague@example.com")
    for _ in range(3):
        assert (await sign_in(client, "guessed@example.com", "guess")).status_code == 401
    assert_too_many(await sign_in(client, "guessed@example.com", PASSWORD))
    assert (await sign_in(client, "colleague@example.com")).status_code == 200


async def test_counters_of_ended_windows_are_deleted(
    client: AsyncClient, session: AsyncSession, limits: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the database, a counter whose minute is over is deleted by the next attempt of anyone: the table
    holds only open windows, and the locked-out account may try again."""
    now = time.time()
    monkeypatch.setattr(rate_limits, "time", SimpleNamespace(time=lambda: now))
    for _ in range(3):
        assert (await sign_in(client, "early@example.com", "guess")).status_code == 401
    assert_too_many(await sign_in(client, "early@example.com", "guess"))

    now += 60
    transport = ASGITransport(app=app, client=("198.51.100.7", 4000))
    async with AsyncClient(transport=transport, base_url="http://test") as later:
        assert (await sign_in(later, "late@example.com", "guess")).status_code == 401
    counters = (await session.exec(select(RateLimitCounter.key, RateLimitCounter.window_ends_at))).all()
    limits_ = get_limits()
    assert sorted(key for key, _ in counters) == sorted(
        [
            limits_.sign_in_per_account.key(account_key("late@example.com")),
            limits_.sign_in_per_address.key("198.51.100.7"),
        ]
    )
    assert all(ends_at == now + 60 for _, ends_at in counters)
    assert (await sign_in(client, "early@example.com", "guess")).status_code == 401


async def test_failed_sign_ups_count_too(client: AsyncClient, backend: str, limits: None) -> None:
    """An attempt counts although its request fails and rolls back: 409s cannot probe for accounts unlimited."""
    taken = {"email": "taken@example.com", "password": PASSWORD}
    assert (await client.post("/auth/register", json=taken)).status_code == 201
    for _ in range(2):
        assert (await client.post("/auth/register", json=taken)).status_code == 409
    assert_too_many(await client.post("/auth/register", json=taken))


async def test_sign_up_is_limited(client: AsyncClient, backend: str, limits: None) -> None:
    for n in range(3):
        response = await client.post("/auth/register", json={"email": f"new{n}@example.com", "password": PASSWORD})
        assert response.status_code == 201
    assert_too_many(await client.post("/auth/register", json={"email": "new9@example.com", "password": PASSWORD}))


async def test_password_reset_requests_are_limited_per_account(client: AsyncClient, backend: str, limits: None) -> None:
    for _ in range(3):
        assert (await client.post("/auth/password-reset", json={"email": "inbox@example.com"})).status_code == 202
    assert_too_many(await client.post("/auth/password-reset", json={"email": "INBOX@example.com"}))


async def test_redis_down_is_503_not_500(client: AsyncClient, make_user, monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:9/0", redis_prefix())  # nothing listens on port 9
    monkeypatch.setattr(rate_limits, "get_rate_limiter", lambda: limiter)
    response = await sign_in(client, "anyone@example.com", "guess")
    assert response.status_code == 503 and response.headers["retry-after"]
    assert response.json()["detail"] == "The rate-limit store is unavailable (ConnectionError); try again shortly."


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_limits_hold_across_worker_processes(tmp_path: Path, store: str) -> None:
    """Two uvicorn workers share the counters: the sixth guess is refused whichever worker gets it."""
    settings = {"RATE_LIMIT_SIGN_IN_PER_ACCOUNT": "5/minute", "AUTO_MIGRATE": "true", "SEED_DEMO_DATA": "false"}
    if store == "redis":
        settings |= {"REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": redis_prefix()}
    async with fresh_database(tmp_path) as database_url:
        with running_app(tmp_path, workers=2, DATABASE_URL=database_url, **settings) as server:
            guess = {"username": SUPERUSER["username"], "password": "not it"}
            statuses = []
            # A new connection each time, so the requests spread over both workers.
            close = {"Connection": "close"}
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
                for _ in range(8):
                    statuses.append((await http.post("/auth/token", data=guess, headers=close)).status_code)
                refused = await http.post("/auth/token", data=SUPERUSER, headers=close)
        assert "Traceback" not in server.output(), server.output()
    assert statuses == [401] * 5 + [429] * 3
    assert refused.status_code == 429 and refused.headers["retry-after"]


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        (
            "rate_limit_sign_in_per_account",
            "ten a minute",
            "RATE_LIMIT_SIGN_IN_PER_ACCOUNT: 'ten a minute' is not a rate limit",
        ),
        ("password_reset_url", "https://app.example/reset", "PASSWORD_RESET_URL: must contain {token}"),
    ],
)
def test_malformed_account_settings_stop_start_up(variable: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(complaint)):
        load_settings(**{variable: value})


@pytest.mark.parametrize(("retry_after", "seconds"), [(0.0, "1"), (0.2, "1"), (1.0, "1"), (1.2, "2"), (59.01, "60")])
def test_the_wait_is_whole_seconds_rounded_up_and_at_least_one(retry_after: float, seconds: str) -> None:
    error = rate_limits.TooManyRequestsError(retry_after)
    assert error.headers == {"Retry-After": seconds}
    assert error.detail == f"Too many attempts; try again in {seconds} seconds."
