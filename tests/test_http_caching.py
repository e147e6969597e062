"""HTTP caching (app/http_caching.py, app/changes.py): validators on every read, 304s, Cache-Control and
Vary, If-Match on every write, compression."""

import asyncio
import gzip
from pathlib import Path

import brotli
import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import text

from app.config import load_settings
from app.db import create_engine_for
from app.http_caching import COMPRESS_MIN_BYTES, accepted_coding, matches_strongly, none_match
from tests.servers import running_app

PUBLIC = "public, max-age=60, stale-while-revalidate=300"


async def etag_of(client: AsyncClient, path: str, headers: dict | None = None) -> str:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


@pytest.mark.parametrize("path", ["/peps/8", "/peps?limit=5", "/authors", "/authors/1", "/peps?status=Final"])
async def test_a_read_has_a_stable_etag_and_a_matching_one_gets_304_with_no_body(
    client: AsyncClient, path: str
) -> None:
    first = await client.get(path)
    etag = first.headers["etag"]
    assert etag == (await client.get(path)).headers["etag"]
    assert etag.startswith('W/"') == path.startswith(("/peps?", "/authors?")) or path == "/authors"
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == first.headers["cache-control"]
    assert "authorization" in again.headers["vary"].lower()
    other = await client.get(path, headers={"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200 and other.json() == first.json()


async def test_a_list_etag_names_the_list_its_filters_sort_and_page(client: AsyncClient) -> None:
    variants = ["/peps", "/peps?sort=-number", "/peps?limit=19", "/peps?offset=20", "/peps?status=Final", "/authors"]
    etags = [await etag_of(client, path) for path in variants]
    assert len(set(etags)) == len(variants)
    cursor = (await client.get("/peps")).json()["next_cursor"]
    assert await etag_of(client, f"/peps?cursor={cursor}") not in etags


async def test_an_empty_list_has_an_etag_too(client: AsyncClient) -> None:
    etag = await etag_of(client, "/peps?q=no-pep-has-this-title")
    assert (await client.get("/peps?q=no-pep-has-this-title", headers={"If-None-Match": etag})).status_code == 304


async def test_etags_change_with_every_write_that_changes_the_answer(
    client: AsyncClient, superuser_headers: dict
) -> None:
    watched = ["/peps/8", "/peps?limit=100", "/peps?author=warsaw", "/authors?q=warsaw", "/authors/1"]
    before = {path: await etag_of(client, path) for path in watched}

    async def changed_by(method: str, path: str, body: dict | None = None) -> set[str]:
        response = await client.request(method, path, json=body, headers=superuser_headers)
        assert response.status_code in (200, 201, 204), response.text
        now = {p: await etag_of(client, p) for p in watched}
        moved = {p for p in watched if now[p] != before[p]}
        before.update(now)
        return moved

    assert await changed_by("patch", "/peps/8", {"title": "Style Guide for Python Code, again"}) >= {
        "/peps/8",
        "/peps?limit=100",
    }
    created = {"number": 9001, "title": "A new PEP", "status": "Draft", "type": "Process", "created": "2026-12-05"}
    # PEP 9001 sorts after the first 100; the count (`total`) changed all the same. Answers made from their
    # bodies (one PEP, one author) move only when they change; a list's may move with any write to its tables.
    moved = await changed_by("post", "/peps", created | {"authors": ["Someone New"]})
    assert "/peps?limit=100" in moved and not moved & {"/peps/8", "/authors/1"}
    warsaw = (await client.get("/authors", params={"q": "Barry Warsaw"})).json()["items"][0]
    renamed = await changed_by("patch", f"/authors/{warsaw['id']}", {"name": "Barry A. Warsaw"})
    # A rename changes every answer that shows the name: PEP 8's author list, the lists, the searches.
    assert renamed >= {"/peps/8", "/peps?limit=100", "/peps?author=warsaw", "/authors?q=warsaw"}
    # Deleting a PEP past the first page changes the first page's total, so its ETag.
    assert "/peps?limit=100" in await changed_by("delete", "/peps/9001")


async def test_a_users_list_of_notes_changes_with_their_writes_only(client: AsyncClient, make_user) -> None:
    _, alice = await make_user()
    _, bob = await make_user()
    alice_before, bob_before = await etag_of(client, "/me/notes", alice), await etag_of(client, "/me/notes", bob)
    note = (await client.post("/me/notes", json={"pep_number": 8, "body": "mine"}, headers=alice)).json()
    alice_after = await etag_of(client, "/me/notes", alice)
    assert alice_after != alice_before and await etag_of(client, "/me/notes", bob) == bob_before
    await client.patch(f"/me/notes/{note['id']}", json={"body": "still mine"}, headers=alice)
    assert await etag_of(client, "/me/notes", alice) != alice_after
    # A cascade counts too: deleting the PEP deletes the note, and Alice's list changes.
    alice_after = await etag_of(client, "/me/notes", alice)
    assert (await client.get("/me/notes", headers=alice | {"If-None-Match": alice_after})).status_code == 304


async def test_cache_control_shares_only_anonymous_reads_and_never_errors_or_writes(
    client: AsyncClient, make_user
) -> None:
    _, headers = await make_user()
    for path in ("/peps", "/peps/8", "/authors", "/authors/1"):
        assert (await client.get(path)).headers["cache-control"] == PUBLIC, path
        signed_in = await client.get(path, headers=headers)
        assert signed_in.headers["cache-control"] == "private, no-cache", path
    for path in ("/me/notes", "/users/me"):
        assert (await client.get(path, headers=headers)).headers["cache-control"] == "private, no-cache", path
    for response in (
        await client.get("/peps/99999"),
        await client.get("/peps?status=Nope"),
        await client.get("/me/notes"),
        await client.post("/me/notes", json={"pep_number": 8, "body": "x"}, headers=headers),
        await client.post("/auth/token", data={"username": "nobody@example.com", "password": "wrong password"}),
    ):
        assert response.headers["cache-control"].startswith("no-store"), (response.request.url, response.status_code)


async def test_if_match_lets_the_current_version_through_and_refuses_a_stale_one(
    client: AsyncClient, superuser_headers: dict, make_user
) -> None:
    user, user_headers = await make_user()
    note = (await client.post("/me/notes", json={"pep_number": 8, "body": "a"}, headers=user_headers)).json()
    author = (await client.post("/authors", json={"name": "Nobody Yet"}, headers=superuser_headers)).json()
    cases = [
        ("/peps/20", {"title": "The Zen of Python, revised"}, superuser_headers),
        (f"/authors/{author['id']}", {"name": "Nobody Yet Again"}, superuser_headers),
        (f"/me/notes/{note['id']}", {"body": "b"}, user_headers),
        (f"/users/{user.id}", {"full_name": "Ada"}, superuser_headers),
        ("/users/me", {"full_name": "Ada L."}, user_headers),
    ]
    for path, change, headers in cases:
        etag = await etag_of(client, path, headers)
        done = await client.patch(path, json=change, headers=headers | {"If-Match": etag})
        assert done.status_code == 200, (path, done.text)
        assert done.headers["etag"] == await etag_of(client, path, headers), path
        stale = await client.patch(path, json=change, headers=headers | {"If-Match": etag})
        assert stale.status_code == 412, path
        assert stale.json()["detail"].startswith("The resource changed since the version named in If-Match")
        assert stale.headers["etag"] == done.headers["etag"]
        weak = await client.patch(path, json=change, headers=headers | {"If-Match": "W/" + done.headers["etag"]})
        assert weak.status_code == 412, path  # If-Match compares strongly
    gone = await client.delete(f"/me/notes/{note['id']}", headers=user_headers | {"If-Match": '"old"'})
    assert gone.status_code == 412
    assert (await client.get(f"/me/notes/{note['id']}", headers=user_headers)).status_code == 200


async def test_compression_above_the_threshold_only(client: AsyncClient) -> None:
    plain = await client.get("/peps?limit=100", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and "accept-encoding" in plain.headers["vary"].lower()
    for coding, decompress in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        async with client.stream("GET", "/peps?limit=100", headers={"Accept-Encoding": coding}) as big:
            raw = b"".join([chunk async for chunk in big.aiter_raw()])
        assert big.headers["content-encoding"] == coding and "accept-encoding" in big.headers["vary"].lower()
        assert int(big.headers["content-length"]) == len(raw) < len(plain.content) // 3
        assert decompress(raw) == plain.content
    small = await client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert len(small.content) < COMPRESS_MIN_BYTES and "content-encoding" not in small.headers


async def test_a_compressed_answers_etag_names_its_coding_and_still_validates(client: AsyncClient) -> None:
    guido = (await client.get("/authors", params={"q": "Guido van Rossum"})).json()["items"][0]
    path = f"/authors/{guido['id']}"
    plain = await client.get(path, headers={"Accept-Encoding": "identity"})
    zipped = await client.get(path, headers={"Accept-Encoding": "gzip"})
    assert len(plain.content) >= COMPRESS_MIN_BYTES, "an author with many PEPs has an answer large enough to compress"
    assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    again = await client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == zipped.headers["etag"]


@pytest.mark.parametrize(
    ("header", "etag", "expected"),
    [
        ('"a"', '"a"', True),
        ('W/"a"', '"a"', True),
        ('"a-gzip"', '"a"', True),
        ('"b", "a"', 'W/"a"', True),
        ("*", '"a"', True),
        ('"b"', '"a"', False),
        ('"a-zip"', '"a"', False),
    ],
)
def test_if_none_match_compares_weakly(header: str, etag: str, expected: bool) -> None:
    assert none_match(header, etag) is expected


@pytest.mark.parametrize(
    ("header", "etag", "expected"),
    [
        ('"a"', '"a"', True),
        ('"a-br"', '"a"', True),
        ('W/"a"', '"a"', False),
        ('"a"', 'W/"a"', False),
        ("*", '"a"', True),
    ],
)
def test_if_match_compares_strongly(header: str, etag: str, expected: bool) -> None:
    assert matches_strongly(header, etag) is expected


@pytest.mark.parametrize(
    ("accept", "coding"),
    [("gzip, br", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip"), ("identity", None), ("*", "br"), ("", None)],
)
def test_the_coding_the_client_accepts(accept: str, coding: str | None) -> None:
    assert accepted_coding(accept) == coding


def test_a_write_by_another_process_changes_the_list_etag(fresh_database_url: str, tmp_path: Path) -> None:
    """Another worker (here: a plain connection) writes and commits: the next read's ETag moves."""
    with running_app(tmp_path, DATABASE_URL=fresh_database_url, AUTO_MIGRATE="true", SEED_DEMO_DATA="true") as server:
        before = httpx.get(f"{server.base_url}/peps?limit=3")
        etag = before.headers["etag"]
        assert httpx.get(f"{server.base_url}/peps?limit=3", headers={"If-None-Match": etag}).status_code == 304

        async def write_elsewhere() -> None:
            engine = create_engine_for(load_settings(database_url=fresh_database_url))
            async with engine.begin() as connection:
                await connection.execute(
                    text("UPDATE pep SET title = 'PEP Purpose and Guidelines, edited' WHERE number = 1")
                )
            await engine.dispose()

        asyncio.run(write_elsewhere())
        after = httpx.get(f"{server.base_url}/peps?limit=3", headers={"If-None-Match": etag})
        assert after.status_code == 200 and after.headers["etag"] != etag
        assert after.json()["items"][1]["title"] == "PEP Purpose and Guidelines, edited"


def test_two_writes_naming_one_version_never_both_pass(fresh_database_url: str, tmp_path: Path) -> None:
    """The If-Match check and the write happen under one lock: of many concurrent edits naming one ETag, one wins."""
    with running_app(tmp_path, DATABASE_URL=fresh_database_url, AUTO_MIGRATE="true", SEED_DEMO_DATA="true") as server:
        headers = server.superuser_headers()
        etag = httpx.get(f"{server.base_url}/peps/8").headers["etag"]

        async def race() -> list[int]:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
                answers = await asyncio.gather(
                    *(
                        client.patch("/peps/8", json={"title": f"Edit {i}"}, headers=headers | {"If-Match": etag})
                        for i in range(8)
                    )
                )
            return sorted(response.status_code for response in answers)

        assert asyncio.run(race()) == [200] + [412] * 7
