"""`GET /health`: is the app up, and can it reach its database?"""

import asyncio
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from app.db import get_engine, ping
from app.errors import RETRY_AFTER_SECONDS, short_reason

router = APIRouter(tags=["health"])

# Platforms poll this every few seconds; an answer must come well before their own time-out.
PING_TIMEOUT_SECONDS = 3.0


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str


@router.get(
    "/health",
    operation_id="health-check",
    summary="Check health",
    responses={
        503: {
            "model": Health,
            "description": "The database cannot be reached.",
            "content": {
                "application/json": {"example": {"status": "unavailable", "database": "ConnectionRefusedError"}}
            },
        }
    },
)
async def health(response: Response) -> Health:
    """`ok` when the database answers a query within a few seconds."""
    try:
        await asyncio.wait_for(ping(get_engine()), PING_TIMEOUT_SECONDS)
    except Exception as error:  # any failure means "unavailable"; the reason says which
        response.status_code = 503
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return Health(status="unavailable", database=short_reason(error))
    return Health(status="ok", database="ok")
