"""`python -m app import-peps`: upserts from a feed, idempotent, all-or-nothing on bad input."""

import copy
import http.server
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authors.models import Author
from app.config import load_settings
from app.db import create_engine_for, make_sessionmaker, session_scope
from app.peps import importer
from app.peps.importer import BUNDLED_PEPS, PepDataError, import_peps, parse_feed, read_source, split_authors
from app.peps.models import PEPS, Pep, PepDetail
from app.reader import SessionReader
from app.reads import read_one
from app.startup import prepare_database
from tests.conftest import IS_POSTGRES

PROJECT_ROOT = Path(__file__).resolve().parents[2]


async def stored_pep(session: AsyncSession, number: int) -> PepDetail:
    """The PEP as the API reads it, inside the test's transaction."""
    detail = await read_one(SessionReader(session), PEPS, number)
    assert isinstance(detail, PepDetail)
    return detail


def bundled_feed() -> dict:
    return json.loads(BUNDLED_PEPS.read_text(encoding="utf-8"))


async def count(session: AsyncSession, model: type) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


async def test_second_import_changes_nothing(session: AsyncSession) -> None:
    before = (await stored_pep(session, 8)).updated_at
    report = await import_peps(session, parse_feed(read_source(BUNDLED_PEPS), "bundled"))
    assert (report.created, report.updated, report.authors_created) == (0, 0, 0)
    assert report.unchanged == len(bundled_feed())
    assert report.summary().startswith("Nothing to change")
    assert (await stored_pep(session, 8)).updated_at == before


async def test_changes_in_the_feed_are_applied(session: AsyncSession) -> None:
    feed = bundled_feed()
    feed["8"]["title"] = "Style Guide, revised"
    feed["1"]["status"] = "Withdrawn"
    feed["20"]["author_names"] = ["Tim Peters", "A. New Author"]
    feed["9999"] = copy.deepcopy(feed["8"]) | {"number": 9999, "url": "https://peps.python.org/pep-9999/"}
    report = await import_peps(session, parse_feed(json.dumps(feed), "changed"))
    assert (report.created, report.updated, report.authors_created) == (1, 3, 1)
    assert report.peps_in_database == len(feed)
    assert (await stored_pep(session, 8)).title == "Style Guide, revised"
    assert (await stored_pep(session, 1)).status == "Withdrawn"
    assert (await stored_pep(session, 20)).authors == ["Tim Peters", "A. New Author"]
    assert (await stored_pep(session, 9999)).authors == feed["8"]["author_names"]


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
    assert (await stored_pep(session, 42_999)).authors == ["Bulk Author 28", "Guido van Rossum"]
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


async def test_counts_stay_true_in_the_transactions_after_an_import(fresh_database_url: str) -> None:
    """The triggers' pause ends with the import's transaction: the next one on the same pooled connection
    is counted by them again."""
    settings = load_settings(auto_migrate=True, seed_demo_data=False)
    engine = create_engine_for(settings, fresh_database_url)
    try:
        await prepare_database(engine, settings)
        async with engine.connect() as connection:
            sessions = make_sessionmaker(connection)
            async with session_scope(sessions) as session:
                await import_peps(session, parse_feed(json.dumps({"8": bundled_feed()["8"]}), "one PEP"))
            async with session_scope(sessions) as session:
                await (await session.connection()).execute(text("DELETE FROM pep_author"))
                assert await wrong_pep_counts(session) == []
    finally:
        await engine.dispose()


def test_feed_without_author_names_is_split_on_commas() -> None:
    assert split_authors("Fred L. Drake, Jr., Guido van Rossum") == ["Fred L. Drake, Jr.", "Guido van Rossum"]
    record = {k: v for k, v in bundled_feed()["8"].items() if k != "author_names"}
    [pep] = parse_feed(json.dumps({"8": record}), "official feed")
    assert pep.authors == bundled_feed()["8"]["author_names"]


@pytest.mark.parametrize("suffix", ["Jr.", "Sr.", "Jr", "Sr", "II", "III"])
def test_a_name_suffix_stays_with_its_name(suffix: str) -> None:
    assert split_authors(f"Ada Lovelace, Charles Babbage, {suffix}, Guido van Rossum") == [
        "Ada Lovelace",
        f"Charles Babbage, {suffix}",
        "Guido van Rossum",
    ]


