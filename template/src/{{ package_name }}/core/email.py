"""Outgoing e-mail over SMTP. The task code every queue backend runs."""

import logging
import re
from email.message import EmailMessage

import aiosmtplib

from .config import Settings

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The SMTP server refused the e-mail (a 4xx answer means "try later") or could not be
    reached or timed out: worth retrying.

    Its message is the original error's type and message, with the recipient's address
    masked (servers quote it: `451 4.2.0 <ada@example.org>: try again later`), so that every
    queue can log it: logs never carry the address or the name of a user.
    """


# What the queue workers retry, with backoff and a bounded number of times.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (DeliveryError,)


def welcome_message(*, sender: str, email: str, full_name: str, project_name: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email
    message["Subject"] = f"Welcome to {project_name}"
    message.set_content(
        f"Hello {full_name},\n\nyour {project_name} account is ready.\n\nWelcome aboard!\n"
    )
    return message


def _masked(error: Exception, email: str) -> str:
    described = f"{type(error).__name__}: {error}"
    return re.sub(re.escape(email), "***", described, flags=re.IGNORECASE)


async def send_welcome_email(settings: Settings, *, email: str, full_name: str) -> None:
    """Render and send the welcome e-mail; raises DeliveryError on SMTP failure so that
    queues can retry."""
    message = welcome_message(
        sender=settings.email_sender,
        email=email,
        full_name=full_name,
        project_name=settings.project_name,
    )
    try:
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
    except (aiosmtplib.SMTPException, OSError) as error:
        # `from None`: a traceback of the DeliveryError leaves out the unmasked original.
        raise DeliveryError(_masked(error, email)) from None
    logger.info("welcome e-mail sent", extra={"email_domain": email.rpartition("@")[2]})


async def attempt_welcome_email(
    settings: Settings, *, email: str, full_name: str, attempt: int, attempts: int
) -> None:
    """One attempt of a queue's job at `send_welcome_email`, out of `attempts` in all.

    A failed attempt is logged (WARNING while retries remain, ERROR for the last one) with
    the error's type and message, never the job's arguments, then raised for the queue.
    """
    try:
        await send_welcome_email(settings, email=email, full_name=full_name)
    except DeliveryError as error:
        last = attempt >= attempts
        logger.log(
            logging.ERROR if last else logging.WARNING,
            "welcome e-mail not sent, giving up" if last else "welcome e-mail not sent, will retry",
            extra={"error": str(error), "attempt": attempt, "attempts": attempts},
        )
        raise
