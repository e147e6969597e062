"""The real app plus one route with a bug in it, for the tests of what an unhandled error leaves behind."""

from typing import Any

from fastapi import Body

from app.main import app

__all__ = ["app"]


@app.post("/test-only/bug", include_in_schema=False)
async def bug(payload: dict[str, Any] = Body()) -> None:
    """Fails as a bug would, after reading a body (which may hold a password)."""
    raise RuntimeError("a bug in the code")
