"""Rate-limit counters, and the schemas of the /auth routes."""

from typing import Annotated, Literal

from pydantic import StringConstraints
from sqlmodel import Field, SQLModel

from app.users.models import Email, Password


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


class VerifyEmailRequest(SQLModel):
    token: TokenText


class VerifyEmailResend(SQLModel):
    model_config = {"json_schema_extra": {"examples": [{"email": "ada@example.com"}]}}

    email: Email


class Accepted(SQLModel):
    detail: str
