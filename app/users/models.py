"""User tables and API schemas. The password hash never leaves this table: no schema has it."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, EmailStr, StrictBool, StringConstraints
from sqlmodel import Field, SQLModel

from app.base import Timestamps
from app.pagination import Page, PageParams

PASSWORD_MIN_LENGTH = 8

# Emails compare case-insensitively, so they are stored lower-cased.
Email = Annotated[EmailStr, AfterValidator(str.lower)]
Password = Annotated[str, StringConstraints(min_length=PASSWORD_MIN_LENGTH, max_length=128)]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class UserBase(SQLModel):
    email: str = Field(unique=True, max_length=254)
    full_name: str | None = Field(default=None, max_length=100)
    is_active: bool = True
    is_superuser: bool = False


class User(Timestamps, UserBase, table=True):
    __tablename__ = "user_account"  # "user" is a reserved word in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    hashed_password: str = Field(max_length=255)


class UserRegister(SQLModel):
    email: Email
    password: Password = Field(description=f"At least {PASSWORD_MIN_LENGTH} characters.")
    full_name: FullName | None = None


class UserUpdateMe(SQLModel):
    """Change your name, or your password (which needs the current one)."""

    full_name: FullName | None = None
    password: Password | None = None
    current_password: str | None = Field(default=None, max_length=128)


class UserUpdate(SQLModel):
    """What a superuser may change about another account."""

    full_name: FullName | None = None
    is_active: StrictBool | None = None
    is_superuser: StrictBool | None = None


class UserPublic(SQLModel):
    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: datetime


class UserPage(Page[UserPublic]):
    """A page of user accounts."""


class UserListParams(PageParams):
    q: str | None = Field(None, min_length=1, max_length=254, description="Only users whose email contains this.")
    sort: Literal["email", "-email", "created_at", "-created_at"] = Field(
        "email", description="Sort key; a leading `-` sorts descending."
    )


class Token(SQLModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
