"""The scheduled clean-up: rows that have ended and that nothing reads any more."""

import logging
import time
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col, or_
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.models import RateLimitCounter
from app.base import utcnow
from app.db import session_scope
from app.jobs.queue import JobContext
from app.mail.models import EmailDelivery
from app.users.models import AuthSession

logger = logging.getLogger("app.jobs")

# A sent email's row guards against a second send only while its job might run again (a retry, a worker
# that died mid-send: minutes); an unsent one as long as its failed job is kept to be retried (30 days).
KEEP_SENT = timedelta(days=1)
KEEP_UNSENT = timedelta(days=30)


async def delete_ended_rows(session: AsyncSession) -> dict[str, int]:
    """Delete expired sessions, ended rate-limit windows and old email deliveries; how many of each."""
    now = utcnow()
    counts = {}
    # Reset and verification links are signed tokens, stored nowhere: what is stored per emailed link is its
    # delivery row. An expired session's refresh token no longer works (sign-in deletes only the user's own).
    statements = {
        "sessions": delete(AuthSession).where(col(AuthSession.expires_at) <= now),
        "rate-limit counters": delete(RateLimitCounter).where(col(RateLimitCounter.window_ends_at) <= time.time()),
        "email deliveries": delete(EmailDelivery).where(
            or_(
                col(EmailDelivery.created_at) < now - KEEP_UNSENT,
                col(EmailDelivery.sent_at) < now - KEEP_SENT,
            )
        ),
    }
    for name, statement in statements.items():
        counts[name] = (await session.exec(statement)).rowcount
    return counts


async def clean_up(ctx: JobContext) -> str:
    """The hourly job."""
    async with session_scope(ctx["sessions"]) as session:
        counts = await delete_ended_rows(session)
    summary = "Cleaned up " + ", ".join(f"{count} {name}" for name, count in counts.items())
    logger.info(summary)
    return summary
