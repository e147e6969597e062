"""Sessions: sign-in starts one, refresh rotates its token, sign-out and account changes end them.

An access token names its user and its session; it works while the session row exists and the
user is active, checked in one query. Deleting session rows is how every revocation happens.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.models import TokenPair
from app.auth.security import decode_token, encode_token, parse_id
from app.base import id_of, table_of, utcnow
from app.config import Settings
from app.pages import MAX_ID
from app.reader import Reader
from app.users.models import AuthSession, User


@dataclass(frozen=True)
class SignedIn:
    """Who sent a valid access token, and from which session."""

    user: User
    session_id: int


def _issue(auth_session: AuthSession, settings: Settings) -> TokenPair:
    lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    ids = {"sub": str(auth_session.user_id), "sid": str(auth_session.id)}
    return TokenPair(
        access_token=encode_token("access", lifetime, settings, **ids),
        expires_in=int(lifetime.total_seconds()),
        refresh_token=encode_token(
            "refresh",
            timedelta(days=settings.refresh_token_expire_days),
            settings,
            **ids,
            gen=auth_session.refresh_generation,
        ),
    )


async def start_session(session: AsyncSession, user: User, settings: Settings) -> TokenPair:
    """Sign a user in on one more device; their expired sessions are cleared on the way.

    A session is expired from the instant it expires on, as for a refresh (`expires_at > now` to rotate).
    """
    now = utcnow()
    await session.exec(
        delete(AuthSession).where(col(AuthSession.user_id) == user.id, col(AuthSession.expires_at) <= now)
    )
    auth_session = AuthSession(user_id=id_of(user), expires_at=now + timedelta(days=settings.refresh_token_expire_days))
    session.add(auth_session)
    await session.flush()
    return _issue(auth_session, settings)


_USERS, _SESSIONS = table_of(User), table_of(AuthSession)
SIGNED_IN_USER = (
    select(*_USERS.c)
    .join_from(_USERS, _SESSIONS, _SESSIONS.c.user_id == _USERS.c.id)
    .where(_USERS.c.id == bindparam("user_id"), _SESSIONS.c.id == bindparam("session_id"), _USERS.c.is_active)
)


async def signed_in(reader: Reader, token: str, settings: Settings) -> SignedIn | None:
    """The user and session an access token names, if both still stand: one query, no writes."""
    claims = decode_token(token, "access", settings)
    if claims is None:
        return None
    user_id, session_id = parse_id(claims.get("sub")), parse_id(claims.get("sid"))
    if user_id is None or session_id is None:
        return None
    row = await reader.first(SIGNED_IN_USER, user_id=user_id, session_id=session_id)
    return SignedIn(User.model_validate(row), session_id) if row is not None else None


async def refresh_session(session: AsyncSession, refresh_token: str, settings: Settings) -> TokenPair | None:
    """Trade the current refresh token of a session for a new pair; None if it is not the current one.

    A refresh token that was current once but has been traded already can only be a copy: someone
    else holds the session too, so it ends for both.
    """
    claims = decode_token(refresh_token, "refresh", settings)
    # A generation is a counter of refreshes: a forged one past 32 bits must not reach the database.
    if claims is None or not isinstance(claims.get("gen"), int) or not 0 <= claims["gen"] <= MAX_ID:
        return None
    session_id, generation = parse_id(claims.get("sid")), claims["gen"]
    if session_id is None:
        return None
    now = utcnow()
    # Compare-and-swap: of two requests with the same token, exactly one moves the generation on.
    rotated = await session.exec(
        update(AuthSession)
        .where(
            col(AuthSession.id) == session_id,
            col(AuthSession.refresh_generation) == generation,
            col(AuthSession.expires_at) > now,
            col(AuthSession.user_id).in_(select(User.id).where(col(User.is_active))),
        )
        .values(
            refresh_generation=AuthSession.refresh_generation + 1,
            expires_at=now + timedelta(days=settings.refresh_token_expire_days),
        )
        .returning(AuthSession)
    )
    auth_session = rotated.scalars().first()
    if auth_session is None:
        await end_session(session, session_id, only_before_generation=generation)
        await session.commit()  # the session stays ended although the request fails
        return None
    return _issue(auth_session, settings)


async def end_session(session: AsyncSession, session_id: int, only_before_generation: int | None = None) -> None:
    """Delete a session (sign-out); with `only_before_generation`, only if its token has moved past that one."""
    statement = delete(AuthSession).where(col(AuthSession.id) == session_id)
    if only_before_generation is not None:
        statement = statement.where(col(AuthSession.refresh_generation) > only_before_generation)
    await session.exec(statement)
