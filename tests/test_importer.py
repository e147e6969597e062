"""`python -m app import-peps`: upserts from a feed, idempotent, all-or-nothing on bad input."""

import copy
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authors.models import Author
from app.db import make_sessionmaker, session_scope
from app.peps import importer
from app.peps.importer import BUNDLED_PEPS, PepDataError, import_peps, parse_feed, read_source, split_authors
from app.peps.models import Pep
from app.peps.service import get_pep
from app.reader import SessionReader
from tests.conftest import IS_POSTGRES

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def bundled_feed() -> dict:
    return json.loads(BUNDLED_PEPS.read_text(encoding="utf-8"))


async def count(session: AsyncSession, model: type) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


async def test_second_import_changes_nothing(session: AsyncSession) -> None:
    before = (await get_pep(SessionReader(session), 8)).updated_at
    report = await import_peps(session, parse_feed(read_source(BUNDLED_PEPS), "bundled"))
    assert (report.created, report.updated, report.authors_created) == (0, 0, 0)
    assert report.unchanged == len(bundled_feed())
    assert report.summary().startswith("Nothing to change")
    assert (await get_pep(SessionReader(session), 8)).updated_at == before


async def test_changes_in_the_feed_are_applied(session: AsyncSession) -> None:
    feed = bundled_feed()
    feed["8"]["title"] = "Style Guide, revised"
    feed["1"]["status"] = "Withdrawn"
    feed["20"]["author_names"] = ["Tim Peters", "A. New Author"]
    feed["9999"] = copy.deepcopy(feed["8"]) | {"number": 9999, "url": "https://peps.python.org/pep-9999/"}
    report = await import_peps(session, parse_feed(json.dumps(feed), "changed"))
    assert (report.created, report.updated, report.authors_created) == (1, 3, 1)
    assert report.peps_in_database == len(feed)
    assert (await get_pep(SessionReader(session), 8)).title == "Style Guide, revised"
    assert (await get_pep(SessionReader(session), 1)).status == "Withdrawn"
    assert (await get_pep(SessionReader(session), 20)).authors == ["Tim Peters", "A. New Author"]
    assert (await get_pep(SessionReader(session), 9999)).authors == feed["8"]["author_names"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"8": {"title": "No number"}}', "record 8: has no 'number'"),
        (json.dumps({"8": {**bundled_feed()["8"], "created": "31-Foo-2001"}}), "PEP 8: '31-Foo-2001' is not a date"),
        (json.dumps({"8": {**bundled_feed()["8"], "status": "Done"}}), "PEP 8: status:"),
        ("[1, 2]", "record 0: is not a JSON object"),
        ('{"8": {"number": 8}, ', "is not valid JSON"),
        ("42", "must hold a JSON object keyed by PEP number"),
        ("", "is empty"),
        # Found by trying the importer as an attacker would:
        ("[" * 100_000 + "]" * 100_000, "nests deeper than a PEP feed does"),
        (json.dumps({"8": {**bundled_feed()["8"], "number": 9}}), "record 8: holds PEP 9; the key must be"),
        (json.dumps({"8": {**bundled_feed()["8"], "title": "nul\x00here"}}), "PEP 8: title: holds a NUL"),
        ('{"8": {"number": 8, "title": "\\udc00"}}', "holds a lone surrogate escape"),
        ('{"8": {"number": 8, "title": "sur\\ud800"}}', "holds a lone surrogate escape"),
        ('{"8": {"number": 8, "title": "\\ud800\\ud800\\udc00"}}', "holds a lone surrogate escape"),
        ('{"8": {"number": 8, "title": "\\ud83d\\u0041"}}', "holds a lone surrogate escape"),
        # An escaped backslash, then the text "ud800", then a lone low half: no pair, however it looks.
        ('{"8": {"number": 8, "title": "\\\\ud800\\udc00"}}', "holds a lone surrogate escape"),
        ('{"8": {"number": 8, "title": "\\ud83d \\ude00"}}', "holds a lone surrogate escape"),
        ('{"8": {"number": 8, "title": "\\\\\\uDE00"}}', "holds a lone surrogate escape"),
        (json.dumps({"8": {**bundled_feed()["8"], "author_names": ["A\x00B"]}}), "PEP 8: author_names: holds a NUL"),
        (json.dumps({"8": bundled_feed()["8"], "0008": bundled_feed()["8"]}), "PEP 8 appears more than once"),
    ],
)
def test_bad_input_names_the_record(text: str, message: str) -> None:
    with pytest.raises(PepDataError, match=message):
        parse_feed(text, "feed.json")


