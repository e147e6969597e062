"""Cursor pages: every list walked by `next_cursor` gives each match once, in order; cursors resist tampering."""

import base64
import hashlib
import hmac
import json
from datetime import date, timedelta
from typing import Any, Literal

import pytest
from httpx import AsyncClient
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field as ModelField
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app import cursors
from app.base import table_of, utcnow
from app.cursors import _cursor_key, cursor_context
from app.listing import Collection
from app.notes.models import Note
from app.pages import PAGE_FIELDS, Page, PageParams
from app.peps import service as peps_service
from app.peps.models import PEPS, PepListParams
from app.reader import Reader, compiled_read
from app.reads import read_page
from tests.conftest import IS_POSTGRES, StatementCounter, driver_connection


async def walk(client: AsyncClient, path: str, params: dict[str, Any], headers: dict | None = None) -> list[dict]:
    """Every item of a list, page by page by `next_cursor`; checks what each page says about the walk."""
    first = await client.get(path, params=params, headers=headers)
    assert first.status_code == 200, first.text
    page = first.json()
    items, total = list(page["items"]), page["total"]
    while page["next_cursor"] is not None:
        assert len(page["items"]) == page["limit"]
        response = await client.get(path, params={**params, "cursor": page["next_cursor"]}, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == total and page["offset"] == len(items)
        assert page["items"], "a cursor led to an empty page"
        items += page["items"]
    assert len(items) == total
    return items


async def by_offset(client: AsyncClient, path: str, params: dict[str, Any], headers: dict | None = None) -> list[dict]:
    """The same list read by offset pages of 100: the order the database gives."""
    items: list[dict] = []
    while True:
        page = (await client.get(path, params={**params, "limit": 100, "offset": len(items)}, headers=headers)).json()
        items += page["items"]
        if len(items) >= page["total"]:
            return items


PEP_SORTS = ["number", "-number", "title", "-title", "created", "-created"]


@pytest.mark.parametrize("sort", PEP_SORTS)
async def test_walking_every_pep_by_cursor(client: AsyncClient, catalogue: dict[int, dict], sort: str) -> None:
    items = await walk(client, "/peps", {"sort": sort, "limit": 37})
    numbers = [item["number"] for item in items]
    assert sorted(numbers) == sorted(catalogue)  # each PEP exactly once
    assert items == await by_offset(client, "/peps", {"sort": sort})
    descending = sort.startswith("-")
    if sort.endswith("created"):
        keys = [(item["created"], item["number"]) for item in items]
        assert keys == sorted(keys, reverse=descending)  # ties on the date broken by number, same direction


async def test_dates_shared_by_many_peps_are_crossed_one_page_at_a_time(
    client: AsyncClient, catalogue: dict[int, dict]
) -> None:
    """limit=1: every tie on the sort key straddles a page boundary."""
    dates = [record["created"] for record in catalogue.values()]
    assert len(set(dates)) < len(dates)
    for sort in ("created", "-created"):
        items = await walk(client, "/peps", {"sort": sort, "limit": 1, "status": "Final", "type": "Process"})
        assert items == await by_offset(client, "/peps", {"sort": sort, "status": "Final", "type": "Process"})


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "Final"},
        {"author": "guido", "sort": "-created"},
        {"q": "typing", "sort": "-title"},
        {"topic": "packaging", "sort": "title"},
        {"python_version": "3.12", "sort": "-number"},
        {"created_after": "2010-01-01", "created_before": "2019-12-31", "sort": "created", "type": "Standards Track"},
    ],
)
async def test_walking_filtered_peps_by_cursor(client: AsyncClient, filters: dict) -> None:
    items = await walk(client, "/peps", {**filters, "limit": 3})
    assert items and items == await by_offset(client, "/peps", filters)


async def test_peps_by_author_id_are_the_authors_peps(client: AsyncClient) -> None:
    guido = (await client.get("/authors", params={"q": "Guido van Rossum"})).json()["items"][0]
    items = await walk(client, "/peps", {"author_id": guido["id"], "sort": "-number", "limit": 5})
    assert len(items) == guido["pep_count"]
    assert all("Guido van Rossum" in item["authors"] for item in items)
    assert [item["number"] for item in items] == sorted((item["number"] for item in items), reverse=True)
    nobody = (await client.get("/peps", params={"author_id": 2_000_000_000})).json()
    assert nobody == {"items": [], "total": 0, "limit": 20, "offset": 0, "next_cursor": None}


