"""`GET /health`: is the app up, and can it reach its database (and its read replica, if it has one)?"""

import asyncio
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from app.db import get_engine, ping
from app.errors import RETRY_AFTER_SECONDS, short_reason
from app.reader import replica_reader

router = APIRouter(tags=["health"])

# Platforms poll this every few seconds; an answer must come well before their own time-out.
PING_TIMEOUT_SECONDS = 3.0


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str
    replica: str | None = Field(
        default=None,
        description="Present when DATABASE_READ_URL is set: `ok`, or `unreachable, reading from the primary` "
        "(the app stays healthy; the replica is checked again every DATABASE_READ_RETRY_SECONDS).",
    )


@router.get(
    "/health",
    operation_id="health-check",
    summary="Check health",
    response_model_exclude_none=True,
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
    """`ok` when the database answers a query within a few seconds; `replica` says where reads go."""
    replica_status, database_error = await asyncio.gather(_replica_status(), _database_error())
    if database_error is not None:
        response.status_code = 503
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return Health(status="unavailable", database=short_reason(database_error), replica=replica_status)
    return Health(status="ok", database="ok", replica=replica_status)


async def _database_error() -> Exception | None:
    try:
        await asyncio.wait_for(ping(get_engine()), PING_TIMEOUT_SECONDS)
    except Exception as error:  # any failure means "unavailable"; the reason says which
        return error
    return None


async def _replica_status() -> str | None:
    replica = replica_reader()
    if replica is None:
        return None
    # A replica found unreachable is not asked again before its retry time: platforms poll often.
    if replica.check_due:
        await replica.check()
    return replica.status