async def test_a_feed_larger_than_a_statement_can_carry_imports(session: AsyncSession) -> None:
    """33,000 PEPs: more than asyncpg's 32,767 parameters, so only batched statements can write them."""
    template = bundled_feed()["8"]
    feed = {
        str(number): {**template, "number": number, "author_names": [f"Bulk Author {number % 97}", "Guido van Rossum"]}
        for number in range(10_000, 43_000)
    }
    peps_before = await count(session, Pep)
    report = await import_peps(session, parse_feed(json.dumps(feed), "bulk"))
    assert (report.created, report.updated, report.authors_created) == (33_000, 0, 97)
    assert report.peps_in_database == peps_before + 33_000
    assert (await get_pep(SessionReader(session), 42_999)).authors == ["Bulk Author 28", "Guido van Rossum"]
    again = await import_peps(session, parse_feed(json.dumps(feed), "bulk"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 33_000)


def test_a_byte_order_mark_and_surrogate_pairs_are_fine() -> None:
    record = {**bundled_feed()["8"], "title": "Style Guide \U0001f40d"}
    [pep] = parse_feed(b"\xef\xbb\xbf" + json.dumps({"8": record}).encode(), "feed with a BOM")
    assert pep.title == "Style Guide \U0001f40d"
    [pep] = parse_feed(json.dumps({"0008": {**bundled_feed()["8"]}}), "zero-padded key")
    assert pep.number == 8
    for escaped, title in [
        ("\\uD83D\\uDE00", "\U0001f600"),  # a pair, written in capitals
        ("\\\\ud800", "\\ud800"),  # an escaped backslash, then letters
        ("\\\\\\ud83d\\ude00!", "\\\U0001f600!"),  # an escaped backslash, then a pair
    ]:
        text = json.dumps({"8": {**bundled_feed()["8"], "title": "TITLE"}}).replace("TITLE", escaped)
        [pep] = parse_feed(text, "escapes")
        assert pep.title == title


async def wrong_pep_counts(session: AsyncSession) -> list[tuple[int, int, int]]:
    """Authors whose stored `pep_count` differs from their links: (id, stored, linked)."""
    rows = await (await session.connection()).execute(
        text(
            "SELECT author.id, author.pep_count, count(pep_author.author_id) FROM author "
            "LEFT JOIN pep_author ON pep_author.author_id = author.id "
            "GROUP BY author.id, author.pep_count HAVING author.pep_count <> count(pep_author.author_id)"
        )
    )
    return [tuple(row) for row in rows.all()]


async def test_pep_counts_stay_true_through_an_import_and_after_it(session: AsyncSession) -> None:
    """The import keeps `pep_count` itself on PostgreSQL, its triggers paused; they work again once it is done."""
    feed = bundled_feed()
    feed["20"]["author_names"] = ["Tim Peters", "A. New Author"]  # one author dropped, one new
    feed["8"]["author_names"] = list(reversed(feed["8"]["author_names"]))  # the same authors, reordered
    feed["9999"] = copy.deepcopy(feed["1"]) | {"number": 9999, "url": "https://peps.python.org/pep-9999/"}
    await import_peps(session, parse_feed(json.dumps(feed), "relinked"))
    assert await wrong_pep_counts(session) == []
    newcomer = (await session.exec(select(Author).where(Author.name == "A. New Author"))).one()
    assert newcomer.pep_count == 1
    # Later writes in the same transaction are counted by the triggers again.
    connection = await session.connection()
    await connection.execute(text("DELETE FROM pep_author WHERE pep_number IN (20, 9999)"))
    assert await wrong_pep_counts(session) == []


def test_feed_without_author_names_is_split_on_commas() -> None:
    assert split_authors("Fred L. Drake, Jr., Guido van Rossum") == ["Fred L. Drake, Jr.", "Guido van Rossum"]
    record = {k: v for k, v in bundled_feed()["8"].items() if k != "author_names"}
    [pep] = parse_feed(json.dumps({"8": record}), "official feed")
    assert pep.authors == bundled_feed()["8"]["author_names"]


def run_command(
    *args: str, database_url: str, module: str = "app", **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT_ROOT), **settings}
    return subprocess.run(
        [sys.executable, "-m", module, *args], env=env, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT
    )


