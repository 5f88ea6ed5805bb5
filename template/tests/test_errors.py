"""One error body for every error; no stack trace ever reaches a client."""

from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient

from tests.factories import assert_error, signed_in


async def test_unknown_route_has_the_error_body(client: AsyncClient) -> None:
    response = await client.get("/api/v1/nowhere")

    assert response.status_code == 404
    assert_error(response.json(), "not_found")


async def test_wrong_method_has_the_error_body(client: AsyncClient) -> None:
    response = await client.put("/api/v1/users/me")

    assert response.status_code == 405
    assert_error(response.json(), "method_not_allowed")


async def test_malformed_json_is_422(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/users", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert_error(response.json(), "validation_error")


async def test_non_utf8_body_is_a_client_error(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/users", content=b"\xff\xfe\xfa", headers={"Content-Type": "application/json"}
    )

    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"] in {"validation_error", "bad_request"}


async def test_oversized_body_is_413(client: AsyncClient) -> None:
    headers = await signed_in(client)

    response = await client.post(
        "/api/v1/orders", json={"item": "x" * 2_000_000, "quantity": 1}, headers=headers
    )

    assert response.status_code == 413
    assert_error(response.json(), "payload_too_large")


async def test_unexpected_errors_are_500_without_details(app: FastAPI) -> None:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.include_router(router)
    # The server still sees the exception (to log it); the client only sees the body.
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom")

    assert response.status_code == 500
    assert_error(response.json(), "internal_error")
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


async def test_request_id_is_echoed_or_created(client: AsyncClient) -> None:
    given = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    created = await client.get("/health")
    injected = await client.get("/health", headers={"X-Request-ID": "a\tb" + "x" * 100})

    assert given.headers["X-Request-ID"] == "abc-123"
    assert len(created.headers["X-Request-ID"]) == 32
    assert injected.headers["X-Request-ID"] != "a\tb" + "x" * 100


async def test_security_headers_on_every_response(client: AsyncClient) -> None:
    for response in (await client.get("/health"), await client.get("/api/v1/nowhere")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
