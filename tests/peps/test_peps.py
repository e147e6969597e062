"""The /peps routes over HTTP, checked against the bundled feed."""

import json
from datetime import date

import pytest
from httpx import AsyncClient

from app.peps.importer import parse_feed_date


async def all_numbers(client: AsyncClient, **params: object) -> list[int]:
    """Every PEP number a filtered listing returns, following its pages."""
    numbers: list[int] = []
    while True:
        response = await client.get("/peps", params={**params, "limit": 100, "offset": len(numbers)})
        assert response.status_code == 200, response.text
        page = response.json()
        numbers += [item["number"] for item in page["items"]]
        if len(numbers) >= page["total"]:
            assert len(numbers) == page["total"]
            return numbers


async def test_list_defaults_to_first_page_by_number(client: AsyncClient, catalogue: dict[int, dict]) -> None:
    response = await client.get("/peps")
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == len(catalogue)
    assert (page["limit"], page["offset"]) == (20, 0)
    assert [item["number"] for item in page["items"]] == sorted(catalogue)[:20]
    first = page["items"][1]
    record = catalogue[first["number"]]
    assert first == {
        "number": record["number"],
        "title": record["title"],
        "status": record["status"],
        "type": record["type"],
        "topic": record["topic"],
        "created": parse_feed_date(record["created"]).isoformat(),
        "python_version": record["python_version"],
        "authors": record["author_names"],
    }


async def test_authors_come_back_in_the_peps_own_order(client: AsyncClient, catalogue: dict[int, dict]) -> None:
    most_authors = max(catalogue.values(), key=lambda record: len(record["author_names"]))
    response = await client.get(f"/peps/{most_authors['number']}")
    assert response.json()["authors"] == most_authors["author_names"]


@pytest.mark.parametrize(
    ("params", "matches"),
    [
        ({"status": "Final"}, lambda r: r["status"] == "Final"),
        ({"status": ["Draft", "Deferred"]}, lambda r: r["status"] in ("Draft", "Deferred")),
        ({"type": "Standards Track"}, lambda r: r["type"] == "Standards Track"),
        ({"type": ["Process", "Informational"]}, lambda r: r["type"] != "Standards Track"),
        ({"topic": "typing"}, lambda r: "typing" in r["topic"].split(", ")),
        ({"topic": "Packaging"}, lambda r: "packaging" in r["topic"].split(", ")),
        ({"python_version": "3.0"}, lambda r: "3.0" in (r["python_version"] or "").split(", ")),
        ({"author": "guido"}, lambda r: any("guido" in name.lower() for name in r["author_names"])),
        ({"author": "łukasz"}, lambda r: any("łukasz" in name.lower() for name in r["author_names"])),
        ({"q": "GENERATOR"}, lambda r: "generator" in (r["title"] + " " + (r["abstract"] or "")).lower()),
        ({"q": "100%"}, lambda r: "100%" in (r["title"] + " " + (r["abstract"] or "")).lower()),
        (
            {"created_after": "2010-01-01", "created_before": "2012-12-31"},
            lambda r: date(2010, 1, 1) <= parse_feed_date(r["created"]) <= date(2012, 12, 31),
        ),
        (
            {"status": "Final", "topic": "packaging", "created_after": "2015-01-01"},
            lambda r: (
                r["status"] == "Final"
                and "packaging" in r["topic"].split(", ")
                and parse_feed_date(r["created"]) >= date(2015, 1, 1)
            ),
        ),
    ],
)
async def test_filters_match_the_feed(client: AsyncClient, catalogue: dict[int, dict], params, matches) -> None:
    expected = sorted(number for number, record in catalogue.items() if matches(record))
    assert await all_numbers(client, **params) == expected


async def test_date_bounds_are_inclusive(client: AsyncClient, catalogue: dict[int, dict]) -> None:
    pep8_created = parse_feed_date(catalogue[8]["created"]).isoformat()
    numbers = await all_numbers(client, created_after=pep8_created, created_before=pep8_created)
    assert 8 in numbers
    assert all(parse_feed_date(catalogue[n]["created"]).isoformat() == pep8_created for n in numbers)


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("number", lambda r: r["number"], False),
        ("-number", lambda r: r["number"], True),
        ("title", lambda r: r["title"], False),
        ("-title", lambda r: r["title"], True),
        ("created", lambda r: parse_feed_date(r["created"]), False),
        ("-created", lambda r: parse_feed_date(r["created"]), True),
    ],
)
async def test_sort_orders_every_page(client: AsyncClient, catalogue: dict[int, dict], sort, key, reverse) -> None:
    numbers = await all_numbers(client, sort=sort)
    values = [key(catalogue[n]) for n in numbers]
    assert len(numbers) == len(catalogue) == len(set(numbers))
    if sort.lstrip("-") == "title":  # the database's collation decides between cases and accents
        values = [title.casefold() for title in values if title.isascii() and title.replace(" ", "").isalnum()]
    assert values == sorted(values, reverse=reverse)


