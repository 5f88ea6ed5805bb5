"""Small typed helpers that create what a test needs through the public API."""

import itertools
from typing import Any

import jwt
from httpx import AsyncClient

PASSWORD = "correct horse battery staple"
_sequence = itertools.count(1)


def user_payload(**overrides: Any) -> dict[str, Any]:
    number = next(_sequence)
    return {
        "email": f"user{number}@example.com",
        "password": PASSWORD,
        "full_name": f"Test User {number}",
    } | overrides


async def sign_up(client: AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/users", json=user_payload(**overrides))
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def sign_in(client: AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """A new session: its access token, refresh token and lifetime."""
    response = await client.post(
        "/api/v1/users/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


async def token_for(client: AsyncClient, email: str, password: str = PASSWORD) -> str:
    token: str = (await sign_in(client, email, password))["access_token"]
    return token


def session_of(access_token: str) -> str:
    """The session id an access token was issued to (its `sid` claim)."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return str(claims["sid"])


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def signed_in(client: AsyncClient, **overrides: Any) -> dict[str, str]:
    """Sign up a new user; return the Authorization header for them."""
    user = await sign_up(client, **overrides)
    return {"Authorization": f"Bearer {await token_for(client, user['email'])}"}


async def place_order(
    client: AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/orders", json={"item": "keyboard", "quantity": 2} | overrides, headers=headers
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def assert_error(body: dict[str, Any], code: str) -> None:
    """Every error has the one error shape, with a stable code."""
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
