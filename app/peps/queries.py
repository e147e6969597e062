"""PEP read statements that other resources' reads use too (an author's PEPs are PEP summaries)."""

from typing import Any

from sqlalchemy import ScalarSelect
from sqlalchemy.sql import ColumnElement
from sqlmodel import select

from app.authors.models import Author
from app.base import table_of
from app.peps.models import Pep, PepAuthorLink, PepSummary
from app.reader import Row
from app.sql import json_array, json_array_agg

PEP_TABLE = table_of(Pep)
SUMMARY_COLUMNS = [PEP_TABLE.c[name] for name in PepSummary.model_fields if name != "authors"]


def author_pairs_of(pep_number: ColumnElement[int]) -> ScalarSelect[Any]:
    """The PEP's authors as a JSON array of `[position, name]` pairs (in no particular order).

    Aliased tables, so that the subquery never correlates with a query that joins the same tables.
    """
    link, author = table_of(PepAuthorLink).alias("link"), table_of(Author).alias("link_author")
    return (
        select(json_array_agg(json_array(link.c.position, author.c.name)))
        .select_from(link.join(author, author.c.id == link.c.author_id))
        .where(link.c.pep_number == pep_number)
        .scalar_subquery()
    )


def with_author_names(row: Row) -> Row:
    """Turn the `author_pairs` column into `authors`, the names in the PEP's order."""
    row["authors"] = [name for _, name in sorted(row.pop("author_pairs") or [])]
    return row
