"""Raw reference for benchmarks/perf.py: Starlette + asyncpg serving the generated service's reads.

The ceiling the generated service is compared with. Per request it does the work the contract
requires and nothing else: decode and verify the bearer JWT (same algorithm, issuer, audience
and required claims), load the user by id and refuse an inactive one, run the same SQL the
generated repositories need, check ownership, validate the body of a create, and answer JSON
with the same fields. A create inserts the order and publishes the generated service's live
event (NOTIFY on its channel, same payload) in one transaction, as the generated service does.
No middleware, no ORM, no transaction around single reads.

Run by perf.py with the generated project's interpreter (same library versions):
``python -m uvicorn raw_postgres:app --app-dir benchmarks/reference``, configured by
DATABASE_URL (postgresql://...), DATABASE_POOL_SIZE, JWT_SECRET, JWT_ISSUER and JWT_AUDIENCE.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DATABASE_URL = os.environ["DATABASE_URL"]
POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "10"))
JWT_SECRET = os.environ["JWT_SECRET"]
JWT_ISSUER = os.environ["JWT_ISSUER"]
JWT_AUDIENCE = os.environ["JWT_AUDIENCE"]

USER_BY_ID = "SELECT id, is_active FROM user_account WHERE id = $1"
ORDER_COLUMNS = "id, owner_id, item, quantity, status, created_at, updated_at"
ORDER_BY_ID = f"SELECT {ORDER_COLUMNS} FROM customer_order WHERE id = $1"
ORDER_PAGE = (
    f"SELECT {ORDER_COLUMNS}, count(*) OVER () AS total FROM customer_order "
    "WHERE owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
)
ORDER_COUNT = "SELECT count(*) FROM customer_order WHERE owner_id = $1"
NOTIFY = "SELECT pg_notify('live_events', $1)"
ORDER_INSERT = (
    "INSERT INTO customer_order (id, owner_id, item, quantity, status, created_at, updated_at) "
    f"VALUES ($1, $2, $3, $4, 'pending', now(), now()) RETURNING {ORDER_COLUMNS}"
)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(DATABASE_URL, min_size=POOL_SIZE, max_size=POOL_SIZE)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


def error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": code, "details": []}}, status)


def user_id_from(request: Request) -> uuid.UUID | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = jwt.decode(
            token,
            JWT_SECRET,
            algorithms=["HS256"],
            issuer=JWT_ISSUER,
            audience=JWT_AUDIENCE,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError):
        return None


async def active_user(connection: Any, user_id: uuid.UUID | None) -> uuid.UUID | None:
    """The id of the token's user if that user exists and is active (the user is loaded)."""
    if user_id is None:
        return None
    user = await connection.fetchrow(USER_BY_ID, user_id)
    if user is None or not user["is_active"]:
        return None
    found: uuid.UUID = user["id"]
    return found


def order_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "owner_id": str(row["owner_id"]),
        "item": row["item"],
        "quantity": row["quantity"],
        "status": row["status"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def get_order(request: Request) -> JSONResponse:
    try:
        order_id = uuid.UUID(request.path_params["order_id"])
    except ValueError:
        return error(422, "validation_error")
    claimed = user_id_from(request)
    async with request.app.state.pool.acquire() as connection:
        user_id = await active_user(connection, claimed)
        if user_id is None:
            return error(401, "invalid_credentials")
        order = await connection.fetchrow(ORDER_BY_ID, order_id)
    if order is None:
        return error(404, "order_not_found")
    if order["owner_id"] != user_id:
        return error(403, "order_access_denied")
    return JSONResponse(order_json(order))


def page_param(request: Request, name: str, default: int, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


async def list_orders(request: Request) -> JSONResponse:
    limit = page_param(request, "limit", 20, 1, 100)
    offset = page_param(request, "offset", 0, 0, 1_000_000)
    if limit is None or offset is None:
        return error(422, "validation_error")
    claimed = user_id_from(request)
    async with request.app.state.pool.acquire() as connection:
        user_id = await active_user(connection, claimed)
        if user_id is None:
            return error(401, "invalid_credentials")
        rows = await connection.fetch(ORDER_PAGE, user_id, limit, offset)
        total = rows[0]["total"] if rows else await connection.fetchval(ORDER_COUNT, user_id)
    return JSONResponse(
        {
            "items": [order_json(row) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


def valid_order(body: Any) -> tuple[str, int] | None:
    """``(item, quantity)`` if the body is a valid order to place, else None."""
    if not isinstance(body, dict) or set(body) != {"item", "quantity"}:
        return None
    item, quantity = body["item"], body["quantity"]
    if not isinstance(item, str) or isinstance(quantity, bool) or not isinstance(quantity, int):
        return None
    item = item.strip()
    if not 1 <= len(item) <= 200 or not 0 < quantity <= 10_000:
        return None
    return item, quantity


async def place_order(request: Request) -> JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        return error(422, "validation_error")
    claimed = user_id_from(request)
    order = valid_order(body)
    async with request.app.state.pool.acquire() as connection:
        user_id = await active_user(connection, claimed)
        if user_id is None:
            return error(401, "invalid_credentials")
        if order is None:
            return error(422, "validation_error")
        async with connection.transaction():
            row = await connection.fetchrow(ORDER_INSERT, uuid.uuid4(), user_id, *order)
            body = order_json(row)
            event = json.dumps({"type": "order.created", "order": body}, separators=(",", ":"))
            await connection.execute(NOTIFY, f"user:{user_id}\n{event}")
    return JSONResponse(body, 201)


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/api/v1/orders", list_orders, methods=["GET"]),
        Route("/api/v1/orders", place_order, methods=["POST"]),
        Route("/api/v1/orders/{order_id}", get_order, methods=["GET"]),
    ],
    lifespan=lifespan,
)
