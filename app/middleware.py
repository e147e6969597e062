"""ASGI middleware every response passes through: a body size limit, security headers, safe redirects, HEAD."""

from urllib.parse import urlsplit

from fastapi import HTTPException
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


class HardeningMiddleware:
    """Refuses a body larger than the limit, and hardens every response's headers.

    A body announced as too large (Content-Length) is refused unread; one sent without a length is
    counted as it streams, and reading stops with a 413 as soon as it passes the limit.
    Redirects the app makes itself (a trailing slash) would name the request's Host header, which
    a client chooses: their `Location` keeps only the path, which browsers resolve against the real host.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        send = self._hardened(send, request_headers.get("host"))
        length = request_headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            response = JSONResponse({"detail": too_large_message(self.max_body_bytes)}, status_code=413)
            await response(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                # Raised inside the route's body reading, where FastAPI passes HTTPException on to its handler.
                raise HTTPException(413, detail=too_large_message(self.max_body_bytes))
            return message

        return receive_limited

    @staticmethod
    def _hardened(send: Send, host: str | None) -> Send:
        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                location = urlsplit(headers.get("location", ""))
                if location.netloc and location.netloc == host:
                    headers["location"] = location._replace(scheme="", netloc="").geturl() or "/"
            await send(message)

        return send_hardened


class HeadAsGetMiddleware:
    """Answers HEAD as the GET of the same URL would, without the body: HTTP asks for HEAD wherever GET works.

    FastAPI's routes answer only the methods they declare; declaring HEAD on each would add an operation
    per route to the OpenAPI document, and a function per route to every generated client. The request
    runs as a GET, so an anonymous HEAD reads from the read replica as an anonymous GET does.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
