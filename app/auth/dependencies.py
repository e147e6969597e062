"""Who is asking: FastAPI dependencies for signed-in users and superusers."""

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam
from sqlmodel import select

from app.auth.security import user_id_from_token
from app.config import get_settings
from app.reader import ReaderDep
from app.responses import error_response
from app.users.models import User

# auto_error=False: a missing token gets the same JSON 401 (with WWW-Authenticate) as a bad one.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)

UNAUTHORIZED = {401: error_response("No valid access token was sent.", "Not authenticated")}
FORBIDDEN = {403: error_response("The signed-in user may not do this.", "Superuser rights needed")}


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


USER_BY_ID = select(*User.__table__.c).where(User.__table__.c.id == bindparam("user_id"))


async def current_user(reader: ReaderDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    """The signed-in user, as stored now: a snapshot, not attached to any session.

    Read on the fast read path, so that no request holds a pooled connection while it waits for a
    second one. A route that changes the account loads it in its own session.
    """
    if token is None:
        raise _unauthorized("Not authenticated")
    user_id = user_id_from_token(token, get_settings())
    row = await reader.first(USER_BY_ID, user_id=user_id) if user_id is not None else None
    if row is None or not row["is_active"]:
        # A deleted or deactivated user's tokens stop working at once.
        raise _unauthorized("Invalid or expired token")
    return User.model_validate(row)


async def current_superuser(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_superuser:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Superuser rights needed")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
CurrentSuperuser = Annotated[User, Depends(current_superuser)]
require_superuser = Depends(current_superuser)
# For routes that change the shared catalogue: `dependencies=[require_superuser], responses=SUPERUSER_ONLY | ...`.
SUPERUSER_ONLY = UNAUTHORIZED | FORBIDDEN
