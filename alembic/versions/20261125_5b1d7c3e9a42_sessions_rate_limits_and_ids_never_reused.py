"""sessions, rate-limit counters, look-alike email check, ids never reused

Revision ID: 5b1d7c3e9a42
Revises: 0c0f5f8b68e0
Create Date: 2026-11-25 12:40:00.000000

"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
import sqlmodel
from alembic import op

# The skeleton of each existing address is computed by the app's one definition of it: a copy frozen
# here would disagree with the app about which addresses look alike.
from app.users.emails import email_skeleton

revision: str = "5b1d7c3e9a42"
down_revision: str | Sequence[str] | None = "0c0f5f8b68e0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


NOTE_COLUMNS = "id, user_id, pep_number, body, created_at, updated_at"


@contextmanager
def notes_set_aside() -> Iterator[None]:
    """SQLite copies a table to change it; dropping the old user table would cascade to every note.

    So the notes are copied aside first and put back after (with their ids).
    """
    op.execute(f"CREATE TEMPORARY TABLE note_kept AS SELECT {NOTE_COLUMNS} FROM note")
    yield
    op.execute("DELETE FROM note")
    op.execute(f"INSERT INTO note ({NOTE_COLUMNS}) SELECT {NOTE_COLUMNS} FROM note_kept")
    op.execute("DROP TABLE note_kept")


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_skeleton", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False, server_default="")
        )
    users = sa.table("user_account", sa.column("id"), sa.column("email"), sa.column("email_skeleton"))
    connection = op.get_bind()
    for user_id, email in connection.execute(sa.select(users.c.id, users.c.email)).all():
        connection.execute(users.update().where(users.c.id == user_id).values(email_skeleton=email_skeleton(email)))

    if connection.dialect.name == "sqlite":
        # AUTOINCREMENT: a deleted user's or note's id is never handed out again (SQLite reuses the
        # highest id otherwise). PostgreSQL sequences never reuse a value.
        with notes_set_aside():
            with op.batch_alter_table(
                "user_account", recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ) as batch_op:
                batch_op.alter_column("email_skeleton", server_default=None)
            with op.batch_alter_table("note", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass
    else:
        op.alter_column("user_account", "email_skeleton", server_default=None)
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_account_email_skeleton"), ["email_skeleton"], unique=False)

    op.create_table(
        "auth_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("refresh_generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_auth_session_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "rate_limit_counter",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_counter")),
    )
    with op.batch_alter_table("rate_limit_counter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_limit_counter_window_ends_at"), ["window_ends_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_limit_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_limit_counter_window_ends_at"))
    op.drop_table("rate_limit_counter")
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_session_user_id"))
    op.drop_table("auth_session")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_email_skeleton"))
    # AUTOINCREMENT stays on SQLite: ids that are never reused harm nothing.
    if op.get_bind().dialect.name == "sqlite":
        with notes_set_aside(), op.batch_alter_table("user_account", recreate="always") as batch_op:
            batch_op.drop_column("email_skeleton")
    else:
        op.drop_column("user_account", "email_skeleton")
