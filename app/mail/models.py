"""One row per email to send: written with the change that causes it, marked when the mail server took it."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.base import UTCDateTime, utcnow


class EmailDelivery(SQLModel, table=True):
    """An email a job is to send. A job that runs again (a retry, a worker that died) finds `sent_at` set
    and sends nothing: one email per request, whatever happens to the job."""

    __tablename__ = "email_delivery"

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=40)
    recipient: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
