"""Fixed-window rate limiting of sign-in attempts, so that guessing passwords is slow.

Each (client IP, username) pair gets TOKEN_RATE_LIMIT_PER_MINUTE attempts in the minute
from its first; the next is answered 429 with the error body and a Retry-After header.
Counts are kept in this process: with N workers a client gets up to N times the limit.
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm

from .config import Settings

WINDOW_SECONDS = 60.0


class MemoryRateLimiter:
    """A window per key, opened by its first attempt; at most `limit` attempts in it.

    Windows all last as long, so they end in the order they were opened: ended ones are
    dropped from the front as they are met. Memory is bounded: with `max_keys` windows
    open a new key is refused until one ends (a flood of usernames cannot switch the
    limit off, nor make the process grow).
    """

    def __init__(
        self,
        limit: int,
        *,
        window_seconds: float = WINDOW_SECONDS,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def _wait(self, opened: float, now: float) -> int:
        return max(1, math.ceil(opened + self.window_seconds - now))

    def hit(self, key: str) -> int | None:
        """Count one attempt: None when allowed, else the seconds until it would be."""
        now = self._clock()
        while self._windows:
            oldest, (opened, _) = next(iter(self._windows.items()))
            if now - opened < self.window_seconds:
                break
            del self._windows[oldest]
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= self.max_keys:
                opened, _ = next(iter(self._windows.values()))
                return self._wait(opened, now)
            self._windows[key] = (now, 1)
            return None
        opened, count = window
        if count >= self.limit:
            return self._wait(opened, now)
        self._windows[key] = (opened, count + 1)
        return None


def token_rate_limiter(app: FastAPI) -> MemoryRateLimiter | None:
    """The app's limiter for sign-in attempts, made on first use; None when switched off."""
    settings: Settings = app.state.settings
    if settings.token_rate_limit_per_minute == 0:
        return None
    limiter: MemoryRateLimiter | None = getattr(app.state, "token_rate_limiter", None)
    if limiter is None:
        limiter = MemoryRateLimiter(settings.token_rate_limit_per_minute)
        app.state.token_rate_limiter = limiter
    return limiter


async def limit_sign_in_attempts(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> None:
    """Dependency of the token route: 429 once this client used up its attempts."""
    limiter = token_rate_limiter(request.app)
    if limiter is None:
        return
    client = request.client.host if request.client else "unknown"
    retry_after = limiter.hit(f"{client}\x00{form.username.strip().lower()}")
    if retry_after is not None:
        raise HTTPException(
            HTTPStatus.TOO_MANY_REQUESTS,
            "Too many sign-in attempts; try again later.",
            headers={"Retry-After": str(retry_after)},
        )


SignInRateLimit = Annotated[None, Depends(limit_sign_in_attempts)]
