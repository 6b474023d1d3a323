"""Persistence of the service: SQLAlchemy 2 models, Alembic migrations, connections."""

from .db import Database, default_data_dir, resolve_database_url

__all__ = ["Database", "default_data_dir", "resolve_database_url"]
