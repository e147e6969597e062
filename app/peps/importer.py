"""Load PEPs from a file in the peps.python.org `api/peps.json` format, inserting or updating them."""

import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import ijson
from pydantic import ValidationError
from sqlalchemy import BindParameter, bindparam, delete, func, insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authors.models import Author
from app.authors.service import ensure_author_ids
from app.base import table_of, utcnow
from app.peps.models import Pep, PepAuthorLink, PepCreate
from app.search import DEFER_PEP_COUNT_SETTING

BUNDLED_PEPS = Path(__file__).resolve().parent.parent / "data" / "peps.json"
_MONTHS = {
    name: i
    for i, name in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}
_SUFFIXES = {"Jr.", "Sr.", "Jr", "Sr", "II", "III"}
# The feed object, a record, its author list: a few levels more is room to spare.
MAX_FEED_DEPTH = 5
# A `\u` escape naming half of a UTF-16 surrogate pair; JSON parsers turn a half without its other half into "?".
_SURROGATE_ESCAPE = re.compile(rb"\\ud([89ab]|[c-f])[0-9a-f]{2}", re.IGNORECASE)
# A NUL in a JSON string is written `\u0000` (or, by lax writers, as the byte itself).
_NUL = re.compile(rb"\x00|\\u0000")


class PepDataError(ValueError):
    """The input is not a usable PEP feed; the message names the record and the field."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    authors_created: int = 0
    peps_in_database: int = 0
    authors_in_database: int = 0

    @property
    def changed_anything(self) -> bool:
        return bool(self.created or self.updated or self.authors_created)

    def summary(self) -> str:
        seen = self.created + self.updated + self.unchanged
        if not self.changed_anything:
            outcome = f"Nothing to change: all {seen} PEPs are already up to date."
        else:
            outcome = (
                f"Imported {seen} PEPs: {self.created} new, {self.updated} updated, {self.unchanged} unchanged; "
                f"{self.authors_created} new authors."
            )
        return f"{outcome} The database holds {self.peps_in_database} PEPs and {self.authors_in_database} authors."


def read_source(source: str | Path) -> bytes:
    """The bytes of a local file, or of an http(s) URL."""
    text = str(source)
    if text.startswith(("http://", "https://")):
        try:
            response = httpx.get(text, timeout=30, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise PepDataError(f"cannot download {text}: {error}") from None
        return response.content
    try:
        return Path(source).read_bytes()
    except OSError as error:
        raise PepDataError(f"cannot read {text}: {error.strerror}") from None


def parse_feed_date(value: Any) -> date:
    """The feed writes dates as `DD-Mmm-YYYY` (`29-Sep-2014`), in English whatever the locale."""
    try:
        day, month, year = str(value).split("-")
        return date(int(year), _MONTHS[month], int(day))
    except (KeyError, ValueError):
        raise ValueError(f"{value!r} is not a date like 29-Sep-2014") from None


def split_authors(display: str) -> list[str]:
    """Fallback for feeds without `author_names`: split on ", " but keep "Fred L. Drake, Jr." whole."""
    names: list[str] = []
    for part in (p.strip() for p in display.split(",")):
        if part in _SUFFIXES and names:
            names[-1] = f"{names[-1]}, {part}"
        elif part:
            names.append(part)
    return names


def _numbers(value: Any) -> list[int]:
    if value in (None, ""):
        return []
    return [int(part) for part in str(value).split(",") if part.strip()]


_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def _holds_lone_surrogate(data: bytes) -> bool:
    """True if a `\\u` escape names half of a surrogate pair without its other half next to it.

    Only escapes are looked at (an even number of backslashes before one makes it text): a scan that
    considered every byte took 3 s on a 100,000-PEP feed.
    """
    high_end = None  # where the escape completing a high half must start
    for match in _SURROGATE_ESCAPE.finditer(data):
        backslashes = 0
        while match.start() - backslashes > 0 and data[match.start() - backslashes - 1] == ord("\\"):
            backslashes += 1
        if backslashes % 2:  # `\\ud800`: an escaped backslash, then letters
            continue
        is_high = match.group(1).lower() in b"89ab"
        if high_end is not None:
            if match.start() != high_end or is_high:
                return True
            high_end = None
        elif is_high:
            high_end = match.end()
        else:
            return True
    return high_end is not None


def _storable_text(value: Any) -> bool:
    """False for text no database can store as it is: a NUL, or half of a UTF-16 surrogate pair."""
    if isinstance(value, str):
        return not _UNSTORABLE_TEXT.search(value)
    if isinstance(value, list):
        return all(_storable_text(item) for item in value)
    return True


def parse_record(key: str, record: Any, *, keyed_by_number: bool, check_text: bool) -> PepCreate:
    """A validated PEP from one feed record; `check_text=False` when the feed cannot hold unstorable text."""
    if not isinstance(record, dict):
        raise PepDataError(f"record {key}: is not a JSON object")
    if record.get("number") is None:
        raise PepDataError(f"record {key}: has no 'number'")
    if keyed_by_number and str(record["number"]) != key.lstrip("0").rjust(1, "0"):
        raise PepDataError(f"record {key}: holds PEP {record['number']}; the key must be the PEP's own number")
    label = f"PEP {record['number']}"
    for field, value in record.items() if check_text else ():
        if not _storable_text(value):
            raise PepDataError(f"{label}: {field}: holds a NUL character or a lone surrogate (\\ud800-\\udfff)")
    try:
        fields = {
            **{
                k: record.get(k)
                for k in (
                    "number",
                    "title",
                    "status",
                    "type",
                    "python_version",
                    "discussions_to",
                    "post_history",
                    "resolution",
                    "abstract",
                    "url",
                )
            },
            "topic": record.get("topic") or "",
            "created": parse_feed_date(record.get("created")),
            "requires": _numbers(record.get("requires")),
            "replaces": _numbers(record.get("replaces")),
            "superseded_by": _numbers(record.get("superseded_by")),
            "authors": record.get("author_names") or split_authors(record.get("authors") or ""),
        }
    except ValueError as error:
        raise PepDataError(f"{label}: {error}") from None
    try:
        return PepCreate.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise PepDataError(f"{label}: {problems}") from None


def json_problem(error: ijson.JSONError) -> str:
    """The parser's complaint on one line: yajl adds lines quoting the input with a pointer, sometimes as bytes."""
    reason = error.args[0]
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return str(reason).strip().splitlines()[0]


