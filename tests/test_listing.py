"""Collections (app/listing.py): a declaration that does not match its models stops the import, naming both
sides; each kind of filter answers as its name says; computed fields ride along without touching the reads."""

from typing import Literal

import pytest
from httpx import AsyncClient
from pydantic import computed_field
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field, SQLModel

from app.base import table_of
from app.listing import AtLeast, AtMost, Collection, CollectionError, Contains, Equals, OneOf
from app.notes.models import NOTES, Note, NotePage, NotePublic
from app.pages import Page, PageParams
from app.reader import Reader
from app.reads import read_one, read_page


class Gadget(SQLModel, table=True):
    id: int = Field(primary_key=True)
    name: str
    size: int | None = None


GADGETS = table_of(Gadget)
GADGETS.metadata.remove(GADGETS)  # a table of these tests' own: not the app's schema


class GadgetPublic(SQLModel):
    id: int
    name: str
    size: int | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        """Made in Python from the row: the read path leaves it alone."""
        return f"{self.name} ({self.size or '?'})"


class GadgetPage(Page[GadgetPublic]):
    pass


class GadgetParams(PageParams):
    name: str | None = None
    name_contains: str | None = None
    min_size: int | None = None
    max_size: int | None = None
    sizes: list[int] | None = None
    sort: Literal["name", "-name", "size", "-size"] = "name"


FILTERS = {
    "name": Equals(Gadget.name),
    "name_contains": Contains(Gadget.name),
    "min_size": AtLeast(Gadget.size),
    "max_size": AtMost(Gadget.size),
    "sizes": OneOf(Gadget.size),
}
SORTS = {"name": Gadget.name, "size": Gadget.size}
GADGET_LIST = Collection(Gadget, GadgetPage, GadgetParams, filters=FILTERS, sorts=SORTS)
NAMES = ["pump", "Big Pump", "100% cotton", "snake_case", "valve"]
SIZES = [3, 10, None, 3, 7]


@pytest.fixture
async def gadgets(connection: AsyncConnection) -> None:
    await connection.run_sync(GADGETS.create)
    await connection.execute(
        GADGETS.insert(),
        [{"id": i + 1, "name": n, "size": s} for i, (n, s) in enumerate(zip(NAMES, SIZES, strict=True))],
    )


def names(page: Page[GadgetPublic]) -> list[str]:
    return [item.name for item in page.items]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "pump"}, ["pump"]),
        ({"name_contains": "PUMP"}, ["Big Pump", "pump"]),  # any case
        ({"name_contains": "%"}, ["100% cotton"]),  # % and _ are plain characters, not wildcards
        ({"name_contains": "e_c"}, ["snake_case"]),
        ({"min_size": 7}, ["Big Pump", "valve"]),
        ({"max_size": 3}, ["pump", "snake_case"]),
        ({"min_size": 3, "max_size": 7}, ["pump", "snake_case", "valve"]),
        ({"sizes": [3, 7]}, ["pump", "snake_case", "valve"]),
        ({"sizes": [10]}, ["Big Pump"]),
        ({"sizes": [99]}, []),
    ],
)
async def test_each_kind_of_filter_answers_as_its_name_says(
    reader: Reader, gadgets: None, params: dict, expected: list[str]
) -> None:
    page = await read_page(reader, GADGET_LIST, GadgetParams(**params))
    assert sorted(names(page)) == sorted(expected) and page.total == len(expected)


async def test_a_computed_field_rides_along(reader: Reader, gadgets: None) -> None:
    page = await read_page(reader, GADGET_LIST, GadgetParams(sort="-size", limit=2))
    assert [item.label for item in page.items] == ["100% cotton (?)", "Big Pump (10)"]  # NULL sorts first descending
    one = await read_one(reader, GADGET_LIST, 2)
    assert one.model_dump() == {"id": 2, "name": "Big Pump", "size": 10, "label": "Big Pump (10)"}


async def test_an_owned_collection_needs_its_owner(reader: Reader) -> None:
    with pytest.raises(TypeError, match="the Note collection needs `owner=`"):
        await read_page(reader, NOTES, NOTES.params())
    with pytest.raises(TypeError, match="the Gadget collection has no owner column"):
        await read_one(reader, GADGET_LIST, 1, owner=Note(id=1, user_id=1, pep_number=8, body="x"))


class MoreParams(GadgetParams):
    colour: str | None = None


class WrongSortParams(PageParams):
    name: str | None = None
    name_contains: str | None = None
    min_size: int | None = None
    max_size: int | None = None
    sizes: list[int] | None = None
    sort: Literal["name", "-name", "size"] = "name"


class GadgetWithPlainField(GadgetPublic):
    shelf: str


class GadgetWithPlainFieldPage(Page[GadgetWithPlainField]):
    pass


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (
            lambda: Collection(Gadget, GadgetPage, MoreParams, filters=FILTERS, sorts=SORTS),
            "MoreParams has the query parameter(s) ['colour'], but the Collection of Gadget declares no filter for "
            "them: add them to `filters=` (or remove them from the parameters)",
        ),
        (
            lambda: Collection(
                Gadget, GadgetPage, GadgetParams, filters={**FILTERS, "shape": Equals(Gadget.name)}, sorts=SORTS
            ),
            "the Collection of Gadget declares the filter(s) ['shape'], but GadgetParams has no such query parameter: "
            "add a field for each (or remove the filter)",
        ),
        (
            lambda: Collection(Gadget, GadgetPage, WrongSortParams, filters=FILTERS, sorts=SORTS),
            "WrongSortParams.sort offers ['-name', 'name', 'size'], but the Collection of Gadget declares the sorts "
            "['name', 'size']: `sort` must offer each of them and its `-` form, and nothing else",
        ),
        (
            lambda: Collection(Gadget, GadgetWithPlainFieldPage, GadgetParams, filters=FILTERS, sorts=SORTS),
            "GadgetWithPlainField.shelf is neither a column of the gadget table nor declared in `computed=` of the "
            "Collection of Gadget: a value made in Python from other fields is a pydantic @computed_field, which the "
            "read path leaves alone",
        ),
    ],
)
def test_a_declaration_that_does_not_match_its_models_stops_the_import(declare, message: str) -> None:
    with pytest.raises(CollectionError) as refused:
        declare()
    assert str(refused.value) == message


def test_the_notes_declaration_reads_the_public_fields_and_nothing_else() -> None:
    assert [column.name for column in NOTES.item_columns] == list(NotePublic.model_fields)
    assert NOTES.page_model is NotePage and NOTES.owner is table_of(Note).c.user_id


async def test_unknown_fields_in_a_body_are_refused_naming_them(client: AsyncClient, make_user) -> None:
    _, headers = await make_user()
    for method, path, body in (
        ("post", "/me/notes", {"pep_number": 8, "body": "x", "colour": "red"}),
        ("post", "/me/notes", {"pep_number": 8, "body": "x", "user_id": 1}),
        ("post", "/me/notes", {"pep_number": 8, "body": "x", "id": 5}),
    ):
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 422, response.text
        [problem] = response.json()["detail"]
        assert problem["type"] == "extra_forbidden" and problem["loc"] == [
            "body",
            next(iter(set(body) - {"pep_number", "body"})),
        ]
