"""The FastAPI application: `uvicorn app.main:app`."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from app.auth.routes import router as auth_router
from app.authors.routes import router as authors_router
from app.config import ConfigError, debug_requested, get_settings, load_logging_settings
from app.db import dispose_engine, get_engine
from app.error_reports import start_error_reports
from app.errors import install_error_handlers
from app.health import router as health_router
from app.http_caching import CompressionMiddleware, ConditionalMiddleware
from app.logs import REQUEST_ID_HEADER, RequestIdMiddleware, configure_logging
from app.middleware import HardeningMiddleware, HeadAsGetMiddleware
from app.notes.routes import router as notes_router
from app.peps.routes import router as peps_router
from app.startup import (
    OneLineStartupFailure,
    StartupFailed,
    check_read_replica,
    describe_startup,
    explain_failure,
    prepare_database,
)
from app.users.routes import router as users_router
from app.worker import jobs_in_process

logger = logging.getLogger("app")

DESCRIPTION = """
A catalogue of Python Enhancement Proposals and their authors.

Reading the catalogue is public. **Changing it (POST, PATCH, DELETE on `/peps` and `/authors`) needs a
superuser**: a signed-up account cannot, and gets 403. The first superuser is the account named by the
`FIRST_SUPERUSER_EMAIL` and `FIRST_SUPERUSER_PASSWORD` settings. Anyone may sign up (`POST /auth/register`)
to keep private notes under `/me/notes`: press **Authorize** and sign in with your email and password.
Access tokens last minutes; `POST /auth/refresh` trades the refresh token for a new pair, `POST /auth/logout` signs out.

Lists take `limit` and `offset` and answer `{items, total, limit, offset}`. Every error is JSON with a `detail` key.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    try:
        revision = await prepare_database(get_engine(), settings)
    except Exception as error:
        problem = explain_failure(error, settings)
        if problem is None or settings.debug:  # DEBUG=true keeps the traceback
            raise
        raise StartupFailed(problem) from None
    logger.info(describe_startup(settings, revision))
    await check_read_replica()
    async with jobs_in_process(settings):  # emails, the scheduled refresh and clean-up (app/worker.py)
        yield
    await dispose_engine()


def create_app() -> FastAPI:
    try:
        # Here rather than in the lifespan: uvicorn has set its own logging up by the time it imports the app,
        # and the start-up's lines (reading the other settings may warn) should already be in the chosen format.
        logging_settings = load_logging_settings()
        configure_logging(logging_settings.log_format, logging_settings.log_level)
        settings = get_settings()
    except ConfigError as error:
        if debug_requested():
            raise
        # Raised while uvicorn imports the app: SystemExit prints its message alone, with no traceback.
        raise SystemExit(f"error: {error.with_fix()}") from None
    # /docs and /redoc with their scripts and styles served by the app itself: they work offline.
    app = FastAPIOffline(
        title="PEP catalogue API",
        version="1.0.0",
        description=DESCRIPTION,
        servers=[{"url": settings.api_public_url}],
        lifespan=lifespan,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[REQUEST_ID_HEADER],
        )
    # ETags, 304s and Cache-Control (inside the compression: an ETag names the uncompressed answer).
    app.add_middleware(ConditionalMiddleware)
    app.add_middleware(CompressionMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    # A failed start-up (schema behind, database unreachable) is logged as one line; it sees only the lifespan.
    app.add_middleware(OneLineStartupFailure)
    app.add_middleware(HardeningMiddleware, max_body_bytes=settings.max_request_body_bytes)
    # Added last, so it wraps everything else: a refused body and a CORS answer carry the request id too.
    app.add_middleware(RequestIdMiddleware, on_request_id=start_error_reports(settings))
    install_error_handlers(app)
    # FastAPI tries routers in this order for every request: the catalogue's reads come first. It is
    # also the order of the sections in /docs.
    for router in (peps_router, authors_router, notes_router, auth_router, users_router, health_router):
        app.include_router(router)
    return app


app = create_app()
