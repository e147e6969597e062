"""Every table, imported in one place so SQLModel.metadata (and Alembic) sees them all."""

from app.authors.models import Author
from app.peps.models import Pep, PepAuthorLink

__all__ = ["Author", "Pep", "PepAuthorLink"]
