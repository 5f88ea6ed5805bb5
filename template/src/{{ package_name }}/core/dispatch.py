"""The one interface services use to start background work, whatever the queue backend."""

from typing import Protocol

from .email import EmailTemplate


class TaskDispatcher(Protocol):
    async def send_email(
        self, *, template: EmailTemplate, to: str, variables: dict[str, str]
    ) -> None:
        """Send one of the service's e-mails (core/email.py), outside the request."""
