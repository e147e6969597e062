"""The scheduled catalogue refresh: import PEP_FEED_URL on PEP_FEED_SCHEDULE (a cron job, once per period)."""

import asyncio
import logging

from app.config import get_settings
from app.db import get_engine, session_scope
from app.jobs.queue import JobContext
from app.peps.importer import PepDataError, import_peps, parse_feed, read_source, refresh_statistics

logger = logging.getLogger("app.jobs")


async def refresh_catalogue(ctx: JobContext) -> str:
    """Download and check the whole feed, then import it in one transaction of the job's own session.

    A feed that cannot be downloaded or read changes nothing: the error is logged, the run is kept as
    failed until the next period's run replaces it.
    """
    url = get_settings().pep_feed_url
    scheduled = ctx["job"].scheduled
    assert url, "scheduled only when PEP_FEED_URL is set"
    try:
        # Blocking work (the download, the check of every record) runs off the event loop, which serves requests.
        feed = await asyncio.to_thread(lambda: parse_feed(read_source(url), url))
    except PepDataError as error:
        logger.error("Catalogue refresh (run of %d) failed, nothing changed: %s", scheduled, error)
        raise
    async with session_scope(ctx["sessions"]) as session:
        report = await import_peps(session, feed)
    if report.changed_anything:
        await refresh_statistics(get_engine())
    logger.info("Catalogue refresh (run of %d) from %s: %s", scheduled, url, report.summary())
    return report.summary()
