"""table change counters for list ETags: a row per table (and per owner of a note) that every write moves on

Revision ID: b214e87936c0
Revises: 3f8b2c6d1a97
Create Date: 2026-12-05 17:13:11.572714

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "b214e87936c0"
down_revision: str | Sequence[str] | None = "3f8b2c6d1a97"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "table_changes",
        sa.Column("table_name", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "owner_id", name=op.f("pk_table_changes")),
    )
    # The trigger functions the tables' triggers below call (PostgreSQL; SQLite's triggers hold their SQL).
    if op.get_bind().dialect.name == "postgresql":
        for statement in [
            "CREATE OR REPLACE FUNCTION count_table_changes() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    INSERT INTO table_changes (table_name, owner_id, changes) VALUES (TG_TABLE_NAME, 0, floor(random() * 1000000000000)::bigint)\n    ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1;\n    RETURN NULL;\nEND $$",
            "CREATE OR REPLACE FUNCTION count_owned_changes() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    EXECUTE format(\n        'INSERT INTO table_changes (table_name, owner_id, changes) '\n        'SELECT %L, owner, floor(random() * 1000000000000)::bigint FROM (SELECT DISTINCT %I AS owner FROM changed_rows) AS owners '\n        'WHERE owner IS NOT NULL ORDER BY owner ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1',\n        TG_TABLE_NAME, TG_ARGV[0]);\n    RETURN NULL;\nEND $$",
        ]:
            op.execute(statement)
    # Count the writes of author (list ETags: app/changes.py).
    for statement in {
        "postgresql": [
            "CREATE TRIGGER author_changes_insert AFTER INSERT OR UPDATE OR DELETE ON author FOR EACH STATEMENT EXECUTE FUNCTION count_table_changes()",
        ],
        "sqlite": [
            "CREATE TRIGGER author_changes_insert AFTER INSERT ON author BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'author', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
            "CREATE TRIGGER author_changes_update AFTER UPDATE ON author BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'author', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
            "CREATE TRIGGER author_changes_delete AFTER DELETE ON author BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'author', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
        ],
    }[op.get_bind().dialect.name]:
        op.execute(statement)
    # Count the writes of note (list ETags: app/changes.py).
    for statement in {
        "postgresql": [
            "CREATE TRIGGER note_changes_insert AFTER INSERT ON note REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION count_owned_changes('user_id')",
            "CREATE TRIGGER note_changes_update AFTER UPDATE ON note REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION count_owned_changes('user_id')",
            "CREATE TRIGGER note_changes_update_old AFTER UPDATE ON note REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION count_owned_changes('user_id')",
            "CREATE TRIGGER note_changes_delete AFTER DELETE ON note REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION count_owned_changes('user_id')",
        ],
        "sqlite": [
            "CREATE TRIGGER note_changes_insert AFTER INSERT ON note BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'note', new.user_id, abs(random() % 1000000000000) WHERE new.user_id IS NOT NULL ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
            "CREATE TRIGGER note_changes_update AFTER UPDATE ON note BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'note', new.user_id, abs(random() % 1000000000000) WHERE new.user_id IS NOT NULL ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1;INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'note', old.user_id, abs(random() % 1000000000000) WHERE old.user_id IS NOT NULL ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
            "CREATE TRIGGER note_changes_delete AFTER DELETE ON note BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'note', old.user_id, abs(random() % 1000000000000) WHERE old.user_id IS NOT NULL ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
        ],
    }[op.get_bind().dialect.name]:
        op.execute(statement)
    # Count the writes of pep (list ETags: app/changes.py).
    for statement in {
        "postgresql": [
            "CREATE TRIGGER pep_changes_insert AFTER INSERT OR UPDATE OR DELETE ON pep FOR EACH STATEMENT EXECUTE FUNCTION count_table_changes()",
        ],
        "sqlite": [
            "CREATE TRIGGER pep_changes_insert AFTER INSERT ON pep BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'pep', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
            "CREATE TRIGGER pep_changes_update AFTER UPDATE ON pep BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'pep', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
            "CREATE TRIGGER pep_changes_delete AFTER DELETE ON pep BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'pep', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
        ],
    }[op.get_bind().dialect.name]:
        op.execute(statement)
    # Count the writes of pep_author (list ETags: app/changes.py).
    for statement in {
        "postgresql": [
            "CREATE TRIGGER pep_author_changes_insert AFTER INSERT OR UPDATE OR DELETE ON pep_author FOR EACH STATEMENT EXECUTE FUNCTION count_table_changes()",
        ],
        "sqlite": [
            "CREATE TRIGGER pep_author_changes_insert AFTER INSERT ON pep_author BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'pep_author', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
            "CREATE TRIGGER pep_author_changes_update AFTER UPDATE ON pep_author BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'pep_author', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
            "CREATE TRIGGER pep_author_changes_delete AFTER DELETE ON pep_author BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'pep_author', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
        ],
    }[op.get_bind().dialect.name]:
        op.execute(statement)
    # Count the writes of user_account (list ETags: app/changes.py).
    for statement in {
        "postgresql": [
            "CREATE TRIGGER user_account_changes_insert AFTER INSERT OR UPDATE OR DELETE ON user_account FOR EACH STATEMENT EXECUTE FUNCTION count_table_changes()",
        ],
        "sqlite": [
            "CREATE TRIGGER user_account_changes_insert AFTER INSERT ON user_account BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'user_account', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
            "CREATE TRIGGER user_account_changes_update AFTER UPDATE ON user_account BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'user_account', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
            "CREATE TRIGGER user_account_changes_delete AFTER DELETE ON user_account BEGIN INSERT INTO table_changes (table_name, owner_id, changes) SELECT 'user_account', 0, abs(random() % 1000000000000) WHERE true ON CONFLICT (table_name, owner_id) DO UPDATE SET changes = table_changes.changes + 1; END",
        ],
    }[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    # Stop counting the writes of user_account.
    for statement in {
        "postgresql": [
            "DROP TRIGGER IF EXISTS user_account_changes_insert ON user_account",
            "DROP TRIGGER IF EXISTS user_account_changes_update ON user_account",
            "DROP TRIGGER IF EXISTS user_account_changes_delete ON user_account",
            "DROP TRIGGER IF EXISTS user_account_changes_update_old ON user_account",
        ],
        "sqlite": [
            "DROP TRIGGER IF EXISTS user_account_changes_insert",
            "DROP TRIGGER IF EXISTS user_account_changes_update",
            "DROP TRIGGER IF EXISTS user_account_changes_delete",
            "DROP TRIGGER IF EXISTS user_account_changes_update_old",
        ],
    }[op.get_bind().dialect.name]:
        op.execute(statement)
    # Stop counting the writes of pep_author.
    for statement in {
        "postgresql": [
            "DROP TRIGGER IF EXISTS pep_author_changes_insert ON pep_author",
            "DROP TRIGGER IF EXISTS pep_author_changes_update ON pep_author",
            "DROP TRIGGER IF EXISTS pep_author_changes_delete ON pep_author",
            "DROP TRIGGER IF EXISTS pep_author_changes_update_old ON pep_author",
        ],
        "sqlite": [
            "DROP TRIGGER IF EXISTS pep_author_changes_insert",
            "DROP TRIGGER IF EXISTS pep_author_changes_update",
            "DROP TRIGGER IF EXISTS pep_author_changes_delete",
            "DROP TRIGGER IF EXISTS pep_author_changes_update_old",
        ],
    }[op.get_bind().dialect.name]:
        op.execute(statement)
    # Stop counting the writes of pep.
    for statement in {
        "postgresql": [
            "DROP TRIGGER IF EXISTS pep_changes_insert ON pep",
            "DROP TRIGGER IF EXISTS pep_changes_update ON pep",
            "DROP TRIGGER IF EXISTS pep_changes_delete ON pep",
            "DROP TRIGGER IF EXISTS pep_changes_update_old ON pep",
        ],
        "sqlite": [
            "DROP TRIGGER IF EXISTS pep_changes_insert",
            "DROP TRIGGER IF EXISTS pep_changes_update",
            "DROP TRIGGER IF EXISTS pep_changes_delete",
            "DROP TRIGGER IF EXISTS pep_changes_update_old",
        ],
    }[op.get_bind().dialect.name]:
        op.execute(statement)
    # Stop counting the writes of note.
    for statement in {
        "postgresql": [
            "DROP TRIGGER IF EXISTS note_changes_insert ON note",
            "DROP TRIGGER IF EXISTS note_changes_update ON note",
            "DROP TRIGGER IF EXISTS note_changes_delete ON note",
            "DROP TRIGGER IF EXISTS note_changes_update_old ON note",
        ],
        "sqlite": [
            "DROP TRIGGER IF EXISTS note_changes_insert",
            "DROP TRIGGER IF EXISTS note_changes_update",
            "DROP TRIGGER IF EXISTS note_changes_delete",
            "DROP TRIGGER IF EXISTS note_changes_update_old",
        ],
    }[op.get_bind().dialect.name]:
        op.execute(statement)
    # Stop counting the writes of author.
    for statement in {
        "postgresql": [
            "DROP TRIGGER IF EXISTS author_changes_insert ON author",
            "DROP TRIGGER IF EXISTS author_changes_update ON author",
            "DROP TRIGGER IF EXISTS author_changes_delete ON author",
            "DROP TRIGGER IF EXISTS author_changes_update_old ON author",
        ],
        "sqlite": [
            "DROP TRIGGER IF EXISTS author_changes_insert",
            "DROP TRIGGER IF EXISTS author_changes_update",
            "DROP TRIGGER IF EXISTS author_changes_delete",
            "DROP TRIGGER IF EXISTS author_changes_update_old",
        ],
    }[op.get_bind().dialect.name]:
        op.execute(statement)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS count_table_changes()")
        op.execute("DROP FUNCTION IF EXISTS count_owned_changes()")
    op.drop_table("table_changes")