class Feed:
    """A feed whose every record has been checked; iterating it reads the records again, one at a time.

    It keeps the feed's text, never all of its records: a 100,000-PEP feed is read in bounded memory.
    """

    def __init__(self, data: bytes, source_name: str) -> None:
        self.data = data.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark some editors write
        self.source_name = source_name
        start = re.match(rb"\s*", self.data)
        self.first = self.data[start.end() : start.end() + 1] if start else b""
        if not self.first:
            raise PepDataError(f"{source_name} is empty")
        if self.first not in (b"{", b"["):
            raise PepDataError(f"{source_name} must hold a JSON object keyed by PEP number, or a list of PEPs")
        self._check_nesting()
        # After the check above, only a NUL can make a record's text unstorable: checking each field of
        # each record costs more than a scan of the bytes, so only feeds that may hold one pay for it.
        self.may_hold_nul = _NUL.search(self.data) is not None
        numbers: set[int] = set()
        for pep in self._records():
            if pep.number in numbers:
                raise PepDataError(f"PEP {pep.number} appears more than once in {source_name}")
            numbers.add(pep.number)
        self.count = len(numbers)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[PepCreate]:
        return self._records()

    def batches(self, size: int) -> Iterator[list[PepCreate]]:
        batch: list[PepCreate] = []
        for pep in self:
            batch.append(pep)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _check_nesting(self) -> None:
        """Refuse a feed nested deeper than any PEP feed is, before building anything from it.

        Building a 200 KB file of nested lists (`[[[[…]]]]`) took more than 20 GB of memory. The events
        come from `basic_parse`: `parse` also builds each event's path, a string as long as the nesting is
        deep, which took 25 s of CPU for that file before the first event arrived.
        """
        if _holds_lone_surrogate(self.data):
            raise PepDataError(
                f"{self.source_name} holds a lone surrogate escape (\\ud800-\\udfff), which is no character"
            )
        depth = 0
        try:
            for event, _ in ijson.basic_parse(io.BytesIO(self.data)):
                if event in ("start_map", "start_array"):
                    depth += 1
                    if depth > MAX_FEED_DEPTH:
                        raise PepDataError(
                            f"{self.source_name} nests deeper than a PEP feed does ({MAX_FEED_DEPTH} levels)"
                        )
                elif event in ("end_map", "end_array"):
                    depth -= 1
        except ijson.JSONError as error:
            raise PepDataError(f"{self.source_name} is not valid JSON ({json_problem(error)})") from None
        except UnicodeDecodeError:
            raise PepDataError(f"{self.source_name} holds text that is not valid Unicode (a lone surrogate?)") from None

    def _records(self) -> Iterator[PepCreate]:
        stream = io.BytesIO(self.data)
        keyed_by_number = self.first == b"{"
        try:
            if keyed_by_number:
                items: Iterable[tuple[str, Any]] = ijson.kvitems(stream, "", use_float=True)
            else:
                items = ((str(i), record) for i, record in enumerate(ijson.items(stream, "item", use_float=True)))
            for key, record in items:
                yield parse_record(key, record, keyed_by_number=keyed_by_number, check_text=self.may_hold_nul)
        except ijson.JSONError as error:  # a number too large for a float: only this pass converts numbers
            raise PepDataError(f"{self.source_name} is not valid JSON ({json_problem(error)})") from None
        except UnicodeDecodeError:
            raise PepDataError(f"{self.source_name} holds text that is not valid Unicode (a lone surrogate?)") from None


