"""Context layers taken from a network for the command line and the demo.

The service and the park planner will hand their own layers to :func:`viz.maps.scheme_map`;
these helpers give the CLI the same inputs from a ``Network``: the roads around the schemes
(not grid data: allowed on customer maps) and, for designer maps, the feeders the schemes
connect to with their load rates from the scheme JSON.
"""

from __future__ import annotations

import json
from typing import Any

import shapely

from .labels import num


def _bbox(result: dict, margin_m: float) -> tuple[float, float, float, float] | None:
    from .maps.scheme_map import _bbox as bbox
    from .summary import customer_point, parcel_rings

    return bbox(result, customer_point(result), parcel_rings(result), margin_m)


def roads_geojson(net: Any, result: dict, margin_m: float = 600.0) -> dict | None:
    """Road lines within ``margin_m`` of the schemes, EPSG:4326 FeatureCollection."""
    roads = getattr(net, "roads", None)
    box = _bbox(result, margin_m)
    if roads is None or len(roads) == 0 or box is None:
        return None
    from grid_models.crs import transformer

    tr = transformer("EPSG:4326", roads.crs)
    x0, y0 = tr.transform(box[0], box[1])
    x1, y1 = tr.transform(box[2], box[3])
    hit = roads.iloc[roads.sindex.query(shapely.box(x0, y0, x1, y1), predicate="intersects")]
    cols = [c for c in ("id", "road_class") if c in hit.columns]
    return json.loads(hit[cols + ["geometry"]].to_crs("EPSG:4326").to_json())


def feeders_geojson(net: Any, result: dict) -> dict | None:
    """The feeders the schemes connect to (and rejected candidates sit on), EPSG:4326.

    Properties: ``feeder_id``, ``load_rate_before`` / ``load_rate_after`` from the best-ranked
    scheme that uses the feeder (absent for rejected-only feeders), ``status``.
    """
    rates: dict[str, dict[str, Any]] = {}
    for s in result.get("schemes") or []:
        for c in s.get("circuits") or []:
            fid = (c.get("connection") or {}).get("feeder_id")
            if fid and fid not in rates:
                rates[fid] = {"load_rate_before": num(c.get("feeder_load_rate_before")),
                              "load_rate_after": num(c.get("feeder_load_rate_after")),
                              "status": "scheme"}
    for r in result.get("rejected") or []:
        fid = r.get("feeder_id")
        if fid and fid not in rates:
            rates[fid] = {"status": "rejected"}
    seg = getattr(net, "segments", None)
    if not rates or seg is None or "feeder_id" not in seg.columns:
        return None
    sel = seg[seg["feeder_id"].isin(list(rates))]
    if sel.empty:
        return None
    merged = sel[["feeder_id", "geometry"]].dissolve(by="feeder_id").reset_index()
    merged["geometry"] = shapely.line_merge(merged.geometry.values)
    for key in ("load_rate_before", "load_rate_after", "status"):
        merged[key] = [rates[f].get(key) for f in merged["feeder_id"]]
    return json.loads(merged.to_crs("EPSG:4326").to_json())


def demo_context(result: dict) -> dict[str, dict | None]:
    """Roads and feeders of the bundled demo city for ``result`` (screenshots, demo)."""
    from pathlib import Path

    from grid_models.io import read_network

    net = read_network(Path(__file__).resolve().parent.parent / "grid_models" / "demo"
                       / "demo_city_S.gpkg")
    return {"roads": roads_geojson(net, result), "feeders": feeders_geojson(net, result)}
