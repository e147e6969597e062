"""Log lines, plain or JSON (LOG_FORMAT) at LOG_LEVEL, each naming the request it belongs to by its id.

The request id comes from asgi-correlation-id's middleware: the client's (or the platform router's)
`X-Request-ID` when it is a sane value, a new one otherwise, and it is sent back on every response.
uvicorn's own loggers (its access line, its tracebacks) are routed through the same handler.
"""

import logging
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from pythonjsonlogger.json import JsonFormatter
from starlette.types import Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
# Long enough for a UUID, a trace id or a platform's own id; nothing that could break a log line or forge one.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
# A query parameter whose name says it carries a secret has its value left out of the access line.
_SECRET_PARAMETER = re.compile(r"token|password|secret|key|code|signature|auth", re.IGNORECASE)
_HANDLER_NAME = "pep-catalogue"
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

LogFormat = Literal["plain", "json"]
PLAIN_FORMAT = "%(levelname)s: [%(request_id)s] %(name)s: %(message)s"


@dataclass(frozen=True)
class RequestInfo:
    method: str
    path: str
    started: float


current_request: ContextVar[RequestInfo | None] = ContextVar("current_request", default=None)


def is_sane_request_id(value: str) -> bool:
    return _SANE_REQUEST_ID.fullmatch(value) is not None


@dataclass
class RequestIdMiddleware(CorrelationIdMiddleware):
    """asgi-correlation-id's middleware, which also remembers the request's method, path and start for its log lines.

    `on_request_id`, when given, is called with each request's id (error reports are tagged with it).
    """

    validator: Callable[[str], bool] | None = is_sane_request_id
    on_request_id: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        # The library's own hook imports sentry_sdk whenever it is installed; error reporting is opt-in instead.
        self.sentry_extension = self.on_request_id or (lambda request_id: None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            current_request.set(RequestInfo(scope["method"], scope["path"], time.perf_counter()))
        await super().__call__(scope, receive, send)


def without_secrets(path_with_query: str) -> str:
    """The path and query, with the values of parameters that look like credentials replaced."""
    parts = urlsplit(path_with_query)
    parameters = parse_qsl(parts.query, keep_blank_values=True)
    if not any(_SECRET_PARAMETER.search(name) for name, _ in parameters):
        return path_with_query
    query = [(name, "[redacted]" if _SECRET_PARAMETER.search(name) else value) for name, value in parameters]
    return parts._replace(query=urlencode(query, safe="[]")).geturl()


class RequestFields(logging.Filter):
    """Adds request_id (and, inside a request, method and path) to every record; status and duration to access lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = correlation_id.get()
        request = current_request.get()
        if request is not None:
            record.method = request.method
            record.path = request.path
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path_with_query, http_version, status = record.args
            record.args = (client, method, without_secrets(str(path_with_query)), http_version, status)
            record.status = status
            if request is not None:
                record.duration_ms = round((time.perf_counter() - request.started) * 1000, 1)
        return True


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


def make_formatter(log_format: LogFormat) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            # uvicorn's coloured copy of some messages is of no use in JSON.
            reserved_attrs=[*logging.LogRecord("", 0, "", 0, None, None, None).__dict__, "color_message"],
        )
    return PlainFormatter(PLAIN_FORMAT)


def configure_logging(log_format: LogFormat, level: str) -> None:
    """One handler on the root logger, in the chosen format, that uvicorn's loggers feed too.

    Logging someone else set up (pytest's capture, a `--log-config` file) is left as it is; so is
    uvicorn's access log when `--no-access-log` turned it off.
    """
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if handler.name == _HANDLER_NAME]
    if root.handlers and not ours:
        return
    handler = logging.StreamHandler()
    handler.name = _HANDLER_NAME
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(RequestFields())
    for old in ours:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        if uvicorn_logger.handlers:
            uvicorn_logger.handlers.clear()
            uvicorn_logger.propagate = True
        # LOG_LEVEL decides for uvicorn's lines too.
        uvicorn_logger.setLevel(logging.NOTSET)
    # It warns whenever a client sends an id it does not accept, before the replacement is the request's id;
    # the response carries the id used, and the client's choice is not the operator's problem.
    logging.getLogger("asgi_correlation_id").setLevel(logging.ERROR)
