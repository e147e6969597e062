"""Pagination and sorting shared by every list endpoint: offset pages and cursor (keyset) pages.

A list is read in one statement. An offset page (the first page, or `offset=N`) carries the total as
an extra `total` column (an uncorrelated subquery, which both databases evaluate once); only a page
past the end, which has no row to carry it, costs a second statement for the count.

A cursor page starts after the last row of the page before: `WHERE (sort key, tiebreak) > (last
row's values)` in the sort's direction, which an index on (sort key, tiebreak) answers without
reading the rows before it, so page 800 costs what page 1 costs. It does not count: the total counted
on the first page rides in the cursor. One row more than asked is read to know whether a next page
exists, so `next_cursor` is null exactly on the last page.

The cursor is opaque to clients: base64url of compact JSON, signed with an HMAC under a key derived
from SECRET_KEY, over the payload and the list, sort and filters it was made for. Anything else (edited,
truncated, made for another sort, filter, user or list) is a 422 naming `cursor`.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import Column, and_, bindparam, func, or_, select
from sqlalchemy.sql import ColumnElement, Subquery, visitors
from sqlalchemy.sql import Select as CoreSelect

from app.config import get_settings
from app.errors import InvalidValueError
from app.reader import Reader, Row

ItemT = TypeVar("ItemT")
PageT = TypeVar("PageT", bound="Page[Any]")

# The largest id or offset the databases' INTEGER columns can hold.
MAX_ID = 2_147_483_647
# Room for the longest sort key (a 254-character email, a 200-character title in 4-byte characters)
# in base64 with its signature; anything longer cannot be a cursor this app made.
MAX_CURSOR_LENGTH = 2048
CURSOR_VERSION = 1
# Every page statement selects its sort key and tiebreak under these names, to make the next cursor.
KEY, TIEBREAK = "page_key", "page_tiebreak"

# Where a page starts: at `offset`, after a row whose sort key is a value, or after one whose key is NULL.
Position = Literal["offset", "after", "after_null"]
Sortable = Mapping[str, ColumnElement[Any]]


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
        if isinstance(value, str) and "\x00" in value and info.field_name != "cursor":
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


def _nullable(expression: ColumnElement[Any]) -> bool:
    """Whether a sort key may be NULL: it is, or reads, a nullable column."""
    return any(bool(element.nullable) for element in visitors.iterate(expression) if isinstance(element, Column))


def _ordering(key: ColumnElement[Any], tiebreak: ColumnElement[Any], descending: bool, nullable: bool) -> list[Any]:
    # NULLs sort as if above every value (PostgreSQL's default), on both databases: last ascending,
    # first descending, so that a descending list is the ascending one reversed. The tiebreak follows
    # the sort's direction, so one index on (key, tiebreak) serves both directions.
    if descending:
        return [key.desc().nulls_first() if nullable else key.desc(), tiebreak.desc()]
    return [key.asc().nulls_last() if nullable else key.asc(), tiebreak.asc()]


def _after(
    key: ColumnElement[Any], tiebreak: ColumnElement[Any], descending: bool, nullable: bool, after_null: bool
) -> ColumnElement[bool]:
    """The rows after the cursor's (`after_key`, `after_tiebreak`), in the order `_ordering` gives."""
    after_key = bindparam("after_key", type_=key.type)
    after_tiebreak = bindparam("after_tiebreak", type_=tiebreak.type)
    if after_null:  # only NULL keys after it ascending; descending, the NULLs come first
        same_key = key.is_(None) & (tiebreak < after_tiebreak if descending else tiebreak > after_tiebreak)
        return or_(same_key, key.is_not(None)) if descending else same_key
    if key is tiebreak:
        return key < after_key if descending else key > after_key
    # Not the row value (key, tiebreak) > (...): SQLite does not seek an index on an expression with one.
    # A plain range on the key, which both databases seek, and the tiebreak for the rows on the boundary.
    if descending:  # NULL keys, first when descending, were passed already
        return and_(key <= after_key, or_(key < after_key, tiebreak < after_tiebreak))
    later = and_(key >= after_key, or_(key > after_key, tiebreak > after_tiebreak))
    return or_(later, key.is_(None)) if nullable else later


def page_statements(
    rows: CoreSelect[Any],
    count: CoreSelect[Any],
    sort: str,
    sortable: Sortable,
    tiebreak: ColumnElement[Any],
    position: Position,
    around: Callable[[Subquery], Sequence[Any]] | None = None,
) -> tuple[CoreSelect[Any], CoreSelect[Any]]:
    """The page statement and the count for one shape of list request.

    `rows` selects the matching rows (a GROUP BY statement may sort on an aggregate); `sort` is a key
    of `sortable`, a leading `-` meaning descending; `tiebreak` is a unique, non-NULL column. Bound at
    run time: `limit`, and `offset` or the cursor's `after_key` and `after_tiebreak`. With `around`,
    the page is chosen first, in a subquery, and `around(page)` adds columns computed for its rows only.
    The statement carries `total` on offset pages only.
    """
    key = sortable[sort.removeprefix("-")]
    descending, nullable = sort.startswith("-"), _nullable(key)
    page = rows.add_columns(key.label(KEY), tiebreak.label(TIEBREAK)).order_by(
        *_ordering(key, tiebreak, descending, nullable)
    )
    if position == "offset":
        page = page.limit(bindparam("limit")).offset(bindparam("offset"))
    else:
        after = _after(key, tiebreak, descending, nullable, position == "after_null")
        # A condition on an aggregate belongs in HAVING; PostgreSQL and SQLite move one on the
        # grouped columns to WHERE themselves.
        page = (page.having(after) if page._group_by_clauses else page.where(after)).limit(bindparam("limit"))
    if around is not None:
        chosen = page.subquery("page")
        page = select(*chosen.c, *around(chosen)).order_by(
            *_ordering(chosen.c[KEY], chosen.c[TIEBREAK], descending, nullable)
        )
    if position == "offset":
        page = page.add_columns(count.scalar_subquery().label("total"))
    return page, count