@pytest.mark.parametrize("sort", ["name", "-name", "pep_count", "-pep_count"])
async def test_walking_authors_by_cursor(client: AsyncClient, sort: str) -> None:
    """Most authors have one PEP: sorting by count crosses long runs of ties (kept in HAVING, per group)."""
    items = await walk(client, "/authors", {"sort": sort, "limit": 50})
    assert len({item["id"] for item in items}) == len(items)
    assert items == await by_offset(client, "/authors", {"sort": sort})
    if sort.endswith("pep_count"):
        keys = [(item["pep_count"], item["id"]) for item in items]
        assert keys == sorted(keys, reverse=sort.startswith("-"))
    searched = await walk(client, "/authors", {"sort": sort, "limit": 2, "q": "an"})
    assert searched == await by_offset(client, "/authors", {"sort": sort, "q": "an"})


@pytest.fixture
async def note_writer(client: AsyncClient, session: AsyncSession, make_user) -> tuple[int, dict]:
    """A user with 23 notes: runs of them share a `created_at` and a PEP, to cross ties on either sort."""
    user, headers = await make_user()
    start = utcnow()
    for i in range(23):
        created = start + timedelta(seconds=i // 4)
        session.add(
            Note(user_id=user.id, pep_number=(8, 20, 484)[i % 3], body=f"n{i}", created_at=created, updated_at=created)
        )
    await session.commit()
    return user.id, headers


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "pep_number", "-pep_number"])
async def test_walking_notes_by_cursor(client: AsyncClient, note_writer: tuple[int, dict], sort: str) -> None:
    _, headers = note_writer
    items = await walk(client, "/me/notes", {"sort": sort, "limit": 3}, headers)
    assert sorted(item["body"] for item in items) == sorted(f"n{i}" for i in range(23))
    field = sort.removeprefix("-")
    keys = [(item[field], item["id"]) for item in items]
    assert keys == sorted(keys, reverse=sort.startswith("-"))
    on_pep8 = await walk(client, "/me/notes", {"sort": sort, "limit": 2, "pep_number": 8}, headers)
    assert [item["body"] for item in on_pep8] == [item["body"] for item in items if item["pep_number"] == 8]


async def test_a_notes_cursor_is_its_owners_only(client: AsyncClient, note_writer: tuple[int, dict], make_user) -> None:
    _, alice = note_writer
    _, bob = await make_user()
    cursor = (await client.get("/me/notes", params={"limit": 2}, headers=alice)).json()["next_cursor"]
    response = await client.get("/me/notes", params={"limit": 2, "cursor": cursor}, headers=bob)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("sort", ["email", "-email", "created_at", "-created_at"])
async def test_walking_users_by_cursor(client: AsyncClient, superuser_headers: dict, make_user, sort: str) -> None:
    for _ in range(6):
        await make_user()
    items = await walk(client, "/users", {"sort": sort, "limit": 2}, superuser_headers)
    assert len(items) >= 7 and len({item["id"] for item in items}) == len(items)
    assert items == await by_offset(client, "/users", {"sort": sort}, superuser_headers)
    searched = await walk(client, "/users", {"sort": sort, "limit": 2, "q": "user"}, superuser_headers)
    assert len(searched) == 6


# A nullable sort key with ties and NULLs, through the same machinery as every list.
class ScratchRank(SQLModel, table=True):
    id: int = ModelField(primary_key=True)
    rank: int | None = None


SCRATCH = table_of(ScratchRank)
SCRATCH.metadata.remove(SCRATCH)  # a table of this test's own: not the app's schema
RANKS = [3, None, 1, 3, None, 2, 1, None, 3, 2, None, 1]


class ScratchItem(SQLModel):
    id: int
    rank: int | None


class ScratchParams(PageParams):
    sort: Literal["rank", "-rank"] = Field("rank")


class ScratchPage(Page[ScratchItem]):
    pass


