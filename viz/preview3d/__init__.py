"""3D preview of supply schemes (three.js, vendored, offline)."""

from .page import preview3d_html, write_preview3d
from .scene import scene_data

__all__ = ["preview3d_html", "scene_data", "write_preview3d"]
