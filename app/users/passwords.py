"""Password hashing (Argon2 through pwdlib): the only way a password is stored or checked."""

import asyncio
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pwdlib import PasswordHash

password_hash = PasswordHash.recommended()

# Checked when an email is unknown, so that a wrong email costs as much time as a wrong password.
_DUMMY_HASH = password_hash.hash("not-a-real-password")

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
