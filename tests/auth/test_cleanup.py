"""The hourly clean-up deletes what has ended (sessions, rate-limit windows, old email deliveries) and nothing else."""

import time
from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.cleanup import delete_ended_rows
from app.auth.models import RateLimitCounter
from app.base import id_of, utcnow
from app.mail.models import EmailDelivery
from app.users.models import AuthSession


async def test_the_clean_up_deletes_only_what_has_ended(session: AsyncSession, make_user) -> None:
    user, _ = await make_user("cleaned@example.com")
    now = utcnow()
    session.add_all(
        [
            AuthSession(id=9001, user_id=id_of(user), expires_at=now - timedelta(seconds=1)),
            AuthSession(id=9002, user_id=id_of(user), expires_at=now + timedelta(days=1)),
            RateLimitCounter(key="test:ended", hits=3, window_ends_at=time.time() - 1),
            RateLimitCounter(key="test:running", hits=3, window_ends_at=time.time() + 60),
            EmailDelivery(
                id="sent-long-ago", kind="password-reset", recipient="a@x.org", sent_at=now - timedelta(days=2)
            ),
            EmailDelivery(id="sent-just-now", kind="password-reset", recipient="a@x.org", sent_at=now),
            EmailDelivery(
                id="never-sent-old", kind="verify-email", recipient="a@x.org", created_at=now - timedelta(days=31)
            ),
            EmailDelivery(
                id="still-trying", kind="verify-email", recipient="a@x.org", created_at=now - timedelta(days=3)
            ),
        ]
    )
    await session.commit()
    counts = await delete_ended_rows(session)
    assert counts["email deliveries"] == 2 and counts["rate-limit counters"] >= 1 and counts["sessions"] >= 1
    sessions = set((await session.exec(select(AuthSession.id).where(AuthSession.user_id == user.id))).all())
    assert 9001 not in sessions and 9002 in sessions
    counters = set(
        (await session.exec(select(RateLimitCounter.key).where(RateLimitCounter.key.startswith("test:")))).all()
    )  # type: ignore[attr-defined]
    assert counters == {"test:running"}
    deliveries = set((await session.exec(select(EmailDelivery.id))).all())
    assert deliveries == {"sent-just-now", "still-trying"}
