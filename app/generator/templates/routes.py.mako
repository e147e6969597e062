<%
    id_name = r.snake + "_id"
    id_path = r.cls + "IdPath"
    names = [r.collection] + [r.cls + s for s in ("Create", "ListParams", "Page", "Public", "Update")]
    if r.owned:
        who = "user: CurrentUser, "
        owner = "user, "
        writes = ""
        write_responses = ""
        summaries = {"list": f"List my {r.human_plural}", "get": f"Get my {r.human}", "create": f"Add {r.article} {r.human}",
                     "update": f"Edit my {r.human}", "delete": f"Delete my {r.human}"}
        docs = {"list": f"Your {r.human_plural}, newest first; filter, sort and page through them.",
                "get": f"One of your {r.human_plural}.", "create": f"Add {r.article} {r.human}; only you can see it.",
                "update": f"Change only the fields sent of one of your {r.human_plural}.",
                "delete": f"Delete one of your {r.human_plural}."}
        not_found = f"You have no {r.human} with this id."
    else:
        who = ""
        owner = ""
        writes = "    dependencies=[require_superuser],\n"
        write_responses = "SUPERUSER_ONLY | "
        summaries = {"list": f"List {r.human_plural}", "get": f"Get {r.article} {r.human}", "create": f"Create {r.article} {r.human}",
                     "update": f"Update {r.article} {r.human}", "delete": f"Delete {r.article} {r.human}"}
        docs = {"list": f"Filter, sort and page through {r.human_plural}; `total` counts every match.",
                "get": f"One {r.human}, every field.", "create": f"Add {r.article} {r.human} (superusers only).",
                "update": "Change only the fields sent (superusers only).", "delete": f"Delete {r.article} {r.human} (superusers only)."}
        not_found = f"No {r.human} has this id."
    conflict = " | CONFLICT" if r.unique_fields else ""
    owned_arg = ", owner=user" if r.owned else ""
%>\
"""`${r.prefix}`: HTTP routes for ${r.human_plural}: reads run on the declared `${r.collection}`, writes through the service."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

% if r.owned:
from app.auth.dependencies import UNAUTHORIZED, CurrentUser
% else:
from app.auth.dependencies import SUPERUSER_ONLY, require_superuser
% endif
from app.db import SessionDep
from app.${r.plural} import service
from app.${r.plural}.models import ${", ".join(names)}
from app.pages import MAX_ID
from app.reads import ReadDep
from app.responses import PRECONDITION_FAILED, UNAVAILABLE, UNREADABLE_BODY, Responses, error_response
from app.writes import IfMatch

router = APIRouter(
    prefix="${r.prefix}", tags=["${r.operation}"], responses=UNAVAILABLE | UNREADABLE_BODY${" | UNAUTHORIZED" if r.owned else ""}
)

${id_path} = Annotated[int, Path(ge=1, le=MAX_ID, description="The ${r.human}'s id.", examples=[1])]
NOT_FOUND: Responses = {404: error_response("${not_found}", "${r.cls} 9999 not found")}
% if r.unique_fields:
CONFLICT: Responses = {409: error_response("Another ${r.human} has the same ${" or ".join(f.column for f in r.unique_fields)}.", service.TAKEN)}
% endif


@router.get("", operation_id="${r.operation}-list", summary="${summaries["list"]}", response_model=${r.cls}Page)
async def list_${r.plural}(read: ReadDep, ${who}params: Annotated[${r.cls}ListParams, Query()]) -> Response:
    """${docs["list"]}"""
    return await read.page(${r.collection}, params${owned_arg})


@router.get("/{${id_name}}", operation_id="${r.operation}-get", summary="${summaries["get"]}", response_model=${r.cls}Public, responses=NOT_FOUND)
async def get_${r.snake}(read: ReadDep, ${who}${id_name}: ${id_path}) -> Response:
    """${docs["get"]}"""
    return await read.one(${r.collection}, ${id_name}${owned_arg})


@router.post(
    "",
    operation_id="${r.operation}-create",
    summary="${summaries["create"]}",
    status_code=status.HTTP_201_CREATED,
${writes}\
% if write_responses or conflict:
    responses=${(write_responses + conflict.removeprefix(" | ")).removesuffix(" | ")},
% endif
)
async def create_${r.snake}(session: SessionDep, ${who}data: ${r.cls}Create, response: Response) -> ${r.cls}Public:
    """${docs["create"]}"""
    ${r.snake} = await service.create_${r.snake}(session, ${owner}data)
    response.headers["Location"] = f"${r.prefix}/{${r.snake}.id}"
    return ${r.cls}Public.model_validate(${r.snake})


@router.patch(
    "/{${id_name}}",
    operation_id="${r.operation}-update",
    summary="${summaries["update"]}",
${writes}\
    responses=${write_responses}NOT_FOUND${conflict} | PRECONDITION_FAILED,
)
async def update_${r.snake}(
    session: SessionDep, ${who}${id_name}: ${id_path}, data: ${r.cls}Update, if_match: IfMatch = None
) -> ${r.cls}Public:
    """${docs["update"]}"""
    return ${r.cls}Public.model_validate(await service.update_${r.snake}(session, ${owner}${id_name}, data, if_match))


@router.delete(
    "/{${id_name}}",
    operation_id="${r.operation}-delete",
    summary="${summaries["delete"]}",
    status_code=status.HTTP_204_NO_CONTENT,
${writes}\
    responses=${write_responses}NOT_FOUND | PRECONDITION_FAILED,
)
async def delete_${r.snake}(session: SessionDep, ${who}${id_name}: ${id_path}, if_match: IfMatch = None) -> None:
    """${docs["delete"]}"""
    await service.delete_${r.snake}(session, ${owner}${id_name}, if_match)
