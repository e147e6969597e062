"""Every table, imported in one place so SQLModel.metadata (and Alembic) sees them all."""

from app.auth.models import AuthSession, RateLimitCounter
from app.authors.models import Author
from app.notes.models import Note
from app.peps.models import Pep, PepAuthorLink
from app.search import add_search_ddl
from app.users.models import User

add_search_ddl({table.name: table for table in (Author.__table__, Pep.__table__, PepAuthorLink.__table__)})

__all__ = ["AuthSession", "Author", "Note", "Pep", "PepAuthorLink", "RateLimitCounter", "User"]
