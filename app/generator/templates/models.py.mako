<%
    kinds = {f.kind for f in r.fields}
    base_names = ["Timestamps", "NEVER_REUSE_IDS"]
    base_names += ["IsoDate"] if "date" in kinds else []
    base_names += ["IsoDateTime", "UTCDateTime"] if "datetime" in kinds else []
    base_names += ["StrictFiniteFloat"] if "float" in kinds else []
    pydantic_names = sorted(({"StrictInt"} if kinds & {"int", "ref"} else set()) | ({"StrictBool"} if "bool" in kinds else set()) | ({"FiniteFloat"} if "float" in kinds else set()))
    owner_unique = r.owned and r.unique_fields
    max_id = any(f.reference is not None and "MAX_ID" in f.reference.bounds for f in r.fields)
    example = {f.column: f.sample(0) for f in r.fields}
    first = r.fields[0]
    update_example = {first.column: first.sample(1)}
    sort_values = []
    for key in ["created_at"] + [f.column for f in r.sortable]:
        sort_values += [key, "-" + key]
%>\
"""${r.cls}: the table and its API schemas (SQLModel's Base / table / Create / Update / Public pattern)."""

from datetime import datetime
from typing import Literal

% if pydantic_names:
from pydantic import ${", ".join(pydantic_names)}
% endif
% if owner_unique:
from sqlalchemy import UniqueConstraint
% endif
from sqlmodel import Field, SQLModel

from app.base import ${", ".join(sorted(base_names))}
from app.pagination import ${"MAX_ID, " if max_id else ""}Page, PageParams


class ${r.cls}Base(SQLModel):
% for f in r.fields:
    ${f.column}: ${f.annotation}${f" = Field({f.field_args})" if f.field_args else ""}
% endfor


class ${r.cls}(Timestamps, ${r.cls}Base, table=True):
    __tablename__ = "${r.table}"
% if owner_unique:
    # Unique for each owner: two users may both have the same value.
    __table_args__ = (
% for f in r.unique_fields:
        UniqueConstraint("user_id", "${f.column}"),
% endfor
        NEVER_REUSE_IDS,
    )
% else:
    __table_args__ = NEVER_REUSE_IDS
% endif

    id: int | None = Field(default=None, primary_key=True)
% if r.owned:
    # ON DELETE CASCADE: deleting a user deletes their ${r.human_plural} in the database itself.
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
% endif


class ${r.cls}Create(${r.cls}Base):
    model_config = {"json_schema_extra": {"examples": [${repr(example)}]}}


class ${r.cls}Update(SQLModel):
    """Every field optional: only the fields sent change."""

    model_config = {"json_schema_extra": {"examples": [${repr(update_example)}]}}

    # Fields whose column is NOT NULL may be left out but not sent as null: typed without None and
    # defaulting to None, so the validation and the OpenAPI schema both say so.
% for f in r.fields:
    ${f.column}: ${f.update_annotation} = Field(${f.update_field_args})
% endfor


class ${r.cls}Public(${r.cls}Base):
    id: int
    created_at: datetime
    updated_at: datetime


class ${r.cls}Page(Page[${r.cls}Public]):
    """A page of ${r.human_plural}."""


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
    sort: Literal[${", ".join(repr(v) for v in sort_values)}] = Field(
        "-created_at", description="Sort key; a leading `-` sorts descending."
    )
