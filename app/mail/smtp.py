"""Sending through the SMTP_* settings (aiosmtplib: async, so a job's timeout or a shutdown stops it cleanly).

Outside prod, without SMTP_HOST, the message is written to the log instead, so links can be followed locally.
"""

import logging
from email.message import EmailMessage

import aiosmtplib

from app.config import Settings

logger = logging.getLogger("app.mail")


class EmailNotSent(Exception):
    """The mail server could not be reached, did not answer in time, or refused the message; the job retries."""


async def send_email(message: EmailMessage, settings: Settings) -> None:
    """Hand the message to the mail server; raises EmailNotSent unless the server took it."""
    if not settings.smtp_host:
        if settings.env == "prod":
            raise EmailNotSent("SMTP_HOST is not set: set it (and SMTP_USER, SMTP_PASSWORD) to send email")
        text = message.get_body(("plain",))
        logger.warning(
            "SMTP_HOST is not set, so no email was sent. Email to %s, %r:\n%s",
            message["To"],
            message["Subject"],
            text.get_content() if isinstance(text, EmailMessage) else "",
        )
        return
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user or None,
            password=(settings.smtp_password or "") if settings.smtp_user else None,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            # Each step of the conversation (connecting, the greeting, each command) waits at most this long:
            # a server that accepts the connection and never answers fails the attempt, and it is retried.
            timeout=settings.smtp_timeout,
        )
    except (aiosmtplib.SMTPException, OSError) as error:
        reason = str(error) or type(error).__name__
        raise EmailNotSent(
            f"could not send email through {settings.smtp_host}:{settings.smtp_port}: {reason}"
        ) from None
