"""HTTP routes for PEPs: reads run on the declared `PEPS`, writes through app.peps.service."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.auth.dependencies import SUPERUSER_ONLY, require_superuser
from app.db import SessionDep
from app.peps import service
from app.peps.models import PEPS, PepCreate, PepDetail, PepListParams, PepPage, PepUpdate
from app.reads import ReadDep
from app.responses import PRECONDITION_FAILED, UNAVAILABLE, UNREADABLE_BODY, Responses, error_response
from app.writes import IfMatch

router = APIRouter(prefix="/peps", tags=["peps"], responses=UNAVAILABLE | UNREADABLE_BODY)

PepNumberPath = Annotated[int, Path(ge=0, le=99999, description="The PEP's number.", examples=[8])]
NOT_FOUND: Responses = {404: error_response("No PEP has this number.", "PEP 9999 not found")}


@router.get("", operation_id="peps-list", summary="List PEPs", response_model=PepPage)
async def list_peps(read: ReadDep, params: Annotated[PepListParams, Query()]) -> Response:
    """Filter, sort and page through PEPs; `total` counts every match."""
    return await read.page(PEPS, params)


@router.get("/{number}", operation_id="peps-get", summary="Get one PEP", response_model=PepDetail, responses=NOT_FOUND)
async def get_pep(read: ReadDep, number: PepNumberPath) -> Response:
    """Every field of one PEP, authors in the PEP's own order."""
    return await read.one(PEPS, number)


@router.post(
    "",
    operation_id="peps-create",
    summary="Create a PEP",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require_superuser],
    responses=SUPERUSER_ONLY | {409: error_response("A PEP with this number exists.", "PEP 8 already exists")},
)
async def create_pep(session: SessionDep, data: PepCreate, response: Response) -> PepDetail:
    """Add a PEP; authors are given by name and new names become authors."""
    pep = await service.create_pep(session, data)
    response.headers["Location"] = f"/peps/{pep.number}"
    return pep


@router.patch(
    "/{number}",
    operation_id="peps-update",
    summary="Update a PEP",
    dependencies=[require_superuser],
    responses=SUPERUSER_ONLY | NOT_FOUND | PRECONDITION_FAILED,
)
async def update_pep(
    session: SessionDep, number: PepNumberPath, data: PepUpdate, if_match: IfMatch = None
) -> PepDetail:
    """Change only the fields sent; `authors` replaces the list, in the order given."""
    return await service.update_pep(session, number, data, if_match)


@router.delete(
    "/{number}",
    operation_id="peps-delete",
    summary="Delete a PEP",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_superuser],
    responses=SUPERUSER_ONLY | NOT_FOUND | PRECONDITION_FAILED,
)
async def delete_pep(session: SessionDep, number: PepNumberPath, if_match: IfMatch = None) -> None:
    """Delete a PEP; its authors stay, even those left with no PEP."""
    await service.delete_pep(session, number, if_match)
