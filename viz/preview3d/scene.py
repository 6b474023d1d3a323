"""From a ``PlanResult`` to the 3D scene the viewer draws (local metres, JSON-able).

Coordinates are metres east (``x``) and north (``y``) of the customer point (azimuthal
equidistant projection centred there: exact distances from the customer, < 0.1 % error over a
scheme's few kilometres). Dimensions of boxes and pole heights/spans come from
``viz/data/preview3d_*.csv`` (typical values with references); only the cable trench is widened
for visibility when the whole scheme is framed (``min_visible_width_fraction``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString

from ..datafiles import keyed, table, value
from ..labels import KINDS, Lang, money, pick, t
from ..summary import (
    binding_text,
    construction,
    customer_name,
    customer_point,
    length_text,
    parcel_rings,
    process_text,
    scheme_title,
)

_BOX_OF_KIND = {"busbar": "substation", "switching_station": "switching_station", "rmu": "rmu",
                "tap": "tap_switch", "existing": "rmu", "station": "rmu"}


def _line_params(voltage_kv: float) -> dict[str, float]:
    rows = sorted(table("preview3d_lines.csv"), key=lambda r: float(r["voltage_kv"]))
    best = rows[0]
    for r in rows:
        if float(r["voltage_kv"]) <= voltage_kv + 1e-9:
            best = r
    return {k: float(best[k]) for k in ("pole_height_m", "span_m", "pole_radius_m")}


def _box(kind: str) -> dict[str, Any]:
    r = keyed("preview3d_boxes.csv", "object")[kind]
    return {"w": float(r["width_m"]), "d": float(r["depth_m"]), "h": float(r["height_m"]),
            "colour": r["colour"]}


def poles_along(path: np.ndarray, span_m: float) -> np.ndarray:
    """Pole positions: every vertex (angle poles) plus intermediate poles at most ``span_m``."""
    line = LineString(path)
    if line.length == 0:
        return path[:1]
    seg = np.hypot(*np.diff(path, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    ds = [cum]
    for a, b in zip(cum[:-1], cum[1:], strict=True):
        n = int(np.ceil((b - a) / span_m))
        if n > 1:
            ds.append(np.linspace(a, b, n + 1)[1:-1])
    d = np.unique(np.round(np.concatenate(ds), 3))
    pts = shapely.line_interpolate_point(line, d)
    return shapely.get_coordinates(pts)


def scene_data(result: dict, lang: Lang = "zh", roads: dict | None = None) -> dict[str, Any]:
    """The scene of every scheme of ``result`` (all text already in ``lang``, raw: the viewer
    sets it with ``textContent``).

    Parameters
    ----------
    result : dict
        ``PlanResult`` document.
    roads : dict, optional
        Road lines (GeoJSON FeatureCollection, EPSG:4326) drawn on the ground.
    """
    origin = customer_point(result) or (0.0, 0.0)
    tr = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={origin[1]} +lon_0={origin[0]} +datum=WGS84 +units=m",
        always_xy=True)

    def local(coords: list) -> np.ndarray:
        a = np.asarray([c[:2] for c in coords], dtype=float).reshape(-1, 2)
        x, y = tr.transform(a[:, 0], a[:, 1])
        return np.column_stack([x, y])

    def r2(a: np.ndarray) -> list[list[float]]:
        return np.round(a, 2).tolist()

    extent = 50.0
    schemes_out = []
    from ..maps.scheme_map import rank_colours

    schemes = result.get("schemes") or []
    colours = rank_colours(len(schemes))
    for i, s in enumerate(schemes):
        lp = _line_params(float(s.get("voltage_kv") or 10.0))
        circuits = []
        conns: dict[tuple[float, float, str], dict[str, Any]] = {}
        n_circ = len(s.get("circuits") or [])
        for j, c in enumerate(s.get("circuits") or []):
            coords = (c.get("route") or {}).get("coordinates") or []
            if len(coords) < 2:
                continue
            path = local(coords)
            extent = max(extent, float(np.abs(path).max()))
            kind = construction(c)
            conn = c.get("connection") or {}
            cpt = local([[conn["lon"], conn["lat"]]])[0] if conn.get("lon") is not None else path[-1]
            box_kind = _BOX_OF_KIND.get(str(conn.get("kind")), "rmu")
            # Circuits sharing a street get their labels at different points along it.
            line = LineString(path)
            at = line.interpolate((j + 1) / (n_circ + 1), normalized=True)
            circuit: dict[str, Any] = {
                "construction": kind,
                "fallback": bool(c.get("route_fallback")),
                "path": r2(path),
                "label": f"{t('circuit', lang)} {j + 1}: {(c.get('conductor') or {}).get('type', '')} "
                         f"{length_text(c, lang)}",
                "label_at": [round(at.x, 2), round(at.y, 2)],
            }
            text = f"{pick(KINDS, conn.get('kind'), lang)} {conn.get('point_id', '')}"
            box = _box(box_kind)
            # Two bays of one substation (points within the box's size): one box, one label.
            near = [k for k in conns if k[2] == box_kind
                    and np.hypot(k[0] - cpt[0], k[1] - cpt[1]) < max(box["w"], 5.0)]
            if near:
                conns[near[0]]["label"] += f" / {conn.get('point_id', '')}"
            else:
                conns[(float(cpt[0]), float(cpt[1]), box_kind)] = {
                    "x": round(float(cpt[0]), 2), "y": round(float(cpt[1]), 2),
                    "type": box_kind, **box, "label": text}
            if kind == "overhead":
                circuit["poles"] = r2(poles_along(path, lp["span_m"]))
                circuit["pole_height"] = lp["pole_height_m"]
                circuit["pole_radius"] = lp["pole_radius_m"]
            circuits.append(circuit)
        cost = (s.get("cost_cny") or {})
        schemes_out.append({
            "rank": s.get("rank", i + 1),
            "colour": colours[i],
            "title": f"{scheme_title(s, lang)} · {money(cost.get('total'), lang)}",
            "summary": [
                f"{t('cost_utility', lang)}: {money(cost.get('utility'), lang)}",
                f"{t('cost_customer', lang)}: {money(cost.get('customer'), lang)}",
                f"{t('process_days', lang)}: {process_text(s, lang)}",
                f"{t('binding', lang)}: {binding_text(s, lang)}",
            ],
            "circuits": circuits,
            "connections": list(conns.values()),
        })
    rings = parcel_rings(result)
    parcel = r2(local(rings[0])) if rings else None
    if parcel:
        extent = max(extent, float(np.abs(np.asarray(parcel)).max()))
    road_lines = []
    if roads:
        from ..maps.context import prepare

        bb = 1.5 * extent / 111_000.0
        bbox = (origin[0] - bb / max(np.cos(np.radians(origin[1])), 0.1), origin[1] - bb,
                origin[0] + bb / max(np.cos(np.radians(origin[1])), 0.1), origin[1] + bb)
        geoms, _ = prepare(roads, bbox)
        for g in geoms:
            for part in getattr(g, "geoms", [g]):
                road_lines.append(r2(local(list(part.coords))))
    trench = max(float(value("preview3d_misc.csv", "trench_width_m")),
                 float(value("preview3d_misc.csv", "min_visible_width_fraction")) * extent)
    return {
        "lang": lang,
        "title": f"{t('title_3d', lang)} · {customer_name(result, lang)}",
        "customer": {"name": customer_name(result, lang), "parcel": parcel,
                     "substation": {**_box("customer_substation"),
                                    "label": f"{customer_name(result, lang)} · "
                                             f"{t('customer_substation', lang)}"}},
        "schemes": schemes_out,
        "roads": road_lines,
        "trench_width": round(trench, 2),
        "sag": float(value("preview3d_misc.csv", "conductor_sag_fraction")),
        "extent": round(extent, 1),
        "ui": {k: t(k, lang) for k in ("switch_scheme", "reset_view", "webgl_missing",
                                       "no_scheme", "legend", "cable", "overhead", "pole",
                                       "trench", "customer_substation", "substation")},
    }
