"""Bad input is a 4xx with the one error body, never a stack trace, and nothing is written.

Complements test_errors.py (status and body of each kind of error) and the validation
cases of test_users.py and test_orders.py: here every refusal is followed by a look at
the database, through the API, to see that it did not change.
"""

import json
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response

from tests.factories import PASSWORD, place_order, sign_up, signed_in, user_payload

JSON = {"Content-Type": "application/json"}


def assert_refused(response: Response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert "Traceback" not in response.text
    assert PASSWORD not in response.text


async def order_count(client: AsyncClient, headers: dict[str, str]) -> int:
    response = await client.get("/api/v1/orders", headers=headers)
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


async def assert_no_account(client: AsyncClient, email: str) -> None:
    """Nothing was stored for `email`: signing up with it now succeeds."""
    await sign_up(client, email=email)


def bad_sign_ups(payload: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(what, body) pairs: each a sign-up for `payload["email"]` that must be refused."""
    text = json.dumps(payload)
    return [
        ("malformed JSON", text[:-3].encode()),
        ("not an object", json.dumps([payload]).encode()),
        ("wrong type", json.dumps(payload | {"password": 123_456_789_012_345}).encode()),
        ("null field", json.dumps(payload | {"full_name": None}).encode()),
        ("unknown field", json.dumps(payload | {"is_active": False}).encode()),
        ("NUL in a name", json.dumps(payload | {"full_name": "Ada\u0000"}).encode()),
        ("line break in a name", json.dumps(payload | {"full_name": "Ada\r\nBcc: x"}).encode()),
        ("non-UTF-8", text.encode()[:-2] + b'\xff"}'),
        ("empty body", b""),
    ]


@pytest.mark.parametrize("case", range(len(bad_sign_ups({}))))
async def test_bad_sign_up_is_refused_and_stores_nothing(client: AsyncClient, case: int) -> None:
    payload = user_payload()
    what, body = bad_sign_ups(payload)[case]

    response = await client.post("/api/v1/users", content=body, headers=JSON)

    assert_refused(response, 400, 422)
    await assert_no_account(client, payload["email"])
    assert what


BAD_ORDERS: list[tuple[str, bytes]] = [
    ("malformed JSON", b'{"item": "desk", "quantity": '),
    ("wrong type", b'{"item": "desk", "quantity": "many"}'),
    ("float quantity", b'{"item": "desk", "quantity": 1.5}'),
    ("huge number", b'{"item": "desk", "quantity": 1' + b"0" * 5_000 + b"}"),
    ("unknown field", b'{"item": "desk", "quantity": 1, "status": "shipped"}'),
    ("NUL in text", b'{"item": "desk\\u0000", "quantity": 1}'),
    ("non-UTF-8", b'{"item": "d\xe9sk", "quantity": 1}'),
    ("deep nesting", b'{"item": ' + b"[" * 10_000 + b"]" * 10_000 + b', "quantity": 1}'),
]


@pytest.mark.parametrize(("what", "body"), BAD_ORDERS, ids=[case[0] for case in BAD_ORDERS])
async def test_bad_order_is_refused_and_stores_nothing(
    client: AsyncClient, what: str, body: bytes
) -> None:
    headers = await signed_in(client)

    response = await client.post("/api/v1/orders", content=body, headers=headers | JSON)

    assert_refused(response, 400, 422)
    assert await order_count(client, headers) == 0


async def test_bad_changes_leave_the_order_as_it_was(client: AsyncClient) -> None:
    headers = await signed_in(client)
    order = await place_order(client, headers)
    url = f"/api/v1/orders/{order['id']}"

    for body in (
        b'{"quantity": 0}',
        b'{"quantity": "7"}',
        b'{"quantity": true}',
        b'{"quantity": 2.5}',
        b'{"status": "shipped", "owner_id": "00000000-0000-0000-0000-000000000000"}',
        b'{"item": null}',
        b'{"item": "x\\u0000"}',
        b'{"quantity": ',
        b'{"item": "\xff"}',
    ):
        response = await client.patch(url, content=body, headers=headers | JSON)
        assert_refused(response, 400, 422)

    assert (await client.get(url, headers=headers)).json() == order


async def test_oversized_bodies_store_nothing(app: FastAPI, client: AsyncClient) -> None:
    headers = await signed_in(client)
    limit: int = app.state.settings.max_request_body_bytes
    payload = json.dumps({"item": "x" * limit, "quantity": 1}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 65_536):
            yield payload[start : start + 65_536]

    declared = await client.post("/api/v1/orders", content=payload, headers=headers | JSON)
    # Without Content-Length the limit is enforced while the body streams in.
    streamed = await client.post("/api/v1/orders", content=chunks(), headers=headers | JSON)

    for response in (declared, streamed):
        assert_refused(response, 413)
        assert response.json()["error"]["code"] == "payload_too_large"
    assert await order_count(client, headers) == 0


@pytest.mark.parametrize(
    "query",
    [
        "limit=101",
        f"limit={10**30}",
        f"offset={10**30}",
        "offset=1000001",
        "limit=-1",
        "limit=1e3",
        "limit=%ff",
        "limit=",
        "limit=10&limit=abc",
    ],
)
async def test_huge_or_malformed_pages_are_refused(client: AsyncClient, query: str) -> None:
    headers = await signed_in(client)

    response = await client.get(f"/api/v1/orders?{query}", headers=headers)

    assert_refused(response, 422)


@pytest.mark.parametrize(
    "order_id",
    [
        "not-a-uuid",
        "00000000-0000-0000-0000-00000000000g",
        "%00",
        "%ff%fe",
        "1%20OR%201%3D1",
        "x" * 2_000,
    ],
)
async def test_invalid_order_ids_are_refused_for_every_method(
    client: AsyncClient, order_id: str
) -> None:
    headers = await signed_in(client)
    await place_order(client, headers)
    url = f"/api/v1/orders/{order_id}"

    for response in (
        await client.get(url, headers=headers),
        await client.patch(url, json={"quantity": 3}, headers=headers),
        await client.delete(url, headers=headers),
    ):
        assert_refused(response, 404, 422)
    assert await order_count(client, headers) == 1


@pytest.mark.parametrize(
    "form",
    [
        b"username=a%00b%40example.com&password=whatever",
        b"username=\xff\xfe&password=\xff",
        b"username=&password=",
        b"password=only",
        b"\x00\x01\x02",
    ],
)
async def test_bad_sign_ins_are_refused(client: AsyncClient, form: bytes) -> None:
    response = await client.post(
        "/api/v1/users/token",
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert_refused(response, 400, 401, 422)


async def test_passwords_are_kept_exactly_as_typed(client: AsyncClient) -> None:
    """Surrounding spaces are part of a password: sign-in works with what sign-up got."""
    padded = f"  {PASSWORD}  "
    user = await sign_up(client, password=padded)

    exact = await client.post(
        "/api/v1/users/token", data={"username": user["email"], "password": padded}
    )
    stripped = await client.post(
        "/api/v1/users/token", data={"username": user["email"], "password": PASSWORD}
    )

    assert exact.status_code == 200, exact.text
    assert stripped.status_code == 401


@pytest.mark.parametrize(
    "request_id",
    [
        b"abc\r\nSet-Cookie: session=stolen",
        b"abc\nX-Admin: 1",
        b"\x00abc",
        b"\xff\xfe",
        b"a" * 65,
        b"<script>alert(1)</script>",
        b"",
    ],
)
async def test_a_forged_request_id_is_replaced(app: FastAPI, request_id: bytes) -> None:
    """Raw ASGI, since HTTP clients refuse to send such headers: the app must not echo them."""
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/health",
        "raw_path": b"/health",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"x-request-id", request_id)],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
    }
    await app(scope, receive, send)

    start = sent[0]
    assert start["status"] == 200
    echoed = [value for name, value in start["headers"] if name.lower() == b"x-request-id"]
    assert len(echoed) == 1
    assert echoed[0] != request_id
    assert len(echoed[0]) == 32
    assert echoed[0].isalnum()
    names = [name.lower() for name, _ in start["headers"]]
    assert b"set-cookie" not in names
    assert b"x-admin" not in names
