"""Every table, imported in one place so SQLModel.metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from app.auth.models import RateLimitCounter
from app.authors.models import Author
from app.base import table_of
from app.changes import TableChanges, add_change_tracking_ddl
from app.jobs.models import QueuedJob
from app.mail.models import EmailDelivery
from app.notes.models import Note
from app.peps.models import Pep, PepAuthorLink
from app.search import add_search_ddl
from app.users.models import AuthSession, User

add_search_ddl({table.name: table for table in (table_of(Author), table_of(Pep), table_of(PepAuthorLink))})
add_change_tracking_ddl(SQLModel.metadata)

__all__ = [
    "AuthSession",
    "Author",
    "EmailDelivery",
    "Note",
    "Pep",
    "PepAuthorLink",
    "QueuedJob",
    "RateLimitCounter",
    "TableChanges",
    "User",
]
