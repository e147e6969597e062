"""Errors the services raise, and the handlers that turn every failure into JSON with `detail`."""

import logging

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

logger = logging.getLogger("app.errors")

RETRY_AFTER_SECONDS = "5"


class AppError(Exception):
    """An error a service raises for the client; `status_code` says which HTTP answer it becomes."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequestError(AppError):
    """The request is well-formed but cannot be carried out as asked (400)."""


class NotFoundError(AppError):
    """The thing asked for does not exist, or is not the asker's to see (404)."""

    status_code = 404


class ConflictError(AppError):
    """The request clashes with data already stored (409)."""

    status_code = 409


def is_database_unavailable(error: BaseException) -> bool:
    """True when the database could not be reached or dropped the connection, not a bad query."""
    if isinstance(error, (OperationalError, InterfaceError, PoolTimeoutError, OSError)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def is_invalid_data(error: BaseException) -> bool:
    """True when the database refused a value the client sent (SQLSTATE class 22, "data exception").

    For example a NUL character in text, which PostgreSQL cannot store, or a number too large to compare.
    """
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None) or ""
    return isinstance(error, DBAPIError) and sqlstate.startswith("22")


def short_reason(error: BaseException) -> str:
    """A reason safe to show a client: the error's kind, never its message (it may hold a host or user)."""
    if isinstance(error, PoolTimeoutError):
        return "no free connection in the pool"
    if isinstance(error, TimeoutError):
        return "timed out"
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    return type(cause).__name__


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at this request's path (asked of the router, however nested)."""
    return [
        method
        for method in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in app.router.routes)
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, error: AppError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

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
            # Shaped like every other 422 (FastAPI's validation errors), as the OpenAPI schema says.
            message = str(getattr(error, "orig", error)).splitlines()[0]
            where = "query" if request.method in ("GET", "HEAD") else "body"
            problem = {
                "type": "value_error",
                "loc": [where],
                "msg": f"A value cannot be stored: {message}",
                "input": None,
            }
            return JSONResponse({"detail": [problem]}, status_code=422)
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
        return JSONResponse({"detail": "Internal server error."}, status_code=500)
