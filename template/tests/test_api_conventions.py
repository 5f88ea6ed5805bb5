"""API conventions every route follows, the template's and yours (routers.py): versioned
paths, declared status codes and responses, documented errors, one tag per domain, and a
405 that names every method of its path."""

import re
import uuid

from fastapi import FastAPI
from fastapi.routing import APIRoute
from httpx import AsyncClient

from tests.factories import assert_error


def api_routes(app: FastAPI) -> list[APIRoute]:
    return [route for route in app.routes if isinstance(route, APIRoute)]


def test_every_business_route_is_versioned(app: FastAPI) -> None:
    for route in api_routes(app):
        assert route.path.startswith(("/api/v1/", "/health")), route.path


def test_every_route_declares_status_code_and_response(app: FastAPI) -> None:
    for route in api_routes(app):
        assert route.status_code is not None, route.path
        if route.status_code == 204:
            assert route.response_model is None, route.path
        else:
            assert route.response_model is not None, route.path
        assert route.summary, route.path


def test_creates_are_201_and_deletes_204(app: FastAPI) -> None:
    for route in api_routes(app):
        if "POST" in (route.methods or ()) and not route.path.endswith("/token"):
            assert route.status_code == 201, route.path
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