# The sort key as a column, and as an expression over it (as `lower(title)` sorts PEPs): both may be NULL.
SCRATCH_LISTS = {
    key: Collection(ScratchRank, ScratchPage, ScratchParams, sorts={"rank": sort_key})
    for key, sort_key in {"column": SCRATCH.c.rank, "expression": SCRATCH.c.rank * 2}.items()
}


@pytest.mark.parametrize("key", sorted(SCRATCH_LISTS))
@pytest.mark.parametrize("sort", ["rank", "-rank"])
@pytest.mark.parametrize("limit", [1, 2, 5])
async def test_nulls_sort_above_every_value_and_are_walked_once(
    connection: AsyncConnection, reader: Reader, key: str, sort: str, limit: int
) -> None:
    await connection.run_sync(SCRATCH.create)
    await connection.execute(SCRATCH.insert(), [{"id": i + 1, "rank": rank} for i, rank in enumerate(RANKS)])
    rows = [(rank, i + 1) for i, rank in enumerate(RANKS)]
    ascending = sorted(r for r in rows if r[0] is not None) + sorted(r for r in rows if r[0] is None)
    expected = list(reversed(ascending)) if sort.startswith("-") else ascending

    def read(cursor: str | None) -> Any:
        return read_page(reader, SCRATCH_LISTS[key], ScratchParams(sort=sort, limit=limit, cursor=cursor))

    page = await read(None)
    seen = list(page.items)
    while page.next_cursor is not None:
        page = await read(page.next_cursor)
        assert page.total == len(RANKS)
        seen += page.items
    assert [(item.rank, item.id) for item in seen] == expected
    # The columns the page statement adds (sort key, tiebreak, total) stay out of the items.
    assert {frozenset(item.model_dump()) for item in seen} == {frozenset({"id", "rank"})}


async def test_next_cursor_is_null_exactly_on_the_last_page(client: AsyncClient) -> None:
    total = (await client.get("/peps", params={"type": "Process"})).json()["total"]
    whole = (await client.get("/peps", params={"type": "Process", "limit": total})).json()
    assert len(whole["items"]) == total and whole["next_cursor"] is None
    first = (await client.get("/peps", params={"type": "Process", "limit": total - 1})).json()
    last = (
        await client.get("/peps", params={"type": "Process", "limit": total - 1, "cursor": first["next_cursor"]})
    ).json()
    assert len(last["items"]) == 1 and last["next_cursor"] is None and last["offset"] == total - 1


async def test_an_offset_page_gives_a_cursor_to_the_next(client: AsyncClient) -> None:
    page = (await client.get("/peps", params={"offset": 10, "limit": 5, "sort": "-title"})).json()
    following = (await client.get("/peps", params={"limit": 5, "sort": "-title", "cursor": page["next_cursor"]})).json()
    expected = (await client.get("/peps", params={"offset": 15, "limit": 5, "sort": "-title"})).json()
    assert following["items"] == expected["items"] and following["offset"] == 15
    assert following["total"] == expected["total"]


async def test_the_page_size_may_change_along_a_walk(client: AsyncClient) -> None:
    first = (await client.get("/peps", params={"limit": 3})).json()
    second = (await client.get("/peps", params={"limit": 10, "cursor": first["next_cursor"]})).json()
    assert [p["number"] for p in first["items"] + second["items"]] == [
        p["number"] for p in (await client.get("/peps", params={"limit": 13})).json()["items"]
    ]


@pytest.mark.parametrize("offset", ["0", "40"])
async def test_cursor_and_offset_together_are_422(client: AsyncClient, offset: str) -> None:
    cursor = (await client.get("/peps")).json()["next_cursor"]
    response = await client.get("/peps", params={"cursor": cursor, "offset": offset})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", "cursor"]
    assert problem["msg"] == "Send `cursor` or `offset`, not both: a cursor already says where its page starts."


async def test_a_cursor_page_repeats_the_first_pages_total_without_counting(
    client: AsyncClient, count_statements: StatementCounter, session: AsyncSession
) -> None:
    first = (await client.get("/peps", params={"limit": 5})).json()
    await count_statements.reset()
    second = (await client.get("/peps", params={"limit": 5, "cursor": first["next_cursor"]})).json()
    assert await count_statements.count() == 1
    assert "count(" not in count_statements.statements[0].lower()
    assert second["total"] == first["total"]


