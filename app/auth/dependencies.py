"""Who is asking: FastAPI dependencies for signed-in users and superusers."""

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer

from app.auth.security import user_id_from_token
from app.config import get_settings
from app.db import SessionDep
from app.responses import error_response
from app.users.models import User

# auto_error=False: a missing token gets the same JSON 401 (with WWW-Authenticate) as a bad one.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)

UNAUTHORIZED = {401: error_response("No valid access token was sent.", "Not authenticated")}
FORBIDDEN = {403: error_response("The signed-in user may not do this.", "Superuser rights needed")}


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def current_user(session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    if token is None:
        raise _unauthorized("Not authenticated")
    user_id = user_id_from_token(token, get_settings())
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        # A deleted or deactivated user's tokens stop working at once.
        raise _unauthorized("Invalid or expired token")
    return user


async def current_superuser(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_superuser:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Superuser rights needed")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
CurrentSuperuser = Annotated[User, Depends(current_superuser)]
require_superuser = Depends(current_superuser)
# For routes that change the shared catalogue: `dependencies=[require_superuser], responses=SUPERUSER_ONLY | ...`.
SUPERUSER_ONLY = UNAUTHORIZED | FORBIDDEN
