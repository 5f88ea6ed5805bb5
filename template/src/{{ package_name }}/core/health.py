"""Liveness and readiness probes, outside the versioned API."""

from typing import Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel

from .database import database_checks
from .errors import ServiceUnavailableError, error_responses
from .tasks import task_queue_checks

router = APIRouter(prefix="/health", tags=["health"])


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
    """Every dependency answers: the database, and the broker where there is one."""
    checks = await database_checks(request.app) | await task_queue_checks(request.app)
    failing = sorted(name for name, ok in checks.items() if not ok)
    if failing:
        raise ServiceUnavailableError(f"Unavailable: {', '.join(failing)}.")
    return Readiness(checks=dict.fromkeys(checks, "ok"))
