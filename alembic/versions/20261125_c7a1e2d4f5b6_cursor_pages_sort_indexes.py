"""cursor pages: an index on (sort key, tiebreak) for each list's sorts

Revision ID: c7a1e2d4f5b6
Revises: 5b1d7c3e9a42
Create Date: 2026-11-25 15:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7a1e2d4f5b6"
down_revision: str | Sequence[str] | None = "5b1d7c3e9a42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, index, columns): a cursor page seeks past the last row on these, so page 800 costs what
# page 1 costs. Each serves its sort ascending and, read backwards, descending.
INDEXES = [
    ("pep", "ix_pep_lower_title_number", [sa.func.lower(sa.column("title")), "number"]),
    ("pep", "ix_pep_created_number", ["created", "number"]),
    ("note", "ix_note_user_id_created_at_id", ["user_id", "created_at", "id"]),
    ("note", "ix_note_user_id_pep_number_id", ["user_id", "pep_number", "id"]),
    ("user_account", "ix_user_account_created_at_id", ["created_at", "id"]),
]


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