def table_page_statements(
    table: Any,
    columns: Sequence[Any],
    conditions: Sequence[Any],
    sort: str,
    sortable: Sortable,
    tiebreak: ColumnElement[Any],
    position: Position,
) -> tuple[CoreSelect[Any], CoreSelect[Any]]:
    """`page_statements` for a list of one table's rows."""
    count = select(func.count().label("total")).select_from(table).where(*conditions)
    return page_statements(select(*columns).where(*conditions), count, sort, sortable, tiebreak, position)


def _invalid_cursor() -> InvalidValueError:
    # Never repeats the cursor: it may be large, and says nothing the client does not have.
    return InvalidValueError(
        "Invalid cursor: it was altered, or made for another list, sort or filters. Use the `next_cursor` of "
        "a page with the same `sort` and filters, or start again without `cursor`.",
        field="cursor",
    )


@lru_cache(maxsize=4)
def _cursor_key(secret_key: str) -> bytes:
    # A key of its own, so that nothing signed as a cursor can pass for a token, or the reverse.
    return hmac.new(secret_key.encode(), b"app.pagination cursor", hashlib.sha256).digest()


def _context(page_model: type[BaseModel], params: PageParams, values: Mapping[str, Any]) -> bytes:
    """What a cursor is bound to: the list, its sort and filters, and the values bound (the owner, say)."""
    filters = params.model_dump(mode="json", exclude={"limit", "offset", "cursor"})
    return json.dumps([page_model.__name__, filters, values], sort_keys=True, default=str).encode()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_value(value: Any) -> Any:
    # JSON has no dates: they are tagged, so the value comes back as the type the column binds.
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        ((tag, text),) = value.items()
        return {"t": datetime.fromisoformat, "d": date.fromisoformat}[tag](text)
    return value


def make_cursor(key: Any, tiebreak: Any, total: int, offset: int, context: bytes) -> str:
    payload = json.dumps([CURSOR_VERSION, _encode_value(key), tiebreak, total, offset], separators=(",", ":"))
    signature = hmac.new(_cursor_key(get_settings().secret_key), context + b"\n" + payload.encode(), "sha256")
    return _b64encode(payload.encode()) + "." + _b64encode(signature.digest())


def read_cursor(cursor: str, context: bytes) -> tuple[Any, Any, int, int]:
    """The cursor's (key, tiebreak, total, offset); a 422 naming `cursor` for anything this app did not sign."""
    try:
        payload_text, signature_text = cursor.split(".")
        payload, signature = _b64decode(payload_text), _b64decode(signature_text)
        expected = hmac.new(_cursor_key(get_settings().secret_key), context + b"\n" + payload, "sha256").digest()
        if not hmac.compare_digest(signature, expected):
            raise _invalid_cursor()
        version, key, tiebreak, total, offset = json.loads(payload)
        if version != CURSOR_VERSION:
            raise _invalid_cursor()
        return _decode_value(key), tiebreak, total, offset
    # Only a signed payload is parsed, but a cursor signed by an older release may not parse.
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise _invalid_cursor() from None


def _fits(page: CoreSelect[Any], key: Any, tiebreak: Any, total: Any, offset: Any) -> bool:
    """Whether a cursor's values have the types this list's sort key and tiebreak bind (a signed cursor from
    an older release might not)."""
    columns = page.selected_columns
    key_type, tiebreak_type = columns[KEY].type.python_type, columns[TIEBREAK].type.python_type
    counts = all(type(number) is int and number >= 0 for number in (total, offset))
    # A sort key of no declared type (`object`) is bound as it comes.
    key_fits = key is None or key_type is object or type(key) is key_type
    return key_fits and type(tiebreak) is tiebreak_type and counts


async def read_page(
    reader: Reader,
    page_model: type[PageT],
    statements: Callable[[Position], tuple[CoreSelect[Any], CoreSelect[Any]]],
    params: PageParams,
    values: dict[str, Any],
    shape_row: Callable[[Row], Row] | None = None,
) -> PageT:
    """Run the page statement `statements(position)` gives (made by `page_statements`) and make the page.

    The rows, reshaped by `shape_row` if given, are validated as the page's items in one pass.
    """
    context = _context(page_model, params, values)
    if params.cursor is None:
        page, count = statements("offset")
        arguments: dict[str, Any] = {"offset": params.offset}
        offset, total = params.offset, None
    else:
        if "offset" in params.model_fields_set:
            raise InvalidValueError(
                "Send `cursor` or `offset`, not both: a cursor already says where its page starts.", field="cursor"
            )
        key, tiebreak, total, offset = read_cursor(params.cursor, context)
        page, count = statements("after_null" if key is None else "after")
        if not _fits(page, key, tiebreak, total, offset):
            raise _invalid_cursor()
        arguments = {"after_key": key, "after_tiebreak": tiebreak}
    rows = await reader.all(page, **values, **arguments, limit=params.limit + 1)
    if total is None:
        if rows:
            total = rows[0]["total"]
        elif params.offset == 0:
            total = 0
        else:
            total = (await reader.all(count, **values))[0]["total"]
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = make_cursor(last[KEY], last[TIEBREAK], total, offset + len(rows), context)
    for row in rows:
        del row[KEY], row[TIEBREAK]
        row.pop("total", None)
    items = [shape_row(row) for row in rows] if shape_row else rows
    return page_model.model_validate(
        {"items": items, "total": total, "limit": params.limit, "offset": offset, "next_cursor": next_cursor}
    )