def parse_feed(text: str | bytes, source_name: str) -> Feed:
    """Check every record before anything is written, so bad input changes nothing."""
    return Feed(text.encode("utf-8") if isinstance(text, str) else text, source_name)


# PEPs written per round trip: well inside every driver's limit on parameters (asyncpg's is 32,767).
BATCH_SIZE = 500
PEP_TABLE = table_of(Pep)
LINK_TABLE = table_of(PepAuthorLink)
VALUE_COLUMNS = [column.key for column in PEP_TABLE.c if column.key not in ("number", "created_at", "updated_at")]


async def import_peps(
    session: AsyncSession, feed: Feed, progress: Callable[[int, int], None] | None = None
) -> ImportReport:
    """Insert new PEPs and update changed ones in the session's transaction, in batches; return what changed."""
    report = ImportReport()
    authors_before = (await session.exec(select(func.count()).select_from(Author))).one()
    connection = await session.connection()
    # Statement triggers keep `author.pep_count` on PostgreSQL; run for every batch they cost more than
    # the import's own count of the links it adds and removes, applied once (app/search.py says more).
    keeps_pep_counts = connection.dialect.name == "postgresql"
    if keeps_pep_counts:
        await connection.execute(select(func.set_config(DEFER_PEP_COUNT_SETTING, "on", True)))
    pep_count_changes: Counter[int] = Counter()
    done = created_at_last_analyze = 0
    for batch in feed.batches(BATCH_SIZE):
        await _import_batch(session, batch, report, pep_count_changes)
        await _verify(session, batch)
        done += len(batch)
        if report.created > 2 * max(created_at_last_analyze, BATCH_SIZE):
            await _refresh_planner_statistics(session)
            created_at_last_analyze = report.created
        if progress:
            progress(done, len(feed))
    if keeps_pep_counts:
        await _apply_pep_counts(connection, pep_count_changes)
        await connection.execute(select(func.set_config(DEFER_PEP_COUNT_SETTING, "off", True)))
    report.peps_in_database = (await session.exec(select(func.count()).select_from(Pep))).one()
    report.authors_in_database = (await session.exec(select(func.count()).select_from(Author))).one()
    report.authors_created = report.authors_in_database - authors_before
    return report


