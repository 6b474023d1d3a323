"""ASGI middleware: request size limits, ``Server-Timing`` and protective headers.

Size limits are enforced twice: on the declared ``Content-Length`` (rejected before the body is
read) and on the bytes actually received (for chunked uploads), each answered with 413 and the
error body naming ``body``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from .errors import ApiError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit:,} bytes"


class LimitsAndHeaders:
    """Body size limits per route, timing header and security headers on every answer.

    Parameters
    ----------
    app : ASGI app
    default_limit : int
        Largest body of any request not matched by ``limits``.
    limits : sequence of (method, path regex, bytes)
        Larger limits for particular routes (network upload, batch jobs).
    """

    def __init__(self, app: ASGIApp, default_limit: int,
                 limits: Sequence[tuple[str, str, int]] = ()) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = [(m, re.compile(p), n) for m, p, n in limits]

    def _limit(self, method: str, path: str) -> int:
        for m, rx, n in self.limits:
            if m == method and rx.fullmatch(path):
                return n
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        limit = self._limit(scope["method"], scope["path"])
        declared = None
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = -1
        if declared is not None and (declared < 0 or declared > limit):
            msg = "invalid Content-Length" if declared < 0 else _too_large(limit)
            status = 400 if declared < 0 else 413
            body = json.dumps({"error": {"status": status, "code": "payload_too_large" if status == 413
                                         else "bad_request", "message": msg, "field": "body",
                                         "details": [], "problems": []}}).encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise ApiError(413, "payload_too_large", _too_large(limit), field="body")
            return msg

        async def send_with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                dur = (time.perf_counter() - t0) * 1000
                headers.append((b"server-timing", f"app;dur={dur:.2f}".encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"cache-control", b"no-store"))
                msg["headers"] = headers
            await send(msg)

        await self.app(scope, limited_receive, send_with_headers)
