"""OpenAPI descriptions of the error responses routes share, with examples."""

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """Every error answers with JSON holding `detail`."""

    detail: str


# What FastAPI's `responses=` takes: the OpenAPI description of answers, by status code.
Responses = dict[int | str, dict[str, Any]]


def error_response(description: str, example: str) -> dict[str, Any]:
    return {
        "model": ErrorBody,
        "description": description,
        "content": {"application/json": {"example": {"detail": example}}},
    }


# FastAPI answers 400 when a body cannot even be decoded (not UTF-8, truncated form data).
UNREADABLE_BODY: Responses = {
    400: error_response("The request body could not be read.", "There was an error parsing the body")
}
UNAVAILABLE: Responses = {
    503: error_response(
        "The database is unavailable; retry after `Retry-After` seconds.",
        "The database is unavailable (timed out); try again shortly.",
    )
}
PRECONDITION_FAILED: Responses = {
    412: error_response(
        "`If-Match` names an ETag the resource no longer has: someone changed it since you read it.",
        'The resource changed since the version named in If-Match: read it again (its ETag is now "Zk3…") and '
        "reapply your change.",
    )
}
