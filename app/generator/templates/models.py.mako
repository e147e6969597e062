<%
    kinds = {f.kind for f in r.fields}
    base_names = ["Timestamps", "NEVER_REUSE_IDS"]
    base_names += ["IsoDate"] if "date" in kinds else []
    base_names += ["IsoDateTime", "UTCDateTime"] if "datetime" in kinds else []
    base_names += ["StrictFiniteFloat"] if "float" in kinds else []
    needs_missing = any(not f.optional for f in r.fields)
    pydantic_names = sorted(({"MISSING"} if needs_missing else set()) | ({"StrictInt"} if kinds & {"int", "ref"} else set()) | ({"StrictBool"} if "bool" in kinds else set()) | ({"FiniteFloat"} if "float" in kinds else set()))
    table_args = ([f'Index("ix_{r.table}_user_id_created_at_id", "user_id", "created_at", "id")'] if r.owned else []) + [f'UniqueConstraint("user_id", "{f.column}")' for f in r.unique_fields if r.owned]
    max_id = any(f.reference is not None and "MAX_ID" in f.reference.bounds for f in r.fields)
    first = r.fields[0]
    update_example = {first.column: first.sample(1)}
    sort_values = []
    for key in ["created_at"] + [f.column for f in r.sortable]:
        sort_values += [key, "-" + key]
    filter_kinds = sorted({flt["kind"] for f in r.fields for flt in f.filters} | ({"Contains"} if r.text_fields else set()))
    uses_lower = any(f.sort == "lower" for f in r.sortable)
%>\
"""${r.cls}: the table, its API schemas, and `${r.collection}`: how the list is ${"scoped to its owner, " if r.owned else ""}filtered and sorted."""

from datetime import datetime
from typing import Literal

% if pydantic_names:
from pydantic import ${", ".join(pydantic_names)}
% endif
<% sql_names = (["Index"] if r.owned else []) + (["UniqueConstraint"] if r.owned and r.unique_fields else []) + (["func"] if uses_lower else []) %>\
% if sql_names:
from sqlalchemy import ${", ".join(sorted(sql_names))}
% endif
from sqlmodel import Field, SQLModel

from app.base import ${", ".join(sorted(base_names))}
from app.listing import ${", ".join(["Collection", *filter_kinds])}
from app.pages import ${"MAX_ID, " if max_id else ""}Page, PageParams


class ${r.cls}Base(SQLModel):
% for f in r.fields:
    ${f.column}: ${f.annotation} = Field(${", ".join(a for a in (f.field_args, f"schema_extra={{'examples': [{f.sample(0)!r}]}}") if a)})
% endfor


class ${r.cls}(Timestamps, ${r.cls}Base, table=True):
    __tablename__ = "${r.table}"
% if table_args:
    # Cursor pages of one user's rows seek on (user, created_at, id)${"; unique values are unique per owner" if r.unique_fields else ""}.
    __table_args__ = (${", ".join(table_args)}, NEVER_REUSE_IDS)
% else:
    __table_args__ = NEVER_REUSE_IDS
% endif

    id: int | None = Field(default=None, primary_key=True)
% if r.owned:
    # ON DELETE CASCADE: deleting a user deletes their ${r.human_plural} in the database itself.
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")  # leads the (user_id, created_at, id) index
% endif


class ${r.cls}Create(${r.cls}Base):
    model_config = {"extra": "forbid"}  # an unknown field is a 422 naming it, as an unknown query parameter is


class ${r.cls}Update(SQLModel):
    """Only the fields sent change."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [${repr(update_example)}]}}

% if needs_missing:
    # `X | MISSING`: may be left out, but not sent as null (the column is NOT NULL).
% endif
% for f in r.fields:
    ${f.column}: ${f.update_annotation} = Field(${f.update_field_args})
% endfor


class ${r.cls}Public(${r.cls}Base):
    id: int
    created_at: datetime
    updated_at: datetime


class ${r.cls}Page(Page[${r.cls}Public]):
    """A page of ${r.human_plural}."""


${r.cls}Sort = Literal[${", ".join(repr(v) for v in sort_values)}]


class ${r.cls}ListParams(PageParams):
% for f in r.fields:
% for flt in f.filters:
    ${flt["name"]}: ${flt["annotation"]} = Field(${flt["args"]})
% endfor
% endfor
% if r.text_fields:
    q: str | None = Field(
        None, min_length=1, max_length=200, description="Text to look for in ${" and ".join(f.name for f in r.text_fields)} (any case)."
    )
% endif
    sort: ${r.cls}Sort = Field("-created_at", description="Sort key; a leading `-` sorts descending.")


${r.collection} = Collection(
    ${r.cls},
    ${r.cls}Page,
    ${r.cls}ListParams,
    filters={
% for f in r.fields:
% for flt in f.filters:
        "${flt["name"]}": ${flt["kind"]}(${r.cls}.${f.column}),
% endfor
% endfor
% if r.text_fields:
        "q": Contains(${", ".join(f"{r.cls}.{f.column}" for f in r.text_fields)}),
% endif
    },
    sorts={
        "created_at": ${r.cls}.created_at,
% for f in r.sortable:
        "${f.column}": ${f"func.lower({r.cls}.{f.column})" if f.sort == "lower" else f"{r.cls}.{f.column}"},
% endfor
    },
% if r.owned:
    owner=${r.cls}.user_id,
% endif
)
