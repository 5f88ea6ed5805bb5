"""Outgoing e-mail over SMTP. The task code every queue backend runs."""

import logging
from email.message import EmailMessage

import aiosmtplib

from .config import Settings

logger = logging.getLogger(__name__)

# What the queue workers retry, with backoff and a bounded number of times: an SMTP error
# (a 4xx answer means "try later") or a server that could not be reached or timed out.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (aiosmtplib.SMTPException, OSError)


def welcome_message(*, sender: str, email: str, full_name: str, project_name: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email
    message["Subject"] = f"Welcome to {project_name}"
    message.set_content(
        f"Hello {full_name},\n\nyour {project_name} account is ready.\n\nWelcome aboard!\n"
    )
    return message


async def send_welcome_email(settings: Settings, *, email: str, full_name: str) -> None:
    """Render and send the welcome e-mail; raises on SMTP failure so that queues can retry."""
    message = welcome_message(
        sender=settings.email_sender,
        email=email,
        full_name=full_name,
        project_name=settings.project_name,
    )
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        # No user name, no login: `SMTP_USERNAME=` (empty, as in .env.example) means none.
        username=settings.smtp_username or None,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=settings.smtp_start_tls,
        timeout=settings.smtp_timeout_seconds,
    )
    logger.info("welcome e-mail sent", extra={"email_domain": email.rpartition("@")[2]})
