"""User accounts: sign-up, sign-in, self-service changes and superuser administration."""

from sqlalchemy import update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.base import id_of, utcnow
from app.errors import BadRequestError, ConflictError, InvalidValueError, NotFoundError
from app.users.emails import email_skeleton, normalise_email
from app.users.models import USERS, AuthSession, User, UserRegister, UserUpdate, UserUpdateMe
from app.users.passwords import hash_password, password_fingerprint, verify_password
from app.writes import load, save

TAKEN = "A user with this email already exists"


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The account with this address, however it was typed; None for an unknown or malformed one."""
    try:
        email = normalise_email(email)
    except ValueError:
        return None
    return (await session.exec(select(User).where(User.email == email))).first()


async def register_user(session: AsyncSession, data: UserRegister, is_superuser: bool = False) -> User:
    # Hashed first, so that a taken address answers no faster than a free one.
    hashed_password = await hash_password(data.password)
    skeleton = email_skeleton(data.email)
    lookalikes = select(User.email).where(col(User.email_skeleton) == skeleton)
    for existing in (await session.exec(lookalikes)).all():
        if existing == data.email:
            raise ConflictError(TAKEN)
        raise InvalidValueError(
            "This address looks like another account's (letters from another script, or look-alike "
            "characters); use a different address.",
            field="email",
        )
    user = User.model_validate(
        data,
        update={
            "email_skeleton": skeleton,
            "hashed_password": hashed_password,
            "is_superuser": is_superuser,
            "is_verified": is_superuser,  # the operator vouches for the superuser's address
        },
    )
    # The database refuses the same email registered by another request in between.
    await save(session, user, taken=TAKEN)
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The user with this email and password, or None; as slow for an unknown email as for a wrong password."""
    user = await get_user_by_email(session, email)
    # End the read before the hash: Argon2 takes a third of a second, and a burst of sign-ins must not
    # hold pooled connections (or SQLite's write lock) that long. The user stays loaded.
    await session.commit()
    if not await verify_password(password, user.hashed_password if user else None):
        return None
    return user


async def set_password(session: AsyncSession, user: User, password: str, keep_session: int | None = None) -> None:
    """Give the account a new password and sign it out everywhere (but `keep_session`)."""
    user.hashed_password = await hash_password(password)
    user.updated_at = utcnow()
    await session.flush()
    await end_all_sessions(session, id_of(user), keep=keep_session)


async def reset_password(session: AsyncSession, user_id: int, fingerprint: str, password: str) -> bool:
    """Set a new password if the account still has the one the reset link was made for; False otherwise.

    The update names the old hash, so of two uses of one link only the first changes anything.
    """
    user = await session.get(User, user_id)
    if user is None or not user.is_active or password_fingerprint(user.hashed_password) != fingerprint:
        return False
    new_hash = await hash_password(password)
    changed = await session.exec(
        update(User)
        .where(col(User.id) == user_id, col(User.hashed_password) == user.hashed_password)
        .values(hashed_password=new_hash, updated_at=utcnow())
    )
    if changed.rowcount != 1:
        return False
    await end_all_sessions(session, user_id)
    return True


async def verify_email(session: AsyncSession, user_id: int, email: str) -> bool:
    """Mark the account verified if it still has the address the link was sent to; False if it had no
    such address or was verified already (the update names both, so a link works once)."""
    verified = await session.exec(
        update(User)
        .where(col(User.id) == user_id, col(User.email) == email, col(User.is_active), ~col(User.is_verified))
        .values(is_verified=True, updated_at=utcnow())
    )
    return verified.rowcount == 1


async def update_me(session: AsyncSession, user: User, data: UserUpdateMe, session_id: int) -> User:
    changes = data.model_dump(exclude_unset=True, exclude={"password", "current_password"})
    if data.password is not None:
        if not data.current_password or not await verify_password(data.current_password, user.hashed_password):
            raise BadRequestError("current_password is missing or incorrect")
        # Other devices (perhaps the reason for the change) are signed out; this one goes on.
        await set_password(session, user, data.password, keep_session=session_id)
    user.sqlmodel_update(changes)
    user.updated_at = utcnow()
    await session.flush()
    return user


async def end_all_sessions(session: AsyncSession, user_id: int, keep: int | None = None) -> None:
    """Sign a user out everywhere (but the session `keep`, when they changed their own password)."""
    statement = delete(AuthSession).where(col(AuthSession.user_id) == user_id)
    if keep is not None:
        statement = statement.where(col(AuthSession.id) != keep)
    await session.exec(statement)


async def update_user(
    session: AsyncSession,
    acting: User,
    user_id: int,
    data: UserUpdate,
    acting_session: int | None = None,
    if_match: str | None = None,
) -> User:
    user = await load(session, USERS, user_id, if_match=if_match)
    changes = data.model_dump(exclude_unset=True, exclude_none=True, exclude={"password"})
    if user.id == acting.id and (changes.get("is_active") is False or changes.get("is_superuser") is False):
        raise ConflictError("You cannot deactivate yourself or drop your own superuser rights")
    if data.password is not None:
        # A superuser setting their own password stays signed in here, as with PATCH /users/me.
        await set_password(session, user, data.password, keep_session=acting_session if user.id == acting.id else None)
    if changes.get("is_active") is False:
        # Reactivating the account later must not bring its old sessions back.
        await end_all_sessions(session, id_of(user))
    user.sqlmodel_update(changes)
    if changes.get("is_superuser"):
        user.is_verified = True  # superusers count as verified: a superuser vouches for the one they promote
    user.updated_at = utcnow()
    await session.flush()
    return user


async def delete_user(session: AsyncSession, acting: User, user_id: int, if_match: str | None = None) -> None:
    """Delete an account; the database deletes its notes with it."""
    if user_id == acting.id:
        raise ConflictError("You cannot delete your own account here")
    await session.delete(await load(session, USERS, user_id, if_match=if_match))
    await save(session)


async def set_password_by_email(session: AsyncSession, email: str, password: str) -> str:
    """The operator's `python -m app set-password`: a new password, every session ended. Says what it did."""
    user = await get_user_by_email(session, email)
    if user is None:
        raise NotFoundError(f"No user has the email {email}")
    await set_password(session, user, password)
    return f"Set a new password for {user.email} and signed it out everywhere."


async def ensure_superuser(session: AsyncSession, email: str, password: str) -> str:
    """Create the first superuser, or promote the existing account; never changes a password. Says what it did."""
    data = UserRegister(email=email, password=password)
    user = await get_user_by_email(session, data.email)
    if user is None:
        await register_user(session, data, is_superuser=True)
        return f"Created superuser {data.email}."
    if user.is_superuser and user.is_active and user.is_verified:
        return f"Superuser {data.email} already exists; nothing changed."
    user.is_superuser = user.is_active = user.is_verified = True
    user.updated_at = utcnow()
    await session.flush()
    return f"Made the existing user {data.email} an active superuser (password unchanged)."
