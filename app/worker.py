"""The jobs this app runs, and the SAQ worker that runs them.

By default each web process runs a worker beside the requests (`jobs_in_process`, started by the app's
lifespan): nothing else to deploy. A worker can also run as a process of its own, the Procfile's line:

    python -m saq app.worker.settings --quiet

(then set JOBS_IN_PROCESS=false on the web processes, or keep both: every job is taken by one worker).
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from saq import CronJob, Worker
from saq.types import Function, PartialTimersDict, ReceivesContext, SettingsDict

from app.auth.cleanup import clean_up
from app.auth.outbox import send_account_email
from app.config import Settings, get_settings, load_logging_settings
from app.db import dispose_engine, get_engine, get_writing_sessionmaker
from app.jobs.queue import JobContext, get_queue
from app.logs import configure_logging
from app.peps.refresh import refresh_catalogue
from app.startup import prepare_database

FUNCTIONS: list[Function[JobContext]] = [send_account_email, refresh_catalogue, clean_up]
CONCURRENCY = 4
# Seconds. `schedule` is how often a worker queues its cron jobs' next runs (a read when nothing is due);
# `sweep`, how often it looks for jobs whose worker died (running past their timeout) to run them again.
TIMERS: PartialTimersDict = {"schedule": 1, "sweep": 15, "abort": 1, "worker_info": 10}


def cron_jobs(settings: Settings) -> list[CronJob[JobContext]]:
    """Every scheduled job. Each runs once per period however many workers run (its key is unique), with no
    retry inside a period: a failed run is logged and the next period's run is the retry."""
    jobs = [CronJob(clean_up, cron="7 * * * *", timeout=300, retries=1, ttl=0)]
    if settings.pep_feed_url:
        jobs.append(CronJob(refresh_catalogue, cron=settings.pep_feed_schedule, timeout=600, retries=1, ttl=0))
    return jobs


class InProcessWorker(Worker[JobContext]):
    """A worker inside the web process: uvicorn keeps SIGINT and SIGTERM (SAQ's worker would take them),
    and the app's lifespan stops the worker, which puts the jobs it was running back in the queue."""

    SIGNALS = []


def worker_settings(settings: Settings, startup: ReceivesContext[JobContext]) -> SettingsDict[JobContext]:
    """What every worker of this app runs; `startup` gives the jobs' context its sessions."""
    return {
        "queue": get_queue(),
        "functions": FUNCTIONS,
        "cron_jobs": cron_jobs(settings),
        "concurrency": CONCURRENCY,
        "startup": startup,
        "timers": TIMERS,
    }


async def give_jobs_sessions(ctx: JobContext) -> None:
    # Jobs open sessions of their own from these, never a request's.
    ctx["sessions"] = get_writing_sessionmaker()


@asynccontextmanager
async def jobs_in_process(settings: Settings) -> AsyncIterator[None]:
    """Run a worker in this process for the duration of the block, if JOBS_IN_PROCESS is on."""
    if not settings.jobs_in_process:
        yield
        return
    worker = InProcessWorker(**worker_settings(settings, give_jobs_sessions))
    running = asyncio.create_task(worker.start())
    try:
        yield
    finally:
        await worker.stop()
        await running


async def prepare_worker(ctx: JobContext) -> None:
    """A worker process of its own checks the schema (SQLite: migrates it) before it takes a job."""
    await prepare_database(get_engine(), get_settings(), seed=False)
    await give_jobs_sessions(ctx)


async def dispose_worker(ctx: JobContext) -> None:
    await dispose_engine()


def settings() -> SettingsDict[JobContext]:
    """What `python -m saq app.worker.settings --quiet` runs: a worker process of its own, logging as the app does
    (`--quiet` leaves the logging to the app)."""
    logging_settings = load_logging_settings()
    configure_logging(logging_settings.log_format, logging_settings.log_level)
    app_settings = get_settings()
    worker = worker_settings(app_settings, prepare_worker)
    worker["shutdown"] = dispose_worker
    return worker
