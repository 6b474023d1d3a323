"""The web page (issue 12) and the street lines its map draws.

- ``GET /`` redirects to ``/app/``; ``/app/`` is the page (plain HTML/JS/CSS from
  ``viz/web/static``, no build step), ``/app/config.json`` its UI texts and form choices,
  ``/static/viz/...`` the vendored Leaflet (``viz/assets``). None of them needs a token and none
  holds any customer's or grid data: the page signs in with a token the user pastes (kept in
  ``sessionStorage``, sent as ``Authorization: Bearer``) and then reads the JSON API, which
  decides what the role may see.
- ``GET /v1/roads[?bbox=&limit=]`` (any role): streets of the active network version as
  GeoJSON, with the network's ``bbox`` (where to look for a site to click). Streets are not
  grid data.

The page is served with a strict Content-Security-Policy: scripts only from this server (plus
the two fixed inline scripts of the 3D preview, by hash: the preview runs in a sandboxed
``srcdoc`` frame, which inherits the page's policy), no inline event handlers, no other origin.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from .deps import AnyRole, Ctx
from .errors import ApiError, error_responses, not_found
from .roads import road_index

router = APIRouter()

MAX_ROADS = 20_000
BBOX_PATTERN = r"^-?\d{1,3}(\.\d+)?(,-?\d{1,3}(\.\d+)?){3}$"


class RoadProperties(BaseModel):
    road_class: str | None = None
    name: str | None = None


class RoadFeature(BaseModel):
    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: RoadProperties


class RoadCollection(BaseModel):
    """Street lines (EPSG:4326) of the active network version."""

    type: Literal["FeatureCollection"]
    network_version: str
    bbox: list[float] | None = Field(description="the network's area: min lon, min lat, max "
                                                 "lon, max lat (null: no geometry)")
    truncated: bool = Field(description="more streets meet the box than `limit`: the nearest "
                                        "to its centre are sent")
    features: list[RoadFeature]


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in text.split(","))
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ApiError(422, "invalid_request", "bbox must be 'min_lon,min_lat,max_lon,max_lat' "
                       "in EPSG:4326 with min < max (lon within ±180, lat within ±90)",
                       field="bbox")
    return x0, y0, x1, y1


@router.get("/v1/roads", tags=["map"], response_model=None,
            summary="Street lines of the active network (for the web page's map)",
            responses={200: {"model": RoadCollection, "description": "streets meeting the box"},
                       **error_responses(401, 409, 422)})
def roads(
    c: Ctx, who: AnyRole,
    bbox: Annotated[str | None, Query(pattern=BBOX_PATTERN, max_length=120,
                                      description="min_lon,min_lat,max_lon,max_lat (EPSG:4326); "
                                                  "default the whole network area")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ROADS)] = 5000,
) -> Response:
    """Streets (``road_class``, ``name``; never ids) meeting ``bbox``, at most ``limit``."""
    box = _parse_bbox(bbox)
    version, _policy = c.active()
    if version is None:
        raise ApiError(409, "no_active_network", "no network version is active; an admin "
                       "uploads one (POST /v1/networks) and activates it", field="network_version")
    body = road_index(c, version).collection(box, limit)
    return Response(content=body, media_type="application/json")


# ----------------------------------------------------------------------------- the page
def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


@lru_cache(maxsize=1)
def page_csp() -> str:
    """The page's Content-Security-Policy (computed once: it hashes the 3D viewer scripts)."""
    from viz.assets import THREE_JS, VIEWER_JS, asset_text

    scripts = " ".join(_sha256(asset_text(rel)) for rel in (THREE_JS, VIEWER_JS))
    return ("default-src 'none'; "
            f"script-src 'self' {scripts}; "
            # Leaflet positions its panes with style attributes; the 3D page inlines its CSS
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
            "frame-src 'self' blob:; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


def _page_headers() -> dict[str, str]:
    return {"Content-Security-Policy": page_csp(), "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY"}


@lru_cache(maxsize=1)
def _static_files() -> dict[str, FsPath]:
    """Every file the page may load, by URL path (a fixed list: no path is ever joined)."""
    from viz.assets import ASSET_DIR
    from viz.web import STATIC_DIR

    files: dict[str, FsPath] = {}
    # the page's files, and the vendored scripts/styles pages may load by URL (not the fonts)
    roots = [(STATIC_DIR, "/app/")] + [(ASSET_DIR / d, f"/static/viz/{d}/")
                                       for d in ("leaflet", "map", "three", "preview3d")]
    for base, prefix in roots:
        for p in sorted(base.rglob("*")):
            if p.is_file() and p.suffix in (".html", ".js", ".css", ".png", ".svg", ".ttf",
                                            ".woff2", ".ico"):
                files[prefix + p.relative_to(base).as_posix()] = p
    return files


def _file(url_path: str) -> Response:
    p = _static_files().get(url_path)
    if p is None:
        raise not_found(f"page file {url_path}", field="path")
    media = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
    if media.startswith("text/") or media.endswith("javascript"):
        media += "; charset=utf-8"
    return Response(content=p.read_bytes(), media_type=media, headers=_page_headers())


@router.get("/", include_in_schema=False)
def root() -> Response:
    return RedirectResponse("/app/", status_code=307)


@router.get("/app", include_in_schema=False)
def app_no_slash() -> Response:
    return RedirectResponse("/app/", status_code=307)


@router.get("/app/", include_in_schema=False)
def page() -> Response:
    return _file("/app/index.html")


@router.get("/app/config.json", include_in_schema=False)
def config(c: Ctx) -> Response:
    """UI texts and the form's choices (tiers of the active policy, industries)."""
    from grid_models.policy import load_policy
    from viz.web import page_config

    _version, policy = c.active()
    return JSONResponse(page_config(load_policy(policy).table("tiers")),
                        headers=_page_headers())


@router.get("/app/{name}", include_in_schema=False)
def page_file(name: str) -> Response:
    return _file(f"/app/{name}")


@router.get("/static/viz/{rel:path}", include_in_schema=False)
def viz_asset(rel: str) -> Response:
    return _file(f"/static/viz/{rel}")