async def test_offset_past_the_end_gives_empty_page_with_total(client: AsyncClient, catalogue: dict[int, dict]) -> None:
    page = (await client.get("/peps", params={"offset": 5000})).json()
    assert page["items"] == [] and page["total"] == len(catalogue)


@pytest.mark.parametrize(
    ("params", "parameter", "mentions"),
    [
        ({"sort": "bogus"}, "sort", "'-created'"),
        ({"status": "Finished"}, ["status", 0], "'Withdrawn'"),
        ({"type": "Standard"}, ["type", 0], "'Standards Track'"),
        ({"created_after": "29-Sep-2014"}, "created_after", "date"),
        ({"limit": 0}, "limit", "greater than or equal to 1"),
        ({"limit": 101}, "limit", "less than or equal to 100"),
        ({"offset": -1}, "offset", "greater than or equal to 0"),
        ({"stauts": "Final"}, "stauts", "Extra inputs are not permitted"),
    ],
)
async def test_bad_query_is_422_naming_the_parameter(client: AsyncClient, params, parameter, mentions) -> None:
    response = await client.get("/peps", params=params)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    # A list parameter (`status=A&status=B`) names the item too.
    assert error["loc"] == ["query", *(parameter if isinstance(parameter, list) else [parameter])]
    assert mentions in error["msg"]


async def test_detail_has_every_field(client: AsyncClient, catalogue: dict[int, dict]) -> None:
    record = next(r for r in catalogue.values() if r["requires"] and r["abstract"])
    body = (await client.get(f"/peps/{record['number']}")).json()
    assert body["requires"] == [int(n) for n in record["requires"].split(",")]
    for field in ("title", "status", "type", "topic", "python_version", "discussions_to", "post_history"):
        assert body[field] == record[field], field
    assert (body["resolution"], body["abstract"], body["url"]) == (
        record["resolution"],
        record["abstract"],
        record["url"],
    )
    assert body["replaces"] == [] if not record["replaces"] else [int(n) for n in record["replaces"].split(",")]
    assert body["created_at"].endswith(("Z", "+00:00")) and body["updated_at"].endswith(("Z", "+00:00"))


async def test_missing_pep_is_404_with_detail(client: AsyncClient) -> None:
    response = await client.get("/peps/9999")
    assert response.status_code == 404
    assert response.json() == {"detail": "PEP 9999 not found"}


def new_pep(**overrides: object) -> dict:
    return {
        "number": 9001,
        "title": "A test proposal",
        "status": "Draft",
        "type": "Standards Track",
        "topic": "Typing, packaging",
        "created": "2026-11-22",
        "python_version": "3.16",
        "requires": [8, 484],
        "authors": ["Zed Newcomer", "Guido van Rossum", "Ada Second"],
        **overrides,
    }


async def test_create_returns_201_with_location_and_new_authors(client: AsyncClient, superuser_headers: dict) -> None:
    response = await client.post("/peps", json=new_pep(), headers=superuser_headers)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/peps/9001"
    body = response.json()
    assert body["authors"] == ["Zed Newcomer", "Guido van Rossum", "Ada Second"]
    assert body["topic"] == "packaging, typing"
    assert body["url"] == "https://peps.python.org/pep-9001/"
    assert (await client.get("/peps/9001")).json()["authors"] == body["authors"]
    newcomers = (await client.get("/authors", params={"q": "Zed Newcomer"})).json()
    assert newcomers["total"] == 1 and newcomers["items"][0]["pep_count"] == 1
    guido = (await client.get("/authors", params={"q": "Guido van Rossum"})).json()
    assert guido["total"] == 1, "an existing name must be reused, not duplicated"
    assert 9001 in await all_numbers(client, topic="typing")


async def test_create_duplicate_number_is_409(client: AsyncClient, superuser_headers: dict) -> None:
    response = await client.post("/peps", json=new_pep(number=8), headers=superuser_headers)
    assert response.status_code == 409
    assert response.json() == {"detail": "PEP 8 already exists"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"status": "Finished"}, "status"),
        ({"created": "yesterday"}, "created"),
        ({"authors": []}, "authors"),
        ({"authors": ["A", "A"]}, "authors"),
        ({"number": -1}, "number"),
        ({"requires": ["eight"]}, "requires"),
    ],
)
async def test_create_invalid_body_is_422(
    client: AsyncClient, superuser_headers: dict, change: dict, field: str
) -> None:
    response = await client.post("/peps", json=new_pep(**change), headers=superuser_headers)
    assert response.status_code == 422
    assert field in response.json()["detail"][0]["loc"]
    assert (await client.get("/peps/9001")).status_code == 404


