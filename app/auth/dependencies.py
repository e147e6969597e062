"""Who is asking: FastAPI dependencies for signed-in users and superusers."""

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer

from app.auth.sessions import SignedIn, signed_in
from app.config import get_settings
from app.reader import ReaderDep
from app.responses import Responses, error_response
from app.users.models import User

# auto_error=False: a missing token gets the same JSON 401 (with WWW-Authenticate) as a bad one.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)

UNAUTHORIZED: Responses = {401: error_response("No valid access token was sent.", "Not authenticated")}
FORBIDDEN: Responses = {403: error_response("The signed-in user may not do this.", "Superuser rights needed")}


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def current_session(reader: ReaderDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> SignedIn:
    """Who sent the access token. Read on the fast read path, before any session takes a connection:
    no request holds one pooled connection while it waits for a second."""
    if token is None:
        raise _unauthorized("Not authenticated")
    found = await signed_in(reader, token, get_settings())
    if found is None:
        # Signed out, password changed, deactivated or deleted: the token stops working at once.
        raise _unauthorized("Invalid or expired token")
    return found


async def current_user(found: Annotated[SignedIn, Depends(current_session)]) -> User:
    """The signed-in user as stored now: a snapshot, in no session. A route that changes the account
    loads it in its own session."""
    return found.user


async def current_superuser(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_superuser:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Superuser rights needed")
    return user


CurrentSession = Annotated[SignedIn, Depends(current_session)]
CurrentUser = Annotated[User, Depends(current_user)]
CurrentSuperuser = Annotated[User, Depends(current_superuser)]
require_superuser = Depends(current_superuser)
# For routes that change the shared catalogue: `dependencies=[require_superuser], responses=SUPERUSER_ONLY | ...`.
SUPERUSER_ONLY = UNAUTHORIZED | FORBIDDEN
