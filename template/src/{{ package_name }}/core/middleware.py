"""Pure ASGI middleware: cheaper than BaseHTTPMiddleware and safe for streaming bodies."""

import functools
import ipaddress
import logging
import re
import secrets
import time
from collections.abc import Sequence
from http import HTTPStatus

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import AppError, error_response
from .logging import request_id_var

logger = logging.getLogger("access")

REQUEST_ID_HEADER = "X-Request-ID"
# A client-supplied request id is echoed only if it is short and plain:
# anything else could smuggle new lines or headers into logs and responses.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}
# The interactive docs load their scripts from a CDN; the API itself needs nothing.
API_CSP = "default-src 'none'; frame-ancestors 'none'"

# Encoded once: every response gets these, unless the app already set the header.
_RAW_SECURITY_HEADERS = [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in SECURITY_HEADERS.items()
]
_RAW_API_CSP = (b"content-security-policy", API_CSP.encode("latin-1"))
_RAW_REQUEST_ID = REQUEST_ID_HEADER.lower().encode("latin-1")


class RequestContextMiddleware:
    """Request id (from the client or new), access log, and security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id_from(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_code = HTTPStatus.INTERNAL_SERVER_ERROR.value
        is_docs = scope["path"].startswith(("/docs", "/redoc"))

        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() != _RAW_REQUEST_ID
                ]
                present = {name.lower() for name, _ in headers}
                headers.append((_RAW_REQUEST_ID, request_id.encode("latin-1")))
                headers.extend(h for h in _RAW_SECURITY_HEADERS if h[0] not in present)
                if not is_docs and _RAW_API_CSP[0] not in present:
                    headers.append(_RAW_API_CSP)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # The 500 handler answers outside this middleware: answer here, so that even
            # a crash gets the security headers and the request id. The server still sees
            # the exception (and the handler logs it).
            if not response_started:
                await error_response(
                    HTTPStatus.INTERNAL_SERVER_ERROR, AppError.code, AppError.message
                )(scope, receive, send_with_headers)
            raise
        finally:
            logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)


def _request_id_from(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return secrets.token_hex(16)


class BodySizeLimitMiddleware:
    """Answer 413 with the error body when a request body exceeds the limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # Raised inside the endpoint's body read, so the error handlers answer it.
                    raise HTTPException(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._message)
            return message

        await self.app(scope, limited_receive, send)

    @property
    def _message(self) -> str:
        return f"The request body is larger than {self.max_body_bytes} bytes."

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "payload_too_large",
            self._message,
        )
        await response(scope, receive, send)


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# X-Forwarded-Proto values understood, and whether the client's connection was encrypted.
_SECURE = {"http": False, "ws": False, "https": True, "wss": True}


class ProxyHeadersMiddleware:
    """The client's address and scheme as the reverse proxies in front report them.

    `X-Forwarded-For` and `X-Forwarded-Proto` are read only from a peer in `trusted` (the
    TRUSTED_PROXIES setting); anyone else could write them. The client is then the nearest
    untrusted hop: the header is walked from the right, skipping trusted proxies, because
    each proxy appends the address it was connected from and everything left of the first
    untrusted address was written by the client itself. The server's own handling of these
    headers must be off (uvicorn `--no-proxy-headers`), or it would rewrite the peer first.
    """

    def __init__(self, app: ASGIApp, trusted: Sequence[IPNetwork]) -> None:
        self.app = app
        self.trusted = tuple(trusted)
        self._is_trusted = functools.lru_cache(maxsize=1024)(self._in_trusted)

    def _in_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in {"http", "websocket"} and client and self._is_trusted(client[0]):
            self._resolve(scope)
        await self.app(scope, receive, send)

    def _resolve(self, scope: Scope) -> None:
        hops: list[str] = []
        schemes: list[str] = []
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                hops.extend(hop.strip() for hop in value.decode("latin-1").split(","))
            elif name == b"x-forwarded-proto":
                schemes.extend(s.strip().lower() for s in value.decode("latin-1").split(","))
        # The nearest untrusted hop; every hop trusted, the farthest one.
        index = next((i for i in reversed(range(len(hops))) if not self._is_trusted(hops[i])), 0)
        if hops and hops[index]:
            scope["client"] = (hops[index], 0)
        if not schemes:
            return
        # Proxies that append give a scheme per hop, the client's at its index; otherwise
        # the one the nearest proxy set.
        scheme = schemes[index] if len(schemes) == len(hops) else schemes[-1]
        if scheme in _SECURE:
            secure = _SECURE[scheme]
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = "https" if secure else "http"
