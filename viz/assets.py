"""Vendored JS/CSS/font assets of the viz package and how a page includes them.

Every page works offline: assets are inlined (``asset_url=None``, the default: one
self-contained HTML file to mail or archive) or referenced under a URL prefix the caller serves
(``asset_url="/static/viz/"``: the web service can serve ``viz/assets`` once and cache it).
Provenance, versions and licences: ``viz/assets/README.md``.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from pathlib import Path

ASSET_DIR = Path(__file__).resolve().parent / "assets"

LEAFLET_JS = "leaflet/leaflet.js"
LEAFLET_CSS = "leaflet/leaflet.css"
THREE_JS = "three/gs3.min.js"
MAP_CSS = "map/map.css"
MAP_JS = "map/map.js"
VIEWER_JS = "preview3d/viewer.js"
VIEWER_CSS = "preview3d/viewer.css"
LETTER_FONT = "fonts/WenQuanYiMicroHei-GS.ttf"


def asset_path(rel: str) -> Path:
    """Absolute path of a vendored asset (``rel`` relative to ``viz/assets``)."""
    p = (ASSET_DIR / rel).resolve()
    if ASSET_DIR not in p.parents or not p.is_file():
        raise FileNotFoundError(f"viz asset {rel!r} is missing from {ASSET_DIR}")
    return p


@lru_cache(maxsize=32)
def asset_text(rel: str) -> str:
    """Text of a vendored asset, with any source-map comment removed (no stray request)."""
    txt = asset_path(rel).read_text(encoding="utf-8")
    return re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "\n", txt)


@lru_cache(maxsize=8)
def _css_inline(rel: str) -> str:
    """CSS with ``url(images/x.png)`` replaced by data URIs, so inlined CSS needs no files."""
    base = asset_path(rel).parent

    def repl(m: re.Match[str]) -> str:
        ref = m.group(1).strip("'\"")
        if ref.startswith(("data:", "#")):
            return m.group(0)
        f = (base / ref).resolve()
        mime = "image/png" if f.suffix == ".png" else "image/svg+xml"
        return f"url(data:{mime};base64,{base64.b64encode(f.read_bytes()).decode()})"

    return re.sub(r"url\(([^)]+)\)", repl, asset_text(rel))


def script_tag(rel: str, asset_url: str | None = None) -> str:
    """``<script>`` for a vendored JS asset: inline, or ``src`` under ``asset_url``."""
    if asset_url is not None:
        return f'<script src="{_join(asset_url, rel)}"></script>'
    body = asset_text(rel)
    if "</script" in body.lower():  # cannot happen with the vendored files; guard anyway
        raise ValueError(f"{rel} contains '</script' and cannot be inlined")
    return f"<script>{body}</script>"


def style_tag(rel: str, asset_url: str | None = None) -> str:
    """``<style>`` (inline, images as data URIs) or ``<link>`` for a vendored CSS asset."""
    if asset_url is not None:
        return f'<link rel="stylesheet" href="{_join(asset_url, rel)}">'
    return f"<style>{_css_inline(rel)}</style>"


def _join(prefix: str, rel: str) -> str:
    from .escape import html_text

    return html_text(prefix.rstrip("/") + "/" + rel)
