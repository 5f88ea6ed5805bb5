"""What FastAPI's own machinery costs per request, with no database and no work.

    <project>/.venv/bin/python benchmarks/framework_floor.py                 # about 30 seconds
    <project>/.venv/bin/python benchmarks/framework_floor.py --instructions  # about 3 minutes

The generated GET /api/v1/orders/{id} is measured against a raw Starlette route in
benchmarks/perf.py. This script isolates the part of the difference no code of ours does:
the same app shapes with trivial bodies (no I/O, no JWT, no query), called in-process through
ASGI, CPU time per request (`time.thread_time`), best of 5 rounds; with `--instructions`,
instructions per request under `valgrind --tool=callgrind` instead (1,000 calls after 30 of
warm-up, `PYTHONMALLOC=malloc`: the method and unit of benchmarks/instructions.py, so the GET
shape's count is FastAPI's part of the generated GET's):

  starlette            one Starlette route returning a JSONResponse (the raw reference's shape)
  fastapi, bare        one FastAPI route, `response_model`, no dependency
  + 1 dependency       ... plus one `async def` dependency
  + yield dependency   ... plus one `yield` dependency with `scope="function"` (how `get_db`
                       commits before the response is sent)
  GET one order shape  the dependency graph of the generated GET one order: `owned_order`
                       (path parameter, order repository -> `get_db`; it calls
                       `valid_order_id`) and the current user in one dependency
                       (`OAuth2PasswordBearer`, user repository -> `get_db`; settings from the
                       app), routers included under /api/v1 beside the other domains

  GET one order shape, routers included
                       the same, its routers included with `app.include_router` (the
                       generated app before `core/routing.py`): what FastAPI's tree of
                       included routers costs

Every FastAPI app has the generated app's routers and route counts (health 2, users 12,
admin 3, orders 6, the GET one order third of its router), registered route by route as
`core/routing.py` does (its `LiteralPrefixRoute`) unless the shape says otherwise: routing
scans them.

Run it with the interpreter of a rendered project (the template's own environment has no
FastAPI): ``<project>/.venv/bin/python benchmarks/framework_floor.py``.
"""

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Match, Route
from starlette.types import Scope

ROUNDS = 5
CALLS = 5000
ORDER_ID = uuid4()
OWNER_ID = uuid4()
NOW = datetime.now(UTC)


class OrderRead(BaseModel):
    id: UUID
    owner_id: UUID
    item: str
    quantity: int
    status: str
    created_at: datetime
    updated_at: datetime


ORDER = OrderRead(
    id=ORDER_ID,
    owner_id=OWNER_ID,
    item="thing",
    quantity=2,
    status="pending",
    created_at=NOW,
    updated_at=NOW,
)


# The dependencies of the generated GET one order, with trivial bodies.
async def get_db(request: Request) -> AsyncIterator[object]:
    yield request.app


async def get_settings(request: Request) -> object:
    return request.app


async def get_repository(db: Annotated[object, Depends(get_db, scope="function")]) -> object:
    return db


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/users/token")


async def current_user(
    request: Request,
    token: Annotated[str, Depends(oauth2_scheme)],
    users: Annotated[object, Depends(get_repository)],
) -> UUID:
    return OWNER_ID  # the generated one reads the settings from request.app.state


async def valid_order_id(order_id: UUID, orders: object) -> OrderRead:
    return ORDER


async def owned_order(
    user: Annotated[UUID, Depends(current_user)],
    order_id: UUID,
    orders: Annotated[object, Depends(get_repository)],
) -> OrderRead:
    return await valid_order_id(order_id, orders)  # called, not declared, as generated


