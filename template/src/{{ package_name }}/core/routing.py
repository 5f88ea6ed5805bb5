"""Routers registered on the app route by route, with their full paths.

A domain keeps its own `APIRouter` (prefix, tags, dependencies). `app.include_router` keeps
an included router as one node of a tree (FastAPI 0.137 and later): every request scans the
routes of each router before its own, once to match and once to handle, prefix or not. That
was 13 % of the instructions of a GET of one order (docs/performance.md). Registered here,
each route is one entry of the app's own table: one scan, no per-router bookkeeping, and
the same OpenAPI document, dependencies and overrides as `include_router` gives. Each
entry is a `LiteralPrefixRoute`, which turns away a request for another path cheaply.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Match
from starlette.types import Scope


class LiteralPrefixRoute(APIRoute):
    """An `APIRoute` that turns a request away by the literal start of its path (up to its
    first `{`) before FastAPI's matching: a table of routes is scanned in order, and most
    of them are not the request's. A path its regex matches always starts with that literal;
    behind a `root_path` the check is left to FastAPI."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.literal_prefix = path.split("{", 1)[0]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not scope["path"].startswith(self.literal_prefix) and not scope.get("root_path"):
            return Match.NONE, {}
        return super().matches(scope)


def include_routes(
    app: FastAPI,
    router: APIRouter,
    *,
    prefix: str = "",
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> None:
    """`app.include_router(router, prefix=..., responses=...)`, flattened. A router holding
    anything but HTTP and WebSocket routes (a nested router, a mount) is included as a whole,
    the usual way."""
    if not all(isinstance(route, APIRoute | APIWebSocketRoute) for route in router.routes):
        app.include_router(router, prefix=prefix, responses=responses)
        return
    for route in router.routes:
        if isinstance(route, APIWebSocketRoute):
            app.router.add_api_websocket_route(
                prefix + route.path, route.endpoint, route.name, dependencies=route.dependencies
            )
            continue
        assert isinstance(route, APIRoute)
        app.router.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses={**(responses or {}), **route.responses},
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            # Routes of a class of yours keep it (and FastAPI's matching).
            route_class_override=LiteralPrefixRoute if type(route) is APIRoute else type(route),
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
        )
