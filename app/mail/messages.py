"""Emails rendered from the templates in app/mail/templates/: a text part and an HTML part, the same words in each."""

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.config import Settings

# HTML templates escape every value (a user's name may hold `<script>`); text templates are plain text.
TEMPLATES = Environment(
    loader=PackageLoader("app.mail"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a value the code forgot to pass stops the job instead of vanishing from the email
    keep_trailing_newline=True,
)


def render_email(
    template: str, subject: str, to: str, message_id: str, settings: Settings, **values: Any
) -> EmailMessage:
    """`<template>.txt` and `<template>.html` filled in with `values`, as one message to `to`.

    `message_id` stays the same for every attempt to send one email: a receiving server or mail client
    that sees it twice (a retry after the server took it but before the app knew) can show it once.
    """
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    domain = Address(addr_spec=parseaddr(settings.smtp_from)[1] or "no-reply@localhost").domain or "localhost"
    message["Message-ID"] = f"<{message_id}@{domain}>"
    values |= {"subject": subject}
    message.set_content(TEMPLATES.get_template(f"{template}.txt").render(values))
    message.add_alternative(TEMPLATES.get_template(f"{template}.html").render(values), subtype="html")
    return message
