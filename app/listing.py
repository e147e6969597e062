"""Collections: how a resource's rows are read, listed, filtered and sorted, declared as data.

A resource declares one `Collection` next to its list parameters (see app/notes/models.py):

    NOTES = Collection(
        Note, NotePage, NoteListParams,
        filters={"pep_number": Equals(Note.pep_number)},
        sorts={"created_at": Note.created_at, "pep_number": Note.pep_number},
        owner=Note.user_id,
    )

and the shared read path (app/reads.py) does the rest: it turns the parameters a client sent into
bound values, builds one SQLAlchemy Core statement per shape of request (which filters are set, the
sort, where the page starts) and caches it, scopes every read to the owner, and pages by offset or by
signed cursor (keyset: `WHERE (sort key, key) > (last row's)`, which an index on (sort key, key)
answers without reading the rows before it).

The declaration is checked when the module is imported: a query parameter without a filter, a filter
without a query parameter, a `sort` value without a sort (or the reverse), and a response field that
is neither a column nor declared as computed each stop the import with a message naming both sides.
Nothing here touches a database driver: models.py files may import it.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar, cast, get_args, get_origin

from pydantic import BaseModel, computed_field
from sqlalchemy import BindParameter, Boolean, Column, and_, bindparam, func, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select, visitors
from sqlalchemy.sql.annotation import _deep_deannotate
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine
from sqlmodel import SQLModel

from app.base import table_of
from app.changes import changes_of, tables_read, track
from app.pages import PAGE_FIELDS, Page, PageParams
from app.search import PHRASE_SUFFIX, contains_text, search_values
from app.sql import contains_any_case, contains_pattern

ModelT = TypeVar("ModelT", bound=SQLModel)
ItemT = TypeVar("ItemT", bound=BaseModel)

# Where a page starts: at `offset`, after a row whose sort key is a value, or after one whose key is NULL.
Position = Literal["offset", "after", "after_null"]
# Every page statement selects its sort key and tiebreak under these names, to make the next cursor, and the
# sum of the change counters of the tables it reads (app/changes.py) as CHANGES, to make the list's ETag.
KEY, TIEBREAK, CHANGES = "page_key", "page_tiebreak", "changes"
# The bound values a Collection's statements use besides the filters'.
OWNER, ROW_KEY = "owner_id", "row_key"


def core(expression: Any) -> ColumnElement[Any]:
    """A plain Core expression from what a resource writes: `Note.user_id`, `func.lower(Pep.title)`.

    SQLModel's class attributes carry the ORM's annotations, which would make every statement an ORM
    statement; the read path compiles Core ones.
    """
    element = expression.__clause_element__() if hasattr(expression, "__clause_element__") else expression
    return cast(ColumnElement[Any], _deep_deannotate(element))


class Filter:
    """How one query parameter narrows a list: the condition it adds and the values that condition binds.

    Each condition binds its value under the parameter's name (`bindparam(name)`).
    """

    def bind(self, name: str, value: Any) -> dict[str, Any]:
        """The values to bind for what the client sent."""
        return {name: value}

    def condition(self, name: str, bound: frozenset[str]) -> ColumnElement[bool]:
        """The WHERE condition; `bound` names every value bound for this request (some filters have two forms)."""
        raise NotImplementedError


class _Compare(Filter):
    def __init__(self, column: Any) -> None:
        self.column = core(column)

    def parameter(self, name: str) -> BindParameter[Any]:
        return bindparam(name, type_=self.column.type)


class Equals(_Compare):
    """`?name=value`: the column equals the value."""

    def condition(self, name: str, bound: frozenset[str]) -> ColumnElement[bool]:
        return self.column == self.parameter(name)


class AtLeast(_Compare):
    """`?name=value`: the column is at least the value (a range's start, inclusive)."""

    def condition(self, name: str, bound: frozenset[str]) -> ColumnElement[bool]:
        return self.column >= self.parameter(name)


class AtMost(_Compare):
    """`?name=value`: the column is at most the value (a range's end, inclusive)."""

    def condition(self, name: str, bound: frozenset[str]) -> ColumnElement[bool]:
        return self.column <= self.parameter(name)


class Contains(Filter):
    """`?name=text`: one of the columns contains the text, in any case; `%` and `_` are plain characters.

    It reads every row the other filters leave: for a column searched on a big table, see `Search`.
    """

    def __init__(self, *columns: Any) -> None:
        self.columns = [core(column) for column in columns]

    def bind(self, name: str, value: Any) -> dict[str, Any]:
        return {name: contains_pattern(value)}

    def condition(self, name: str, bound: frozenset[str]) -> ColumnElement[bool]:
        return or_(*(contains_any_case(column, name) for column in self.columns))


class Search(Filter):
    """Like `Contains`, served by a trigram index (app/search.py): for text searched in big tables.

    `search_table` is the SQLite FTS5 table kept for `table`; on PostgreSQL the GIN trigram indexes on
    `lower(column)` serve the same condition.
    """

    def __init__(self, key: Any, search_table: str, *columns: Any) -> None:
        self.key = cast(Column[Any], core(key))
        self.search_table = search_table
        self.columns = [cast(Column[Any], core(column)) for column in columns]

    def bind(self, name: str, value: Any) -> dict[str, Any]:
        return search_values(name, value)

    def condition(self, name: str, bound: frozenset[str]) -> ColumnElement[bool]:
        return contains_text(self.key, self.search_table, self.columns, name, bound)


class _Items(TypeDecorator[list[Any]]):
    """A list bound as one value: each item converted as the column converts it (enums to their values)."""

    impl = NullType
    cache_ok = True

    def __init__(self, item_type: TypeEngine[Any]) -> None:
        super().__init__()
        self.item_type = item_type

    def process_bind_param(self, value: list[Any] | None, dialect: Any) -> Any:
        if value is None:
            return None
        convert = self.item_type.dialect_impl(dialect).bind_processor(dialect)
        items = [convert(item) if convert else item for item in value]
        # SQLite reads the list with json_each; PostgreSQL takes an array.
        return json.dumps(items) if dialect.name == "sqlite" else items


class _InList(ColumnElement[bool]):
    """`column` is one of the items bound as `parameter`, one statement whatever the list's length."""

    type = Boolean()
    _is_implicitly_boolean = True
    inherit_cache = False

    def __init__(self, column: ColumnElement[Any], parameter: str) -> None:
        self.column, self.parameter = column, parameter


@compiles(_InList)
def _any_of_array(element: _InList, compiler: SQLCompiler, **kw: Any) -> str:
    items = compiler.process(bindparam(element.parameter, type_=_Items(element.column.type)), **kw)
    return f"({compiler.process(element.column, **kw)} = ANY({items}))"


@compiles(_InList, "sqlite")
def _in_json_each(element: _InList, compiler: SQLCompiler, **kw: Any) -> str:
    items = compiler.process(bindparam(element.parameter, type_=_Items(element.column.type)), **kw)
    return f"({compiler.process(element.column, **kw)} IN (SELECT value FROM json_each({items})))"


class OneOf(_Compare):
    """`?name=a&name=b`: the column equals one of the values (the parameter is a list)."""

    def condition(self, name: str, bound: frozenset[str]) -> ColumnElement[bool]:
        return _InList(self.column, name)


class Where(Filter):
    """A condition of the resource's own: `condition(name, bound)` builds it, `bind(name, value)` its values."""

    def __init__(
        self,
        condition: Callable[[str, frozenset[str]], ColumnElement[bool]],
        bind: Callable[[str, Any], dict[str, Any]] | None = None,
    ) -> None:
        self._condition, self._bind = condition, bind

    def bind(self, name: str, value: Any) -> dict[str, Any]:
        return self._bind(name, value) if self._bind else {name: value}

    def condition(self, name: str, bound: frozenset[str]) -> ColumnElement[bool]:
        return self._condition(name, bound)


@dataclass(frozen=True)
class Computed:
    """A response field that is no column of the table: `expression(key)` computes it in SQL for the row
    whose key is `key` (for a list, only for the page's rows), and `convert`, if given, shapes the value."""

    expression: Callable[[ColumnElement[Any]], ColumnElement[Any]]
    convert: Callable[[Any], Any] | None = None


def serializer_of(model: type[BaseModel]) -> type[BaseModel]:
    """A plain pydantic copy of a response model, to make its JSON: the same fields and computed fields, so
    the same bytes, without SQLModel's own __init__, which validates each item of a page a second time (a
    100-item page of PEPs: 370 µs to validate, 90 µs with the copy)."""
    namespace: dict[str, Any] = {
        "__annotations__": {name: field.annotation for name, field in model.model_fields.items()},
        "__module__": model.__module__,
        **model.model_fields,
    }
    for name, computed in model.model_computed_fields.items():
        namespace[name] = computed_field(return_type=computed.return_type)(computed.wrapped_property)
    return type(f"{model.__name__}Serializer", (BaseModel,), namespace)


class CollectionError(TypeError):
    """A Collection's declaration does not match its models: raised at import, naming both sides."""


def _literal_values(annotation: Any) -> set[str] | None:
    if get_origin(annotation) is Literal:
        return set(get_args(annotation))
    for arg in get_args(annotation):
        if (values := _literal_values(arg)) is not None:
            return values
    return None


def _item_model(page: type[Page[Any]]) -> type[BaseModel]:
    (item,) = get_args(page.model_fields["items"].annotation)
    assert isinstance(item, type) and issubclass(item, BaseModel), f"{page.__name__}'s items are not a model"
    return item


class Collection(Generic[ModelT, ItemT]):
    """A resource's rows as the API reads them: the list's filters and sorts, the owner, computed fields.

    - `model`: the table model; `page`: the list's `Page[Item]` (items hold the `Item` model's fields);
      `params`: the list's query parameters, a `PageParams` with one field per filter and a `sort`.
    - `filters`: query parameter name -> `Filter`; `sorts`: the values of `sort` (without `-`) -> column.
    - `owner`: the column naming the user who owns a row: every read is then that user's rows only.
    - `computed`: response fields that are no column (a PEP's authors); `detail`: the model of one row's
      answer, when it differs from the list's items; `name`: how errors name a row (`Note 7 not found`).
    """

    def __init__(
        self,
        model: type[ModelT],
        page: type[Page[ItemT]],
        params: type[PageParams],
        *,
        sorts: Mapping[str, Any],
        filters: Mapping[str, Filter] | None = None,
        owner: Any = None,
        computed: Mapping[str, Computed] | None = None,
        detail: type[BaseModel] | None = None,
        name: str | None = None,
    ) -> None:
        self.model = model
        self.table = table_of(model)
        (self.key,) = self.table.primary_key.columns
        self.page_model, self.params = page, params
        self.item_model = _item_model(page)
        self.detail_model = detail or self.item_model
        self.filters = dict(filters or {})
        self.sorts = {sort: core(column) for sort, column in sorts.items()}
        self.owner = core(owner) if owner is not None else None
        self.computed = dict(computed or {})
        self.name = name or model.__name__
        self._check(model)
        self.item_columns = self._columns(self.item_model)
        self.detail_columns = self._columns(self.detail_model)
        self.detail_serializer = serializer_of(self.detail_model)
        # Page[...] of a class made at run time: types cannot follow it, but it is a Page model all the same.
        self.page_serializer: type[BaseModel] = Page[serializer_of(self.item_model)]  # type: ignore[misc,assignment]
        self.default_sort = str(params.model_fields["sort"].default)
        self._one: Select[Any] | None = None
        # Count the writes of every table the list may read (its own per owner, if it has one).
        track(self.table, self.owner_column)
        every_filter = frozenset(name + suffix for name in self.filters for suffix in ("", PHRASE_SUFFIX))
        for table in tables_read(self.page_statements(every_filter, self.default_sort, "offset")[0]):
            track(table)

    def _check(self, model: type[SQLModel]) -> None:
        declared = f"the Collection of {model.__name__}"
        parameters = set(self.params.model_fields) - PAGE_FIELDS - {"sort"}
        if missing := sorted(parameters - set(self.filters)):
            raise CollectionError(
                f"{self.params.__name__} has the query parameter(s) {missing}, but {declared} declares no filter "
                "for them: add them to `filters=` (or remove them from the parameters)"
            )
        if extra := sorted(set(self.filters) - parameters):
            raise CollectionError(
                f"{declared} declares the filter(s) {extra}, but {self.params.__name__} has no such query "
                "parameter: add a field for each (or remove the filter)"
            )
        if "sort" not in self.params.model_fields:
            raise CollectionError(f"{self.params.__name__} has no `sort` field; {declared} declares sorts")
        offered = _literal_values(self.params.model_fields["sort"].annotation) or set()
        expected = {value for sort in self.sorts for value in (sort, "-" + sort)}
        if offered != expected:
            raise CollectionError(
                f"{self.params.__name__}.sort offers {sorted(offered)}, but {declared} declares the sorts "
                f"{sorted(self.sorts)}: `sort` must offer each of them and its `-` form, and nothing else"
            )
        if self.owner is not None and not any(isinstance(e, Column) for e in visitors.iterate(self.owner)):
            raise CollectionError(f"{declared}: `owner` must be a column, such as {model.__name__}.user_id")
        for response_model in {self.item_model, self.detail_model}:
            for field in response_model.model_fields:
                if field not in self.table.c and field not in self.computed:
                    raise CollectionError(
                        f"{response_model.__name__}.{field} is neither a column of the {self.table.name} table nor "
                        f"declared in `computed=` of {declared}: a value made in Python from other fields is a "
                        "pydantic @computed_field, which the read path leaves alone"
                    )

    @property
    def owner_column(self) -> str | None:
        """The name of the column naming a row's owner, if rows have one."""
        columns = [e for e in visitors.iterate(self.owner) if isinstance(e, Column)] if self.owner is not None else []
        return columns[0].name if columns else None

    def changes_statement(self, bound: frozenset[str]) -> Select[Any]:
        """The change count alone (app/changes.py) of the tables one shape of list reads: what its ETag is made of."""
        return _changes_statement(self, bound)

    def _columns(self, response_model: type[BaseModel]) -> list[ColumnElement[Any]]:
        return [self.table.c[field] for field in response_model.model_fields if field not in self.computed]

    def bound_values(self, params: PageParams) -> dict[str, Any]:
        """The filters the client set, as the values their conditions bind."""
        values: dict[str, Any] = {}
        for name, filter_ in self.filters.items():
            value = getattr(params, name)
            if value is not None:
                values |= filter_.bind(name, value)
        return values

    def conditions(self, bound: frozenset[str]) -> list[ColumnElement[bool]]:
        conditions = [self.owner == bindparam(OWNER)] if self.owner is not None else []
        return conditions + [f.condition(name, bound) for name, f in self.filters.items() if name in bound]

    def shape(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row as the response model takes it: computed fields converted."""
        for name, computed in self.computed.items():
            if computed.convert is not None:
                row[name] = computed.convert(row[name])
        return row

    def one_statement(self) -> Select[Any]:
        """One row by its key (and owner), with every field of the detail model."""
        if self._one is None:
            computed = [c.expression(self.key).label(name) for name, c in self.computed.items()]
            statement = select(*self.detail_columns, *computed).where(self.key == bindparam(ROW_KEY))
            self._one = statement.where(self.owner == bindparam(OWNER)) if self.owner is not None else statement
        return self._one

    def page_statements(self, bound: frozenset[str], sort: str, position: Position) -> tuple[Select[Any], Select[Any]]:
        """The page statement (rows, computed fields, the total on offset pages) and the count, for one shape."""
        return _page_statements(self, bound, sort, position)


@lru_cache(maxsize=1024)
def _page_statements(
    collection: Collection[Any, Any], bound: frozenset[str], sort: str, position: Position
) -> tuple[Select[Any], Select[Any]]:
    # Built and compiled once per shape of request: building a statement costs more than running it.
    conditions = collection.conditions(bound)
    key = collection.sorts[sort.removeprefix("-")]
    descending, nullable = sort.startswith("-"), _nullable(key)
    tiebreak = collection.key
    count = select(func.count().label("total")).select_from(collection.table).where(*conditions)
    rows = select(*collection.item_columns).where(*conditions)
    page = rows.add_columns(key.label(KEY), tiebreak.label(TIEBREAK)).order_by(
        *_ordering(key, tiebreak, descending, nullable)
    )
    if position == "offset":
        page = page.limit(bindparam("limit")).offset(bindparam("offset"))
    else:
        page = page.where(_after(key, tiebreak, descending, nullable, position == "after_null")).limit(
            bindparam("limit")
        )
    if collection.computed:
        # The page is chosen first, in a subquery, so that computed fields are made for its rows only.
        chosen = page.subquery("page")
        computed = [c.expression(chosen.c[tiebreak.key]).label(name) for name, c in collection.computed.items()]
        page = select(*chosen.c, *computed).order_by(
            *_ordering(chosen.c[KEY], chosen.c[TIEBREAK], descending, nullable)
        )
    if position == "offset":
        # An uncorrelated subquery, which both databases evaluate once: the total rides on every row.
        page = page.add_columns(count.scalar_subquery().label("total"))
    # The change count, read in the same statement (the same snapshot) as the rows it vouches for, on a row of
    # its own joined to the page's: an empty page still has it.
    owner_table = collection.table.name if collection.owner is not None else None
    counted = select(changes_of(tables_read(page), owner_table, OWNER).label(CHANGES)).subquery("counted")
    chosen_rows = page.subquery("rows")
    counted_page = (
        select(counted.c[CHANGES], *chosen_rows.c)
        .select_from(counted.outerjoin(chosen_rows, true()))
        .order_by(*_ordering(chosen_rows.c[KEY], chosen_rows.c[TIEBREAK], descending, nullable))
    )
    return counted_page, count


@lru_cache(maxsize=1024)
def _changes_statement(collection: Collection[Any, Any], bound: frozenset[str]) -> Select[Any]:
    page, _ = _page_statements(collection, bound, collection.default_sort, "offset")
    return select(page.selected_columns[CHANGES])


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
