"""The one interface services use to start background work, whatever the queue backend."""

from typing import Protocol


class TaskDispatcher(Protocol):
    async def send_welcome_email(self, *, email: str, full_name: str) -> None:
        """Send the welcome e-mail to a new user, outside the request."""
