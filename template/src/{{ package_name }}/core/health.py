"""Liveness and readiness probes, outside the versioned API.

From SIGTERM on, readiness answers 503 while the server lets the requests in flight finish:
whatever routes by readiness (a load balancer, Kubernetes' endpoints) stops sending new ones.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Literal

from fastapi import APIRouter, FastAPI, Request, status
from pydantic import BaseModel

from .database import database_checks
from .errors import ServiceUnavailableError, error_responses
from .tasks import task_queue_checks

router = APIRouter(prefix="/health", tags=["health"])


@contextmanager
def draining_on_sigterm(app: FastAPI) -> Iterator[None]:
    """While the app lives, SIGTERM first marks it draining, then reaches the server's handler.

    uvicorn (or any server) installs its SIGTERM handler before the lifespan starts; this one
    goes in front of it and hands the signal on, so the server still shuts down gracefully.
    Signal handlers belong to the main thread: elsewhere (a test client's thread) it is a no-op.
    """
    app.state.draining = False
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    found = signal.getsignal(signal.SIGTERM)
    server_handler = found if found is not None else signal.SIG_DFL  # None: set outside Python

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        app.state.draining = True
        if callable(server_handler):
            server_handler(signum, frame)
        else:  # no handler of the server's own: what SIGTERM would have done without this one
            signal.signal(signal.SIGTERM, server_handler)
            signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, server_handler)


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, Literal["ok"]]


@router.get("", response_model=Liveness, status_code=status.HTTP_200_OK, summary="Liveness")
async def liveness() -> Liveness:
    """The process is up; says nothing about its dependencies."""
    return Liveness()


@router.get(
    "/ready",
    response_model=Readiness,
    status_code=status.HTTP_200_OK,
    summary="Readiness",
    responses=error_responses(503),
)
async def readiness(request: Request) -> Readiness:
    """Every dependency answers: the database, and the broker where there is one; and the
    process is not shutting down (SIGTERM)."""
    if getattr(request.app.state, "draining", False):
        raise ServiceUnavailableError("Shutting down.")
    checks = await database_checks(request.app) | await task_queue_checks(request.app)
    failing = sorted(name for name, ok in checks.items() if not ok)
    if failing:
        raise ServiceUnavailableError(f"Unavailable: {', '.join(failing)}.")
    return Readiness(checks=dict.fromkeys(checks, "ok"))
