"""HTTP caching for every answer: validators and 304s, Cache-Control and Vary, compression.

- **A list's ETag is weak and cheap**: made from the change counters of the tables it reads
  (app/changes.py) and the request's parameters. `read.page` (app/reads.py) answers `If-None-Match` with a
  304 after one look-up of a few rows, without building the page.
- **Every other JSON answer's ETag is strong**: a hash of its body (`ConditionalMiddleware`), so it changes
  exactly when the answer does. `If-None-Match` gets a 304 with no body; a write's `If-Match` is compared
  with it, atomically with the write (app/writes.py `load`).
- **Cache-Control**: anonymous reads of shared data `public, max-age=CACHE_MAX_AGE,
  stale-while-revalidate=CACHE_STALE_WHILE_REVALIDATE`; anything read with credentials or under `/me`,
  `/users` or `/auth` `private, no-cache` (kept by the browser, revalidated every time); writes and errors
  `no-store`. `Vary: Authorization` on every GET: a signed-in reader may get another answer (read from the
  primary rather than a lagging replica, and never shared).
- **Compression** (`CompressionMiddleware`): Brotli or gzip for answers of at least `COMPRESS_MIN_BYTES`
  when the client accepts it, with `Vary: Accept-Encoding`. A compressed answer is another representation,
  so its strong ETag gets the coding as a suffix (`"…-gzip"`, as RFC 9110 asks); validators the client sends
  back are compared without it.
"""

import base64
import gzip
import hashlib
import hmac
import json
from functools import lru_cache

import brotli
from pydantic import BaseModel
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings

# Smaller answers go out as they are: compressing them saves less than it costs.
COMPRESS_MIN_BYTES = 1024
# Answers are compressed whole; larger ones (files) are streamed, and go out as they are.
COMPRESS_MAX_BYTES = 4 * 1024 * 1024
COMPRESSIBLE = ("application/json", "text/", "application/javascript", "image/svg+xml")
# The suffix a compressed answer's strong ETag gets, by coding.
CODINGS = {"br": "-br", "gzip": "-gzip"}
READS = frozenset({"GET", "HEAD"})
# Paths whose answers are about the person asking, whoever it is.
PRIVATE_PATHS = ("/me", "/users", "/auth")
NOT_MODIFIED_HEADERS = ("cache-control", "content-location", "date", "etag", "expires", "vary")


def _digest(data: bytes, key: bytes = b"") -> str:
    return base64.urlsafe_b64encode(hashlib.blake2b(data, digest_size=16, key=key).digest()).rstrip(b"=").decode()


def body_etag(body: bytes) -> str:
    """The strong ETag of an answer's bytes."""
    return f'"{_digest(body)}"'


def render(model: BaseModel) -> bytes:
    """A model's JSON as every answer sends it: pydantic's own serialiser, which FastAPI uses for a route's
    response model too, so that its ETag is the same whether a GET, a write's answer or a precondition check
    makes it."""
    return model.model_dump_json().encode()


def etag_of(model: BaseModel) -> str:
    return body_etag(render(model))


@lru_cache(maxsize=4)
def _list_key(secret_key: str) -> bytes:
    # Keyed by the deployment's secret: list ETags tell nothing about the counters, and differ between deployments.
    return hmac.new(secret_key.encode(), b"app.http_caching list etag", hashlib.sha256).digest()[:32]


@lru_cache(maxsize=256)
def _representation(page_model: type[BaseModel]) -> str:
    # A change of the answer's shape (a field added) changes every ETag of the list, though no row changed.
    return _digest(json.dumps(page_model.model_json_schema(), sort_keys=True).encode())


def list_etag(page_model: type[BaseModel], name: str, params: BaseModel, owner_id: int | None, changes: int) -> str:
    """The weak ETag of one page of a list: its parameters, whose it is, and its tables' change count."""
    what = json.dumps(
        [name, _representation(page_model), params.model_dump(mode="json"), owner_id, changes], sort_keys=True
    )
    return f'W/"{_digest(what.encode(), _list_key(get_settings().secret_key))}"'


def _opaque(tag: str) -> str:
    """A validator without its weakness flag and a coding suffix this app added."""
    tag = tag.strip().removeprefix("W/")
    for suffix in CODINGS.values():
        if tag.endswith(suffix + '"'):
            return tag[: -len(suffix) - 1] + '"'
    return tag


def _tags(header: str) -> list[str]:
    return [tag for tag in (part.strip() for part in header.split(",")) if tag]


def none_match(if_none_match: str, etag: str) -> bool:
    """Whether `If-None-Match` names this ETag (weak comparison, RFC 9110 13.1.2): the client's copy is current."""
    return matching_tag(if_none_match, etag) is not None


def matching_tag(if_none_match: str, etag: str) -> str | None:
    """The tag of `If-None-Match` that names this ETag, as the client wrote it (with a coding's suffix); None if none."""
    tags = _tags(if_none_match)
    if "*" in tags:
        return etag
    return next((tag for tag in tags if _opaque(tag) == _opaque(etag)), None)


