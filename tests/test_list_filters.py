"""List filters and paging rules, each checked against the bundled catalogue.

Expected answers are computed from the bundled catalogue (the `catalogue` fixture), never typed in.
"""

import pytest
from httpx import AsyncClient
from sqlmodel.ext.asyncio.session import AsyncSession

from app.main import app
from app.peps.models import Pep
from tests.conftest import IS_POSTGRES
from tests.peps.test_peps import all_numbers, new_pep

MAX_OFFSET = 2_147_483_647  # the largest value an INTEGER column holds, on both databases


def text_of(record: dict) -> str:
    return (record["title"] + " " + (record["abstract"] or "")).lower()


def entries(value: str | None) -> list[str]:
    return [entry.strip().lower() for entry in (value or "").split(",")]


def authored_by(record: dict, fragment: str) -> bool:
    return any(fragment.lower() in name.lower() for name in record["author_names"])


@pytest.mark.parametrize("text", ["_", "%", "\\", "a_b", "3.1%"])
async def test_search_treats_wildcards_as_plain_text(client: AsyncClient, catalogue: dict, text: str) -> None:
    expected = sorted(number for number, record in catalogue.items() if text.lower() in text_of(record))
    assert len(expected) < len(catalogue)
    assert await all_numbers(client, q=text) == expected


async def test_search_for_an_underscore_finds_only_texts_with_one(client: AsyncClient, catalogue: dict) -> None:
    with_underscore = sorted(number for number, record in catalogue.items() if "_" in text_of(record))
    assert 0 < len(with_underscore) < len(catalogue)  # the catalogue has some, so the check means something
    page = (await client.get("/peps", params={"q": "_"})).json()
    assert page["total"] == len(with_underscore)


@pytest.mark.parametrize("fragment", ["_", "%", "van_", "Rossu%"])
async def test_author_filter_treats_wildcards_as_plain_text(
    client: AsyncClient, catalogue: dict, fragment: str
) -> None:
    expected = sorted(number for number, record in catalogue.items() if authored_by(record, fragment))
    assert await all_numbers(client, author=fragment) == expected


@pytest.mark.parametrize(
    ("parameter", "field", "value"),
    [
        ("topic", "topic", "%"),
        ("topic", "topic", "_"),
        ("topic", "topic", "packag_ng"),
        ("python_version", "python_version", "3._"),
        ("python_version", "python_version", "%"),
        ("python_version", "python_version", "_"),
    ],
)
async def test_list_item_filters_treat_wildcards_as_plain_text(
    client: AsyncClient, catalogue: dict, parameter: str, field: str, value: str
) -> None:
    expected = sorted(number for number, record in catalogue.items() if value in entries(record[field]))
    assert await all_numbers(client, **{parameter: value}) == expected


@pytest.mark.parametrize(
    ("parameter", "field", "value"),
    [
        ("python_version", "python_version", " 3.0"),
        ("python_version", "python_version", "3.0 "),
        ("python_version", "python_version", "3. 0"),
        ("topic", "topic", " Typing "),
        ("topic", "topic", "PACKAGING"),
    ],
)
async def test_list_item_filters_ignore_spaces_and_case(
    client: AsyncClient, catalogue: dict, parameter: str, field: str, value: str
) -> None:
    wanted = value.replace(" ", "").lower()
    expected = sorted(number for number, record in catalogue.items() if wanted in entries(record[field]))
    assert expected, "the catalogue has PEPs with this entry"
    assert await all_numbers(client, **{parameter: value}) == expected


async def test_list_item_filter_matches_whole_entries_only(client: AsyncClient, catalogue: dict) -> None:
    # "3.1" is an entry of some PEPs and a prefix of "3.10", "3.11"...: only whole entries match.
    expected = sorted(number for number, record in catalogue.items() if "3.1" in entries(record["python_version"]))
    prefixed = [n for n, r in catalogue.items() if any(e.startswith("3.1") for e in entries(r["python_version"]))]
    assert len(prefixed) > len(expected)
    assert await all_numbers(client, python_version="3.1") == expected


async def test_list_item_filter_matches_the_last_entry_of_a_stored_list(
    client: AsyncClient, session: AsyncSession, catalogue: dict
) -> None:
    pep = await session.get(Pep, 8)
    pep.python_version = "2.6, 3.0, 3.99"
    await session.commit()
    assert 8 in await all_numbers(client, python_version="3.99")
    assert 8 in await all_numbers(client, python_version="2.6")
    assert 8 not in await all_numbers(client, python_version="3.9")


async def test_list_item_filter_with_a_slash_matches_it_literally(client: AsyncClient, session: AsyncSession) -> None:
    """The escape character of the LIKE patterns is '/': a value holding one must still match as typed."""
    pep = await session.get(Pep, 8)
    pep.python_version = "2.7/3.0, 3.12"
    await session.commit()
    assert await all_numbers(client, python_version="2.7/3.0") == [8]
    assert await all_numbers(client, python_version="2.7//3.0") == []


