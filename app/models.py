"""Every table, imported in one place so SQLModel.metadata (and Alembic) sees them all."""

from app.auth.models import AuthSession, RateLimitCounter
from app.authors.models import Author
from app.notes.models import Note
from app.peps.models import Pep, PepAuthorLink
from app.users.models import User

__all__ = ["AuthSession", "Author", "Note", "Pep", "PepAuthorLink", "RateLimitCounter", "User"]
