"""API conventions every route follows, the template's and yours (routers.py): versioned
paths, declared status codes and responses, documented errors, one tag per domain, and a
405 that names every method of its path."""

import re
import uuid
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, RouteContext, iter_route_contexts
from httpx import AsyncClient

from tests.factories import assert_error


def served_routes(app: FastAPI) -> list[RouteContext]:
    """Every route the app serves, with its full path: those registered one by one
    (core/routing.py) and those of a router included whole, which ``app.routes`` holds as
    one entry. A ``RouteContext`` reads like the route, with the path it is served at.
    """
    return list(iter_route_contexts(app.routes))


def api_routes(app: FastAPI) -> list[RouteContext]:
    routes = [route for route in served_routes(app) if isinstance(route.original_route, APIRoute)]
    assert routes, "no API route found: the checks below would prove nothing"
    return routes


def test_every_business_route_is_versioned(app: FastAPI) -> None:
    for route in api_routes(app):
        assert (route.path or "").startswith(("/api/v1/", "/health")), route.path


def test_every_route_declares_status_code_and_response(app: FastAPI) -> None:
    for route in api_routes(app):
        assert route.status_code is not None, route.path
        if route.status_code == 204:
            assert route.response_model is None, route.path
        else:
            assert route.response_model is not None, route.path
        assert route.summary, route.path


# POSTs that create nothing a client reads back: session, password and verification actions.
POST_ACTIONS = {
    "/api/v1/users/token": 200,
    "/api/v1/users/token/refresh": 200,
    "/api/v1/users/logout": 204,
    "/api/v1/users/logout-all": 204,
    "/api/v1/users/me/password": 204,
    "/api/v1/users/password-reset": 202,
    "/api/v1/users/password-reset/confirm": 204,
    "/api/v1/users/verify": 204,
    "/api/v1/users/me/verification-email": 202,
}


def test_creates_are_201_and_deletes_204(app: FastAPI) -> None:
    for route in api_routes(app):
        if "POST" in (route.methods or ()):
            assert route.status_code == POST_ACTIONS.get(route.path or "", 201), route.path
        if "DELETE" in (route.methods or ()):
            assert route.status_code == 204, route.path


def test_error_responses_use_the_error_body(app: FastAPI) -> None:
    schema = app.openapi()
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (path, status)


def test_routes_are_tagged_by_domain(app: FastAPI) -> None:
    for route in api_routes(app):
        assert len(route.tags) == 1, route.path


async def test_a_405_allows_every_method_of_its_path(app: FastAPI, client: AsyncClient) -> None:
    """RFC 9110: `Allow` lists every method the resource supports, not one route's."""
    paths = app.openapi()["paths"]
    for path, operations in paths.items():
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        documented = {method.upper() for method in operations}

        response = await client.options(url)

        assert response.status_code == 405, path
        assert_error(response.json(), "method_not_allowed")
        allowed = {method.strip() for method in response.headers["Allow"].split(",")}
        assert allowed - {"HEAD"} == documented, path
    assert {"/api/v1/orders", "/api/v1/orders/{order_id}"} <= set(paths)


README = Path(__file__).resolve().parents[1] / "README.md"
ENDPOINT_ROW = re.compile(r"^\| `(?P<method>[A-Z]+)` \| `(?P<path>/[^`]*)` \|", re.M)
# The template's domains: README.md lists their routes; yours are left out.
TEMPLATE_PATHS = re.compile(r"^(/health|/api/v1/users|/api/v1/orders|/api/v1/admin)(/|$)")


def test_readme_lists_the_template_routes(app: FastAPI) -> None:
    """README.md's endpoint table: every route of the template's domains, and only those."""
    documented = {(row["method"], row["path"]) for row in ENDPOINT_ROW.finditer(README.read_text())}
    served: set[tuple[str, str]] = set()
    for route in served_routes(app):
        path = route.path or ""
        if not TEMPLATE_PATHS.match(path):
            continue
        if isinstance(route.original_route, APIRoute):
            served |= {(method, path) for method in route.methods or ()}
        elif isinstance(route.original_route, APIWebSocketRoute):
            served.add(("WS", path))

    assert documented == served
