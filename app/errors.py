"""Errors the services raise, and the handlers that turn every failure into JSON with `detail`."""

import json
import logging
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from app.logs import REQUEST_ID_HEADER
from app.middleware import SECURITY_HEADERS

logger = logging.getLogger("app.errors")

RETRY_AFTER_SECONDS = "5"
# A 422 repeats the offending input only when it is this small; a client sent it and knows it anyway.
MAX_ECHOED_INPUT_CHARS = 200


class AppError(Exception):
    """An error a service raises for the client; `status_code` says which HTTP answer it becomes."""

    status_code = 400
    headers: dict[str, str] | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequestError(AppError):
    """The request is well-formed but cannot be carried out as asked (400)."""


class NotFoundError(AppError):
    """The thing asked for does not exist, or is not the asker's to see (404)."""

    status_code = 404


class InvalidValueError(AppError):
    """A value that passed validation but cannot be accepted (422, shaped like FastAPI's validation errors)."""

    status_code = 422

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.field = field


class ConflictError(AppError):
    """The request clashes with data already stored (409)."""

    status_code = 409


class PreconditionFailedError(AppError):
    """`If-Match` names a version the resource has moved on from (412); `ETag` says the current one."""

    status_code = 412

    def __init__(self, current_etag: str) -> None:
        super().__init__(
            "The resource changed since the version named in If-Match: read it again (its ETag is now "
            f"{current_etag}) and reapply your change."
        )
        self.headers = {"ETag": current_etag}


# What SQLite says (it gives no code) and PostgreSQL's SQLSTATEs when a statement names a table or column
# the database does not have: the schema is behind the code, which no retry mends.
_MISSING_IN_SQLITE = ("no such table", "no such column", "has no column named")
_MISSING_SQLSTATES = ("42P01", "42703")


def is_schema_behind(error: BaseException) -> bool:
    """True when a statement failed because the database lacks a table or column the code uses."""
    if not isinstance(error, DBAPIError):
        return False
    return sqlstate_of(error) in _MISSING_SQLSTATES or str(error.orig).startswith(_MISSING_IN_SQLITE)


