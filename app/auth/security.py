"""Password hashing (Argon2 through pwdlib) and signed, expiring access tokens (JWT through PyJWT)."""

import asyncio
from datetime import timedelta

import jwt
from pwdlib import PasswordHash

from app.base import utcnow
from app.config import Settings

ALGORITHM = "HS256"
password_hash = PasswordHash.recommended()

# Checked when an email is unknown, so that a wrong email costs as much time as a wrong password.
_DUMMY_HASH = password_hash.hash("not-a-real-password")


async def hash_password(password: str) -> str:
    # Argon2 takes tens of milliseconds of CPU on purpose: off the event loop, other requests go on.
    return await asyncio.to_thread(password_hash.hash, password)


async def verify_password(password: str, hashed: str | None) -> bool:
    """Check a password; with `hashed=None` (no such user) do the same work and answer False."""
    matches = await asyncio.to_thread(password_hash.verify, password, hashed or _DUMMY_HASH)
    return matches and hashed is not None


def create_access_token(user_id: int, settings: Settings) -> str:
    now = utcnow()
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=settings.access_token_expire_minutes)}
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def user_id_from_token(token: str, settings: Settings) -> int | None:
    """The user id a valid token names; None for a forged, expired, malformed or wrong-algorithm token."""
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError):  # any failure PyJWT reports, or a `sub` that is not an id
        return None
