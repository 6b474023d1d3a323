"""The 3D preview page: vendored three.js bundle + viewer + the scene as JSON (offline)."""

from __future__ import annotations

from pathlib import Path

from grid_models.errors import InputError
from grid_models.userfiles import write_text_file

from ..assets import THREE_JS, VIEWER_CSS, VIEWER_JS, script_tag, style_tag
from ..escape import html_text, script_json
from ..labels import Lang
from .scene import scene_data


def preview3d_html(result: dict, lang: Lang = "zh", *, roads: dict | None = None,
                   asset_url: str | None = None) -> str:
    """The 3D preview of every scheme of ``result`` as one HTML page.

    Parameters
    ----------
    result : dict
        ``PlanResult`` document.
    lang : {"zh", "en"}
        Page language.
    roads : dict, optional
        Road lines (GeoJSON, EPSG:4326) drawn on the ground.
    asset_url : str, optional
        Load three.js and the viewer from this URL prefix instead of inlining them.
    """
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}", field="lang")
    data = scene_data(result, lang, roads=roads)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html_text(data['title'])}</title>"
        f"{style_tag(VIEWER_CSS, asset_url)}</head><body>"
        '<div id="gs3d"></div>'
        f'<script type="application/json" id="gs3d-data">{script_json(data)}</script>'
        f"{script_tag(THREE_JS, asset_url)}{script_tag(VIEWER_JS, asset_url)}"
        "</body></html>\n")


def write_preview3d(result: dict, path: str | Path, lang: Lang = "zh", **kwargs) -> Path:
    """Write the 3D preview page to ``path`` (atomic) and return the path."""
    p = Path(path)
    if p.is_dir():  # refused before the page is built
        return write_text_file(p, "", "preview3d", "preview3d.html")
    return write_text_file(p, preview3d_html(result, lang, **kwargs), "preview3d",
                           "preview3d.html")
