"""pep_count triggers yield to a bulk import that keeps the counts itself (PostgreSQL)

Revision ID: 3f8b2c6d1a97
Revises: 7d4e2a9c1f35
Create Date: 2026-11-25 18:40:00.000000

"""

from collections.abc import Sequence

from alembic import op

revision: str = "3f8b2c6d1a97"
down_revision: str | Sequence[str] | None = "7d4e2a9c1f35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The functions as they stand at this revision and at the one before (app/search.py builds the newest
# for create_all; tests/test_search.py checks that both ways make the same schema). SQLite's per-row
# triggers are cheap and unchanged.
_FUNCTION = """CREATE OR REPLACE FUNCTION author_pep_count_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{check}    PERFORM 1 FROM author WHERE id IN (SELECT author_id FROM {links}) ORDER BY id FOR NO KEY UPDATE;
    UPDATE author SET pep_count = author.pep_count {sign} {links}_links.n
    FROM (SELECT author_id, count(*) AS n FROM {links} GROUP BY author_id) AS {links}_links
    WHERE author.id = {links}_links.author_id;
    RETURN NULL;
END $$"""
_YIELD = """    IF current_setting('app.defer_pep_count', true) = 'on' THEN
        RETURN NULL;
    END IF;
"""


def _functions(check: str) -> list[str]:
    return [
        _FUNCTION.format(name="add", links="added", sign="+", check=check),
        _FUNCTION.format(name="remove", links="removed", sign="-", check=check),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _functions(_YIELD):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _functions(""):
            op.execute(statement)
