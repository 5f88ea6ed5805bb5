import uuid

from httpx import AsyncClient

from tests.factories import assert_error, place_order, signed_in


async def test_place_order(client: AsyncClient) -> None:
    headers = await signed_in(client)
    me = (await client.get("/api/v1/users/me", headers=headers)).json()

    response = await client.post(
        "/api/v1/orders", json={"item": " desk ", "quantity": 3}, headers=headers
    )

    assert response.status_code == 201
    order = response.json()
    assert order["item"] == "desk"
    assert order["quantity"] == 3
    assert order["status"] == "pending"
    assert order["owner_id"] == me["id"]


async def test_place_order_validates_input(client: AsyncClient) -> None:
    headers = await signed_in(client)
    for payload in (
        {"item": "desk", "quantity": 0},
        {"item": "desk", "quantity": -1},
        {"item": "desk", "quantity": "many"},
        {"item": "", "quantity": 1},
        {"item": "desk", "quantity": 1, "owner_id": str(uuid.uuid4())},
    ):
        response = await client.post("/api/v1/orders", json=payload, headers=headers)

        assert response.status_code == 422, payload
        assert_error(response.json(), "validation_error")


async def test_orders_require_authentication(client: AsyncClient) -> None:
    response = await client.post("/api/v1/orders", json={"item": "desk", "quantity": 1})

    assert response.status_code == 401
    assert_error(response.json(), "not_authenticated")


async def test_list_orders_is_paginated_newest_first_and_only_mine(client: AsyncClient) -> None:
    mine = await signed_in(client)
    other = await signed_in(client)
    created = [await place_order(client, mine, item=f"item {n}") for n in range(5)]
    await place_order(client, other)

    first = (await client.get("/api/v1/orders?limit=2", headers=mine)).json()
    last = (await client.get("/api/v1/orders?limit=2&offset=4", headers=mine)).json()
    past_the_end = (await client.get("/api/v1/orders?offset=10", headers=mine)).json()

    assert first["total"] == last["total"] == past_the_end["total"] == 5
    assert [order["id"] for order in first["items"]] == [created[4]["id"], created[3]["id"]]
    assert [order["id"] for order in last["items"]] == [created[0]["id"]]
    assert past_the_end["items"] == []


async def test_list_orders_refuses_huge_pages(client: AsyncClient) -> None:
    headers = await signed_in(client)

    for query in ("limit=1000", "limit=0", "offset=-1", "limit=ten"):
        response = await client.get(f"/api/v1/orders?{query}", headers=headers)

        assert response.status_code == 422, query
        assert_error(response.json(), "validation_error")


async def test_get_order(client: AsyncClient) -> None:
    headers = await signed_in(client)
    order = await place_order(client, headers)

    response = await client.get(f"/api/v1/orders/{order['id']}", headers=headers)

    assert response.status_code == 200
    assert response.json() == order


async def test_get_missing_order_is_404(client: AsyncClient) -> None:
    headers = await signed_in(client)

    response = await client.get(f"/api/v1/orders/{uuid.uuid4()}", headers=headers)

    assert response.status_code == 404
    assert_error(response.json(), "order_not_found")


async def test_get_order_with_invalid_id_is_422(client: AsyncClient) -> None:
    headers = await signed_in(client)

    response = await client.get("/api/v1/orders/not-a-uuid", headers=headers)

    assert response.status_code == 422
    assert_error(response.json(), "validation_error")


async def test_another_users_order_is_403_for_every_method(client: AsyncClient) -> None:
    owner = await signed_in(client)
    intruder = await signed_in(client)
    order = await place_order(client, owner)
    url = f"/api/v1/orders/{order['id']}"

    responses = [
        await client.get(url, headers=intruder),
        await client.patch(url, json={"quantity": 9}, headers=intruder),
        await client.delete(url, headers=intruder),
    ]

    for response in responses:
        assert response.status_code == 403
        assert_error(response.json(), "order_access_denied")
    assert (await client.get(url, headers=owner)).json() == order


async def test_update_order(client: AsyncClient) -> None:
    headers = await signed_in(client)
    order = await place_order(client, headers)

    response = await client.patch(
        f"/api/v1/orders/{order['id']}", json={"quantity": 7, "status": "paid"}, headers=headers
    )

    assert response.status_code == 200
    updated = response.json()
    assert (updated["quantity"], updated["status"], updated["item"]) == (7, "paid", order["item"])
    assert updated["updated_at"] >= order["updated_at"]


async def test_update_order_validates_input(client: AsyncClient) -> None:
    headers = await signed_in(client)
    order = await place_order(client, headers)

    for payload in ({}, {"quantity": None}, {"quantity": 0}, {"status": "lost"}, {"x": 1}):
        response = await client.patch(
            f"/api/v1/orders/{order['id']}", json=payload, headers=headers
        )

        assert response.status_code == 422, payload
        assert_error(response.json(), "validation_error")


async def test_closed_orders_cannot_change(client: AsyncClient) -> None:
    headers = await signed_in(client)
    order = await place_order(client, headers)
    url = f"/api/v1/orders/{order['id']}"
    await client.patch(url, json={"status": "cancelled"}, headers=headers)

    response = await client.patch(url, json={"quantity": 3}, headers=headers)

    assert response.status_code == 409
    assert_error(response.json(), "order_closed")


async def test_delete_order(client: AsyncClient) -> None:
    headers = await signed_in(client)
    order = await place_order(client, headers)
    url = f"/api/v1/orders/{order['id']}"

    response = await client.delete(url, headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(url, headers=headers)).status_code == 404
