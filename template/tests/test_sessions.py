"""Sessions: refresh tokens rotate on every use, a spent one revokes its session, logging
out (here or everywhere) and changing the password end sessions at once."""

import logging
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response

from tests.database import deactivate
from tests.factories import (
    PASSWORD,
    assert_error,
    bearer,
    sign_in,
    sign_up,
    user_payload,
)

REFRESH = "/api/v1/users/token/refresh"
NEW_PASSWORD = "a different horse, battery and staple"


async def refresh(client: AsyncClient, refresh_token: str) -> Response:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


async def me(client: AsyncClient, pair: dict[str, Any]) -> Response:
    return await client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))


async def assert_session_ended(client: AsyncClient, pair: dict[str, Any]) -> None:
    """Neither the access token nor the refresh token of `pair` works any more."""
    refused = await me(client, pair)
    assert refused.status_code == 401
    assert_error(refused.json(), "invalid_credentials")
    refused = await refresh(client, pair["refresh_token"])
    assert refused.status_code == 401
    assert_error(refused.json(), "invalid_refresh_token")


async def test_sign_in_opens_a_session_with_a_refresh_token(client: AsyncClient) -> None:
    user = await sign_up(client)

    pair = await sign_in(client, user["email"])

    assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert pair["refresh_token"] != pair["access_token"]
    assert (await me(client, pair)).json()["id"] == user["id"]


async def test_a_refresh_token_is_exchanged_for_a_new_pair(client: AsyncClient) -> None:
    user = await sign_up(client)
    first = await sign_in(client, user["email"])

    response = await refresh(client, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await me(client, second)).json()["id"] == user["id"]
    third = await refresh(client, second["refresh_token"])
    assert third.status_code == 200, third.text


async def test_a_spent_refresh_token_revokes_its_session(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    user = await sign_up(client, email="stolen.token@example.com", full_name="Ada Lovelace")
    first = await sign_in(client, user["email"])
    other_session = await sign_in(client, user["email"])
    rotated = (await refresh(client, first["refresh_token"])).json()

    with caplog.at_level(logging.WARNING):
        reused = await refresh(client, first["refresh_token"])

    assert reused.status_code == 401
    assert_error(reused.json(), "refresh_token_reused")
    # Whoever holds the newer tokens of that session (the thief, or the owner) is out too.
    await assert_session_ended(client, rotated)
    assert (await me(client, other_session)).status_code == 200
    [record] = [r for r in caplog.records if "refresh token reused" in r.getMessage()]
    logged = repr(record.__dict__)
    assert "stolen.token" not in logged
    assert "Ada" not in logged
    assert first["refresh_token"] not in logged


async def test_unknown_or_malformed_refresh_tokens_are_refused(client: AsyncClient) -> None:
    user = await sign_up(client)
    pair = await sign_in(client, user["email"])
    session_id = pair["refresh_token"].partition(".")[0]
    for token in ["not-a-refresh-token", f"{uuid4()}.secret", f"{session_id}.guessed", session_id]:
        unknown = await refresh(client, token)
        assert unknown.status_code == 401, token
        assert_error(unknown.json(), "invalid_refresh_token")
    # A wrong guess is not a reuse: the session it names is not revoked.
    assert (await refresh(client, pair["refresh_token"])).status_code == 200

    for body in [{}, {"refresh_token": ""}, {"refresh_token": "x" * 201}, {"token": "x"}]:
        response = await client.post(REFRESH, json=body)
        assert response.status_code == 422, body
        assert_error(response.json(), "validation_error")


async def test_logout_ends_this_session_only(client: AsyncClient) -> None:
    user = await sign_up(client)
    this = await sign_in(client, user["email"])
    other = await sign_in(client, user["email"])

    response = await client.post("/api/v1/users/logout", headers=bearer(this["access_token"]))

    assert response.status_code == 204
    await assert_session_ended(client, this)
    assert (await me(client, other)).status_code == 200
    again = await client.post("/api/v1/users/logout", headers=bearer(this["access_token"]))
    assert again.status_code == 401
    assert_error(again.json(), "invalid_credentials")


async def test_logout_all_ends_every_session(client: AsyncClient) -> None:
    user = await sign_up(client)
    someone_else = await sign_in(client, (await sign_up(client))["email"])
    sessions = [await sign_in(client, user["email"]) for _ in range(3)]

    response = await client.post(
        "/api/v1/users/logout-all", headers=bearer(sessions[0]["access_token"])
    )

    assert response.status_code == 204
    for pair in sessions:
        await assert_session_ended(client, pair)
    assert (await me(client, someone_else)).status_code == 200


async def test_changing_the_password_ends_the_other_sessions(client: AsyncClient) -> None:
    user = await sign_up(client)
    this = await sign_in(client, user["email"])
    other = await sign_in(client, user["email"])

    response = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(this["access_token"]),
    )

    assert response.status_code == 204, response.text
    await assert_session_ended(client, other)
    assert (await me(client, this)).status_code == 200
    assert (await refresh(client, this["refresh_token"])).status_code == 200
    old = await client.post(
        "/api/v1/users/token", data={"username": user["email"], "password": PASSWORD}
    )
    assert old.status_code == 401
    await sign_in(client, user["email"], NEW_PASSWORD)


async def test_changing_the_password_needs_the_current_one(client: AsyncClient) -> None:
    user = await sign_up(client)
    this = await sign_in(client, user["email"])
    headers = bearer(this["access_token"])

    wrong = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
        headers=headers,
    )
    too_short = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=headers,
    )
    anonymous = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert wrong.status_code == 403
    assert_error(wrong.json(), "wrong_password")
    assert too_short.status_code == 422
    assert_error(too_short.json(), "validation_error")
    assert PASSWORD not in too_short.text
    assert anonymous.status_code == 401
    assert_error(anonymous.json(), "not_authenticated")
    await sign_in(client, user["email"], PASSWORD)


async def test_sessions_of_one_user_do_not_leak_to_another(client: AsyncClient) -> None:
    payload = user_payload()
    await client.post("/api/v1/users", json=payload)
    mine = await sign_in(client, payload["email"])
    theirs = await sign_in(client, (await sign_up(client))["email"])

    await client.post("/api/v1/users/logout-all", headers=bearer(mine["access_token"]))

    assert (await me(client, theirs)).status_code == 200
    assert (await refresh(client, theirs["refresh_token"])).status_code == 200


async def test_a_disabled_account_cannot_refresh(app: FastAPI, client: AsyncClient) -> None:
    user = await sign_up(client)
    pair = await sign_in(client, user["email"])

    await deactivate(app, UUID(user["id"]))

    response = await refresh(client, pair["refresh_token"])
    assert response.status_code == 401
    assert_error(response.json(), "inactive_user")
