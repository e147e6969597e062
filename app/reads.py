"""The one read path of every GET: a declared `Collection` (app/listing.py) run on the fast reader.

Routes take `ReadDep` and answer `await read.page(COLLECTION, params)` or `await read.one(COLLECTION, key)`
(with `owner=user` for a collection each user owns). A list is read in one statement: an offset page
(the first page, or `offset=N`) carries the total as an extra column; only a page past the end, which
has no row to carry it, costs a second statement for the count. A cursor page starts right after the
last row of the page before and does not count again: the total counted on the first page rides in
the cursor. One row more than asked is read to know whether a next page exists.
"""

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from app.base import Stored, id_of
from app.cursors import cursor_context, invalid_cursor, make_cursor, read_cursor
from app.errors import InvalidValueError, NotFoundError
from app.http_caching import cache_control, json_answer, list_etag, none_match, not_modified
from app.listing import CHANGES, KEY, OWNER, ROW_KEY, TIEBREAK, Collection, ItemT
from app.pages import PAGE_FIELDS, Page, PageParams
from app.reader import Reader, ReaderDep, Row


def _owner_values(collection: Collection[Any, Any], owner: Stored | None) -> dict[str, Any]:
    if (collection.owner is None) != (owner is None):
        need = "needs `owner=` (each user reads only their own rows)" if owner is None else "has no owner column"
        raise TypeError(f"the {collection.name} collection {need}")
    return {} if owner is None else {OWNER: id_of(owner)}


def _fits(key_type: type, tiebreak_type: type, key: Any, tiebreak: Any, total: Any, offset: Any) -> bool:
    """Whether a cursor's values have the types this list's sort key and tiebreak bind (a signed cursor from
    an older release might not)."""
    counts = all(type(number) is int and number >= 0 for number in (total, offset))
    # A sort key of no declared type (`object`) is bound as it comes.
    key_fits = key is None or key_type is object or type(key) is key_type
    return key_fits and type(tiebreak) is tiebreak_type and counts


async def read_page(
    reader: Reader, collection: Collection[Any, ItemT], params: PageParams, owner: Stored | None = None
) -> Page[ItemT]:
    """One page of the collection, as `params` asks (filters, sort, offset or cursor)."""
    page, _ = await _read_page(reader, collection, params, owner)
    return collection.page_model.model_validate(page)


async def _read_page(
    reader: Reader, collection: Collection[Any, Any], params: PageParams, owner: Stored | None
) -> tuple[dict[str, Any], int]:
    """The page's fields (its items as rows), and the change count of the tables it read, in the same
    statement (app/changes.py)."""
    owner_values = _owner_values(collection, owner)
    filter_values = collection.bound_values(params)
    bound = frozenset(filter_values)
    sort = getattr(params, "sort", collection.default_sort)
    context = cursor_context(collection.name, params.model_dump(mode="json", exclude=set(PAGE_FIELDS)), owner_values)
    if params.cursor is None:
        page, count = collection.page_statements(bound, sort, "offset")
        arguments: dict[str, Any] = {"offset": params.offset}
        offset, total = params.offset, None
    else:
        if "offset" in params.model_fields_set:
            raise InvalidValueError(
                "Send `cursor` or `offset`, not both: a cursor already says where its page starts.", field="cursor"
            )
        key, tiebreak, total, offset = read_cursor(params.cursor, context)
        page, count = collection.page_statements(bound, sort, "after_null" if key is None else "after")
        columns = page.selected_columns
        if not _fits(columns[KEY].type.python_type, columns[TIEBREAK].type.python_type, key, tiebreak, total, offset):
            raise invalid_cursor()
        arguments = {"after_key": key, "after_tiebreak": tiebreak}
    values = {**filter_values, **owner_values}
    rows = await reader.all(page, **values, **arguments, limit=params.limit + 1)
    changes = int(rows[0][CHANGES])
    # The counters' row stands alone when the page is empty: the LEFT JOIN found no row to join it to.
    rows = [row for row in rows if row[TIEBREAK] is not None]
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
    items: list[Row] = []
    for row in rows:
        del row[KEY], row[TIEBREAK], row[CHANGES]
        row.pop("total", None)
        items.append(collection.shape(row))
    fields = {"items": items, "total": total, "limit": params.limit, "offset": offset, "next_cursor": next_cursor}
    return fields, changes


async def read_one(
    reader: Reader, collection: Collection[Any, Any], key: Any, owner: Stored | None = None
) -> BaseModel:
    """One row of the collection as its detail model; 404 if there is none (or it is another user's)."""
    return collection.detail_model.model_validate(await _read_row(reader, collection, key, owner))


async def _read_row(reader: Reader, collection: Collection[Any, Any], key: Any, owner: Stored | None) -> Row:
    row = await reader.first(collection.one_statement(), **{ROW_KEY: key}, **_owner_values(collection, owner))
    if row is None:
        # 404, not 403, for another user's row too: it must not even be known to exist.
        raise NotFoundError(f"{collection.name} {key} not found")
    return collection.shape(row)


class Read:
    """FastAPI dependency: the request's reads, answered as JSON with their validators and Cache-Control.

    A list's weak ETag comes from the change counters (app/changes.py): a request that sends it back in
    `If-None-Match` is answered 304 after one small look-up. Other answers get a strong ETag from their body
    (app/http_caching.py). A shared answer (no owner, no credentials) may be kept by caches a while.
    """

    def __init__(self, reader: Reader, request: Request) -> None:
        self.reader, self.request = reader, request

    async def page(
        self, collection: Collection[Any, ItemT], params: PageParams, owner: Stored | None = None
    ) -> Response:
        """A page of the collection; with `owner`, of that user's rows only."""
        control = cache_control(self.request, shared=owner is None)
        owner_id = None if owner is None else id_of(owner)

        def etag(changes: int) -> str:
            return list_etag(collection.page_model, collection.name, params, owner_id, changes)

        if if_none_match := self.request.headers.get("if-none-match"):
            bound = frozenset(collection.bound_values(params))
            counted = await self.reader.first(collection.changes_statement(bound), **_owner_values(collection, owner))
            assert counted is not None, "a sum is one row"
            current = etag(int(counted[CHANGES]))
            if none_match(if_none_match, current):
                return not_modified(current, control)
        page, changes = await _read_page(self.reader, collection, params, owner)
        return json_answer(collection.page_serializer.model_validate(page), etag(changes), control)

    async def one(self, collection: Collection[Any, Any], key: Any, owner: Stored | None = None) -> Response:
        """One row of the collection by its key; 404 if it does not exist (or is not `owner`'s)."""
        row = await _read_row(self.reader, collection, key, owner)
        return self.answer(collection.detail_serializer.model_validate(row), shared=owner is None)

    def answer(self, model: BaseModel, shared: bool = True) -> Response:
        """Any other read's answer: its ETag comes from its body; `shared` answers may be kept by caches."""
        return json_answer(model, control=cache_control(self.request, shared))


async def get_read(reader: ReaderDep, request: Request) -> Read:
    return Read(reader, request)


ReadDep = Annotated[Read, Depends(get_read)]