def matches_strongly(if_match: str, etag: str) -> bool:
    """Whether `If-Match` names this ETag (strong comparison, RFC 9110 13.1.1): a weak tag never matches."""
    tags = _tags(if_match)
    if "*" in tags:
        return True
    return not etag.startswith("W/") and _opaque(etag) in {_opaque(t) for t in tags if not t.startswith("W/")}


def has_credentials(headers: Headers) -> bool:
    return "authorization" in headers


def is_private_path(path: str) -> bool:
    return any(path == private or path.startswith(private + "/") for private in PRIVATE_PATHS)


def cache_control(request: Request, shared: bool) -> str:
    """What caches may do with a read: keep a shared answer a while; revalidate a private one every time."""
    if not shared or has_credentials(request.headers) or is_private_path(request.scope["path"]):
        return "private, no-cache"
    settings = get_settings()
    return f"public, max-age={settings.cache_max_age}, stale-while-revalidate={settings.cache_stale_while_revalidate}"


def not_modified(etag: str, control: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": control, "Vary": "Authorization"})


def json_answer(model: BaseModel, etag: str | None = None, control: str | None = None) -> Response:
    """A model's JSON, serialised once (FastAPI does not validate a Response again), with its validators."""
    response = Response(render(model), media_type="application/json")
    if etag is not None:
        response.headers["ETag"] = etag
    if control is not None:
        response.headers["Cache-Control"] = control
    return response


def _add_vary(headers: MutableHeaders, *names: str) -> None:
    present = {value.strip().lower() for value in headers.get("vary", "").split(",") if value.strip()}
    for name in names:
        if name.lower() not in present:
            headers.add_vary_header(name)
            present.add(name.lower())


def _is_json(headers: MutableHeaders) -> bool:
    return headers.get("content-type", "").startswith("application/json")


class ConditionalMiddleware:
    """Gives every JSON answer a strong ETag, answers a matching `If-None-Match` with 304, and sets the
    Cache-Control and Vary an answer lacks (errors and writes: no-store)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        method, path = scope["method"], scope["path"]
        start: Message | None = None
        body: list[bytes] = []

        async def send_with_validators(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                _default_cache_control(headers, message["status"], method, path, request_headers)
                if message["status"] in (200, 201) and "etag" not in headers and _is_json(headers):
                    start = message  # held until the body is known: its hash is the ETag
                    return
                await send(message)
                return
            if start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            content = b"".join(body)
            headers = MutableHeaders(scope=start)
            etag = body_etag(content)
            headers["ETag"] = etag
            if_none_match = request_headers.get("if-none-match")
            matched = matching_tag(if_none_match, etag) if if_none_match and method in READS else None
            if matched is not None and start["status"] == 200:
                # The ETag the client's copy has: compressed, it carries the coding's suffix (CompressionMiddleware).
                headers["ETag"] = matched
                kept = [(k, v) for k, v in start["headers"] if k.decode().lower() in NOT_MODIFIED_HEADERS]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send(start)
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, send_with_validators)


def _default_cache_control(
    headers: MutableHeaders, status: int, method: str, path: str, request_headers: Headers
) -> None:
    if method in READS:
        _add_vary(headers, "Authorization")
    if "cache-control" in headers:
        return
    if status >= 400 or method not in READS:
        headers["Cache-Control"] = "no-store"
    elif has_credentials(request_headers) or is_private_path(path):
        headers["Cache-Control"] = "private, no-cache"
    else:
        headers["Cache-Control"] = "no-cache"


def accepted_coding(accept_encoding: str) -> str | None:
    """The coding to answer in: Brotli if the client takes it, else gzip, else none (q=0 refuses one)."""
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, parameters = part.strip().partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[name.strip().lower()] = quality
    for coding in ("br", "gzip"):
        if weights.get(coding, weights.get("*", 0.0)) > 0:
            return coding
    return None


def compress(body: bytes, coding: str) -> bytes:
    # Fast settings: most of what there is to save, for a small share of the CPU a maximum would cost.
    return brotli.compress(body, quality=4) if coding == "br" else gzip.compress(body, compresslevel=5, mtime=0)


class CompressionMiddleware:
    """Compresses whole answers of a compressible type between COMPRESS_MIN_BYTES and COMPRESS_MAX_BYTES."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding = accepted_coding(Headers(scope=scope).get("accept-encoding", ""))
        start: Message | None = None
        body: list[bytes] = []

        async def send_compressed(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                length = headers.get("content-length", "")
                if (
                    length.isdigit()
                    and COMPRESS_MIN_BYTES <= int(length) <= COMPRESS_MAX_BYTES
                    and "content-encoding" not in headers
                    and headers.get("content-type", "").startswith(COMPRESSIBLE)
                ):
                    _add_vary(headers, "Accept-Encoding")
                    if coding is not None:
                        start = message
                        return
                await send(message)
                return
            if start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert coding is not None, "an answer is held only when it will be compressed"
            content = compress(b"".join(body), coding)
            headers = MutableHeaders(scope=start)
            headers["Content-Encoding"] = coding
            headers["Content-Length"] = str(len(content))
            etag = headers.get("etag")
            if etag and not etag.startswith("W/"):
                headers["ETag"] = etag[:-1] + CODINGS[coding] + '"'
            await send(start)
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, send_compressed)
