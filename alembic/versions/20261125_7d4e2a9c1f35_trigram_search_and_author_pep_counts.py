"""trigram search indexes (pg_trgm / FTS5), author.pep_count kept by triggers, covering author index

Revision ID: 7d4e2a9c1f35
Revises: c7a1e2d4f5b6
Create Date: 2026-11-25 15:20:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d4e2a9c1f35"
down_revision: str | Sequence[str] | None = "c7a1e2d4f5b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The statements as they stood at this revision (app/search.py builds the same for create_all;
# tests/test_search.py checks that both ways make the same schema).
POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_author_name_trigram ON author USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX ix_pep_title_trigram ON pep USING gin (lower(title) gin_trgm_ops)",
    "CREATE INDEX ix_pep_abstract_trigram ON pep USING gin (lower(abstract) gin_trgm_ops)",
    """CREATE OR REPLACE FUNCTION author_pep_count_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM author WHERE id IN (SELECT author_id FROM added) ORDER BY id FOR NO KEY UPDATE;
    UPDATE author SET pep_count = author.pep_count + added_links.n
    FROM (SELECT author_id, count(*) AS n FROM added GROUP BY author_id) AS added_links
    WHERE author.id = added_links.author_id;
    RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION author_pep_count_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM author WHERE id IN (SELECT author_id FROM removed) ORDER BY id FOR NO KEY UPDATE;
    UPDATE author SET pep_count = author.pep_count - removed_links.n
    FROM (SELECT author_id, count(*) AS n FROM removed GROUP BY author_id) AS removed_links
    WHERE author.id = removed_links.author_id;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER pep_author_count_insert AFTER INSERT ON pep_author REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION author_pep_count_add()",
    "CREATE TRIGGER pep_author_count_delete AFTER DELETE ON pep_author REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION author_pep_count_remove()",
    "CREATE TRIGGER pep_author_count_update_old AFTER UPDATE ON pep_author REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION author_pep_count_remove()",
    "CREATE TRIGGER pep_author_count_update_new AFTER UPDATE ON pep_author REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION author_pep_count_add()",
]
# `lower()` here is the app's Unicode one: migrations run on the app's own SQLite connections (app.db).
SQLITE = [
    "CREATE VIRTUAL TABLE author_search USING fts5(name, tokenize='trigram case_sensitive 1')",
    "INSERT INTO author_search (rowid, name) SELECT id, lower(name) FROM author",
    "CREATE TRIGGER author_search_insert AFTER INSERT ON author BEGIN "
    "INSERT INTO author_search (rowid, name) VALUES (new.id, lower(new.name)); END",
    "CREATE TRIGGER author_search_delete AFTER DELETE ON author BEGIN "
    "DELETE FROM author_search WHERE rowid = old.id; END",
    "CREATE TRIGGER author_search_update AFTER UPDATE OF id, name ON author BEGIN "
    "DELETE FROM author_search WHERE rowid = old.id; "
    "INSERT INTO author_search (rowid, name) VALUES (new.id, lower(new.name)); END",
    "CREATE VIRTUAL TABLE pep_search USING fts5(title, abstract, tokenize='trigram case_sensitive 1')",
    "INSERT INTO pep_search (rowid, title, abstract) SELECT number, lower(title), lower(abstract) FROM pep",
    "CREATE TRIGGER pep_search_insert AFTER INSERT ON pep BEGIN "
    "INSERT INTO pep_search (rowid, title, abstract) VALUES (new.number, lower(new.title), lower(new.abstract)); "
    "END",
    "CREATE TRIGGER pep_search_delete AFTER DELETE ON pep BEGIN DELETE FROM pep_search WHERE rowid = old.number; END",
    "CREATE TRIGGER pep_search_update AFTER UPDATE OF number, title, abstract ON pep BEGIN "
    "DELETE FROM pep_search WHERE rowid = old.number; "
    "INSERT INTO pep_search (rowid, title, abstract) VALUES (new.number, lower(new.title), lower(new.abstract)); "
    "END",
    "CREATE TRIGGER pep_author_count_insert AFTER INSERT ON pep_author BEGIN "
    "UPDATE author SET pep_count = pep_count + 1 WHERE id = new.author_id; END",
    "CREATE TRIGGER pep_author_count_delete AFTER DELETE ON pep_author BEGIN "
    "UPDATE author SET pep_count = pep_count - 1 WHERE id = old.author_id; END",
    "CREATE TRIGGER pep_author_count_update AFTER UPDATE OF author_id ON pep_author BEGIN "
    "UPDATE author SET pep_count = pep_count - 1 WHERE id = old.author_id; "
    "UPDATE author SET pep_count = pep_count + 1 WHERE id = new.author_id; END",
]
SQLITE_TRIGGERS = (
    "author_search_insert",
    "author_search_delete",
    "author_search_update",
    "pep_search_insert",
    "pep_search_delete",
    "pep_search_update",
    "pep_author_count_insert",
    "pep_author_count_delete",
    "pep_author_count_update",
)


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: no table copy on SQLite.
    op.add_column("author", sa.Column("pep_count", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(op.f("ix_author_pep_count"), "author", ["pep_count"], unique=False)
    op.drop_index("ix_pep_author_author_id", table_name="pep_author")
    op.create_index(op.f("ix_pep_author_author_id_pep_number"), "pep_author", ["author_id", "pep_number"], unique=False)
    op.execute("UPDATE author SET pep_count = (SELECT count(*) FROM pep_author WHERE pep_author.author_id = author.id)")
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger in ("insert", "delete", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER pep_author_count_{trigger} ON pep_author")
        op.execute("DROP FUNCTION author_pep_count_add()")
        op.execute("DROP FUNCTION author_pep_count_remove()")
        for index in ("ix_author_name_trigram", "ix_pep_title_trigram", "ix_pep_abstract_trigram"):
            op.execute(f"DROP INDEX {index}")
        # pg_trgm stays: other schemas' objects may use it, and it costs nothing unused.
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE author_search")
        op.execute("DROP TABLE pep_search")
    op.drop_index(op.f("ix_pep_author_author_id_pep_number"), table_name="pep_author")
    op.create_index("ix_pep_author_author_id", "pep_author", ["author_id"], unique=False)
    op.drop_index(op.f("ix_author_pep_count"), table_name="author")
    # Not batch mode: SQLite (3.35+) drops the column in place; copying the table would trip pep_author's
    # foreign key when the old table is dropped.
    op.execute("ALTER TABLE author DROP COLUMN pep_count")
