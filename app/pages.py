"""The shape of every list: `PageParams` (what a client asks for) and `Page[T]` (what it gets back).

Schemas only: no database here, so any models.py may import it.
"""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

ItemT = TypeVar("ItemT")

# The largest id or offset the databases' INTEGER columns can hold.
MAX_ID = 2_147_483_647
# Room for the longest sort key (a 254-character email, a 200-character title in 4-byte characters)
# in base64 with its signature; anything longer cannot be a cursor this app made.
MAX_CURSOR_LENGTH = 2048
# The query parameters every list has; the others are its filters and `sort`.
PAGE_FIELDS = frozenset({"limit", "offset", "cursor"})


class PageParams(BaseModel):
    """`limit`, `offset` and `cursor`; list endpoints extend this with their filters and `sort`."""

    # A misspelt filter is an error, not a silently unfiltered list.
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=100, description="How many items to return (1 to 100).")
    offset: int = Field(0, ge=0, le=MAX_ID, description="How many matching items to skip. Not with `cursor`.")
    cursor: str | None = Field(
        None,
        max_length=MAX_CURSOR_LENGTH,
        description="The `next_cursor` of the previous page, with the same `sort` and filters; not with `offset`.",
    )

    @field_validator("*")
    @classmethod
    def no_nul_character(cls, value: object, info: ValidationInfo) -> object:
        # SQLite ends a LIKE pattern at a NUL (`q=a%00b` searched for "a") and PostgreSQL refuses one:
        # no filter may hold it, on either database. A cursor is checked whole by its signature, and
        # its 422 never repeats it.
        if info.field_name == "cursor":
            return value
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and "\x00" in item:
                raise ValueError("must not contain a NUL character")
        return value


class Page(BaseModel, Generic[ItemT]):
    """One page of results, how many match the filters, and where the next page starts."""

    items: list[ItemT] = Field(description="This page's items, in the order `sort` asks for.")
    total: int = Field(
        description="How many items match the filters, on all pages. Counted on offset pages (the first page "
        "included); a cursor page repeats the count made on the first page of its walk instead of counting again."
    )
    limit: int = Field(description="The page size asked for: this page holds at most this many items.")
    offset: int = Field(description="How many matching items come before this page.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` (same `sort` and filters) for the next page; null on the last page."
    )
