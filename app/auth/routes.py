"""Accounts from the outside: sign up, verify the address, sign in (the OAuth2 password flow), refresh,
sign out, reset a password."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from limits import parse

from app.auth import sessions
from app.auth.dependencies import UNAUTHORIZED, CurrentSession
from app.auth.models import (
    Accepted,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    TokenPair,
    VerifyEmailRequest,
    VerifyEmailResend,
)
from app.auth.outbox import EmailKind, queue_email
from app.auth.rate_limits import Limit, account_key, check_rate_limits, client_address, forget_attempts, get_limits
from app.auth.security import decode_token, parse_id
from app.config import get_settings
from app.db import SessionDep
from app.errors import ConflictError, InvalidValueError
from app.responses import UNAVAILABLE, UNREADABLE_BODY, Responses, error_response
from app.users import service
from app.users.emails import normalise_email
from app.users.models import UserPublic, UserRegister

TOO_MANY: Responses = {
    429: error_response(
        "Too many attempts from this address or for this account; wait `Retry-After` seconds.",
        "Too many attempts; try again in 840 seconds.",
    )
}
router = APIRouter(prefix="/auth", tags=["auth"], responses=UNAVAILABLE | UNREADABLE_BODY)

BAD_CREDENTIALS = "Incorrect email or password"
RESET_ACCEPTED = "If an account has this email, a link to reset its password is on its way."
SIGN_UP_ACCEPTED = "Check your inbox: the link in the email we sent completes the sign-up."
VERIFY_RESENT = "If an account with this email is waiting to be verified, a new link is on its way."
NOT_VERIFIED = (
    "Verify your email address first: follow the emailed link, or ask for a new one (POST /auth/verify-email/resend)"
)
BAD_VERIFY_LINK = "This verification link is invalid, expired or used"
# Token answers hold credentials: no browser, proxy or CDN may keep a copy (RFC 6749, section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


@router.post(
    "/register",
    operation_id="auth-register",
    summary="Sign up",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses={
        202: {
            "model": Accepted,
            "description": "With REQUIRE_VERIFIED_EMAIL=true: the same answer for a new and a taken address; "
            "the emailed link completes the sign-up (the owner of a taken address is told instead).",
        },
        403: error_response("Sign-up is switched off (ALLOW_SIGNUP).", "Sign-up is closed"),
        409: error_response(
            "The email is taken (without REQUIRE_VERIFIED_EMAIL).", "A user with this email already exists"
        ),
        **TOO_MANY,
    },
)
async def register(
    session: SessionDep, data: UserRegister, request: Request, response: Response
) -> UserPublic | JSONResponse:
    """Create an account and email a link that verifies its address; sign in with `POST /auth/token`."""
    settings = get_settings()
    if not settings.signup_open:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Sign-up is closed")
    limits = get_limits()
    await check_rate_limits(
        session,
        [(limits.sign_up_per_account, account_key(data.email)), (limits.sign_up_per_address, client_address(request))],
    )
    if not settings.require_verified_email:
        user = await service.register_user(session, data)
        await queue_email(session, EmailKind.VERIFY_EMAIL, user.email)
        response.headers["Location"] = "/users/me"
        return UserPublic.model_validate(user)
    # The same work, rows and answer for a new and a taken address: nobody learns who has an account.
    try:
        user = await service.register_user(session, data)
    except ConflictError:
        await queue_email(session, EmailKind.SIGN_UP_NOTICE, data.email)
    except InvalidValueError:
        pass  # like another account's address (look-alike letters): no account, no email, the same answer
    else:
        await queue_email(session, EmailKind.VERIFY_EMAIL, user.email)
    return JSONResponse({"detail": SIGN_UP_ACCEPTED}, status.HTTP_202_ACCEPTED)


@router.post(
    "/token",
    operation_id="auth-token",
    summary="Sign in",
    responses={
        401: error_response("Wrong email or password.", BAD_CREDENTIALS),
        403: error_response(
            "The account is deactivated, or (with REQUIRE_VERIFIED_EMAIL=true) its address is not verified yet.",
            "This account is deactivated",
        ),
        **TOO_MANY,
    },
)
async def token(
    session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, response: Response
) -> TokenPair:
    """Exchange email (as `username`) and password for an access and a refresh token; `/docs`' Authorize uses this."""
    limits = get_limits()
    try:
        account = account_key(normalise_email(form.username))
    except ValueError:
        account = account_key(form.username)
    # Counted before the password is checked: over the limit, a guess costs no Argon2 hash.
    await check_rate_limits(
        session, [(limits.sign_in_per_account, account), (limits.sign_in_per_address, client_address(request))]
    )
    user = await service.authenticate(session, form.username, form.password)
    if user is None:
        raise _unauthorized(BAD_CREDENTIALS)
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This account is deactivated")
    if get_settings().require_verified_email and not (user.is_verified or user.is_superuser):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=NOT_VERIFIED)
    await forget_attempts(session, limits.sign_in_per_account, account)
    response.headers.update(NO_STORE)
    return await sessions.start_session(session, user, get_settings())


