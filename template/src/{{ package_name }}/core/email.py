"""Outgoing e-mail over SMTP. The task code every queue backend runs.

Each e-mail is a template in `emails/` of the package: `<name>.txt` (the plain text part)
and `<name>.html` (the HTML alternative, autoescaped), rendered with Jinja2 from string
variables. A queue job carries only the template's name, the address and those variables.
"""

import logging
import re
from collections.abc import Mapping
from email.message import EmailMessage
from enum import StrEnum
from pathlib import Path

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .config import Settings

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "emails"


class EmailTemplate(StrEnum):
    """The e-mails the service sends: a template pair in `emails/` and a subject each."""

    WELCOME = "welcome"
    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"  # noqa: S105  (a template's name, not a password)


SUBJECTS: dict[EmailTemplate, str] = {
    EmailTemplate.WELCOME: "Welcome to {project_name}",
    EmailTemplate.VERIFY_EMAIL: "Verify your {project_name} e-mail address",
    EmailTemplate.PASSWORD_RESET: "Reset your {project_name} password",
}

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    # Names and links are escaped in the HTML part; the text part is sent as written.
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    # A variable the caller forgot fails the job, rather than sending an e-mail with a hole.
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


class DeliveryError(Exception):
    """The SMTP server refused the e-mail (a 4xx answer means "try later") or could not be
    reached or timed out: worth retrying.

    Its message is the original error's type and message, with the recipient's address
    masked (servers quote it: `451 4.2.0 <ada@example.org>: try again later`), so that every
    queue can log it: logs never carry the address or the name of a user.
    """


# What the queue workers retry, with backoff and a bounded number of times.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (DeliveryError,)


def render_email(
    template: EmailTemplate, *, sender: str, to: str, variables: Mapping[str, str]
) -> EmailMessage:
    """The e-mail as sent: a text part and its HTML alternative."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = SUBJECTS[template].format(**variables)
    message.set_content(_templates.get_template(f"{template}.txt").render(variables))
    message.add_alternative(
        _templates.get_template(f"{template}.html").render(variables), subtype="html"
    )
    return message


def _masked(error: Exception, email: str) -> str:
    described = f"{type(error).__name__}: {error}"
    return re.sub(re.escape(email), "***", described, flags=re.IGNORECASE)


def _label(template: EmailTemplate) -> str:
    return template.value.replace("_", " ")


async def send_email(
    settings: Settings, *, template: EmailTemplate, to: str, variables: Mapping[str, str]
) -> None:
    """Render and send one e-mail; raises DeliveryError on SMTP failure so that queues can
    retry. Every template also gets `project_name`."""
    message = render_email(
        template,
        sender=settings.email_sender,
        to=to,
        variables={"project_name": settings.project_name, **variables},
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
        raise DeliveryError(_masked(error, to)) from None
    logger.info(f"{_label(template)} e-mail sent", extra={"email_domain": to.rpartition("@")[2]})


async def attempt_email(
    settings: Settings,
    *,
    template: EmailTemplate,
    to: str,
    variables: Mapping[str, str],
    attempt: int,
    attempts: int,
) -> None:
    """One attempt of a queue's job at `send_email`, out of `attempts` in all.

    A failed attempt is logged (WARNING while retries remain, ERROR for the last one) with
    the error's type and message, never the job's arguments, then raised for the queue.
    """
    try:
        await send_email(settings, template=template, to=to, variables=variables)
    except DeliveryError as error:
        last = attempt >= attempts
        outcome = "giving up" if last else "will retry"
        logger.log(
            logging.ERROR if last else logging.WARNING,
            f"{_label(template)} e-mail not sent, {outcome}",
            extra={"error": str(error), "attempt": attempt, "attempts": attempts},
        )
        raise