def test_the_report_counts_every_pep_seen() -> None:
    report = importer.ImportReport(
        created=2, updated=3, unchanged=4, authors_created=1, peps_in_database=10, authors_in_database=5
    )
    assert report.summary() == (
        "Imported 9 PEPs: 2 new, 3 updated, 4 unchanged; 1 new authors. The database holds 10 PEPs and 5 authors."
    )
    idle = importer.ImportReport(unchanged=7, peps_in_database=7, authors_in_database=3)
    assert idle.summary() == (
        "Nothing to change: all 7 PEPs are already up to date. The database holds 7 PEPs and 3 authors."
    )


def test_nesting_is_refused_only_past_five_levels() -> None:
    """The feed, a record and its lists are three levels; five are allowed, the sixth is refused. Depth is
    counted down again as lists close: many lists side by side are not deep."""
    record = {**bundled_feed()["8"], "extra": [[[]]]}  # 5 levels
    [pep] = parse_feed(json.dumps({"8": record}), "five levels")
    assert pep.number == 8
    with pytest.raises(PepDataError, match=r"nests deeper than a PEP feed does \(5 levels\)"):
        parse_feed(json.dumps({"8": {**record, "extra": [[[[]]]]}}), "six levels")
    with pytest.raises(PepDataError, match="record 0: is not a JSON object"):
        parse_feed(json.dumps([[[]] for _ in range(10)]), "wide")


def test_fields_missing_from_a_record_take_their_defaults_and_lists_are_read() -> None:
    record = {k: v for k, v in bundled_feed()["8"].items() if k != "topic"}
    record |= {"requires": "1, 2", "replaces": "3", "superseded_by": "4,5"}
    [pep] = parse_feed(json.dumps({"8": record}), "feed")
    assert pep.topic == ""
    assert (pep.requires, pep.replaces, pep.superseded_by) == ([1, 2], [3], [4, 5])


@pytest.mark.parametrize("text", ['{"8": ', '{"8": tru}', b'{"8": "\xff"}', "[1,]", '[{"number": 1e9999}]'])
def test_invalid_json_is_named_on_one_line(text: str | bytes) -> None:
    """The parser's own message, without the lines of input it quotes (or a bytes repr of them)."""
    with pytest.raises(PepDataError) as refused:
        parse_feed(text, "feed.json")
    assert re.fullmatch(r"feed\.json is not valid JSON \([a-z][^\n]+\)", str(refused.value)), str(refused.value)
    assert "b'" not in str(refused.value) and "right here" not in str(refused.value)


async def test_a_new_pep_was_last_updated_when_it_was_created(session: AsyncSession) -> None:
    record = {**bundled_feed()["8"], "number": 9998, "url": "https://example.com/pep-9998/"}
    await import_peps(session, parse_feed(json.dumps({"9998": record}), "one new PEP"))
    created, updated = (await session.exec(select(Pep.created_at, Pep.updated_at).where(Pep.number == 9998))).one()
    assert created == updated


def test_every_field_of_a_record_is_read() -> None:
    record = {
        **bundled_feed()["8"],
        "topic": "packaging",
        "python_version": "3.14",
        "discussions_to": "https://discuss.python.org/t/1",
        "post_history": "01-Jan-2025",
        "resolution": "https://discuss.python.org/t/2",
        "requires": "1",
        "replaces": "2",
        "superseded_by": "3",
        "abstract": "Short.",
    }
    [pep] = parse_feed(json.dumps({"8": record}), "feed")
    read = pep.model_dump()
    for field in ("title", "topic", "python_version", "discussions_to", "post_history", "resolution", "abstract"):
        assert read[field] == record[field], field
    assert (read["status"], read["type"], read["url"]) == (record["status"], record["type"], record["url"])
    assert (read["requires"], read["replaces"], read["superseded_by"]) == ([1], [2], [3])


