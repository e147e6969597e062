"""OpenAPI descriptions of the error responses routes share, with examples."""

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """Every error answers with JSON holding `detail`."""

    detail: str


def error_response(description: str, example: str) -> dict[str, Any]:
    return {
        "model": ErrorBody,
        "description": description,
        "content": {"application/json": {"example": {"detail": example}}},
    }


UNAVAILABLE = {
    503: error_response(
        "The database is unavailable; retry after `Retry-After` seconds.",
        "The database is unavailable (timed out); try again shortly.",
    )
}
