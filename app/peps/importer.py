"""Load PEPs from a file in the peps.python.org `api/peps.json` format, inserting or updating them."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authors.models import Author
from app.authors.service import ensure_authors
from app.base import utcnow
from app.peps.models import Pep, PepAuthorLink, PepCreate
from app.peps.service import WITH_AUTHORS, new_pep, replace_authors

BUNDLED_PEPS = Path(__file__).resolve().parent.parent / "data" / "peps.json"
_MONTHS = {
    name: i
    for i, name in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}
_SUFFIXES = {"Jr.", "Sr.", "Jr", "Sr", "II", "III"}
PROGRESS_EVERY = 100


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


def read_source(source: str | Path) -> str:
    """The text of a local file, or of an http(s) URL."""
    text = str(source)
    if text.startswith(("http://", "https://")):
        try:
            response = httpx.get(text, timeout=30, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise PepDataError(f"cannot download {text}: {error}") from None
        return response.text
    try:
        return Path(source).read_text(encoding="utf-8")
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


def parse_record(key: str, record: Any) -> PepCreate:
    if not isinstance(record, dict):
        raise PepDataError(f"record {key}: is not a JSON object")
    if record.get("number") is None:
        raise PepDataError(f"record {key}: has no 'number'")
    label = f"PEP {record['number']}"
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


def parse_feed(text: str, source_name: str) -> list[PepCreate]:
    """Check every record before anything is written, so bad input changes nothing."""
    try:
        feed = json.loads(text)
    except json.JSONDecodeError as error:
        raise PepDataError(f"{source_name} is not valid JSON ({error})") from None
    if isinstance(feed, dict):
        items = list(feed.items())
    elif isinstance(feed, list):
        items = [(str(i), record) for i, record in enumerate(feed)]
    else:
        raise PepDataError(f"{source_name} must hold a JSON object keyed by PEP number, or a list of PEPs")
    peps = [parse_record(key, record) for key, record in items]
    numbers = [pep.number for pep in peps]
    if len(set(numbers)) != len(numbers):
        duplicate = next(n for n in numbers if numbers.count(n) > 1)
        raise PepDataError(f"PEP {duplicate} appears more than once in {source_name}")
    return peps


def _field_changes(pep: Pep, data: PepCreate) -> dict[str, Any]:
    return {field: value for field, value in data.column_values().items() if getattr(pep, field) != value}


async def import_peps(
    session: AsyncSession, peps: list[PepCreate], progress: Callable[[int, int], None] | None = None
) -> ImportReport:
    """Insert new PEPs and update changed ones in the session's transaction; return what changed."""
    report = ImportReport()
    authors_before = (await session.exec(select(func.count()).select_from(Author))).one()
    authors = await ensure_authors(session, {name for pep in peps for name in pep.authors})
    numbers = [pep.number for pep in peps]
    existing = {
        pep.number: pep
        for pep in (await session.exec(select(Pep).where(col(Pep.number).in_(numbers)).options(WITH_AUTHORS))).all()
    }
    for done, data in enumerate(peps, 1):
        pep = existing.get(data.number)
        if pep is None:
            session.add(new_pep(data, authors))
            report.created += 1
        else:
            changes = _field_changes(pep, data)
            if changes or pep.authors != data.authors:
                pep.sqlmodel_update(changes)
                pep.updated_at = utcnow()
                if pep.authors != data.authors:
                    await replace_authors(session, pep, data.authors, authors)
                report.updated += 1
            else:
                report.unchanged += 1
        if progress and (done % PROGRESS_EVERY == 0 or done == len(peps)):
            await session.flush()
            progress(done, len(peps))
    await session.flush()
    await _verify(session, peps, report, authors_before)
    return report


async def _verify(session: AsyncSession, peps: list[PepCreate], report: ImportReport, authors_before: int) -> None:
    """Count what is stored; a mismatch raises, and the caller's transaction rolls everything back."""
    numbers = [pep.number for pep in peps]
    stored = (await session.exec(select(func.count()).select_from(Pep).where(col(Pep.number).in_(numbers)))).one()
    links = (
        await session.exec(
            select(func.count()).select_from(PepAuthorLink).where(col(PepAuthorLink.pep_number).in_(numbers))
        )
    ).one()
    expected_links = sum(len(pep.authors) for pep in peps)
    if stored != len(peps) or links != expected_links:
        raise PepDataError(
            f"verification failed: expected {len(peps)} PEPs and {expected_links} author links, "
            f"found {stored} and {links}"
        )
    report.peps_in_database = (await session.exec(select(func.count()).select_from(Pep))).one()
    report.authors_in_database = (await session.exec(select(func.count()).select_from(Author))).one()
    report.authors_created = report.authors_in_database - authors_before
