"""Errors the services raise, and the handlers that turn every failure into JSON with `detail`."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

logger = logging.getLogger("app.errors")

RETRY_AFTER_SECONDS = "5"


class NotFoundError(Exception):
    """The thing asked for does not exist (404)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConflictError(Exception):
    """The request clashes with data already stored (409)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def is_database_unavailable(error: BaseException) -> bool:
    """True when the database could not be reached or dropped the connection, not a bad query."""
    if isinstance(error, (OperationalError, InterfaceError, PoolTimeoutError, OSError)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def short_reason(error: BaseException) -> str:
    """A reason safe to show a client: the error's kind, never its message (it may hold a host or user)."""
    if isinstance(error, PoolTimeoutError):
        return "no free connection in the pool"
    if isinstance(error, TimeoutError):
        return "timed out"
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    return type(cause).__name__


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, error: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=404)

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, error: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=409)

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, error: IntegrityError) -> JSONResponse:
        logger.info("Integrity error on %s %s: %s", request.method, request.url.path, type(error.orig).__name__)
        return JSONResponse({"detail": "The request conflicts with data already stored."}, status_code=409)

    async def database_error(request: Request, error: Exception) -> JSONResponse:
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
