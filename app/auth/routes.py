"""Sign-up and sign-in: `POST /auth/register` and `POST /auth/token` (the OAuth2 password flow)."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.auth.security import create_access_token
from app.config import get_settings
from app.db import SessionDep
from app.responses import UNAVAILABLE, UNREADABLE_BODY, error_response
from app.users import service
from app.users.models import Token, UserPublic, UserRegister

router = APIRouter(prefix="/auth", tags=["auth"], responses=UNAVAILABLE | UNREADABLE_BODY)

BAD_CREDENTIALS = "Incorrect email or password"


@router.post(
    "/register",
    operation_id="auth-register",
    summary="Sign up",
    status_code=status.HTTP_201_CREATED,
    responses={
        403: error_response("Sign-up is switched off (ALLOW_SIGNUP).", "Sign-up is closed"),
        409: error_response("The email is taken.", "A user with this email already exists"),
    },
)
async def register(session: SessionDep, data: UserRegister, response: Response) -> UserPublic:
    """Create an account with an email and a password; sign in with `POST /auth/token`."""
    if not get_settings().signup_open:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Sign-up is closed")
    user = await service.register_user(session, data)
    response.headers["Location"] = "/users/me"
    return UserPublic.model_validate(user)


@router.post(
    "/token",
    operation_id="auth-token",
    summary="Sign in",
    responses={
        401: error_response("Wrong email or password.", BAD_CREDENTIALS),
        403: error_response("The account is deactivated.", "This account is deactivated"),
    },
)
async def token(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange email (as `username`) and password for a bearer token; `/docs`' Authorize button uses this."""
    user = await service.authenticate(session, form.username, form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, detail=BAD_CREDENTIALS, headers={"WWW-Authenticate": "Bearer"}
        )
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This account is deactivated")
    return Token(access_token=create_access_token(user.id, get_settings()))