async def _import_batch(
    session: AsyncSession, batch: list[PepCreate], report: ImportReport, pep_count_changes: Counter[int]
) -> None:
    # Core statements on the session's connection (and transaction): no ORM objects pile up.
    connection = await session.connection()
    numbers = [pep.number for pep in batch]
    stored_columns = select(*PEP_TABLE.c).where(PEP_TABLE.c.number.in_(numbers))
    stored = {row.number: row._mapping for row in (await connection.execute(stored_columns)).all()}
    stored_authors: dict[int, list[str]] = {}
    links = (
        select(LINK_TABLE.c.pep_number, table_of(Author).c.name)
        .join_from(LINK_TABLE, table_of(Author), table_of(Author).c.id == LINK_TABLE.c.author_id)
        .where(LINK_TABLE.c.pep_number.in_(numbers))
        .order_by(LINK_TABLE.c.pep_number, LINK_TABLE.c.position)
    )
    for number, name in (await connection.execute(links)).all():
        stored_authors.setdefault(number, []).append(name)

    now = utcnow()
    new_rows, changed_rows, relinked = [], [], []
    for data in batch:
        values = data.column_values()
        row = stored.get(data.number)
        if row is None:
            new_rows.append(values | {"created_at": now, "updated_at": now})
            relinked.append(data)
            report.created += 1
            continue
        authors_changed = stored_authors.get(data.number, []) != data.authors
        if authors_changed or any(row[name] != values[name] for name in VALUE_COLUMNS):
            changed_rows.append(
                {"_number": data.number, **{name: values[name] for name in VALUE_COLUMNS}, "updated_at": now}
            )
            if authors_changed:
                relinked.append(data)
            report.updated += 1
        else:
            report.unchanged += 1

    # RETURNING makes SQLAlchemy send many rows per statement ("insertmanyvalues", split under each driver's
    # parameter limit) rather than one statement per row: triggers run per statement on PostgreSQL
    # (`author.pep_count`), and SQLite's FTS5 index flushes per statement; per row, a 100,000-PEP import
    # took 8 minutes on PostgreSQL, and 14 s more on SQLite.
    if new_rows:
        await connection.execute(insert(PEP_TABLE).returning(PEP_TABLE.c.number), new_rows)
    if changed_rows:
        changes: dict[str, BindParameter[Any]] = {name: bindparam(name) for name in [*VALUE_COLUMNS, "updated_at"]}
        statement = update(PEP_TABLE).where(PEP_TABLE.c.number == bindparam("_number")).values(changes)
        await connection.execute(statement, changed_rows)
    if relinked:
        author_ids = await ensure_author_ids(session, {name for pep in relinked for name in pep.authors})
        unlinked = await connection.execute(
            delete(LINK_TABLE)
            .where(LINK_TABLE.c.pep_number.in_([pep.number for pep in relinked]))
            .returning(LINK_TABLE.c.author_id)
        )
        pep_count_changes.subtract(unlinked.scalars())
        link_rows = [
            {"pep_number": pep.number, "author_id": author_ids[name], "position": position}
            for pep in relinked
            for position, name in enumerate(pep.authors)
        ]
        await connection.execute(insert(LINK_TABLE).returning(LINK_TABLE.c.pep_number), link_rows)
        pep_count_changes.update(row["author_id"] for row in link_rows)


async def _apply_pep_counts(connection: AsyncConnection, changes: Counter[int]) -> None:
    """Add the import's link changes to `author.pep_count`, locking authors in id order as the triggers do."""
    author = table_of(Author)
    rows = [{"_id": author_id, "_change": change} for author_id, change in sorted(changes.items()) if change]
    if rows:
        statement = (
            update(author)
            .where(author.c.id == bindparam("_id"))
            .values(pep_count=author.c.pep_count + bindparam("_change"))
        )
        await connection.execute(statement, rows)


async def refresh_statistics(engine: AsyncEngine) -> None:
    """Fresh planner statistics for every table (and its indexes) an import changed: run after it commits.

    The import's own ANALYZE runs inside its transaction, on part of the data; a search right after a big
    import on a fresh PostgreSQL cluster was planned on those (18 ms one time, 305 ms the next). PostgreSQL
    also gets a VACUUM: until one runs, an index-only scan still reads every new row from the table to know
    it is visible (`/peps?author=rossum` at 100,000 PEPs: 31 ms in the database, 13 ms after). SQLite's
    planner keeps statistics too (sqlite_stat1).
    """
    tables = (PEP_TABLE.name, LINK_TABLE.name, table_of(Author).name)
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # VACUUM cannot run inside a transaction.
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text(f"VACUUM (ANALYZE) {', '.join(tables)}"))
            return
        for table in tables:
            await connection.execute(text(f"ANALYZE {table}"))
        await connection.commit()


async def _refresh_planner_statistics(session: AsyncSession) -> None:
    """Let PostgreSQL's planner see how much the tables grew in this transaction.

    Without it, statistics from the (nearly empty) tables at the start make it scan whole tables for
    each batch's look-ups, and a 90,000-PEP import slowed down batch after batch (3 minutes, not 30 s).
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(text(f"ANALYZE {PEP_TABLE.name}, {LINK_TABLE.name}"))


async def _verify(session: AsyncSession, batch: list[PepCreate]) -> None:
    """Count what is stored for a batch; a mismatch raises, and the caller's transaction rolls everything back."""
    numbers = [pep.number for pep in batch]
    stored = (await session.exec(select(func.count()).select_from(Pep).where(col(Pep.number).in_(numbers)))).one()
    links = (
        await session.exec(
            select(func.count()).select_from(PepAuthorLink).where(col(PepAuthorLink.pep_number).in_(numbers))
        )
    ).one()
    expected_links = sum(len(pep.authors) for pep in batch)
    if stored != len(batch) or links != expected_links:
        raise PepDataError(
            f"verification failed: expected {len(batch)} PEPs and {expected_links} author links, "
            f"found {stored} and {links}"
        )
