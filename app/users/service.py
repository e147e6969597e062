"""User accounts: sign-up, sign-in, self-service changes and superuser administration."""

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.security import hash_password, verify_password
from app.base import utcnow
from app.errors import BadRequestError, ConflictError, NotFoundError
from app.pagination import fetch_page, order_by
from app.users.models import User, UserListParams, UserRegister, UserUpdate, UserUpdateMe


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(User.email == email.lower()))).first()


async def register_user(session: AsyncSession, data: UserRegister, is_superuser: bool = False) -> User:
    if await get_user_by_email(session, data.email) is not None:
        raise ConflictError("A user with this email already exists")
    user = User(
        email=data.email,
        full_name=data.full_name,
        hashed_password=await hash_password(data.password),
        is_superuser=is_superuser,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # the same email registered by another request in between
        raise ConflictError("A user with this email already exists") from None
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The user with this email and password, or None; as slow for an unknown email as for a wrong password."""
    user = await get_user_by_email(session, email)
    if not await verify_password(password, user.hashed_password if user else None):
        return None
    return user


async def update_me(session: AsyncSession, user: User, data: UserUpdateMe) -> User:
    changes = data.model_dump(exclude_unset=True, exclude={"password", "current_password"})
    if data.password is not None:
        if not data.current_password or not await verify_password(data.current_password, user.hashed_password):
            raise BadRequestError("current_password is missing or incorrect")
        user.hashed_password = await hash_password(data.password)
    user.sqlmodel_update(changes)
    user.updated_at = utcnow()
    await session.flush()
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"User {user_id} not found")
    return user


async def list_users(session: AsyncSession, params: UserListParams) -> tuple[Sequence[User], int]:
    statement = select(User)
    if params.q:
        statement = statement.where(col(User.email).icontains(params.q, autoescape=True))
    sortable = {"email": col(User.email), "created_at": col(User.created_at)}
    return await fetch_page(session, statement, params, order_by(params.sort, sortable, col(User.id)))


async def update_user(session: AsyncSession, acting: User, user_id: int, data: UserUpdate) -> User:
    user = await get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if user.id == acting.id and (changes.get("is_active") is False or changes.get("is_superuser") is False):
        raise ConflictError("You cannot deactivate yourself or drop your own superuser rights")
    user.sqlmodel_update(changes)
    user.updated_at = utcnow()
    await session.flush()
    return user


async def delete_user(session: AsyncSession, acting: User, user_id: int) -> None:
    """Delete an account; the database deletes its notes with it."""
    if user_id == acting.id:
        raise ConflictError("You cannot delete your own account here")
    await get_user(session, user_id)
    await session.exec(delete(User).where(col(User.id) == user_id))


async def ensure_superuser(session: AsyncSession, email: str, password: str) -> str:
    """Create the first superuser, or promote the existing account; never changes a password. Says what it did."""
    data = UserRegister(email=email, password=password)
    user = await get_user_by_email(session, data.email)
    if user is None:
        await register_user(session, data, is_superuser=True)
        return f"Created superuser {data.email}."
    if user.is_superuser and user.is_active:
        return f"Superuser {data.email} already exists; nothing changed."
    user.is_superuser = user.is_active = True
    user.updated_at = utcnow()
    await session.flush()
    return f"Made the existing user {data.email} an active superuser (password unchanged)."