async def test_command_imports_then_reports_nothing_to_do(fresh_database_url: str, tmp_path: Path) -> None:
    if IS_POSTGRES:  # the release step's job; SQLite databases migrate themselves
        release = run_command("upgrade", "head", database_url=fresh_database_url, module="alembic")
        assert release.returncode == 0, release.stderr
    first = run_command("import-peps", database_url=fresh_database_url)
    assert first.returncode == 0, first.stderr
    assert f"{len(bundled_feed())} new" in first.stdout
    assert f"{len(bundled_feed())}/{len(bundled_feed())} PEPs processed" in first.stderr
    second = run_command("import-peps", database_url=fresh_database_url)
    assert second.returncode == 0, second.stderr
    assert "Nothing to change" in second.stdout

    feed = bundled_feed()
    feed["8"]["created"] = "not a date"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(feed))
    failed = run_command("import-peps", str(bad), database_url=fresh_database_url)
    assert failed.returncode == 1
    assert "PEP 8" in failed.stderr and "Nothing was written" in failed.stderr


async def test_failure_after_writing_leaves_nothing_behind(
    connection: AsyncConnection, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    peps_before, authors_before = await count(session, Pep), await count(session, Author)
    feed = bundled_feed()
    feed["9998"] = {**feed["8"], "number": 9998, "author_names": ["Rolled Back"]}
    feed["8"]["title"] = "Changed, then rolled back"

    async def fail_verification(*args: object) -> None:
        raise PepDataError("verification failed")

    monkeypatch.setattr(importer, "_verify", fail_verification)
    with pytest.raises(PepDataError):
        async with session_scope(make_sessionmaker(connection, join_transaction_mode="create_savepoint")) as writer:
            await import_peps(writer, parse_feed(json.dumps(feed), "feed"))
    assert (await count(session, Pep), await count(session, Author)) == (peps_before, authors_before)
    assert (await get_pep(SessionReader(session), 8)).title == bundled_feed()["8"]["title"]


def test_command_on_an_unmigrated_database(fresh_database_url: str) -> None:
    result = run_command("import-peps", database_url=fresh_database_url)
    if IS_POSTGRES:
        assert result.returncode == 1
        assert "alembic upgrade head" in result.stderr and "Nothing was written" in result.stderr
    else:
        assert result.returncode == 0, result.stderr


async def test_command_says_what_is_wrong_with_a_reachable_database(fresh_database_url: str, tmp_path: Path) -> None:
    """'cannot reach the database' only when it cannot: a locked SQLite file or a missing PostgreSQL
    database is named as such, without a traceback."""
    if IS_POSTGRES:
        missing = fresh_database_url.rsplit("/", 1)[0] + "/no_such_database_here"
        result = run_command("import-peps", database_url=missing, DB_CONNECT_ATTEMPTS="1")
        assert result.returncode == 1
        assert 'the database refused the command: database "no_such_database_here" does not exist' in result.stderr
    else:
        assert run_command("import-peps", database_url=fresh_database_url).returncode == 0
        holder = sqlite3.connect(fresh_database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process is writing
        try:
            result = run_command("import-peps", database_url=fresh_database_url, DB_POOL_TIMEOUT="1")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert result.returncode == 1
        assert "the SQLite database is unavailable: database is locked" in result.stderr
    assert "Traceback" not in result.stderr and "cannot reach" not in result.stderr


def test_command_on_an_unreachable_database_fails_cleanly() -> None:
    unreachable = "postgresql://nobody:secret-pw@127.0.0.1:9/none"
    result = run_command("import-peps", database_url=unreachable, DB_CONNECT_ATTEMPTS="1")
    assert result.returncode == 1
    assert "cannot reach the database" in result.stderr
    assert "secret-pw" not in result.stderr + result.stdout