async def test_patch_changes_only_the_fields_sent(
    client: AsyncClient, superuser_headers: dict, catalogue: dict[int, dict]
) -> None:
    before = (await client.get("/peps/8")).json()
    response = await client.patch("/peps/8", json={"status": "Superseded"}, headers=superuser_headers)
    assert response.status_code == 200
    after = response.json()
    assert after["status"] == "Superseded"
    unchanged = {k: v for k, v in before.items() if k not in ("status", "updated_at")}
    assert {k: after[k] for k in unchanged} == unchanged
    assert after["updated_at"] > before["updated_at"]
    assert (await client.get("/peps/8")).json()["status"] == "Superseded"


async def test_patch_authors_replaces_list_in_new_order(
    client: AsyncClient, superuser_headers: dict, catalogue: dict[int, dict]
) -> None:
    reordered = [*reversed(catalogue[8]["author_names"]), "Brand New"]
    response = await client.patch("/peps/8", json={"authors": reordered}, headers=superuser_headers)
    assert response.status_code == 200
    assert response.json()["authors"] == reordered
    assert (await client.get("/peps/8")).json()["authors"] == reordered
    response = await client.patch("/peps/8", json={"authors": ["Brand New"]}, headers=superuser_headers)
    assert (await client.get("/peps/8")).json()["authors"] == ["Brand New"]


@pytest.mark.parametrize("body", [{"title": None}, {"authors": None}, {"status": "Nope"}, {"authors": []}])
async def test_patch_rejects_null_and_invalid_values(client: AsyncClient, superuser_headers: dict, body: dict) -> None:
    response = await client.patch("/peps/8", json=body, headers=superuser_headers)
    assert response.status_code == 422
    assert next(iter(body)) in response.json()["detail"][0]["loc"]


# PepUpdate's fields for NOT NULL columns: optional, but never null (typed `X | MISSING`).
NOT_NULL_FIELDS = [
    "title",
    "status",
    "type",
    "topic",
    "created",
    "requires",
    "replaces",
    "superseded_by",
    "url",
    "authors",
]


@pytest.mark.parametrize("field", NOT_NULL_FIELDS)
async def test_patch_refuses_null_for_a_not_null_column_and_the_schema_says_so(
    client: AsyncClient, superuser_headers: dict, field: str
) -> None:
    response = await client.patch("/peps/8", json={field: None}, headers=superuser_headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["PepUpdate"]
    assert "required" not in schema
    assert "null" not in json.dumps(schema["properties"][field]) and "default" not in schema["properties"][field]


async def test_the_update_schema_says_null_where_a_column_takes_it(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["PepUpdate"]
    nullable = {name for name, field in schema["properties"].items() if {"type": "null"} in field.get("anyOf", [])}
    assert nullable == {"python_version", "discussions_to", "post_history", "resolution", "abstract"}
    assert set(schema["properties"]) == nullable | set(NOT_NULL_FIELDS)
    assert schema["properties"]["title"] == {"type": "string", "minLength": 1, "maxLength": 200, "title": "Title"}


async def test_patch_missing_pep_is_404(client: AsyncClient, superuser_headers: dict) -> None:
    response = await client.patch("/peps/9999", json={"title": "x"}, headers=superuser_headers)
    assert response.status_code == 404 and response.json() == {"detail": "PEP 9999 not found"}


async def test_delete_removes_pep_but_keeps_authors(client: AsyncClient, superuser_headers: dict) -> None:
    await client.post("/peps", json=new_pep(authors=["Only Here"]), headers=superuser_headers)
    author = (await client.get("/authors", params={"q": "Only Here"})).json()["items"][0]
    response = await client.delete("/peps/9001", headers=superuser_headers)
    assert response.status_code == 204 and response.content == b""
    assert (await client.get("/peps/9001")).status_code == 404
    kept = await client.get(f"/authors/{author['id']}")
    assert kept.status_code == 200 and kept.json()["peps"] == []
    again = await client.delete("/peps/9001", headers=superuser_headers)
    assert again.status_code == 404 and again.json() == {"detail": "PEP 9001 not found"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"number": True}, "number"),
        ({"number": "9001"}, "number"),
        ({"superseded_by": [False]}, "superseded_by"),
        ({"created": 0}, "created"),
        ({"created": "2026-11-22T10:00:00"}, "created"),
    ],
)
async def test_create_takes_numbers_and_dates_only_in_their_own_form(
    client: AsyncClient, superuser_headers: dict, change: dict, field: str
) -> None:
    response = await client.post("/peps", json=new_pep(**change), headers=superuser_headers)
    assert response.status_code == 422
    assert field in response.json()["detail"][0]["loc"]


async def test_date_filter_rejects_timestamps(client: AsyncClient) -> None:
    response = await client.get("/peps", params={"created_before": "0"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "created_before"]
