"""Your own account (`/users/me`) and, for superusers, everyone's (`/users`)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.auth.dependencies import FORBIDDEN, UNAUTHORIZED, CurrentSession, CurrentSuperuser, CurrentUser
from app.base import id_of
from app.db import SessionDep
from app.pages import MAX_ID
from app.reads import ReadDep
from app.responses import PRECONDITION_FAILED, UNAVAILABLE, UNREADABLE_BODY, Responses, error_response
from app.users import service
from app.users.models import USERS, UserListParams, UserPage, UserPublic, UserUpdate, UserUpdateMe
from app.writes import IfMatch, load

router = APIRouter(prefix="/users", tags=["users"], responses=UNAVAILABLE | UNREADABLE_BODY | UNAUTHORIZED)

# `:int` keeps /users/me from being read as /users/{user_id}: DELETE /users/me is 405, not 422.
UserIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The user's id.")]
NOT_FOUND: Responses = {404: error_response("No user has this id.", "User 9999 not found")}
WRONG_PASSWORD: Responses = {
    400: error_response("The current password is wrong.", "current_password is missing or incorrect")
}
SELF_CHANGE: Responses = {
    409: error_response("A superuser may not lock themselves out.", "You cannot delete your own account here")
}


@router.get("/me", operation_id="users-me", summary="Get my account")
async def read_me(user: CurrentUser) -> UserPublic:
    """The signed-in user's account."""
    return UserPublic.model_validate(user)


@router.patch(
    "/me",
    operation_id="users-update-me",
    summary="Update my account",
    responses=WRONG_PASSWORD | PRECONDITION_FAILED,
)
async def update_me(
    session: SessionDep, me: CurrentSession, data: UserUpdateMe, if_match: IfMatch = None
) -> UserPublic:
    """Change your name, or your password (with `current_password`), which signs out your other sessions."""
    account = await load(session, USERS, id_of(me.user), if_match=if_match)
    return UserPublic.model_validate(await service.update_me(session, account, data, me.session_id))


@router.get("", operation_id="users-list", summary="List users", response_model=UserPage, responses=FORBIDDEN)
async def list_users(read: ReadDep, _: CurrentSuperuser, params: Annotated[UserListParams, Query()]) -> Response:
    """Every account (superusers only)."""
    return await read.page(USERS, params)


@router.get(
    "/{user_id:int}",
    operation_id="users-get",
    summary="Get a user",
    response_model=UserPublic,
    responses=FORBIDDEN | NOT_FOUND,
)
async def get_user(read: ReadDep, _: CurrentSuperuser, user_id: UserIdPath) -> Response:
    """One account (superusers only)."""
    return await read.one(USERS, user_id)


@router.patch(
    "/{user_id:int}",
    operation_id="users-update",
    summary="Update a user",
    responses=FORBIDDEN | NOT_FOUND | SELF_CHANGE | PRECONDITION_FAILED,
)
async def update_user(
    session: SessionDep,
    acting: CurrentSuperuser,
    me: CurrentSession,
    user_id: UserIdPath,
    data: UserUpdate,
    if_match: IfMatch = None,
) -> UserPublic:
    """Deactivate, reactivate, promote or set a new password (superusers only); deactivating or a new password signs the user out."""
    user = await service.update_user(session, acting, user_id, data, me.session_id, if_match)
    return UserPublic.model_validate(user)


@router.delete(
    "/{user_id:int}",
    operation_id="users-delete",
    summary="Delete a user",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=FORBIDDEN | NOT_FOUND | SELF_CHANGE | PRECONDITION_FAILED,
)
async def delete_user(
    session: SessionDep, acting: CurrentSuperuser, user_id: UserIdPath, if_match: IfMatch = None
) -> None:
    """Delete an account and its notes (superusers only)."""
    await service.delete_user(session, acting, user_id, if_match)
