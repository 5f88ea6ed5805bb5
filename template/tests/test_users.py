import itertools
import unicodedata
import uuid

from fastapi import FastAPI
from httpx import AsyncClient

from tests.conftest import Mailbox, text_of
from tests.database import stored_rows_of_session
from tests.factories import (
    PASSWORD,
    admin_signed_in,
    assert_error,
    bearer,
    place_order,
    session_of,
    sign_in,
    sign_up,
    signed_in,
    token_for,
    user_payload,
)

_numbers = itertools.count(1)


def full_width(text: str) -> str:
    """ASCII letters as their full-width look-alikes (the same after NFKC)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in text)


async def test_sign_up_returns_the_public_fields_only(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/users", json=user_payload(email="  Ada@Example.COM ", full_name=" Ada ")
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "email",
        "full_name",
        "is_active",
        "is_verified",
        "role",
        "created_at",
    }
    assert body["email"] == "ada@example.com"
    assert body["role"] == "user"
    assert body["full_name"] == "Ada"


async def test_sign_up_sends_the_welcome_email(client: AsyncClient, mailbox: Mailbox) -> None:
    user = await sign_up(client, full_name="Grace Hopper")

    [message] = await mailbox.wait_for(1, to=user["email"])
    assert message["To"] == user["email"]
    assert "Welcome" in message["Subject"]
    assert "Grace Hopper" in text_of(message)


async def test_sign_up_twice_with_one_email_is_a_conflict(client: AsyncClient) -> None:
    await sign_up(client, email="twice@example.com")

    response = await client.post("/api/v1/users", json=user_payload(email="TWICE@example.com"))

    assert response.status_code == 409
    assert_error(response.json(), "email_already_registered")


async def test_sign_up_rejects_invalid_input(client: AsyncClient) -> None:
    cases = [
        user_payload(email="not-an-email"),
        user_payload(password="short"),
        user_payload(full_name="   "),
        user_payload(is_admin=True),
        {"email": "a@example.com"},
    ]
    for payload in cases:
        response = await client.post("/api/v1/users", json=payload)

        assert response.status_code == 422, payload
        assert_error(response.json(), "validation_error")
        assert PASSWORD not in response.text


async def test_token_for_valid_credentials(client: AsyncClient) -> None:
    user = await sign_up(client)

    response = await client.post(
        "/api/v1/users/token", data={"username": user["email"], "password": PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0


async def test_wrong_password_and_unknown_email_look_the_same(client: AsyncClient) -> None:
    user = await sign_up(client)

    wrong_password = await client.post(
        "/api/v1/users/token", data={"username": user["email"], "password": "wrong password!"}
    )
    unknown_email = await client.post(
        "/api/v1/users/token", data={"username": "nobody@example.com", "password": PASSWORD}
    )

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert_error(wrong_password.json(), "invalid_credentials")


async def test_me_returns_the_token_owner(client: AsyncClient) -> None:
    user = await sign_up(client)
    token = await token_for(client, user["email"])

    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json() == user


async def test_me_requires_a_valid_token(client: AsyncClient) -> None:
    missing = await client.get("/api/v1/users/me")
    garbage = await client.get("/api/v1/users/me", headers={"Authorization": "Bearer x.y.z"})

    for response in (missing, garbage):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_error(missing.json(), "not_authenticated")
    assert_error(garbage.json(), "invalid_credentials")


async def test_an_address_signs_in_exactly_as_it_signed_up(client: AsyncClient) -> None:
    """A decomposed `é` (e + combining acute) is stored composed; the same string signs in."""
    email = f"jose\u0301-{next(_numbers)}@example.com"

    user = await sign_up(client, email=email)

    assert user["email"] == unicodedata.normalize("NFC", email)
    for spelling in (email, unicodedata.normalize("NFC", email), email.upper()):
        me = await client.get(
            "/api/v1/users/me",
            headers={"Authorization": f"Bearer {await token_for(client, spelling)}"},
        )
        assert me.json()["id"] == user["id"], spelling


async def test_look_alike_addresses_are_one_account(client: AsyncClient) -> None:
    local = f"victim-{next(_numbers)}"
    victim = await sign_up(client, email=f"{local}@example.com")

    for look_alike in (f"{full_width(local)}@example.com", f"{local.upper()}@EXAMPLE.COM"):
        response = await client.post("/api/v1/users", json=user_payload(email=look_alike))

        assert response.status_code == 409, look_alike
        assert_error(response.json(), "email_already_registered")
        # Signing in with the look-alike reaches the one account there is.
        token = await token_for(client, look_alike)
        me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["id"] == victim["id"]


async def test_deleting_my_account_deletes_me_and_my_orders_only(
    app: FastAPI, client: AsyncClient
) -> None:
    user = await sign_up(client)
    headers = {"Authorization": f"Bearer {await token_for(client, user['email'])}"}
    mine = [await place_order(client, headers) for _ in range(2)]
    theirs = await place_order(client, await signed_in(client))
    admin = await admin_signed_in(app, client)

    response = await client.delete("/api/v1/users/me", headers=headers)

    assert response.status_code == 204, response.text
    assert response.content == b""
    me = await client.get("/api/v1/users/me", headers=headers)
    assert me.status_code == 401
    assert_error(me.json(), "invalid_credentials")
    token = await client.post(
        "/api/v1/users/token", data={"username": user["email"], "password": PASSWORD}
    )
    assert token.status_code == 401
    # Orders are found by id whoever owns them only through the admin's route.
    for order in mine:
        gone = await client.patch(
            f"/api/v1/admin/orders/{order['id']}", json={"status": "paid"}, headers=admin
        )
        assert gone.status_code == 404, gone.text
        assert_error(gone.json(), "order_not_found")
    kept = await client.patch(
        f"/api/v1/admin/orders/{theirs['id']}", json={"status": "paid"}, headers=admin
    )
    assert kept.status_code == 200, kept.text
    # The address is free again.
    assert (await sign_up(client, email=user["email"]))["id"] != user["id"]


async def test_deleting_my_account_deletes_its_sessions(app: FastAPI, client: AsyncClient) -> None:
    user = await sign_up(client)
    first = await sign_in(client, user["email"])
    # One refresh, so that the session also holds a spent refresh token.
    refreshed = await client.post(
        "/api/v1/users/token/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    session_id = uuid.UUID(session_of(first["access_token"]))
    assert await stored_rows_of_session(app, session_id) == 2

    response = await client.delete(
        "/api/v1/users/me", headers=bearer(refreshed.json()["access_token"])
    )

    assert response.status_code == 204, response.text
    assert await stored_rows_of_session(app, session_id) == 0


async def test_deleting_an_account_needs_its_token(client: AsyncClient) -> None:
    response = await client.delete("/api/v1/users/me")

    assert response.status_code == 401
    assert_error(response.json(), "not_authenticated")
