"""Exports of an application's schemes: a registry of formats.

Built in: ``geojson`` (customer site, routes and connection points) and ``map`` (the HTML map
from ``viz``); ``preview3d``, ``letter_pdf``, ``letter_docx`` and ``view`` (the web page's
JSON) from :mod:`api.service.viz_exports`. Another format plugs in the same way::

    register_export(ExportFormat("kml", "application/vnd.google-earth.kml+xml", "kml",
                                 "routes for Google Earth", render_kml))

``render(doc, request)`` gets the plan result already reduced to what the caller may see
(:func:`api.service.views.for_viewer`), so a renderer can never leak what it was not given.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viz.labels import Lang  # type only: viz is imported when a format renders


@dataclass(frozen=True)
class ExportRequest:
    """What the caller asked for."""

    ranks: list[int] | None  # None: every scheme
    lang: Lang
    staff: bool  # designers/admins (renderers may add network context for them)
    application_id: str | None = None
    #: street lines (GeoJSON dict, EPSG:4326) meeting a (minlon, minlat, maxlon, maxlat) box of
    #: the result's network version, or None; streets are not grid data (any audience)
    roads: Callable[[tuple[float, float, float, float]], dict | None] | None = None


@dataclass(frozen=True)
class ExportFormat:
    """One export format."""

    name: str
    media_type: str
    extension: str
    description: str
    render: Callable[[dict[str, Any], ExportRequest], bytes]
    disposition: str = "inline"  # "attachment" for files to save (the letter)


EXPORTS: dict[str, ExportFormat] = {}


def register_export(fmt: ExportFormat) -> None:
    """Add (or replace) an export format."""
    EXPORTS[fmt.name] = fmt


def _selected(doc: dict[str, Any], ranks: list[int] | None) -> list[dict[str, Any]]:
    return [s for s in doc.get("schemes", []) if ranks is None or s["rank"] in ranks]


def _site(app: dict[str, Any]) -> dict[str, Any]:
    if app.get("parcel"):
        return {"type": "Polygon", "coordinates": app["parcel"]}
    return {"type": "Point", "coordinates": [app.get("lon"), app.get("lat")]}


def scheme_geojson(doc: dict[str, Any], req: ExportRequest) -> dict[str, Any]:
    """Customer site, one feature per route and per connection point (EPSG:4326)."""
    app = doc.get("application", {})
    feats: list[dict[str, Any]] = [{
        "type": "Feature", "geometry": _site(app),
        "properties": {"role": "customer_site", "customer_name": app.get("customer_name"),
                       "requested_kva": app.get("requested_kva")}}]
    for s in _selected(doc, req.ranks):
        common = {"rank": s["rank"], "feasible": s["feasible"], "voltage_kv": s["voltage_kv"],
                  "supply_mode": s["supply_mode"], "cost_total_cny": s["cost_cny"].get("total")}
        for i, c in enumerate(s.get("circuits", [])):
            conn = c["connection"]
            feats.append({"type": "Feature", "geometry": c["route"], "properties": {
                "role": "route", **common, "circuit": i, "conductor": c["conductor"]["type"],
                "construction": c["conductor"]["construction"],
                "length_m": c["route_length_m"].get("total"),
                "voltage_drop_pct": c["voltage_drop_pct"], "point_id": conn["point_id"]}})
            feats.append({"type": "Feature",
                          "geometry": {"type": "Point", "coordinates": [conn["lon"], conn["lat"]]},
                          "properties": {"role": "connection_point", **common, "circuit": i,
                                         "point_id": conn["point_id"], "kind": conn["kind"],
                                         "feeder_id": conn.get("feeder_id"),
                                         "bus_section_id": conn.get("bus_section_id"),
                                         "substation_id": conn.get("substation_id")}})
    return {"type": "FeatureCollection", "network_version": doc.get("network_version"),
            "policy_id": doc.get("policy_id"), "features": feats}


def _geojson_bytes(doc: dict[str, Any], req: ExportRequest) -> bytes:
    return json.dumps(scheme_geojson(doc, req), ensure_ascii=False).encode("utf-8")


def render_map_html(doc: dict[str, Any], lang: Lang) -> bytes:
    """The HTML map of the given result: the one call into ``viz`` for maps."""
    from viz.scheme_map import write_scheme_map

    with tempfile.TemporaryDirectory() as d:
        p = write_scheme_map(doc, Path(d) / "map.html", lang)
        return Path(p).read_bytes()


def _map_bytes(doc: dict[str, Any], req: ExportRequest) -> bytes:
    d = dict(doc)
    d["schemes"] = _selected(doc, req.ranks)
    return render_map_html(d, req.lang)


register_export(ExportFormat("geojson", "application/geo+json", "geojson",
                             "customer site, routes and connection points (EPSG:4326)",
                             _geojson_bytes))
register_export(ExportFormat("map", "text/html", "html",
                             "interactive map of the schemes (HTML)", _map_bytes))


# The viz formats (3D preview, reply letter, web view): registered here, before the routes'
# OpenAPI description of the exports is built.
from .viz_exports import register as _register_viz_exports  # noqa: E402

_register_viz_exports()
