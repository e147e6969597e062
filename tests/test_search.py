"""Indexed search (app.search): same answers as a substring test, kept in step with every write."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

import app.models  # noqa: F401 - every table, and the search structures, on the metadata
from app.config import load_settings
from app.db import create_engine_for
from tests.conftest import IS_POSTGRES, StatementCounter, fresh_database
from tests.peps.test_peps import all_numbers, new_pep
from tests.test_migrations import migrate


def contains(record: dict, text: str) -> bool:
    return any(text.lower() in (record[field] or "").lower() for field in ("title", "abstract"))


@pytest.mark.parametrize(
    "text",
    [
        "typing",  # the trigram index
        "PEP",  # in any case
        "ab",  # too short for a trigram: the LIKE
        "x",
        "100%",  # LIKE wildcards taken literally on both paths
        "a_b",
        "__",
        'the "',  # FTS5's quote inside the phrase
        "and OR not",  # FTS5's operators are text in a phrase
        "*",
        "tion(",
        "  ",
        "zzzqqq",
    ],
)
async def test_q_finds_exactly_the_peps_whose_title_or_abstract_contains_it(
    client: AsyncClient, catalogue: dict[int, dict], text: str
) -> None:
    expected = sorted(number for number, record in catalogue.items() if contains(record, text))
    assert await all_numbers(client, q=text) == expected


@pytest.mark.parametrize("text", ["guido", "VAN ROS", "an", "ł", "Łukasz", "łukasz langa", ". ", "zzzqqq"])
async def test_author_finds_exactly_the_peps_of_authors_whose_name_contains_it(
    client: AsyncClient, catalogue: dict[int, dict], text: str
) -> None:
    expected = sorted(
        number
        for number, record in catalogue.items()
        if any(text.lower() in name.lower() for name in record["author_names"])
    )
    assert await all_numbers(client, author=text) == expected


async def test_author_search_and_filters_combine(client: AsyncClient, catalogue: dict[int, dict]) -> None:
    expected = sorted(
        number
        for number, record in catalogue.items()
        if contains(record, "type") and any("guido" in name.lower() for name in record["author_names"])
    )
    assert expected
    assert await all_numbers(client, q="type", author="Guido") == expected


@pytest.mark.parametrize("text", ["ROSSUM", "ł", "an"])
async def test_authors_q_uses_the_same_search(client: AsyncClient, catalogue: dict[int, dict], text: str) -> None:
    expected = {
        name for record in catalogue.values() for name in record["author_names"] if text.lower() in name.lower()
    }
    page = (await client.get("/authors", params={"q": text, "limit": 100})).json()
    assert page["total"] == len(expected)
    if len(expected) <= 100:
        assert {item["name"] for item in page["items"]} == expected


async def found(client: AsyncClient, **params: str) -> list[int]:
    return await all_numbers(client, **params)


async def test_a_created_updated_and_deleted_pep_is_found_then_not(
    client: AsyncClient, superuser_headers: dict
) -> None:
    pep = new_pep(title="Quokkas in the standard library", authors=["Xanthippe Quill"])
    assert (await client.post("/peps", json=pep, headers=superuser_headers)).status_code == 201
    assert await found(client, q="QUOKKA") == [9001]
    assert await found(client, author="xanthippe") == [9001]

    changes = {"title": "Wombats instead", "abstract": "No quokka here.", "authors": ["Yolanda Wren"]}
    assert (await client.patch("/peps/9001", json=changes, headers=superuser_headers)).status_code == 200
    assert await found(client, q="wombat") == [9001]
    assert await found(client, q="quokkas in") == []
    assert await found(client, q="no quokka") == [9001]  # now in the abstract
    assert await found(client, author="xanthippe") == []
    assert await found(client, author="wren") == [9001]

    assert (await client.delete("/peps/9001", headers=superuser_headers)).status_code == 204
    assert await found(client, q="wombat") == []
    assert await found(client, author="wren") == []


async def test_a_renamed_author_is_found_by_the_new_name(client: AsyncClient, superuser_headers: dict) -> None:
    guido = (await client.get("/authors", params={"q": "Guido van Rossum"})).json()["items"][0]
    before = await found(client, author="Guido van Rossum")
    renamed = await client.patch(f"/authors/{guido['id']}", json={"name": "Guido Renamed"}, headers=superuser_headers)
    assert renamed.status_code == 200
    assert await found(client, author="guido renamed") == before
    assert await found(client, author="van rossum") == await found(client, author="just van rossum")


async def link_counts(connection: AsyncConnection) -> dict[int, int]:
    rows = await connection.execute(
        text(
            "SELECT author.id, count(pep_author.author_id) FROM author LEFT JOIN pep_author ON author_id = author.id GROUP BY author.id"
        )
    )
    return dict(rows.all())


async def pep_counts(client: AsyncClient) -> dict[int, int]:
    counts: dict[int, int] = {}
    while True:
        page = (await client.get("/authors", params={"limit": 100, "offset": len(counts)})).json()
        counts |= {item["id"]: item["pep_count"] for item in page["items"]}
        if len(counts) >= page["total"]:
            return counts


async def test_pep_counts_follow_every_write(
    client: AsyncClient, connection: AsyncConnection, superuser_headers: dict
) -> None:
    assert await pep_counts(client) == await link_counts(connection)
    pep = new_pep(authors=["Zed Newcomer", "Guido van Rossum"])
    assert (await client.post("/peps", json=pep, headers=superuser_headers)).status_code == 201
    zed = (await client.get("/authors", params={"q": "Zed Newcomer"})).json()["items"][0]
    assert zed["pep_count"] == 1
    assert await pep_counts(client) == await link_counts(connection)
    changed = await client.patch("/peps/9001", json={"authors": ["Ada Second"]}, headers=superuser_headers)
    assert changed.status_code == 200
    assert await pep_counts(client) == await link_counts(connection)
    assert (await client.delete("/peps/9001", headers=superuser_headers)).status_code == 204
    counts = await pep_counts(client)
    assert counts == await link_counts(connection)
    assert counts[zed["id"]] == 0


async def test_sorting_by_pep_count_orders_by_the_links(client: AsyncClient, connection: AsyncConnection) -> None:
    links = await link_counts(connection)
    page = (await client.get("/authors", params={"sort": "-pep_count", "limit": 10})).json()
    # Ties go by id in the sort's direction (app.pagination), so one index serves both directions.
    expected = sorted(links.items(), key=lambda item: (-item[1], -item[0]))[:10]
    assert [(item["id"], item["pep_count"]) for item in page["items"]] == expected


async def search_objects(engine: AsyncEngine) -> set[tuple[str, ...]]:
    """The triggers, FTS5 tables, trigram indexes and functions, with their definitions."""
    if IS_POSTGRES:
        queries = [
            "SELECT 'index', indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%trigram'",
            "SELECT 'trigger', tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
            "SELECT 'function', proname, prosrc FROM pg_proc WHERE proname LIKE 'author_pep_count%'",
            "SELECT 'extension', extname, '' FROM pg_extension",
        ]
    else:
        queries = ["SELECT type, name, sql FROM sqlite_master WHERE type = 'trigger' OR name LIKE '%search%'"]
    async with engine.connect() as connection:
        return {tuple(row) for query in queries for row in (await connection.execute(text(query))).all()}


@asynccontextmanager
async def engine_on_fresh_database(scratch: Path) -> AsyncIterator[AsyncEngine]:
    async with fresh_database(scratch) as url:
        engine = create_engine_for(load_settings(database_url=url))
        try:
            yield engine
        finally:
            await engine.dispose()


async def test_create_all_builds_what_the_migrations_build(tmp_path: Path) -> None:
    """A schema made by `metadata.create_all` searches and counts as a migrated one does."""
    async with engine_on_fresh_database(tmp_path) as migrated, engine_on_fresh_database(tmp_path) as created:
        await migrate(migrated, "upgrade", "head")
        async with created.begin() as connection:
            await connection.run_sync(lambda sync: SQLModel.metadata.create_all(sync))
        assert await search_objects(created) == await search_objects(migrated)


async def test_drop_all_drops_the_search_structures(fresh_database_url: str) -> None:
    engine = create_engine_for(load_settings(database_url=fresh_database_url))
    try:

        def create_and_drop(sync: Connection) -> None:
            SQLModel.metadata.create_all(sync)
            SQLModel.metadata.drop_all(sync)

        async with engine.begin() as connection:
            await connection.run_sync(create_and_drop)
        assert {row[1] for row in await search_objects(engine) if row[0] != "extension"} == set()
    finally:
        await engine.dispose()


@pytest.mark.parametrize(("path", "parameter"), [("/peps", "q"), ("/peps", "author"), ("/authors", "q")])
async def test_a_search_of_three_characters_or_more_is_the_indexed_one(
    client: AsyncClient, count_statements: StatementCounter, path: str, parameter: str
) -> None:
    """SQLite: an FTS5 MATCH on its trigram table; under 3 characters (no trigram), a LIKE over every row.

    PostgreSQL: the LIKE on lower(column), the expression its pg_trgm indexes are built on, whatever the length.
    """
    sent = {}
    for label, value in (("long", "typ"), ("short", "ty")):
        await count_statements.reset()
        assert (await client.get(path, params={parameter: value})).status_code == 200
        await count_statements.count()
        sent[label] = " ".join(count_statements.statements)
    if IS_POSTGRES:
        for statement in sent.values():
            assert "MATCH" not in statement and "lower(" in statement and " LIKE " in statement
    else:
        assert "MATCH" in sent["long"] and '"typ"' in sent["long"]
        assert "MATCH" not in sent["short"] and " LIKE " in sent["short"]
