"""The HTTP service (FastAPI): ``create_app(Settings.from_env())``."""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