def is_database_unavailable(error: BaseException) -> bool:
    """True when the database could not be reached or dropped the connection, not a bad query.

    An InterfaceError alone is not enough: the driver raises it for a misused API too (asyncpg's
    "the number of query arguments cannot exceed 32767"); a lost connection is marked invalidated.
    SQLite reports a missing column as an OperationalError too: that is a schema behind the code.
    """
    if is_schema_behind(error):
        return False
    if isinstance(error, (OperationalError, PoolTimeoutError, OSError)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def is_invalid_data(error: BaseException) -> bool:
    """True when the database refused a value the client sent (SQLSTATE class 22, "data exception").

    For example a NUL character in text, which PostgreSQL cannot store, or a number too large to compare.
    """
    return isinstance(error, DBAPIError) and sqlstate_of(error).startswith("22")


def sqlstate_of(error: BaseException) -> str:
    """The SQLSTATE the database answered with, if the driver's error names one (asyncpg's do, sqlite3's do not)."""
    return str(getattr(getattr(error, "orig", None), "sqlstate", None) or "")


def short_reason(error: BaseException) -> str:
    """A reason safe to show a client: the error's kind, never its message (it may hold a host or user)."""
    if isinstance(error, PoolTimeoutError):
        return "no free connection in the pool"
    if isinstance(error, TimeoutError):
        return "timed out"
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    return type(cause).__name__


def invalid_value(request: Request, message: str, field: str | None = None) -> JSONResponse:
    """A 422 shaped like FastAPI's own (as the OpenAPI schema says), for a value refused after validation."""
    where = "query" if request.method in ("GET", "HEAD") else "body"
    problem = {"type": "value_error", "loc": [where, field] if field else [where], "msg": message, "input": None}
    return JSONResponse({"detail": [problem]}, status_code=422)


def _echoable(value: Any, limit: int) -> Any:
    """`value` as JSON if it is small, finite and encodable (no NaN, no lone surrogate); otherwise None."""
    try:
        encoded = json.dumps(jsonable_encoder(value), allow_nan=False, ensure_ascii=False)
        encoded.encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    return json.loads(encoded) if len(encoded) <= limit else None


def _printable(text: object) -> object:
    """A location or message part that can always be sent: shortened, lone surrogates escaped."""
    if not isinstance(text, str):
        return text
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_ECHOED_INPUT_CHARS else text[:MAX_ECHOED_INPUT_CHARS] + "…"


def safe_validation_errors(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's validation problems, without large or unserialisable input a client could use to make us choke."""
    problems = []
    for error in errors:
        problem = {
            "type": error["type"],
            "loc": [_printable(part) for part in error["loc"]],
            "msg": _printable(error["msg"]),
            "input": _echoable(error.get("input"), MAX_ECHOED_INPUT_CHARS),
        }
        if "ctx" in error and (ctx := _echoable(error["ctx"], MAX_ECHOED_INPUT_CHARS)) is not None:
            problem["ctx"] = ctx
        problems.append(problem)
    return problems


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at this request's path (asked of the router, however nested).

    HEAD is served wherever GET is (app.middleware.HeadAsGetMiddleware).
    """
    served = {
        method
        for method in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in app.router.routes)
    }
    return sorted(served | ({"HEAD"} if "GET" in served else set()))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, error: AppError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(InvalidValueError)
    async def invalid_value_error(request: Request, error: InvalidValueError) -> JSONResponse:
        return invalid_value(request, error.detail, error.field)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": safe_validation_errors(error.errors())}, status_code=422)

    @app.exception_handler(UnicodeEncodeError)
    async def not_text(request: Request, error: UnicodeEncodeError) -> JSONResponse:
        # JSON may spell a lone surrogate ("\ud800"); Python accepts it, but no database stores it.
        return invalid_value(request, "A value cannot be stored: it holds a lone surrogate, which is not text.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 405:
            # Starlette names only the first matching route's methods; HTTP wants them all.
            headers = dict(error.headers or {}) | {"Allow": ", ".join(allowed_methods(app, request.scope))}
            error = StarletteHTTPException(405, error.detail, headers)
        return await http_exception_handler(request, error)

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, error: IntegrityError) -> JSONResponse:
        logger.info("Integrity error on %s %s: %s", request.method, request.url.path, type(error.orig).__name__)
        return JSONResponse({"detail": "The request conflicts with data already stored."}, status_code=409)

    async def database_error(request: Request, error: Exception) -> JSONResponse:
        if is_invalid_data(error):
            # The driver's message would quote the value and the database's internals: its code says enough.
            sqlstate = sqlstate_of(error)
            logger.info("Invalid data on %s %s: SQLSTATE %s", request.method, request.url.path, sqlstate)
            return invalid_value(
                request,
                f"A value cannot be stored: the database refused it (SQLSTATE {sqlstate}: "
                "for example a NUL character in text, or a number out of range).",
            )
        if is_schema_behind(error):
            logger.error(
                "The database's schema is behind the code (%s) on %s %s: write and run its migration "
                "(alembic revision --autogenerate, then alembic upgrade head)",
                str(getattr(error, "orig", error)).splitlines()[0][:200],
                request.method,
                request.url.path,
            )
            return internal_error()
        if not is_database_unavailable(error):
            return await unexpected(request, error)
        logger.warning("Database unavailable on %s %s: %s", request.method, request.url.path, short_reason(error))
        return JSONResponse(
            {"detail": f"The database is unavailable ({short_reason(error)}); try again shortly."},
            status_code=503,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )

    # Handled here rather than by the catch-all below, which re-raises to log a traceback:
    # an outage is expected, answered with 503, and logged as one line.
    for error_class in (DBAPIError, PoolTimeoutError, OSError):
        app.add_exception_handler(error_class, database_error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=error)
        return internal_error()


def internal_error() -> JSONResponse:
    """A 500 that says nothing of the cause (the log does), with the request's id for the bug report."""
    # Sent from outside every middleware, the request id's and the hardening's too.
    request_id = correlation_id.get()
    headers = SECURITY_HEADERS | ({REQUEST_ID_HEADER: request_id} if request_id else {})
    return JSONResponse({"detail": "Internal server error."}, status_code=500, headers=headers)
