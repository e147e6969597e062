"""Sign-in sessions, rate-limit counters, and the schemas of the /auth routes."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import StringConstraints
from sqlmodel import Field, SQLModel

from app.base import NEVER_REUSE_IDS, UTCDateTime, utcnow
from app.users.models import Email, Password


class AuthSession(SQLModel, table=True):
    """One sign-in on one device. Access tokens name it, so deleting the row signs that device out."""

    __tablename__ = "auth_session"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    # ON DELETE CASCADE: deleting a user ends every session of theirs.
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    # Which refresh token is current: each refresh moves it on; an older one coming back means theft.
    refresh_generation: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class RateLimitCounter(SQLModel, table=True):
    """Attempts in the current window, per limit and client or account (used when REDIS_URL is unset)."""

    __tablename__ = "rate_limit_counter"

    key: str = Field(primary_key=True, max_length=200)
    hits: int
    # Seconds since the epoch: compared the same way on every database.
    window_ends_at: float = Field(index=True)


class TokenPair(SQLModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str = Field(description="Send to POST /auth/refresh for a new pair; used once.")


TokenText = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class RefreshRequest(SQLModel):
    refresh_token: TokenText


class PasswordResetRequest(SQLModel):
    model_config = {"json_schema_extra": {"examples": [{"email": "ada@example.com"}]}}

    email: Email


class PasswordResetConfirm(SQLModel):
    token: TokenText
    new_password: Password


class Accepted(SQLModel):
    detail: str