def test_surrogate_escapes_are_read_in_either_case() -> None:
    """A pair written in capitals whose high half is DA00-DBFF (DB40 DD00: U+E0100) is one character; a lone
    half is refused in either case."""
    text = json.dumps({"8": {**bundled_feed()["8"], "title": "T"}}).replace('"T"', r'"\uDB40\uDD00"')
    [pep] = parse_feed(text, "upper")
    assert pep.title == "\U000e0100"
    with pytest.raises(PepDataError, match="holds a lone surrogate escape"):
        parse_feed(r'{"8": {"number": 8, "title": "\uDBFF x"}}', "lone upper")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            json.dumps({"8": {**bundled_feed()["8"], "author_names": ["Ada", ""]}}),
            "PEP 8: authors.1: String should have at least 1 character",
        ),
        (
            r'{"8": {"number": 8, "title": "\udc00"}}',
            r"feed.json holds a lone surrogate escape (\ud800-\udfff), which is no character",
        ),
        (b'{"8": {"title": "\xed\xa0\x80"}}', "feed.json holds text that is not valid Unicode (a lone surrogate?)"),
        (
            json.dumps({"8": {k: v for k, v in bundled_feed()["8"].items() if k not in ("author_names", "authors")}}),
            "PEP 8: authors: List should have at least 1 item after validation, not 0",
        ),
    ],
)
def test_whole_messages(text: str | bytes, message: str) -> None:
    with pytest.raises(PepDataError) as refused:
        parse_feed(text, "feed.json")
    assert str(refused.value) == message


def test_a_key_must_be_the_number_itself() -> None:
    with pytest.raises(PepDataError, match="record X8: holds PEP 8; the key must be the PEP's own number"):
        parse_feed(json.dumps({"X8": bundled_feed()["8"]}), "feed")


@pytest.fixture
def feed_server(tmp_path: Path) -> Iterator[str]:
    """An HTTP server holding a small feed at /peps.json, the same behind a redirect at /moved, and a 404."""
    (tmp_path / "peps.json").write_text(json.dumps({"8": bundled_feed()["8"]}))

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def do_GET(self) -> None:
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/peps.json")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_feed_is_downloaded_following_redirects(feed_server: str) -> None:
    [pep] = parse_feed(read_source(f"{feed_server}/moved"), "moved feed")
    assert pep.number == 8
    with pytest.raises(PepDataError, match=re.escape(f"cannot download {feed_server}/missing.json: ") + ".*404"):
        read_source(f"{feed_server}/missing.json")
    # https is downloaded too (here from a port where nothing listens), never read as a file name.
    with pytest.raises(PepDataError, match=re.escape("cannot download https://127.0.0.1:9/peps.json: ")):
        read_source("https://127.0.0.1:9/peps.json")
    with pytest.raises(PepDataError, match=re.escape("cannot read no/such/feed.json: No such file or directory")):
        read_source("no/such/feed.json")


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
    assert (await stored_pep(session, 8)).title == bundled_feed()["8"]["title"]


async def test_verification_counts_links_as_well_as_peps(session: AsyncSession) -> None:
    """After each batch the import counts what is stored; one missing link is enough to refuse it."""
    [pep] = parse_feed(json.dumps({"8": bundled_feed()["8"]}), "feed")
    await importer._verify(session, [pep])  # as imported at start-up: nothing missing
    connection = await session.connection()
    await connection.execute(text("DELETE FROM pep_author WHERE pep_number = 8 AND position = 1"))
    with pytest.raises(PepDataError) as refused:
        await importer._verify(session, [pep])
    links = len(pep.authors)
    assert str(refused.value) == (
        f"verification failed: expected 1 PEPs and {links} author links, found 1 and {links - 1}"
    )


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


async def test_an_import_ends_with_fresh_statistics_for_the_tables_it_changed(fresh_database_url: str) -> None:
    """Seeding (an import) is followed, once committed, by ANALYZE of every table it wrote: the planner counts
    every PEP, not those the import's own mid-transaction ANALYZE saw."""
    engine = create_engine_for(load_settings(database_url=fresh_database_url))
    try:
        await prepare_database(engine, load_settings(database_url=fresh_database_url, auto_migrate=True), seed=True)
        async with engine.connect() as connection:
            if IS_POSTGRES:
                query = "SELECT relname, reltuples::int FROM pg_class WHERE relname IN ('pep', 'pep_author', 'author')"
                counted = dict((await connection.execute(text(query))).all())
                # Vacuumed too: every page marked all-visible, so index-only scans skip the table.
                pages = "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'pep_author'"
                relpages, all_visible = (await connection.execute(text(pages))).one()
                assert relpages > 0 and all_visible == relpages
            else:
                # A row per index, each starting with the table's row count.
                rows = (await connection.execute(text("SELECT tbl, stat FROM sqlite_stat1"))).all()
                counted = {table: int(stat.split()[0]) for table, stat in rows}
            stored = {
                table: (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in ("pep", "pep_author", "author")
            }
    finally:
        await engine.dispose()
    assert stored["pep"] == 737
    assert {table: counted.get(table) for table in stored} == stored
