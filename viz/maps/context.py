"""Context layers given by the caller as GeoJSON FeatureCollections in EPSG:4326.

Layers and the feature properties they read (others are ignored, never shown):

roads (any audience)
    LineString/MultiLineString; optional ``road_class`` (``arterial`` is drawn wider).
feeders (designer maps only): the feeders involved in the schemes
    LineString/MultiLineString; ``feeder_id`` (str, required), ``load_rate_after`` (ratio,
    required), optional ``load_rate_before`` (ratio), ``load_rate_limit`` (ratio: the feeder's
    N-1 limit), ``name`` (str), ``voltage_kv``.
capacity (designer maps only): the capacity heat map
    Polygon/MultiPolygon cells or Points; ``headroom_mva`` (required: MVA that can still be
    connected, negative when overloaded), optional ``cell_id``, ``feeder_id``, ``voltage_kv``,
    ``n1_secure`` (bool), ``radius_m`` (for points, default 150 m).

Large layers are cut to the schemes' surroundings and simplified before rendering
(:func:`prepare`), so a city-wide road layer does not make a 50 MB page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import folium
import numpy as np
import shapely
from folium.utilities import JsCode

from ..datafiles import class_colour, classes, value
from ..escape import html_text
from ..labels import Lang, num, pct, t

_TOOLTIP = JsCode("function(f, l) { if (f.properties.gs_tip) "
                  "{ l.bindTooltip(f.properties.gs_tip, {sticky: true}); } }")
_POINT = JsCode("function(f, latlng) { return L.circle(latlng, "
                "{radius: f.properties.gs_radius || 150}); }")


def prepare(fc: dict | None, bbox: tuple[float, float, float, float] | None,
            shift: Callable[[np.ndarray], np.ndarray] | None = None,
            tolerance_m: float | None = None, max_features: int | None = None,
            ) -> tuple[list[Any], list[dict]]:
    """Clip, thin and simplify a FeatureCollection for display.

    Parameters
    ----------
    fc : dict
        GeoJSON FeatureCollection in EPSG:4326 (None or empty: nothing).
    bbox : (minlon, minlat, maxlon, maxlat) or None
        Keep features intersecting it.
    shift : callable
        ``(n, 2) array -> (n, 2) array`` applied to every coordinate (GCJ-02 basemaps).
    tolerance_m, max_features : float, int
        Simplification tolerance and feature cap (defaults: ``viz/data/map_styles.csv``).

    Returns
    -------
    (geometries, properties) : shapely geometries and their property dicts
    """
    feats = [f for f in (fc or {}).get("features") or [] if f and f.get("geometry")]
    if not feats:
        return [], []
    geoms = np.array([shapely.geometry.shape(f["geometry"]) for f in feats], dtype=object)
    props = [dict(f.get("properties") or {}) for f in feats]
    ok = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    if bbox is not None:
        ok &= shapely.intersects(geoms, shapely.box(*bbox))
    idx = np.flatnonzero(ok)
    cap = int(max_features if max_features is not None else float(value("map_styles.csv",
                                                                        "max_context_features")))
    if len(idx) > cap and bbox is not None:
        centre = shapely.box(*bbox).centroid
        d = shapely.distance(geoms[idx], centre)
        idx = idx[np.argsort(d, kind="stable")[:cap]]
        idx.sort()
    tol_m = tolerance_m if tolerance_m is not None else float(value("map_styles.csv",
                                                                    "simplify_tolerance_m"))
    g = shapely.simplify(geoms[idx], tol_m / 111_000.0, preserve_topology=True)
    if shift is not None:
        g = shapely.transform(g, shift)
    g = shapely.set_precision(g, 1e-6)  # 0.1 m: enough for a map, a third of the bytes
    return list(g), [props[i] for i in idx]


def _fc(geoms: list[Any], props: list[dict]) -> dict:
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": shapely.geometry.mapping(g),
                          "properties": p} for g, p in zip(geoms, props, strict=True)]}


def roads_layer(geoms: list[Any], props: list[dict], lang: Lang) -> folium.GeoJson:
    """Grey road lines (not clickable)."""
    data = _fc(geoms, [{"w": 3 if str(p.get("road_class", "")) == "arterial" else 2}
                       for p in props])
    return folium.GeoJson(
        data, name=html_text(t("roads", lang)), interactive=False, control=True,
        style_function=lambda f: {"color": "#8a8a8a", "weight": f["properties"]["w"],
                                  "opacity": 0.7})


def feeders_layer(geoms: list[Any], props: list[dict], lang: Lang) -> folium.GeoJson:
    """Feeders involved, coloured by load rate after connection, tooltip per feeder."""
    out = []
    for p in props:
        after, before = num(p.get("load_rate_after")), num(p.get("load_rate_before"))
        lim = num(p.get("load_rate_limit"))
        fid = html_text(p.get("feeder_id", ""))
        name = html_text(p.get("name", ""))
        tip = f"<b>{html_text(t('feeder', lang))} {fid}</b>" + (f" {name}" if name else "")
        if before is not None:
            tip += f"<br>{html_text(t('load_rate_before', lang))}: {pct(before)}"
        if p.get("status") == "rejected":
            tip += f"<br>{html_text(t('rejected_candidate', lang))}"
        if after is not None:
            tip += f"<br>{html_text(t('load_rate_after', lang))}: {pct(after)}"
            if lim is not None:
                tip += f" / {pct(lim)}"
        # A feeder with no load rate after (e.g. only a rejected candidate sits on it) is drawn
        # thin and dashed so it is not read as a result.
        out.append({"gs_tip": tip, "gs_colour": class_colour("feeder_load_rate", after),
                    "gs_dash": None if after is not None else "4 4",
                    "gs_weight": 3 if after is not None else 2})
    return folium.GeoJson(
        _fc(geoms, out), name=_legend_name(t("feeders_layer", lang), "#e65100"),
        on_each_feature=_TOOLTIP,
        style_function=lambda f: {"color": f["properties"]["gs_colour"],
                                  "weight": f["properties"]["gs_weight"],
                                  "dashArray": f["properties"]["gs_dash"],
                                  "opacity": 0.9, "className": "gs-feeder"})


def capacity_layer(geoms: list[Any], props: list[dict], lang: Lang) -> folium.GeoJson:
    """Capacity heat map: cells (or circles around points) filled by headroom class."""
    out = []
    for p in props:
        h = num(p.get("headroom_mva"))
        tip = f"<b>{html_text(t('headroom', lang))}</b>: " + ("–" if h is None else f"{h:.2f} MVA")
        for key, label in (("cell_id", None), ("feeder_id", "feeder")):
            if p.get(key) is not None:
                tip += f"<br>{html_text(t(label, lang)) + ' ' if label else ''}{html_text(p[key])}"
        if p.get("n1_secure") is not None:
            tip += f"<br>N-1: {html_text(t('yes' if p['n1_secure'] else 'no', lang))}"
        out.append({"gs_tip": tip, "gs_colour": class_colour("capacity_headroom_mva", h),
                    "gs_radius": num(p.get("radius_m")) or 150})
    return folium.GeoJson(
        _fc(geoms, out), name=_legend_name(t("heatmap_layer", lang), "#a6d96a"),
        on_each_feature=_TOOLTIP, point_to_layer=_POINT,
        style_function=lambda f: {"color": f["properties"]["gs_colour"], "weight": 0.5,
                                  "fillColor": f["properties"]["gs_colour"],
                                  "fillOpacity": 0.45, "className": "gs-capacity"})


def _legend_name(text: str, colour: str) -> str:
    return (f'<span class="gs-swatch" style="background:{colour}"></span>'
            f"{html_text(text)}")


def class_legend(layer: str, lang: Lang) -> list[tuple[str, str]]:
    """(colour, label) pairs of a layer's display classes."""
    return [(c, zh if lang == "zh" else en) for _, _, c, zh, en in classes(layer)]
