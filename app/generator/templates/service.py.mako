<%
    table = r.snake.upper() + "_TABLE"
    names = [r.cls, r.cls + "Create", r.cls + "ListParams", r.cls + "Page", r.cls + "Public", r.cls + "Update"]
    errors = ["NotFoundError"] + (["ConflictError"] if r.unique_fields else []) + (["InvalidValueError"] if r.references else [])
    targets = sorted({(f.reference.model_module, f.reference.model_class) for f in r.references})
    uses_lower = any(f.kind == "str" for f in r.sortable)
    sql_names = ["bindparam"] + (["func"] if uses_lower else []) + (["or_"] if len(r.text_fields) > 1 else [])
    owner = "owner: User, " if r.owned else ""
    owner_arg = "owner, " if r.owned else ""
    id_name = r.snake + "_id"
    if len(r.text_fields) > 1:
        q_condition = "or_(" + ", ".join(f'contains_any_case(columns.{f.column}, "q")' for f in r.text_fields) + ")"
    elif r.text_fields:
        q_condition = f'contains_any_case(columns.{r.text_fields[0].column}, "q")'
    else:
        q_condition = None
    flush = "_flush_unique(session)" if r.unique_fields else "session.flush()"
    owned_note = f"\n\nEvery query is filtered by the owner: another user's {r.human} does not exist for you.\n" if r.owned else ""
%>\
"""${r.cls} queries. Reads run on the fast read path (app.reader) in one statement; writes use the ORM session.${owned_note}"""

from functools import lru_cache
from typing import Any

from sqlalchemy import ${", ".join(sql_names)}
% if r.unique_fields:
from sqlalchemy.exc import IntegrityError
% endif
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import ${"col, " if r.owned else ""}select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.${r.plural}.models import ${", ".join(names)}
from app.base import table_of, utcnow
from app.errors import ${", ".join(sorted(errors))}
from app.pagination import Position, read_page, table_page_statements
% for module, name in targets:
from ${module} import ${name}
% endfor
from app.reader import Reader
% if r.text_fields:
from app.sql import contains_any_case, contains_pattern
% endif
% if r.owned:
from app.users.models import User
% endif

${table} = table_of(${r.cls})
PUBLIC_COLUMNS = [${table}.c[name] for name in ${r.cls}Public.model_fields]
${r.snake.upper()}_BY_ID = select(*PUBLIC_COLUMNS).where(
    ${table}.c.id == bindparam("${id_name}")\
% if r.owned:
, ${table}.c.user_id == bindparam("owner_id")\
% endif

)
# The list's filters, each bound under its own name (`q` as a LIKE pattern).
FILTERS = ${repr(tuple(r.filter_names))}


def ${r.snake}_filter_values(params: ${r.cls}ListParams) -> dict[str, Any]:
    """The filters the client set, as the values their conditions in `${r.snake}_conditions` bind."""
    values = {name: getattr(params, name) for name in FILTERS if getattr(params, name) is not None}
% if q_condition:
    if "q" in values:
        values["q"] = contains_pattern(values["q"])
% endif
    return values


def ${r.snake}_conditions(filters: frozenset[str]) -> list[ColumnElement[bool]]:
    """The WHERE conditions for the filters named; each binds its value under the filter's name."""
    columns = ${table}.c
    conditions: dict[str, ColumnElement[bool]] = {
% for f in r.fields:
% for flt in f.filters:
        "${flt["name"]}": ${flt["condition"]},
% endfor
% endfor
% if q_condition:
        "q": ${q_condition},
% endif
    }
    return [condition for name, condition in conditions.items() if name in filters]


@lru_cache(maxsize=256)
def ${r.snake}_page_statements(filters: frozenset[str], sort: str, position: Position) -> tuple[Select[Any], Select[Any]]:
    """The page statement (the rows and their total) and the count, for one shape of request."""
    columns = ${table}.c
% if r.owned:
    conditions = [columns.user_id == bindparam("owner_id"), *${r.snake}_conditions(filters)]
% else:
    conditions = ${r.snake}_conditions(filters)
% endif
    sortable = {
        "created_at": columns.created_at,
% for f in r.sortable:
        "${f.column}": ${f.sort_expression},
% endfor
    }
    return table_page_statements(${table}, PUBLIC_COLUMNS, conditions, sort, sortable, columns.id, position)


async def list_${r.plural}(reader: Reader, ${owner}params: ${r.cls}ListParams) -> ${r.cls}Page:
    values = ${r.snake}_filter_values(params)
    filters = frozenset(values)
% if r.owned:
    values["owner_id"] = owner.id
% endif
    return await read_page(
        reader, ${r.cls}Page, lambda position: ${r.snake}_page_statements(filters, params.sort, position), params, values
    )


async def get_${r.snake}(reader: Reader, ${owner}${id_name}: int) -> ${r.cls}Public:
    row = await reader.first(${r.snake.upper()}_BY_ID, ${id_name}=${id_name}${", owner_id=owner.id" if r.owned else ""})
    if row is None:
        raise NotFoundError(f"${r.cls} {${id_name}} not found")
    return ${r.cls}Public.model_validate(row)


async def load_${r.snake}(session: AsyncSession, ${owner}${id_name}: int) -> ${r.cls}:
    """The ${r.human} as an ORM object, to change it."""
% if r.owned:
    found = await session.exec(
        select(${r.cls}).where(col(${r.cls}.id) == ${id_name}, col(${r.cls}.user_id) == owner.id)
    )
    ${r.snake} = found.first()
    if ${r.snake} is None:
        # 404, not 403: a ${r.human} that is not yours must not even be known to exist.
        raise NotFoundError(f"${r.cls} {${id_name}} not found")
% else:
    ${r.snake} = await session.get(${r.cls}, ${id_name})
    if ${r.snake} is None:
        raise NotFoundError(f"${r.cls} {${id_name}} not found")
% endif
    return ${r.snake}
% if r.references:


async def check_references(session: AsyncSession, values: dict[str, Any]) -> None:
    """A 422 naming the field when a referenced row does not exist (the database would only say 409)."""
% for f in r.references:
    if values.get("${f.column}") is not None and await session.get(${f.reference.model_class}, values["${f.column}"]) is None:
        raise InvalidValueError(f"${f.reference.label} {values['${f.column}']} not found", "${f.column}")
% endfor
% endif
% if r.unique_fields:


async def _flush_unique(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise ConflictError(
            "Another ${r.human} has the same ${" or ".join(f.column for f in r.unique_fields)}"
        ) from None
% endif


async def create_${r.snake}(session: AsyncSession, ${owner}data: ${r.cls}Create) -> ${r.cls}:
% if r.references:
    await check_references(session, data.model_dump())
% endif
% if r.owned:
    ${r.snake} = ${r.cls}.model_validate(data, update={"user_id": owner.id})
% else:
    ${r.snake} = ${r.cls}.model_validate(data)
% endif
    session.add(${r.snake})
    await ${flush}
    return ${r.snake}


async def update_${r.snake}(session: AsyncSession, ${owner}${id_name}: int, data: ${r.cls}Update) -> ${r.cls}:
    ${r.snake} = await load_${r.snake}(session, ${owner_arg}${id_name})
    changes = data.model_dump(exclude_unset=True)
% if r.references:
    await check_references(session, changes)
% endif
    ${r.snake}.sqlmodel_update(changes)
    ${r.snake}.updated_at = utcnow()
    await ${flush}
    return ${r.snake}


async def delete_${r.snake}(session: AsyncSession, ${owner}${id_name}: int) -> None:
    await session.delete(await load_${r.snake}(session, ${owner_arg}${id_name}))
    await session.flush()
