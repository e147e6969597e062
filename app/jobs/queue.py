"""SAQ's queue, stored in the `saq_jobs` table of the app's own database (SQLite or PostgreSQL).

SAQ (https://github.com/tobymao/saq) runs the jobs: its Worker polls this queue, runs each job with a
timeout, retries a failed one with exponential backoff up to a limit, runs cron jobs once per period and
takes back jobs whose worker died. SAQ ships queues for Redis and for PostgreSQL through psycopg; neither can
write a job in the transaction of the request that causes it, and neither works on SQLite. This class is
the storage only, written against SAQ's `Queue` base class: a job queued with `enqueue_in(session, ...)`
exists exactly when the request's changes are committed, and is never lost to a restart.

SAQ's base class is not documented as a stable extension point, so requirements.txt pins SAQ exactly and
tests/jobs/ tests this class on both databases, including the two races below.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from functools import lru_cache
from typing import Any

from saq import Job, Queue, Status
from saq.job import TERMINAL_STATUSES
from saq.queue.base import logger
from saq.types import Context, CountKind, QueueInfo, WorkerInfo
from saq.utils import now, now_seconds
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.base import table_of
from app.config import describe_database
from app.db import SQLITE_BEGIN_OPTION, get_engine
from app.errors import short_reason
from app.jobs.models import QueuedJob

JOBS = table_of(QueuedJob)
ENDED = [status.value for status in TERMINAL_STATUSES]
# How often an idle worker looks for due jobs: a new job starts within this many seconds.
POLL_SECONDS = 1.0


class JobContext(Context, total=False):
    """What SAQ hands each job (`ctx["job"]`, `ctx["worker"]`), plus the sessions a job opens its own from."""

    sessions: async_sessionmaker[AsyncSession]


class SQLQueue(Queue):
    """SAQ's Queue over the app's engine: jobs are rows of `saq_jobs`; claims are atomic on both databases."""

    def __init__(self, engine: AsyncEngine, name: str = "default") -> None:
        super().__init__(name=name, dump=None, load=None)
        self.engine = engine
        # On SQLite a write takes the database's lock at BEGIN; reads (the idle poll) take none.
        self.writing_engine = engine.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        self.is_postgres = engine.dialect.name == "postgresql"
        self._poll_lock = asyncio.Lock()  # one poll at a time per process, however many jobs it runs at once
        self._workers: dict[str, WorkerInfo] = {}
        self._unreachable = False  # the database failed the last poll: said once, not every second

    def __repr__(self) -> str:
        return f"SQLQueue<{describe_database(self.engine.url)}, queue {self.name}>"

    def _reading(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self.engine.connect()

    def _writing(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self.writing_engine.begin()

    # --- enqueue ----------------------------------------------------------------------------------

    async def enqueue_in(self, session: AsyncSession, function: str, *, key: str, **options: Any) -> Job:
        """Queue a job in the session's transaction: it exists once, and only if, the session commits.

        `options` are SAQ's Job fields (timeout, retries, retry_delay, retry_backoff, ttl); the rest of
        `options` are the function's keyword arguments (stored as they are: never put a secret there).
        """
        fields = {name: value for name, value in options.items() if name in Job.__dataclass_fields__}
        arguments = {name: value for name, value in options.items() if name not in fields}
        job = Job(function=function, kwargs=arguments, key=key, queue=self, status=Status.QUEUED, **fields)
        job.queued = now()
        connection = await session.connection()
        await connection.execute(self._upsert(job))
        return job

    def _upsert(self, job: Job) -> Any:
        values = {
            "key": job.key,
            "job": self.serialize(job),
            "queue": self.name,
            "status": job.status.value,
            "priority": job.priority,
            "group_key": job.group_key,
            "scheduled": job.scheduled or int(now_seconds()),
        }
        insert = (postgresql.insert if self.is_postgres else sqlite.insert)(JOBS).values(values)
        # SAQ's own rule (its PostgresQueue): a key is queued again only once its job has ended, and for a
        # later time. Every worker enqueues each cron job every second; this makes it run once per period.
        return insert.on_conflict_do_update(
            index_elements=[JOBS.c.key],
            set_={**{name: insert.excluded[name] for name in values if name != "key"}, "expire_at": None},
            where=JOBS.c.status.in_(ENDED) & (insert.excluded.scheduled > JOBS.c.scheduled),
        ).returning(JOBS.c.key)

    async def _enqueue(self, job: Job) -> Job | None:
        scheduled = job.scheduled or int(now_seconds())
        async with self._reading() as connection:
            stored = (
                await connection.execute(select(JOBS.c.status, JOBS.c.scheduled).where(JOBS.c.key == job.key))
            ).first()
        if stored is not None and not (stored.status in ENDED and scheduled > stored.scheduled):
            return None  # nothing to write: an idle worker re-enqueueing its cron jobs takes no write lock
        async with self._writing() as connection:
            added = (await connection.execute(self._upsert(job))).first()
        return job if added else None

    # --- dequeue ----------------------------------------------------------------------------------

    async def _claim(self) -> Job | None:
        due = (
            select(JOBS.c.key)
            .where(JOBS.c.status == Status.QUEUED.value, JOBS.c.queue == self.name)
            .where(JOBS.c.scheduled <= int(now_seconds()))
            .order_by(JOBS.c.priority, JOBS.c.scheduled)
            .limit(1)
        )
        if self.is_postgres:
            due = due.with_for_update(skip_locked=True)
        else:
            # SQLite: look first (a read takes no lock), take the write lock only when there is work.
            async with self._reading() as connection:
                if (await connection.execute(due)).first() is None:
                    return None
        claim = (
            update(JOBS)
            .where(JOBS.c.key == due.scalar_subquery(), JOBS.c.status == Status.QUEUED.value)
            .values(status=Status.ACTIVE.value)
            .returning(JOBS.c.job)
        )
        async with self._writing() as connection:
            row = (await connection.execute(claim)).first()
            if row is None:
                return None
            job = self.deserialize(row.job, Status.ACTIVE)
            assert job is not None
            # In the claim's own transaction: another process's sweep must never see this job active with
            # its last attempt's start time, take it for stuck, and run it a second time.
            job.started = job.touched = now()
            await connection.execute(update(JOBS).where(JOBS.c.key == job.key).values(job=self.serialize(job)))
        return job

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Job | None:  # noqa: ASYNC109 - SAQ's signature
        """The next due job, claimed for this worker; waits for one (forever with `timeout=0`)."""
        deadline = time.monotonic() + timeout if timeout else None
        while deadline is None or time.monotonic() < deadline:
            async with self._poll_lock:
                try:
                    if job := await self._claim():
                        self._unreachable = False
                        return job
                    self._unreachable = False
                except (SQLAlchemyError, OSError) as error:
                    # SAQ's worker would ask again at once, in a busy loop: wait as an idle poll does.
                    if not self._unreachable:
                        logger.warning("Cannot take jobs (%s); trying again every second", short_reason(error))
                    self._unreachable = True
                await asyncio.sleep(poll_interval or POLL_SECONDS)
        return None

    # --- state changes ----------------------------------------------------------------------------

    async def _update(self, job: Job, status: Status | None = None, **kwargs: Any) -> None:
        values: dict[str, Any] = {"job": self.serialize(job), "scheduled": job.scheduled}
        if status is not None:  # none given: keep the stored one (another process may be aborting the job)
            values["status"] = status.value
        if "expire_at" in kwargs:
            values["expire_at"] = kwargs["expire_at"]
        async with self._writing() as connection:
            await connection.execute(update(JOBS).where(JOBS.c.key == job.key).values(values))

    async def _retry(self, job: Job, error: str | None) -> None:
        delay = job.next_retry_delay()
        scheduled = time.time() + delay if delay else job.scheduled or now_seconds()
        await self.update(job, status=Status.QUEUED, scheduled=int(scheduled), expire_at=None)

    async def _finish(self, job: Job, status: Status, *, result: Any = None, error: str | None = None) -> None:
        if job.ttl >= 0:
            await self.update(job, status=status, expire_at=int(now_seconds()) + job.ttl if job.ttl else None)
        else:
            async with self._writing() as connection:
                await connection.execute(delete(JOBS).where(JOBS.c.key == job.key))

    async def abort(self, job: Job, error: str, ttl: float = 5) -> None:
        stored = await self.job(job.key)
        if stored is None or stored.status == Status.QUEUED:
            await self.finish(job, Status.ABORTED, error=error)
        else:
            await self.update(job, status=Status.ABORTING, error=error)

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        """Delete ended jobs past their `ttl`; put jobs whose worker died (running past their timeout) back."""
        expired = (JOBS.c.queue == self.name, JOBS.c.status.in_(ENDED), JOBS.c.expire_at <= int(now_seconds()))
        running = select(JOBS.c.key, JOBS.c.job, JOBS.c.status).where(
            JOBS.c.queue == self.name, JOBS.c.status.in_([Status.ACTIVE.value, Status.ABORTING.value])
        )
        async with self._reading() as connection:
            any_expired = (await connection.execute(select(JOBS.c.key).where(*expired).limit(1))).first()
            rows = (await connection.execute(running)).all()
        if any_expired:
            async with self._writing() as connection:
                await connection.execute(delete(JOBS).where(*expired))
        swept = []
        for row in rows:
            job = self.deserialize(row.job, row.status)
            if job is None or not job.stuck:
                continue
            # Every process sweeps: only the one whose update finds the row as it read it takes the job over.
            async with self._writing() as connection:
                taken = await connection.execute(
                    update(JOBS)
                    .where(JOBS.c.key == row.key, JOBS.c.status == row.status, JOBS.c.job == row.job)
                    .values(status=Status.ABORTING.value)
                )
            if taken.rowcount != 1:
                continue
            swept.append(job.key)
            logger.info("Sweeping %s", job.info())
            await self.abort(job, error=self.swept_error_message)
            try:
                await job.refresh(abort)
            except TimeoutError:
                logger.info("Could not abort job %s", job.key)
            if job.retryable:
                await self.retry(job, error=self.swept_error_message)
            else:
                await self.finish(job, Status.ABORTED, error=self.swept_error_message)
        return swept

    # --- reads ------------------------------------------------------------------------------------

    async def job(self, job_key: str) -> Job | None:
        return (await self.jobs([job_key]))[0]

    async def jobs(self, job_keys: Any) -> list[Job | None]:
        keys = list(job_keys)
        statement = select(JOBS.c.key, JOBS.c.job, JOBS.c.status).where(JOBS.c.key.in_(keys))
        async with self._reading() as connection:
            rows = {row.key: row for row in await connection.execute(statement)}
        return [self.deserialize(rows[key].job, rows[key].status) if key in rows else None for key in keys]

    async def iter_jobs(self, statuses: list[Status] | None = None, batch_size: int = 100) -> AsyncIterator[Job]:
        wanted = [status.value for status in statuses or Status]
        last_key = ""
        while True:
            statement = (
                select(JOBS.c.key, JOBS.c.job, JOBS.c.status)
                .where(JOBS.c.queue == self.name, JOBS.c.status.in_(wanted))
                .where(JOBS.c.key > last_key)
                .order_by(JOBS.c.key)
                .limit(batch_size)
            )
            async with self._reading() as connection:
                rows = (await connection.execute(statement)).all()
            if not rows:
                return
            for row in rows:
                last_key = row.key
                if job := self.deserialize(row.job, row.status):
                    yield job

    async def count(self, kind: CountKind) -> int:
        conditions: list[ColumnElement[bool]]
        if kind == "queued":
            conditions = [JOBS.c.status == Status.QUEUED.value, JOBS.c.scheduled <= int(now_seconds())]
        elif kind == "active":
            conditions = [JOBS.c.status == Status.ACTIVE.value]
        else:
            conditions = [JOBS.c.status.in_([Status.NEW.value, Status.QUEUED.value, Status.ACTIVE.value])]
        async with self._reading() as connection:
            counted = await connection.execute(select(func.count()).where(JOBS.c.queue == self.name, *conditions))
        return int(counted.scalar_one())

    async def info(self, jobs: bool = False, offset: int = 0, limit: int = 10) -> QueueInfo:
        queued, active, incomplete = [await self.count(kind) for kind in ("queued", "active", "incomplete")]
        listed = [job.to_dict() async for job in self.iter_jobs([Status.QUEUED, Status.ACTIVE])] if jobs else []
        return {
            "workers": dict(self._workers),
            "name": self.name,
            "queued": queued,
            "active": active,
            "scheduled": incomplete - queued - active,
            "jobs": listed[offset : offset + limit],
        }

    async def write_worker_info(self, worker_id: str, info: WorkerInfo, ttl: int) -> None:
        self._workers[worker_id] = info  # this process's workers only: nothing reads other processes' stats

    async def disconnect(self) -> None:
        """Nothing of its own to close: the engine is the app's, disposed with it."""


@lru_cache
def get_queue() -> SQLQueue:
    """This process's queue, on its engine."""
    return SQLQueue(get_engine())


async def failed_jobs(queue: SQLQueue) -> list[Job]:
    """Jobs that used up their retries (or were aborted), oldest key first, with their last error."""
    return [job async for job in queue.iter_jobs([Status.FAILED, Status.ABORTED])]


async def retry_failed_job(queue: SQLQueue, key: str) -> Job | None:
    """Queue a failed or aborted job again with its whole retry budget; None if no such job has failed."""
    job = await queue.job(key)
    if job is None or job.status not in (Status.FAILED, Status.ABORTED):
        return None
    job.attempts = 0  # SAQ's own retry keeps the count, which would leave a failed job no retry at all
    await queue.retry(job, error=None)
    return job
