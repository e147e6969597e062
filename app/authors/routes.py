"""HTTP routes for authors: reads run on the declared `AUTHORS`, writes through app.authors.service.

An author's own page lists their PEPs, so it is made by app.peps.service (app/authors knows nothing of
PEPs; routes, the outermost layer, may use both).
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.auth.dependencies import SUPERUSER_ONLY, require_superuser
from app.authors import service
from app.authors.models import AUTHORS, AuthorCreate, AuthorListParams, AuthorPage, AuthorSummary, AuthorUpdate
from app.db import SessionDep
from app.pages import MAX_ID
from app.peps.models import AuthorDetail
from app.peps.service import read_author_detail
from app.reader import SessionReader
from app.reads import ReadDep
from app.responses import PRECONDITION_FAILED, UNAVAILABLE, UNREADABLE_BODY, Responses, error_response
from app.writes import Answer, IfMatch

router = APIRouter(prefix="/authors", tags=["authors"], responses=UNAVAILABLE | UNREADABLE_BODY)

AuthorIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The author's id.", examples=[1])]
NOT_FOUND: Responses = {404: error_response("No author has this id.", "Author 9999 not found")}
NAME_TAKEN: Responses = {
    409: error_response("Another author has this name.", "An author named 'Guido van Rossum' already exists")
}


@router.get("", operation_id="authors-list", summary="List authors", response_model=AuthorPage)
async def list_authors(read: ReadDep, params: Annotated[AuthorListParams, Query()]) -> Response:
    """Authors with how many PEPs each wrote; search by name, sort by name or PEP count."""
    return await read.page(AUTHORS, params)


@router.get(
    "/{author_id}",
    operation_id="authors-get",
    summary="Get one author",
    response_model=AuthorDetail,
    responses=NOT_FOUND,
)
async def get_author(read: ReadDep, author_id: AuthorIdPath) -> Response:
    """One author, how many PEPs they wrote and the first 100 by number; `all_peps` links to every one."""
    return read.answer(await read_author_detail(read.reader, author_id))


@router.post(
    "",
    operation_id="authors-create",
    summary="Create an author",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require_superuser],
    responses=SUPERUSER_ONLY | NAME_TAKEN,
)
async def create_author(session: SessionDep, data: AuthorCreate, response: Response) -> AuthorSummary:
    """Add an author who has no PEP yet."""
    author = await service.create_author(session, data)
    response.headers["Location"] = f"/authors/{author.id}"
    return AuthorSummary.model_validate(author)


@router.patch(
    "/{author_id}",
    operation_id="authors-update",
    summary="Rename an author",
    dependencies=[require_superuser],
    responses=SUPERUSER_ONLY | NOT_FOUND | NAME_TAKEN | PRECONDITION_FAILED,
)
async def update_author(
    session: SessionDep, author_id: AuthorIdPath, data: AuthorUpdate, if_match: IfMatch = None
) -> AuthorDetail:
    """Change an author's name everywhere it appears."""
    await service.update_author(session, author_id, data, if_match, answer=author_detail(author_id))
    return await read_author_detail(SessionReader(session), author_id)


@router.delete(
    "/{author_id}",
    operation_id="authors-delete",
    summary="Delete an author",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_superuser],
    responses=SUPERUSER_ONLY
    | NOT_FOUND
    | PRECONDITION_FAILED
    | {409: error_response("The author is still on a PEP.", "Author 3 is on 2 PEP(s); take them off those PEPs first")},
)
async def delete_author(session: SessionDep, author_id: AuthorIdPath, if_match: IfMatch = None) -> None:
    """Delete an author who is on no PEP."""
    await service.delete_author(session, author_id, if_match, answer=author_detail(author_id))


def author_detail(author_id: int) -> Answer:
    """The author's answer as `GET /authors/{id}` makes it: what its ETag, and so If-Match, names."""
    return lambda reader: read_author_detail(reader, author_id)
