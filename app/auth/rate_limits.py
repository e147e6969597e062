"""Rate limits on sign-in, sign-up and password-reset requests, per account and per client address.

Counters are shared by every worker and instance: in Redis when REDIS_URL is set (through the
`limits` library), otherwise in the database's `rate_limit_counter` table. Both count in fixed
windows: the first attempt opens a window of the limit's length, and past the limit every attempt
is refused until the window ends. An attempt is counted before the work it guards is done, so an
address over its sign-in limit costs no password hash.
"""

import hashlib
import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.models import RateLimitCounter
from app.base import table_of
from app.config import Settings, get_settings
from app.errors import RETRY_AFTER_SECONDS, AppError, short_reason


class TooManyRequestsError(AppError):
    """Over a rate limit (429); `Retry-After` says how many seconds until the window ends."""

    status_code = 429

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"Too many attempts; try again in {seconds} seconds.")
        self.headers = {"Retry-After": str(seconds)}


class CounterStoreUnavailableError(AppError):
    """Redis cannot be reached (503): no attempt can be counted, so none is let through."""

    status_code = 503
    headers = {"Retry-After": RETRY_AFTER_SECONDS}

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"The rate-limit store is unavailable ({short_reason(error)}); try again shortly.")


@dataclass(frozen=True)
class Limit:
    """A named rule ("sign-in:account", "10/15 minutes") applied to one account or address at a time."""

    name: str
    rule: RateLimitItem

    def key(self, who: str) -> str:
        return f"{self.name}:{who}"


@dataclass(frozen=True)
class Limits:
    sign_in_per_account: Limit
    sign_in_per_address: Limit
    sign_up_per_account: Limit
    sign_up_per_address: Limit
    password_reset_per_account: Limit
    password_reset_per_address: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            Limit("sign-in:account", parse(settings.rate_limit_sign_in_per_account)),
            Limit("sign-in:address", parse(settings.rate_limit_sign_in_per_address)),
            Limit("sign-up:account", parse(settings.rate_limit_sign_up_per_account)),
            Limit("sign-up:address", parse(settings.rate_limit_sign_up_per_address)),
            Limit("password-reset:account", parse(settings.rate_limit_password_reset_per_account)),
            Limit("password-reset:address", parse(settings.rate_limit_password_reset_per_address)),
        )


def account_key(email: str) -> str:
    """Who an account limit counts: a hash, so the counters hold no addresses."""
    return hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def client_address(request: Request) -> str:
    """The client's address as uvicorn saw it (after FORWARDED_ALLOW_IPS decided whose X-Forwarded-For to trust)."""
    return request.client.host if request.client else "unknown"


class RateLimiter(Protocol):
    async def hit(self, session: AsyncSession, checks: list[tuple[Limit, str]]) -> list[float]:
        """Count one attempt against each limit; the seconds to wait for those now over, [] if none is."""

    async def clear(self, session: AsyncSession, limit: Limit, who: str) -> None:
        """Forget the attempts counted against one limit for one account or address."""


class DatabaseRateLimiter:
    """Counters in the `rate_limit_counter` table: an upsert per limit, atomic on both databases."""

    async def hit(self, session: AsyncSession, checks: list[tuple[Limit, str]]) -> list[float]:
        now = time.time()
        table = table_of(RateLimitCounter)
        await session.exec(delete(RateLimitCounter).where(col(RateLimitCounter.window_ends_at) <= now))
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        waits = []
        for limit, who in checks:
            window_end = now + limit.rule.get_expiry()
            expired = table.c.window_ends_at <= now
            upsert = (
                dialect.insert(table)
                .values(key=limit.key(who), hits=1, window_ends_at=window_end)
                .on_conflict_do_update(
                    index_elements=[table.c.key],
                    set_={
                        "hits": case((expired, 1), else_=table.c.hits + 1),
                        "window_ends_at": case((expired, window_end), else_=table.c.window_ends_at),
                    },
                )
                .returning(table.c.hits, table.c.window_ends_at)
            )
            hits, ends_at = (await session.exec(upsert)).one()
            if hits > limit.rule.amount:
                waits.append(ends_at - now)
        # The attempt counts even when the request then fails (a wrong password rolls the request back).
        # The session's next statement opens a new transaction, ready to write as the first was.
        await session.commit()
        return waits

    async def clear(self, session: AsyncSession, limit: Limit, who: str) -> None:
        await session.exec(delete(RateLimitCounter).where(col(RateLimitCounter.key) == limit.key(who)))


class RedisRateLimiter:
    """Counters in Redis, kept by the `limits` library's fixed-window strategy."""

    def __init__(self, redis_url: str, key_prefix: str) -> None:
        storage = RedisStorage(
            f"async+{redis_url}", implementation="redispy", key_prefix=key_prefix, wrap_exceptions=True
        )
        self.limiter = FixedWindowRateLimiter(storage)

    async def hit(self, session: AsyncSession, checks: list[tuple[Limit, str]]) -> list[float]:
        waits = []
        try:
            for limit, who in checks:
                if not await self.limiter.hit(limit.rule, limit.name, who):
                    stats = await self.limiter.get_window_stats(limit.rule, limit.name, who)
                    waits.append(stats.reset_time - time.time())
        except StorageError as error:
            raise CounterStoreUnavailableError(error.storage_error) from None
        return waits

    async def clear(self, session: AsyncSession, limit: Limit, who: str) -> None:
        try:
            await self.limiter.clear(limit.rule, limit.name, who)
        except StorageError as error:
            raise CounterStoreUnavailableError(error.storage_error) from None


@lru_cache
def get_rate_limiter() -> RateLimiter:
    settings = get_settings()
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, settings.redis_key_prefix)
    return DatabaseRateLimiter()


@lru_cache
def get_limits() -> Limits:
    return Limits.from_settings(get_settings())


async def check_rate_limits(session: AsyncSession, checks: list[tuple[Limit, str]]) -> None:
    """Count this attempt; raise TooManyRequestsError if it is over any of the limits."""
    waits = await get_rate_limiter().hit(session, checks)
    if waits:
        raise TooManyRequestsError(max(waits))


async def forget_attempts(session: AsyncSession, limit: Limit, who: str) -> None:
    """Clear one counter: after a successful sign-in, earlier typos no longer count against the account."""
    await get_rate_limiter().clear(session, limit, who)