class LiteralPrefixRoute(APIRoute):
    """The generated `core/routing.py`'s route class: a request for another path is turned
    away by the literal start of the route's path, before FastAPI's matching."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.literal_prefix = path.split("{", 1)[0]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not scope["path"].startswith(self.literal_prefix) and not scope.get("root_path"):
            return Match.NONE, {}
        return super().matches(scope)


def starlette_app() -> Starlette:
    async def get_order(_: StarletteRequest) -> JSONResponse:
        return JSONResponse(ORDER.model_dump(mode="json"))

    return Starlette(routes=[Route("/api/v1/orders/{order_id}", get_order)])


def fastapi_app(shape: str) -> FastAPI:
    """FastAPI apps of growing dependency graphs, routers included as the template does."""
    router = APIRouter(prefix="/orders", tags=["orders"])

    if shape == "bare":

        @router.get("/{order_id}", response_model=OrderRead)
        async def bare(order_id: UUID) -> OrderRead:
            return ORDER

    elif shape == "one dependency":

        @router.get("/{order_id}", response_model=OrderRead)
        async def with_one(
            order_id: UUID, _: Annotated[object, Depends(get_settings)]
        ) -> OrderRead:
            return ORDER

    elif shape == "yield dependency":

        @router.get("/{order_id}", response_model=OrderRead)
        async def with_yield(
            order_id: UUID, _: Annotated[object, Depends(get_db, scope="function")]
        ) -> OrderRead:
            return ORDER

    else:

        @router.get("/{order_id}", response_model=OrderRead)
        async def get_order(order: Annotated[OrderRead, Depends(owned_order)]) -> OrderRead:
            return order

    # The other routes of the generated app, in its order: routing scans them.
    async def other() -> dict[str, str]:
        return {}

    for method, path in (("POST", ""), ("GET", "")):  # the orders routes before GET one
        router.add_api_route(path, other, methods=[method])
    router.routes.insert(0, router.routes.pop())
    router.routes.insert(0, router.routes.pop())
    for method, path in (("PATCH", "/{order_id}"), ("DELETE", "/{order_id}")):
        router.add_api_route(path, other, methods=[method])
    health = APIRouter(prefix="/health", tags=["health"])
    for path in ("", "/ready"):
        health.add_api_route(path, other, methods=["GET"])
    users = APIRouter(prefix="/users", tags=["users"])
    for method, path in USERS_ROUTES:
        users.add_api_route(path, other, methods=[method])
    staff = APIRouter(prefix="/admin", tags=["admin"])
    for method, path in STAFF_ROUTES:
        staff.add_api_route(path, other, methods=[method])

    app = FastAPI()
    if shape.endswith("routers included"):
        app.include_router(health)
        for domain in (users, staff, router):
            app.include_router(domain, prefix="/api/v1")
        return app
    prefixed = ((health, ""), (users, "/api/v1"), (staff, "/api/v1"), (router, "/api/v1"))
    for domain, prefix in prefixed:
        for route in domain.routes:  # core/routing.py's include_routes, reduced to these routes
            assert isinstance(route, APIRoute)
            app.router.add_api_route(
                prefix + route.path,
                route.endpoint,
                methods=route.methods,
                response_model=route.response_model,
                tags=route.tags,
                route_class_override=LiteralPrefixRoute,
            )
    return app


USERS_ROUTES = (
    ("POST", ""),
    ("POST", "/verify"),
    ("POST", "/me/verification-email"),
    ("POST", "/token"),
    ("POST", "/token/refresh"),
    ("POST", "/logout"),
    ("POST", "/logout-all"),
    ("POST", "/me/password"),
    ("POST", "/password-reset"),
    ("POST", "/password-reset/confirm"),
    ("GET", "/me"),
    ("DELETE", "/me"),
)
STAFF_ROUTES = (("GET", "/users"), ("PATCH", "/users/{user_id}"), ("PATCH", "/orders/{order_id}"))
SHAPES = (
    "starlette",
    "bare",
    "one dependency",
    "yield dependency",
    "GET one order shape",
    "GET one order shape, routers included",
)


def app_of(shape: str) -> Callable[..., Awaitable[None]]:
    return starlette_app() if shape == "starlette" else fastapi_app(shape)


async def call(app: Callable[..., Awaitable[None]], path: str, headers: list[Any]) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def cost(app: Callable[..., Awaitable[None]]) -> float:
    """Microseconds of CPU per request, best of ROUNDS."""
    path = f"/api/v1/orders/{ORDER_ID}"
    headers = [(b"authorization", b"Bearer token")]
    assert await call(app, path, headers) == 200
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.thread_time()
        for _ in range(CALLS):
            await call(app, path, headers)
        best = min(best, (time.thread_time() - started) / CALLS * 1e6)
    return best


def callgrind(command: str, name: str | None = None) -> None:
    args = ["callgrind_control", command, *([name] if name else []), str(os.getpid())]
    subprocess.run(args, check=True, capture_output=True)


async def counted_calls(shape: str, calls: int) -> None:
    """In the child under valgrind: warm up, then count `calls` requests of `shape`."""
    app = app_of(shape)
    path = f"/api/v1/orders/{ORDER_ID}"
    headers = [(b"authorization", b"Bearer token")]
    for _ in range(30):
        assert await call(app, path, headers) == 200
    callgrind("-z")
    for _ in range(calls):
        await call(app, path, headers)
    callgrind("-d", "counted")


def instructions(shape: str, calls: int) -> int:
    """Instructions per request of `shape`, from a child run under callgrind."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}/floor.%p",
            sys.executable,
            __file__,
            "--child",
            shape,
            "--calls",
            str(calls),
        ]
        env = os.environ | {"PYTHONMALLOC": "malloc"}
        subprocess.run(command, check=True, capture_output=True, env=env)
        for dump in Path(out).glob("floor.*.*"):
            text = dump.read_text(errors="replace")
            if re.search(r"^desc: Trigger: .*counted$", text, re.M):
                total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
                assert total
                return int(total.group(1)) // calls
    raise RuntimeError(f"{shape}: no callgrind dump")


async def main() -> None:
    import fastapi
    import starlette

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instructions", action="store_true", help="count under callgrind")
    parser.add_argument("--calls", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=SHAPES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        await counted_calls(args.child, args.calls)
        return

    print(f"FastAPI {fastapi.__version__}, Starlette {starlette.__version__}")
    unit = "instructions/request" if args.instructions else "us/request"
    print(f"{'app':<48}{unit:>22}")
    for shape in SHAPES:
        name = shape if shape == "starlette" else f"fastapi, {shape}"
        if args.instructions:
            print(f"{name:<48}{instructions(shape, args.calls):>22,}", flush=True)
        else:
            print(f"{name:<48}{await cost(app_of(shape)):>22.1f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
