"""No request handler blocks the event loop (asyncio debug mode's slow-callback check)."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, FastAPI
from httpx import AsyncClient

from tests.factories import place_order, signed_in

# Generous enough for a loaded CI machine; a blocking driver call or sleep exceeds it.
SLOW_CALLBACK_SECONDS = 0.25


@contextlib.asynccontextmanager
async def loop_blocks(caplog: pytest.LogCaptureFixture) -> AsyncIterator[list[str]]:
    """Collect asyncio's reports of callbacks that held the loop for too long."""
    loop = asyncio.get_running_loop()
    debug, threshold = loop.get_debug(), loop.slow_callback_duration
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
    reports: list[str] = []
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        caplog.clear()
        try:
            # asyncio times whole steps of a task, and only those it started in debug
            # mode: start a new step before and after the code under watch.
            await asyncio.sleep(0)
            yield reports
            await asyncio.sleep(0)
        finally:
            loop.set_debug(debug)
            loop.slow_callback_duration = threshold
            reports.extend(
                record.getMessage()
                for record in caplog.records
                if record.name == "asyncio" and "Executing" in record.getMessage()
            )


async def exercise_the_api(client: AsyncClient) -> None:
    headers = await signed_in(client)
    order = await place_order(client, headers)
    url = f"/api/v1/orders/{order['id']}"
    await client.get("/api/v1/users/me", headers=headers)
    await client.get("/api/v1/orders", headers=headers)
    await client.get(url, headers=headers)
    await client.patch(url, json={"quantity": 5}, headers=headers)
    await client.delete(url, headers=headers)
    await client.get("/health/ready")


async def test_the_api_never_blocks_the_loop(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await exercise_the_api(client)  # warm caches: first calls compile and import

    async with loop_blocks(caplog) as reports:
        await exercise_the_api(client)

    assert reports == []


async def test_a_blocking_handler_is_caught(
    app: FastAPI, client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    router = APIRouter()

    @router.get("/blocking")
    async def blocking() -> None:
        time.sleep(SLOW_CALLBACK_SECONDS * 3)  # noqa: ASYNC251  (the mistake under test)

    app.include_router(router)

    async with loop_blocks(caplog) as reports:
        await client.get("/blocking")

    assert reports, "the slow-callback check missed a blocking handler"
