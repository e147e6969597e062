<%
    names = [r.collection, r.cls, r.cls + "Create", r.cls + "Update"]
    owner = "owner: User, " if r.owned else ""
    owner_arg = ", owner=owner" if r.owned else ""
    id_name = r.snake + "_id"
    checks = []
    if r.unique_fields:
        checks.append("taken=TAKEN")
    if r.references:
        checks.append("references=REFERENCES")
    checks = "".join(", " + c for c in checks)
%>\
"""Writing ${r.human_plural}${", each for its owner only" if r.owned else ""}. Reads need no code here: `${r.collection}` (models.py) declares them."""

from sqlmodel.ext.asyncio.session import AsyncSession

from app.${r.plural}.models import ${", ".join(names)}
% if r.owned:
from app.users.models import User
% endif
from app.writes import load, save
% if r.unique_fields:

TAKEN = "Another ${r.human} has the same ${" or ".join(f.column for f in r.unique_fields)}"
% endif
% if r.references:
# The fields that name another row, and what to call it when there is none: "${r.references[0].reference.label} 9999 not found".
REFERENCES = ${repr({f.column: f.reference.label for f in r.references})}
% endif


async def create_${r.snake}(session: AsyncSession, ${owner}data: ${r.cls}Create) -> ${r.cls}:
% if r.owned:
    ${r.snake} = ${r.cls}.model_validate(data, update={"user_id": owner.id})
% else:
    ${r.snake} = ${r.cls}.model_validate(data)
% endif
    await save(session, ${r.snake}${checks})
    return ${r.snake}


async def update_${r.snake}(
    session: AsyncSession, ${owner}${id_name}: int, data: ${r.cls}Update, if_match: str | None = None
) -> ${r.cls}:
    ${r.snake} = await load(session, ${r.collection}, ${id_name}${owner_arg}, if_match=if_match)
    ${r.snake}.sqlmodel_update(data.model_dump(exclude_unset=True))
    await save(session, ${r.snake}${checks})
    return ${r.snake}


async def delete_${r.snake}(session: AsyncSession, ${owner}${id_name}: int, if_match: str | None = None) -> None:
    await session.delete(await load(session, ${r.collection}, ${id_name}${owner_arg}, if_match=if_match))
    await save(session)