def _edit(cursor: str, change) -> str:
    payload, signature = cursor.split(".")
    return change(payload, signature)


def _payload(cursor: str) -> list:
    payload = cursor.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _b64(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


ATTACKS = {
    "payload edited": lambda c: _edit(c, lambda p, s: _b64([1, 9999, 9999, 1, 0]) + "." + s),
    "total raised": lambda c: _edit(c, lambda p, s: _b64([*_payload(c)[:3], 10**9, _payload(c)[4]]) + "." + s),
    "signature edited": lambda c: _edit(c, lambda p, s: p + "." + ("A" if s[0] != "A" else "B") + s[1:]),
    "signature dropped": lambda c: c.split(".")[0],
    "truncated": lambda c: c[: len(c) // 2],
    "one character short": lambda c: c[:-1],
    "extra part": lambda c: c + ".x",
    "empty": lambda c: "",
    "not base64": lambda c: "!!!!.????",
    "not ascii": lambda c: "é" + c,
    "nul": lambda c: c[:5] + "\x00" + c[5:],
    "json, unsigned": lambda c: _b64([1, 8, 8, 1, 0]),
    "absurdly long": lambda c: c + "A" * 5000,
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_a_tampered_cursor_is_422_naming_cursor_and_not_repeated(client: AsyncClient, attack: str) -> None:
    cursor = (await client.get("/peps", params={"limit": 3})).json()["next_cursor"]
    bad = ATTACKS[attack](cursor)
    response = await client.get("/peps", params={"limit": 3, "cursor": bad})
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", "cursor"]
    assert problem["input"] is None
    if attack != "absurdly long":  # refused by its length first
        assert problem["msg"] == (
            "Invalid cursor: it was altered, or made for another list, sort or filters. Use the `next_cursor` of "
            "a page with the same `sort` and filters, or start again without `cursor`."
        )
    if len(bad) > 3:
        assert bad not in response.text


async def test_a_cursor_over_2048_characters_is_refused_by_its_length(client: AsyncClient) -> None:
    cursor = (await client.get("/peps", params={"limit": 3})).json()["next_cursor"]
    longest = cursor + "A" * (2048 - len(cursor))
    problems = {}
    for bad in (longest, longest + "A"):
        response = await client.get("/peps", params={"limit": 3, "cursor": bad})
        assert response.status_code == 422
        [problems[len(bad)]] = response.json()["detail"]
    assert problems[2048]["type"] != "string_too_long"  # read, and refused as not this app's cursor
    assert problems[2049]["type"] == "string_too_long"
    assert problems[2049]["ctx"] == {"max_length": 2048}


@pytest.mark.parametrize(
    ("made_for", "used_for"),
    [
        ({"sort": "number"}, {"sort": "-number"}),
        ({"sort": "title"}, {"sort": "created"}),
        ({"status": "Final"}, {}),
        ({}, {"status": "Final"}),
        ({"status": "Final"}, {"status": "Active"}),
        ({"q": "typing"}, {"q": "typin"}),
    ],
)
async def test_a_cursor_is_bound_to_its_sort_and_filters(client: AsyncClient, made_for: dict, used_for: dict) -> None:
    cursor = (await client.get("/peps", params={**made_for, "limit": 2})).json()["next_cursor"]
    assert cursor is not None
    response = await client.get("/peps", params={**used_for, "limit": 2, "cursor": cursor})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


async def test_a_cursor_is_bound_to_its_list(client: AsyncClient, superuser_headers: dict) -> None:
    authors_cursor = (await client.get("/authors", params={"limit": 2})).json()["next_cursor"]
    for path in ("/peps", "/users"):
        response = await client.get(path, params={"cursor": authors_cursor}, headers=superuser_headers)
        assert response.status_code == 422, path


async def test_a_cursor_signed_with_another_key_is_422(client: AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = (await client.get("/peps")).json()["next_cursor"]
    other = cursors.get_settings().model_copy(update={"secret_key": "another-key-" + "x" * 40})
    monkeypatch.setattr(cursors, "get_settings", lambda: other)
    assert (await client.get("/peps", params={"cursor": cursor})).status_code == 422


@pytest.mark.parametrize(
    "payload",
    [
        [1, "eight", 8, 737, 20],  # a text key where the sort binds a number
        [1, 8, "8", 737, 20],
        [1, 8, 8, -1, 20],
        [1, {"d": "not a date"}, 8, 737, 20],
        [1, {"x": 1}, 8, 737, 20],
        [2, 8, 8, 737, 20],  # another format's version
        [1, 8],
        {"key": 8},
        "text",
    ],
)
async def test_a_signed_cursor_of_the_wrong_shape_is_422(client: AsyncClient, payload: Any) -> None:
    """Only this app signs cursors, but one from another release may not fit: a 422, never a 500."""
    raw = json.dumps(payload).encode()
    context = cursor_context("PEP", PepListParams().model_dump(mode="json", exclude=PAGE_FIELDS), {})  # /peps's default
    signature = hmac.new(_cursor_key(cursors.get_settings().secret_key), context + b"\n" + raw, hashlib.sha256).digest()
    cursor = base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + base64.urlsafe_b64encode(signature).decode()
    response = await client.get("/peps", params={"cursor": cursor.rstrip("=")})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize(
    "url",
    [
        "/peps?limit=5",
        "/peps?limit=5&author=guido&sort=-created",
        "/authors?limit=5&sort=-pep_count",
        "/authors?limit=5",
    ],
)
async def test_a_cursor_page_costs_one_statement(
    client: AsyncClient, count_statements: StatementCounter, url: str
) -> None:
    cursor = (await client.get(url)).json()["next_cursor"]
    await count_statements.reset()
    assert (await client.get(f"{url}&cursor={cursor}")).status_code == 200
    assert await count_statements.count() == 1


async def test_an_authors_detail_is_capped_with_a_link_to_all_their_peps(
    client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(peps_service, "PEPS_SHOWN", 4)
    busiest = (await client.get("/authors", params={"sort": "-pep_count", "limit": 1})).json()["items"][0]
    detail = (await client.get(f"/authors/{busiest['id']}")).json()
    assert detail["pep_count"] == busiest["pep_count"] > 4
    assert detail["all_peps"] == f"/peps?author_id={busiest['id']}"
    every = await walk(client, detail["all_peps"].split("?")[0], {"author_id": busiest["id"]})
    assert detail["peps"] == every[:4]
    assert len(every) == busiest["pep_count"]


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("number", "pk_pep"),
        ("-number", "pk_pep"),
        ("title", "ix_pep_lower_title_number"),
        ("-title", "ix_pep_lower_title_number"),
        ("created", "ix_pep_created_number"),
        ("-created", "ix_pep_created_number"),
    ],
)
async def test_a_cursor_page_seeks_an_index_for_every_sort(connection: AsyncConnection, sort: str, index: str) -> None:
    """A deep page costs what the first does only if the database seeks past the cursor instead of scanning to it."""
    statement, _ = PEPS.page_statements(frozenset(), sort, "after")
    compiled = compiled_read(statement, connection.dialect)
    key = {"number": 500, "title": "m", "created": date(2010, 1, 1)}[sort.removeprefix("-")]
    arguments = compiled.arguments({"after_key": key, "after_tiebreak": 500, "limit": 21})
    driver = await driver_connection(connection)
    if IS_POSTGRES:
        # Fresh statistics, whatever the cluster's history; and since the bundled 737 PEPs are so few that
        # reading and sorting them would win, what matters is that the index can serve the page in order,
        # seeking to the cursor. Each sort has one index that serves it (none is left redundant).
        await connection.exec_driver_sql("ANALYZE pep")
        for method in ("seqscan", "bitmapscan", "sort"):
            await connection.exec_driver_sql(f"SET LOCAL enable_{method} = off")
        plan = "\n".join(row[0] for row in await driver.fetch("EXPLAIN " + compiled.sql, *arguments))
        inner = plan.split("SubPlan")[0]  # the page's own plan, before its rows' authors
        assert f"using {index} on pep" in inner and "Index Cond" in inner and "Sort Key: pep." not in inner, plan
    else:
        plan = "\n".join(row[3] for row in driver.execute("EXPLAIN QUERY PLAN " + compiled.sql, arguments).fetchall())
        # SQLite's rowid is the PEP number: each sort's index holds (key, rowid).
        assert "SEARCH pep USING" in plan and "SCAN pep" not in plan, plan