@pytest.mark.parametrize(
    ("path", "parameter"),
    [("/peps", "q"), ("/peps", "author"), ("/peps", "topic"), ("/peps", "python_version"), ("/authors", "q")],
)
async def test_a_nul_in_a_filter_is_422_naming_it_on_both_databases(
    client: AsyncClient, path: str, parameter: str
) -> None:
    """SQLite cut the LIKE pattern at the NUL (`q=a%00b` found PEPs with an "a"); PostgreSQL refused it."""
    response = await client.get(path, params={parameter: "a\x00b"})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", parameter]
    assert problem["msg"] == "Value error, must not contain a NUL character"


async def test_largest_offset_is_accepted(client: AsyncClient, catalogue: dict) -> None:
    response = await client.get("/peps", params={"offset": MAX_OFFSET})
    assert response.status_code == 200
    page = response.json()
    assert (page["items"], page["total"], page["offset"]) == ([], len(catalogue), MAX_OFFSET)


@pytest.mark.parametrize("offset", [MAX_OFFSET + 1, 10**20])
async def test_offset_beyond_the_integer_range_is_422_not_500(client: AsyncClient, offset: int) -> None:
    response = await client.get("/peps", params={"offset": offset})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "offset"]
    assert "less than or equal to 2147483647" in error["msg"]


async def test_offset_bound_applies_to_every_list(client: AsyncClient) -> None:
    for path in ("/peps", "/authors"):
        assert (await client.get(path, params={"offset": MAX_OFFSET})).status_code == 200, path
        assert (await client.get(path, params={"offset": MAX_OFFSET + 1})).status_code == 422, path


@pytest.mark.parametrize(("limit", "status"), [(1, 200), (100, 200), (0, 422), (101, 422)])
async def test_limit_is_between_1_and_100(client: AsyncClient, limit: int, status: int) -> None:
    response = await client.get("/peps", params={"limit": limit})
    assert response.status_code == status
    if status == 200:
        assert len(response.json()["items"]) == limit


def test_paging_parameters_and_total_are_documented() -> None:
    spec = app.openapi()
    parameters = {p["name"]: p for p in spec["paths"]["/peps"]["get"]["parameters"]}
    limit, offset = parameters["limit"]["schema"], parameters["offset"]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 20)
    assert (offset["minimum"], offset["maximum"], offset["default"]) == (0, MAX_OFFSET, 0)
    for name in ("limit", "offset"):
        assert parameters[name]["description"], name
    assert spec["components"]["schemas"]["PepPage"]["properties"]["total"]["description"]


async def test_create_race_answers_409_with_the_message(
    client: AsyncClient, superuser_headers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request creates the same number between the existence check and the insert."""
    original_get = AsyncSession.get

    async def get_missing_the_race(self, entity, ident, **kwargs):
        if entity is Pep:
            return None  # the check ran before the other request's insert
        return await original_get(self, entity, ident, **kwargs)

    monkeypatch.setattr(AsyncSession, "get", get_missing_the_race)
    response = await client.post("/peps", json=new_pep(number=8), headers=superuser_headers)
    assert response.status_code == 409
    assert response.json() == {"detail": "PEP 8 already exists"}


async def test_patch_with_text_the_database_cannot_store_is_422_not_500(
    client: AsyncClient, superuser_headers: dict
) -> None:
    response = await client.patch("/peps/8", json={"title": "Nul\x00Byte"}, headers=superuser_headers)
    if IS_POSTGRES:  # PostgreSQL cannot hold NUL in text; SQLite stores it
        assert response.status_code == 422
        [problem] = response.json()["detail"]
        assert problem["loc"] == ["body"] and problem["msg"].startswith("A value cannot be stored")
        assert (await client.get("/peps/8")).json()["title"] != "Nul\x00Byte"
    else:
        assert response.status_code == 200 and response.json()["title"] == "Nul\x00Byte"


async def test_a_page_of_my_notes_past_the_end_still_counts_them(client: AsyncClient, make_user) -> None:
    _, headers = await make_user()
    for body in ("one", "two", "three"):
        assert (
            await client.post("/me/notes", json={"pep_number": 8, "body": body}, headers=headers)
        ).status_code == 201
    page = (await client.get("/me/notes", params={"offset": 10}, headers=headers)).json()
    assert (page["items"], page["total"]) == ([], 3)


async def test_every_list_parameter_and_page_field_is_described_in_the_docs(client: AsyncClient) -> None:
    """What /docs shows a frontend developer next to each parameter and field, for every list."""
    spec = (await client.get("/openapi.json")).json()
    undescribed = [
        (method, path, parameter["name"])
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert undescribed == []
    pages = {name: schema for name, schema in spec["components"]["schemas"].items() if name.endswith("Page")}
    assert set(pages) >= {"PepPage", "AuthorPage", "NotePage", "UserPage"}
    for name, schema in pages.items():
        assert set(schema["properties"]) == {"items", "total", "limit", "offset", "next_cursor"}, name
        assert all(field.get("description") for field in schema["properties"].values()), name
