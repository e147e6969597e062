"""HTTP routes for authors: thin wrappers over app.authors.service."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.auth.dependencies import SUPERUSER_ONLY, require_superuser
from app.authors import service
from app.authors.models import AuthorCreate, AuthorDetail, AuthorListParams, AuthorPage, AuthorSummary, AuthorUpdate
from app.base import id_of
from app.db import SessionDep
from app.pagination import MAX_ID
from app.reader import ReaderDep, SessionReader
from app.responses import UNAVAILABLE, UNREADABLE_BODY, Responses, error_response

router = APIRouter(prefix="/authors", tags=["authors"], responses=UNAVAILABLE | UNREADABLE_BODY)

AuthorIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The author's id.", examples=[1])]
NOT_FOUND: Responses = {404: error_response("No author has this id.", "Author 9999 not found")}
NAME_TAKEN: Responses = {
    409: error_response("Another author has this name.", "An author named 'Guido van Rossum' already exists")
}


@router.get("", operation_id="authors-list", summary="List authors")
async def list_authors(reader: ReaderDep, params: Annotated[AuthorListParams, Query()]) -> AuthorPage:
    """Authors with how many PEPs each wrote; search by name, sort by name or PEP count."""
    return await service.list_authors(reader, params)


@router.get("/{author_id}", operation_id="authors-get", summary="Get one author", responses=NOT_FOUND)
async def get_author(reader: ReaderDep, author_id: AuthorIdPath) -> AuthorDetail:
    """One author, how many PEPs they wrote and the first 100 by number; `all_peps` links to every one."""
    return await service.get_author_detail(reader, author_id)


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
    return AuthorSummary(id=id_of(author), name=author.name, pep_count=0)


@router.patch(
    "/{author_id}",
    operation_id="authors-update",
    summary="Rename an author",
    dependencies=[require_superuser],
    responses=SUPERUSER_ONLY | NOT_FOUND | NAME_TAKEN,
)
async def update_author(session: SessionDep, author_id: AuthorIdPath, data: AuthorUpdate) -> AuthorDetail:
    """Change an author's name everywhere it appears."""
    await service.update_author(session, author_id, data)
    return await service.get_author_detail(SessionReader(session), author_id)


@router.delete(
    "/{author_id}",
    operation_id="authors-delete",
    summary="Delete an author",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_superuser],
    responses=SUPERUSER_ONLY
    | NOT_FOUND
    | {409: error_response("The author is still on a PEP.", "Author 3 is on 2 PEP(s); take them off those PEPs first")},
)
async def delete_author(session: SessionDep, author_id: AuthorIdPath) -> None:
    """Delete an author who is on no PEP."""
    await service.delete_author(session, author_id)