@router.post(
    "/refresh",
    operation_id="auth-refresh",
    summary="Refresh a sign-in",
    responses={401: error_response("The refresh token is invalid, expired or used.", "Invalid or expired token")},
)
async def refresh(session: SessionDep, data: RefreshRequest, response: Response) -> TokenPair:
    """Trade a refresh token for a new pair; each refresh token works once, and a reused one ends its session."""
    pair = await sessions.refresh_session(session, data.refresh_token, get_settings())
    if pair is None:
        raise _unauthorized("Invalid or expired token")
    response.headers.update(NO_STORE)
    return pair


@router.post(
    "/logout",
    operation_id="auth-logout",
    summary="Sign out",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=UNAUTHORIZED,
)
async def logout(session: SessionDep, signed_in: CurrentSession) -> None:
    """End this session: its access and refresh tokens stop working at once."""
    await sessions.end_session(session, signed_in.session_id)


@router.post(
    "/password-reset",
    operation_id="auth-password-reset",
    summary="Ask for a password reset",
    status_code=status.HTTP_202_ACCEPTED,
    responses=TOO_MANY,
)
async def request_password_reset(session: SessionDep, data: PasswordResetRequest, request: Request) -> Accepted:
    """Email a one-time reset link if an account has this address; the answer is the same either way."""
    limits = get_limits()
    await check_rate_limits(
        session,
        [
            (limits.password_reset_per_account, account_key(data.email)),
            (limits.password_reset_per_address, client_address(request)),
        ],
    )
    # Queued whether or not an account has the address (the job looks): the same work, the same answer.
    await queue_email(session, EmailKind.PASSWORD_RESET, data.email)
    return Accepted(detail=RESET_ACCEPTED)


@router.post(
    "/password-reset/confirm",
    operation_id="auth-password-reset-confirm",
    summary="Set a new password with a reset link",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={400: error_response("The link is invalid, expired or used.", "This reset link is invalid or expired")},
)
async def confirm_password_reset(session: SessionDep, data: PasswordResetConfirm) -> None:
    """Set the password with the emailed token; every existing session of the account ends."""
    claims = decode_token(data.token, "reset", get_settings())
    user_id = parse_id(claims.get("sub")) if claims else None
    fingerprint = claims.get("pwd") if claims else None
    if user_id is None or not isinstance(fingerprint, str):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="This reset link is invalid or expired")
    if not await service.reset_password(session, user_id, fingerprint, data.new_password):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="This reset link is invalid or expired")


@router.post(
    "/verify-email",
    operation_id="auth-verify-email",
    summary="Verify my email address with the emailed link",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={400: error_response("The link is invalid, expired or used.", BAD_VERIFY_LINK)},
)
async def verify_email(session: SessionDep, data: VerifyEmailRequest) -> None:
    """Mark the account's address verified with the token from the emailed link; each link works once."""
    claims = decode_token(data.token, "verify", get_settings())
    user_id = parse_id(claims.get("sub")) if claims else None
    email = claims.get("email") if claims else None
    if user_id is None or not isinstance(email, str) or not await service.verify_email(session, user_id, email):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=BAD_VERIFY_LINK)


def verification_limits() -> tuple[Limit, Limit]:
    settings = get_settings()
    return (
        Limit("verify-email:account", parse(settings.rate_limit_verify_email_per_account)),
        Limit("verify-email:address", parse(settings.rate_limit_verify_email_per_address)),
    )


@router.post(
    "/verify-email/resend",
    operation_id="auth-verify-email-resend",
    summary="Ask for a new verification link",
    status_code=status.HTTP_202_ACCEPTED,
    responses=TOO_MANY,
)
async def resend_verification(session: SessionDep, data: VerifyEmailResend, request: Request) -> Accepted:
    """Email a new verification link if an unverified account has this address; the answer is the same either way."""
    per_account, per_address = verification_limits()
    await check_rate_limits(session, [(per_account, account_key(data.email)), (per_address, client_address(request))])
    await queue_email(session, EmailKind.VERIFY_EMAIL, data.email)
    return Accepted(detail=VERIFY_RESENT)
