"""Signed cursors: where a cursor page starts, opaque to clients and bound to the list it was made for.

A cursor is base64url of compact JSON, signed with an HMAC under a key derived from SECRET_KEY, over
the payload and the list, sort and filters it was made for. Anything else (edited, truncated, made for
another sort, filter, user or list) is a 422 naming `cursor`, which never repeats it.
"""

import base64
import binascii
import hashlib
import hmac
import json
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from app.config import get_settings
from app.errors import InvalidValueError

CURSOR_VERSION = 1


def invalid_cursor() -> InvalidValueError:
    # Never repeats the cursor: it may be large, and says nothing the client does not have.
    return InvalidValueError(
        "Invalid cursor: it was altered, or made for another list, sort or filters. Use the `next_cursor` of "
        "a page with the same `sort` and filters, or start again without `cursor`.",
        field="cursor",
    )


@lru_cache(maxsize=4)
def _cursor_key(secret_key: str) -> bytes:
    # A key of its own, so that nothing signed as a cursor can pass for a token, or the reverse.
    return hmac.new(secret_key.encode(), b"app.pagination cursor", hashlib.sha256).digest()


def cursor_context(list_name: str, filters: dict[str, Any], bound: dict[str, Any]) -> bytes:
    """What a cursor is bound to: the list, its sort and filters, and the values bound (the owner, say)."""
    return json.dumps([list_name, filters, bound], sort_keys=True, default=str).encode()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_value(value: Any) -> Any:
    # JSON has no dates: they are tagged, so the value comes back as the type the column binds.
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        ((tag, text),) = value.items()
        return {"t": datetime.fromisoformat, "d": date.fromisoformat}[tag](text)
    return value


def _signature(context: bytes, payload: bytes) -> bytes:
    return hmac.new(_cursor_key(get_settings().secret_key), context + b"\n" + payload, "sha256").digest()


def make_cursor(key: Any, tiebreak: Any, total: int, offset: int, context: bytes) -> str:
    payload = json.dumps([CURSOR_VERSION, _encode_value(key), tiebreak, total, offset], separators=(",", ":"))
    return _b64encode(payload.encode()) + "." + _b64encode(_signature(context, payload.encode()))


def read_cursor(cursor: str, context: bytes) -> tuple[Any, Any, int, int]:
    """The cursor's (key, tiebreak, total, offset); a 422 naming `cursor` for anything this app did not sign."""
    try:
        payload_text, signature_text = cursor.split(".")
        payload, signature = _b64decode(payload_text), _b64decode(signature_text)
        if not hmac.compare_digest(signature, _signature(context, payload)):
            raise invalid_cursor()
        version, key, tiebreak, total, offset = json.loads(payload)
        if version != CURSOR_VERSION:
            raise invalid_cursor()
        return _decode_value(key), tiebreak, total, offset
    # Only a signed payload is parsed, but a cursor signed by an older release may not parse.
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise invalid_cursor() from None
