"""The emails accounts get (password reset, address verification, the sign-up notice): queued in the
request's transaction, written and sent by a job.

A request only writes two rows, an EmailDelivery and its job, whether or not an account has the address:
its answer is as fast and looks the same either way, and a slow or dead mail server never reaches it. The
job looks the account up, makes the link (the token never waits in the database), renders the templates
and sends; when the server takes the message the delivery is marked sent, so a job run again sends nothing.
"""

import logging
import uuid
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import delete, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.security import encode_token
from app.base import utcnow
from app.config import Settings, get_settings
from app.db import session_scope
from app.jobs.queue import JobContext, get_queue
from app.mail.messages import render_email
from app.mail.models import EmailDelivery
from app.mail.smtp import send_email
from app.users.passwords import password_fingerprint
from app.users.service import get_user_by_email

logger = logging.getLogger("app.mail")

# A failed send is tried again after a random wait of up to 1, 2, 4... seconds, never more than 45: when the
# mail server is back, a waiting email goes within about a minute (45 s, plus an attempt still waiting on
# the dead server, up to SMTP_TIMEOUT). About 3,800 tries at 22 s on average: a day of retrying, then the
# job is kept as failed (for 30 days) for `python -m app jobs retry`.
EMAIL_JOB_OPTIONS = {
    "timeout": 60,
    "retries": 3_800,
    "retry_delay": 1.0,
    "retry_backoff": 45.0,
    "ttl": 30 * 86_400,
}


class EmailKind(StrEnum):
    PASSWORD_RESET = "password-reset"
    VERIFY_EMAIL = "verify-email"
    SIGN_UP_NOTICE = "sign-up-notice"


SUBJECTS = {
    EmailKind.PASSWORD_RESET: "Reset your PEP catalogue password",
    EmailKind.VERIFY_EMAIL: "Confirm your email address for the PEP catalogue",
    EmailKind.SIGN_UP_NOTICE: "Someone tried to sign up with your address",
}


async def queue_email(session: AsyncSession, kind: EmailKind, to: str) -> None:
    """Queue one email to the account with address `to`, if there is one when the job runs."""
    delivery = EmailDelivery(id=uuid.uuid4().hex, kind=kind, recipient=to)
    session.add(delivery)
    await session.flush()
    await get_queue().enqueue_in(
        session, send_account_email.__name__, key=f"email:{delivery.id}", delivery_id=delivery.id, **EMAIL_JOB_OPTIONS
    )


def link(template: str, token: str, settings: Settings) -> str:
    return template.format(public_url=settings.public_url.rstrip("/"), token=token)


def reset_link(user_id: int, hashed_password: str, settings: Settings) -> str:
    token = encode_token(
        "reset",
        timedelta(minutes=settings.password_reset_expire_minutes),
        settings,
        sub=str(user_id),
        pwd=password_fingerprint(hashed_password),
    )
    return link(settings.password_reset_url, token, settings)


async def compose(
    session: AsyncSession, delivery: EmailDelivery, settings: Settings
) -> tuple[str, dict[str, object]] | None:
    """The template and its values for this delivery; None when there is nobody to send it to."""
    user = await get_user_by_email(session, delivery.recipient)
    if user is None or user.id is None:
        return None
    if not user.is_active and delivery.kind != EmailKind.SIGN_UP_NOTICE:
        return None
    reset = {"expire_minutes": settings.password_reset_expire_minutes}
    if delivery.kind == EmailKind.PASSWORD_RESET:
        return "password_reset", reset | {"link": reset_link(user.id, user.hashed_password, settings)}
    if delivery.kind == EmailKind.SIGN_UP_NOTICE:
        # A reset link, for the owner who forgot they had an account; none for a deactivated one (it would not work).
        notice_link = reset_link(user.id, user.hashed_password, settings) if user.is_active else None
        return "sign_up_notice", reset | {"link": notice_link}
    if user.is_verified:
        return None
    lifetime = timedelta(hours=settings.email_verification_expire_hours)
    token = encode_token("verify", lifetime, settings, sub=str(user.id), email=user.email)
    values = {"link": link(settings.email_verification_url, token, settings), "name": user.full_name}
    return "verify_email", values | {"expire_hours": settings.email_verification_expire_hours}


async def send_account_email(ctx: JobContext, *, delivery_id: str) -> str:
    """The job: send one queued email, unless it was sent already or nobody has the address any more."""
    settings = get_settings()
    async with session_scope(ctx["sessions"]) as session:
        delivery = await session.get(EmailDelivery, delivery_id)
        if delivery is None or delivery.sent_at is not None:
            return "already sent"
        composed = await compose(session, delivery, settings)
        if composed is None:
            # Nothing to send (no account has the address): the row, which holds an address, goes at once.
            await session.exec(delete(EmailDelivery).where(col(EmailDelivery.id) == delivery_id))
            return "nobody to send to"
        template, values = composed
        to, subject = delivery.recipient, SUBJECTS[EmailKind(delivery.kind)]
    # No transaction is open while the mail server is talked to (on SQLite one would hold the write lock).
    await send_email(render_email(template, subject, to, delivery_id, settings, **values), settings)
    async with session_scope(ctx["sessions"]) as session:
        await session.exec(update(EmailDelivery).where(col(EmailDelivery.id) == delivery_id).values(sent_at=utcnow()))
    return "sent"
