"""Email through the SMTP_* settings; without SMTP_HOST outside prod, the message goes to the log instead."""

import logging
import smtplib
import ssl
from email.message import EmailMessage

from app.config import Settings

logger = logging.getLogger("app.mail")


def password_reset_link(token: str, settings: Settings) -> str:
    return settings.password_reset_url.format(public_url=settings.public_url.rstrip("/"), token=token)


def password_reset_message(to: str, link: str, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = "Reset your PEP catalogue password"
    message.set_content(
        "Someone (we hope you) asked to reset the password of your PEP catalogue account.\n\n"
        f"Choose a new password here within {settings.password_reset_expire_minutes} minutes:\n\n{link}\n\n"
        "The link works once. If you did not ask, ignore this email: your password stays as it is.\n"
    )
    return message


def send_email(message: EmailMessage, settings: Settings) -> None:
    """Send through the configured SMTP server (blocking: run it off the event loop). Failures are logged."""
    assert settings.smtp_host, "only called when SMTP_HOST is set"
    client: smtplib.SMTP
    try:
        if settings.smtp_tls == "tls":
            client = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        with client:
            if settings.smtp_tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                client.login(settings.smtp_user, settings.smtp_password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        # The client was already answered 202 (it must not learn whether the account exists).
        logger.error("Could not send email through %s:%s: %s", settings.smtp_host, settings.smtp_port, error)


def send_password_reset(to: str, token: str, settings: Settings) -> None:
    link = password_reset_link(token, settings)
    if settings.smtp_host:
        send_email(password_reset_message(to, link, settings), settings)
    elif settings.env != "prod":
        logger.warning("SMTP_HOST is not set, so no email was sent. Password reset link for %s: %s", to, link)
    else:
        logger.error("A password reset was asked for, but SMTP_HOST is not set: no email was sent.")
