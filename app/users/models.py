"""User accounts and their sign-in sessions, and the API schemas. The password hash never leaves its table."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, StrictBool, StringConstraints, WithJsonSchema
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.base import NEVER_REUSE_IDS, Timestamps, UTCDateTime, utcnow
from app.listing import Collection, Contains
from app.pages import Page, PageParams
from app.users.emails import normalise_email

PASSWORD_MIN_LENGTH = 8

# Every address a client sends goes through normalise_email, so one account has one spelling.
Email = Annotated[
    str,
    StringConstraints(max_length=320),
    AfterValidator(normalise_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]
Password = Annotated[str, StringConstraints(min_length=PASSWORD_MIN_LENGTH, max_length=128)]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class UserBase(SQLModel):
    email: str = Field(unique=True, max_length=254)
    full_name: str | None = Field(default=None, max_length=100)
    is_active: bool = True
    is_superuser: bool = False


class User(Timestamps, UserBase, table=True):
    __tablename__ = "user_account"  # "user" is a reserved word in PostgreSQL
    # Cursor pages by `created_at` seek on (created_at, id); `email` is unique, its own index serves.
    __table_args__ = (Index("ix_user_account_created_at_id", "created_at", "id"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    hashed_password: str = Field(max_length=255)
    # email_skeleton(email): two accounts whose addresses look alike cannot both exist.
    email_skeleton: str = Field(max_length=320, index=True)
    # The user followed the emailed link (POST /auth/verify-email); superusers count as verified.
    is_verified: bool = False


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


class UserRegister(SQLModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {"email": "ada@example.com", "password": "correct horse battery staple", "full_name": "Ada Lovelace"}
            ]
        }
    }

    email: Email
    password: Password = Field(description=f"At least {PASSWORD_MIN_LENGTH} characters.")
    full_name: FullName | None = None


class UserUpdateMe(SQLModel):
    """Change your name, or your password (which needs the current one)."""

    model_config = {"json_schema_extra": {"examples": [{"full_name": "Ada King, Countess of Lovelace"}]}}

    full_name: FullName | None = None
    password: Password | None = None
    current_password: str | None = Field(default=None, max_length=128)


class UserUpdate(SQLModel):
    """What a superuser may change about another account; a new `password` signs the user out everywhere."""

    model_config = {"json_schema_extra": {"examples": [{"full_name": "Ada Lovelace", "is_active": True}]}}

    full_name: FullName | None = None
    password: Password | None = None
    is_active: StrictBool | None = None
    is_superuser: StrictBool | None = None


class UserPublic(SQLModel):
    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    is_verified: bool = Field(description="Whether the user has proved the address is theirs, with the emailed link.")
    created_at: datetime


class UserPage(Page[UserPublic]):
    """A page of user accounts."""


class UserListParams(PageParams):
    q: str | None = Field(None, min_length=1, max_length=254, description="Only users whose email contains this.")
    sort: Literal["email", "-email", "created_at", "-created_at"] = Field(
        "email", description="Sort key; a leading `-` sorts descending."
    )


USERS = Collection(
    User,
    UserPage,
    UserListParams,
    filters={"q": Contains(User.email)},
    sorts={"email": User.email, "created_at": User.created_at},
)
