"""Every table, imported in one place so SQLModel.metadata (and Alembic) sees them all."""

from app.authors.models import Author
from app.notes.models import Note
from app.peps.models import Pep, PepAuthorLink
from app.users.models import User

__all__ = ["Author", "Note", "Pep", "PepAuthorLink", "User"]
