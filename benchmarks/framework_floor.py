"""What FastAPI's own machinery costs per request, with no database and no work.

    <project>/.venv/bin/python benchmarks/framework_floor.py      # about 30 seconds

The generated GET /api/v1/orders/{id} is measured against a raw Starlette route in
benchmarks/perf.py. This script isolates the part of the difference no code of ours does:
the same app shapes with trivial bodies (no I/O, no JWT, no query), called in-process through
ASGI, CPU time per request (`time.thread_time`), best of 5 rounds:

  starlette            one Starlette route returning a JSONResponse (the raw reference's shape)
  fastapi, bare        one FastAPI route under an included router, `response_model`, no dependency
  + 1 dependency       ... plus one `async def` dependency
  + yield dependency   ... plus one `yield` dependency with `scope="function"` (how `get_db`
                       commits before the response is sent)
  GET one order shape  the dependency graph of the generated GET one order: `owned_order` ->
                       `valid_order_id` (path parameter, repository -> `get_db`) and the current
                       user in one dependency (`OAuth2PasswordBearer`, repository -> `get_db`;
                       settings from the app), routers included under /api/v1 beside the
                       other domains

Run it with the interpreter of a rendered project (the template's own environment has no
FastAPI): ``<project>/.venv/bin/python benchmarks/framework_floor.py``.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

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


async def valid_order_id(
    order_id: UUID, orders: Annotated[object, Depends(get_repository)]
) -> OrderRead:
    return ORDER


async def owned_order(
    order: Annotated[OrderRead, Depends(valid_order_id)],
    user: Annotated[UUID, Depends(current_user)],
) -> OrderRead:
    return order


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

    health = APIRouter(tags=["health"])
    users = APIRouter(prefix="/users", tags=["users"])

    @health.get("/health")
    async def liveness() -> dict[str, str]:
        return {"status": "ok"}

    @users.get("/me")
    async def me() -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(health)
    for domain in (users, router):
        app.include_router(domain, prefix="/api/v1")
    return app


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


async def main() -> None:
    import fastapi
    import starlette

    print(f"FastAPI {fastapi.__version__}, Starlette {starlette.__version__}")
    print(f"{'app':<30}{'us/request':>12}")
    floor = await cost(starlette_app())
    print(f"{'starlette':<30}{floor:>12.1f}")
    for shape in ("bare", "one dependency", "yield dependency", "GET one order shape"):
        print(f"{'fastapi, ' + shape:<30}{await cost(fastapi_app(shape)):>12.1f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
