"""Raw reference for benchmarks/perf.py: Starlette + PyMongo's async client, same data as the
generated service on MongoDB.

The ceiling the generated service is compared with. Per request it does the work the contract
requires and nothing else: decode and verify the bearer JWT (same algorithm, issuer, audience
and required claims), load the user by id and refuse an inactive one, run the reads the
generated repositories need (the order by id; a page of 20, newest first, and the owner's
count), check ownership, validate the body of a create, insert the order and publish the
generated service's live event (one upsert into `live_event`, stamped by the server), and
answer JSON with the same fields. No middleware, no ODM.

Run by perf.py with the generated project's interpreter (same library versions):
``python -m uvicorn raw_mongodb:app --app-dir benchmarks/reference``, configured by
DATABASE_URL (mongodb://host:port/database), JWT_SECRET, JWT_ISSUER and JWT_AUDIENCE.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import jwt
from bson import ObjectId
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DATABASE_URL = os.environ["DATABASE_URL"]
JWT_SECRET = os.environ["JWT_SECRET"]
JWT_ISSUER = os.environ["JWT_ISSUER"]
JWT_AUDIENCE = os.environ["JWT_AUDIENCE"]
NEWEST_FIRST = [("created_at", -1), ("_id", -1)]
Document = dict[str, Any]


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        DATABASE_URL, tz_aware=True, uuidRepresentation="standard"
    )
    database = client.get_default_database()
    app.state.users = database["user_account"]
    app.state.orders = database["customer_order"]
    app.state.events = database["live_event"]
    try:
        yield
    finally:
        await client.close()


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


async def active_user(request: Request) -> uuid.UUID | None:
    """The id of the token's user if that user exists and is active (the user is loaded)."""
    user_id = user_id_from(request)
    if user_id is None:
        return None
    user = await request.app.state.users.find_one({"_id": user_id}, {"is_active": 1})
    if user is None or not user.get("is_active", False):
        return None
    return user_id


def order_json(document: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(document["_id"]),
        "owner_id": str(document["owner_id"]),
        "item": document["item"],
        "quantity": document["quantity"],
        "status": document["status"],
        "created_at": document["created_at"].isoformat(),
        "updated_at": document["updated_at"].isoformat(),
    }


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def get_order(request: Request) -> JSONResponse:
    try:
        order_id = uuid.UUID(request.path_params["order_id"])
    except ValueError:
        return error(422, "validation_error")
    user_id = await active_user(request)
    if user_id is None:
        return error(401, "invalid_credentials")
    order = await request.app.state.orders.find_one({"_id": order_id})
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
    user_id = await active_user(request)
    if user_id is None:
        return error(401, "invalid_credentials")
    orders = request.app.state.orders
    mine = {"owner_id": user_id}
    page = orders.find(mine).sort(NEWEST_FIRST).skip(offset).limit(limit)
    items, total = await asyncio.gather(page.to_list(), orders.count_documents(mine))
    return JSONResponse(
        {"items": [order_json(d) for d in items], "total": total, "limit": limit, "offset": offset}
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
    user_id = await active_user(request)
    if user_id is None:
        return error(401, "invalid_credentials")
    order = valid_order(body)
    if order is None:
        return error(422, "validation_error")
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON stores
    document = {
        "_id": uuid.uuid4(),
        "owner_id": user_id,
        "item": order[0],
        "quantity": order[1],
        "status": "pending",
        "created_at": now,
        "updated_at": now,
    }
    await request.app.state.orders.insert_one(document)
    body = order_json(document)
    event = json.dumps({"type": "order.created", "order": body}, separators=(",", ":"))
    await request.app.state.events.update_one(
        {"_id": ObjectId()},
        {
            "$currentDate": {"created_at": True},
            "$setOnInsert": {"message": f"user:{user_id}\n{event}"},
        },
        upsert=True,
    )
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
