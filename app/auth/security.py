"""The signed tokens (JWT through PyJWT) sign-in hands out.

Four kinds of token share the signing key, so each carries `typ` and is accepted only where its
kind belongs: `access` (short-lived, names a session), `refresh` (long-lived, one use), `reset`
(emailed, valid until the password changes or it expires), `verify` (emailed, valid until the
address is verified or it expires).
"""

import re
from datetime import timedelta
from typing import Any, Literal

import jwt

from app.base import utcnow
from app.config import Settings
from app.pages import MAX_ID

ALGORITHM = "HS256"

# Ids are positive 32-bit integers; anything else in a token is a forgery and must not reach the database.
_ID = re.compile(r"[1-9][0-9]{0,9}")

TokenKind = Literal["access", "refresh", "reset", "verify"]


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
