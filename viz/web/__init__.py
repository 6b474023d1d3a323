"""The web page served by the service: static files (``viz/web/static``), its UI texts
(``ui_text.csv``) and the per-result view (:func:`page_view`)."""

from .config import STATIC_DIR, page_config, ui_texts
from .view import page_view

__all__ = ["STATIC_DIR", "page_config", "page_view", "ui_texts"]
