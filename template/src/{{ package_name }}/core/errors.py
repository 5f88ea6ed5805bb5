"""One exception hierarchy, one handler, one error body for every error the API returns."""

import logging
from http import HTTPMethod, HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

logger = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    loc: list[str | int]
    message: str
    type: str


class Error(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: Error


class AppError(Exception):
    """Base of every error the service raises on purpose; services never raise HTTPException."""

    status_code: ClassVar[int] = HTTPStatus.INTERNAL_SERVER_ERROR
    code: ClassVar[str] = "internal_error"
    message: ClassVar[str] = "The server could not complete the request."
    headers: ClassVar[dict[str, str] | None] = None
    # True when what the request wrote before the error must be kept (committed), e.g. a
    # stolen token's session revoked before the refusal is answered.
    keeps_writes: ClassVar[bool] = False

    def __init__(self, message: str | None = None) -> None:
        self.detail = message or self.message
        super().__init__(self.detail)


class BadRequestError(AppError):
    status_code = HTTPStatus.BAD_REQUEST
    code = "bad_request"
    message = "The request cannot be carried out as it is."


class NotFoundError(AppError):
    status_code = HTTPStatus.NOT_FOUND
    code = "not_found"
    message = "The resource was not found."


class PermissionDeniedError(AppError):
    status_code = HTTPStatus.FORBIDDEN
    code = "permission_denied"
    message = "You are not allowed to do this."


class ConflictError(AppError):
    status_code = HTTPStatus.CONFLICT
    code = "conflict"
    message = "The request conflicts with the current state of the resource."


class AuthenticationError(AppError):
    status_code = HTTPStatus.UNAUTHORIZED
    code = "not_authenticated"
    message = "Could not validate credentials."
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class ServiceUnavailableError(AppError):
    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    code = "service_unavailable"
    message = "A service this request needs is unavailable; try again later."
    headers: ClassVar[dict[str, str] | None] = {"Retry-After": "5"}


# Standard HTTP errors raised by routing (unknown path, wrong method, ...) keep
# their status but get a stable machine-readable code.
_HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=Error(code=code, message=message, details=details or []))
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=headers)


# Responses to document on routes, so that clients see the error body in OpenAPI.
def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"model": ErrorBody, "description": HTTPStatus(code).phrase} for code in status_codes
    }


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.detail, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only location, message and type: the offending input may hold a password.
    details = [
        ErrorDetail(loc=list(error.get("loc", ())), message=error["msg"], type=error["type"])
        for error in exc.errors()
    ]
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", "The request is invalid.", details
    )


def allowed_methods(request: Request) -> str:
    """Every method the request's path is served with, for `Allow` (RFC 9110 wants them all).

    The router names only the methods of the first route that matched the path, and each
    method of a path is a route of its own; so ask the router, method by method, which would
    serve it. Only a 405 pays for this.
    """
    scope = request.scope
    allowed = []
    for method in HTTPMethod:
        probe: Scope = {
            "type": "http",
            "method": method.value,
            "path": scope["path"],
            "root_path": scope.get("root_path", ""),
            "headers": [],
            "query_string": b"",
            "app": scope.get("app"),
        }
        routes = request.app.router.routes
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            allowed.append(method.value)
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers = (headers or {}) | {"Allow": allowed_methods(request)}
    return error_response(exc.status_code, code, message, headers=headers)


async def _unhandled_error(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, AppError.code, AppError.message)


async def _websocket_left(_: WebSocket, __: Exception) -> None:
    """A client that closed its WebSocket (while signing in, say) is not an error."""


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(WebSocketDisconnect, _websocket_left)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)
