"""The job queue's table: one row per job, as SAQ's own PostgreSQL queue keeps them (the job itself as JSON)."""

from sqlalchemy import BigInteger, Index, SmallInteger, Text
from sqlmodel import Field, SQLModel


class QueuedJob(SQLModel, table=True):
    """A job waiting, running, done or failed; `job` is SAQ's `Job.to_dict()` as JSON (function, kwargs, attempts...)."""

    __tablename__ = "saq_jobs"
    # The claim looks for the oldest due job of a queue with this status.
    __table_args__ = (Index("ix_saq_jobs_status_queue_priority_scheduled", "status", "queue", "priority", "scheduled"),)

    # Unique: enqueueing a key that is already waiting or running adds nothing (a cron job once per period).
    key: str = Field(primary_key=True, sa_type=Text)
    job: str = Field(sa_type=Text)
    queue: str = Field(sa_type=Text)
    status: str = Field(sa_type=Text)
    priority: int = Field(default=0, sa_type=SmallInteger)
    group_key: str | None = Field(default=None, sa_type=Text)
    # Seconds since the epoch: when the job is due, and when a finished job is deleted.
    scheduled: int = Field(sa_type=BigInteger)
    expire_at: int | None = Field(default=None, sa_type=BigInteger)
