"""Password hashing (Argon2 through pwdlib) and the signed tokens (JWT through PyJWT) sign-in hands out.

Three kinds of token share the signing key, so each carries `typ` and is accepted only where its
kind belongs: `access` (short-lived, names a session), `refresh` (long-lived, one use), `reset`
(emailed, valid until the password changes or it expires).
"""

import asyncio
import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Literal, TypeVar

import jwt
from pwdlib import PasswordHash

from app.base import utcnow
from app.config import Settings
from app.pagination import MAX_ID

ALGORITHM = "HS256"
password_hash = PasswordHash.recommended()

# Checked when an email is unknown, so that a wrong email costs as much time as a wrong password.
_DUMMY_HASH = password_hash.hash("not-a-real-password")

# Ids are positive 32-bit integers; anything else in a token is a forgery and must not reach the database.
_ID = re.compile(r"[1-9][0-9]{0,9}")

TokenKind = Literal["access", "refresh", "reset"]
T = TypeVar("T")


# Argon2 is slow on purpose (a third of a second here) and spreads each hash over several threads of its
# own. Run off the event loop, one at a time: a burst of sign-ins then queues here, instead of starving
# the event loop (and every other request) of the CPU. Nothing holds a database connection meanwhile.
_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


async def _hashing(work: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, work, *args)


async def hash_password(password: str) -> str:
    return await _hashing(password_hash.hash, password)


async def verify_password(password: str, hashed: str | None) -> bool:
    """Check a password; with `hashed=None` (no such user) do the same work and answer False."""
    matches = await _hashing(password_hash.verify, password, hashed or _DUMMY_HASH)
    return matches and hashed is not None


def password_fingerprint(hashed_password: str) -> str:
    """Changes whenever the password does (a new hash has a new salt): binds a reset token to one password."""
    return hashlib.sha256(hashed_password.encode()).hexdigest()[:32]


def encode_token(kind: TokenKind, lifetime: timedelta, settings: Settings, **claims: Any) -> str:
    now = utcnow()
    return jwt.encode({**claims, "typ": kind, "iat": now, "exp": now + lifetime}, settings.secret_key, ALGORITHM)


def decode_token(token: str, kind: TokenKind, settings: Settings) -> dict[str, Any] | None:
    """The claims of a valid token of this kind; None for a forged, expired, malformed or other-kind token."""
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM], options={"require": ["exp", "typ"]})
    except jwt.PyJWTError:  # any failure PyJWT reports
        return None
    return claims if claims["typ"] == kind else None


def parse_id(value: object) -> int | None:
    """A database id from a token claim, or None if it is not a decimal positive 32-bit integer."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_ID else None
