"""The map of one application's schemes (folium, fully offline).

Audiences:

- ``customer`` (default): the customer's site/parcel, the point the engine used, and for each
  scheme its own routes, connection points and new equipment. Nothing else of the grid (grid
  topology is sensitive infrastructure data): feeders and capacity layers are refused.
- ``designer``: additionally the feeders involved (load rate after connection), the capacity
  heat map and the rejected candidates in the panel.

Every scheme is its own toggleable layer, coloured by rank; cable routes are solid, overhead
dashed, straight-line estimates dotted. All text is in one language; every user-supplied string
is escaped (see :mod:`viz.escape` and :mod:`viz.maps.safe`). Leaflet is inlined or loaded from
``asset_url`` (never a CDN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

import folium
import numpy as np
from branca.element import Element, Figure

from grid_models.errors import InputError
from grid_models.userfiles import write_text_file

from ..assets import LEAFLET_CSS, LEAFLET_JS, MAP_CSS, MAP_JS, script_tag, style_tag
from ..datafiles import value
from ..escape import html_text as h
from ..escape import script_json
from ..labels import EQUIPMENT, KINDS, Lang, money, pick, t
from ..summary import (
    circuit_rows,
    construction,
    customer_name,
    customer_point,
    parcel_rings,
    route_length,
    scheme_title,
)
from .basemap import Basemap, add_basemap
from .context import capacity_layer, feeders_layer, prepare, roads_layer
from .gcj02 import wgs84_to_gcj02
from .safe import SafePopup, SafeTooltip
from .sidebar import sidebar_html

Audience = Literal["customer", "designer"]

_KIND_GLYPH = {"zh": {"busbar": "站", "rmu": "环", "switching_station": "开", "tap": "T",
                      "existing": "原", "station": "配"},
               "en": {"busbar": "S", "rmu": "R", "switching_station": "K", "tap": "T",
                      "existing": "E", "station": "D"}}


def rank_colours(n: int) -> list[str]:
    """Colours of ranks 1..n (``viz/data/map_styles.csv``)."""
    cols = value("map_styles.csv", "rank_colours").split("|")
    return [cols[i % len(cols)] for i in range(n)]


def scheme_map(result: dict, lang: Lang = "zh", *, audience: Audience = "customer",
               basemap: Basemap | None = None, roads: dict | None = None,
               feeders: dict | None = None, capacity: dict | None = None,
               asset_url: str | None = None, html_dir: Path | None = None) -> folium.Map:
    """Build the map of a ``PlanResult`` document.

    Parameters
    ----------
    result : dict
        ``PlanResult.model_dump(mode="json")`` (fields read defensively).
    lang : {"zh", "en"}
        One language for the whole page.
    audience : {"customer", "designer"}
        A customer map refuses ``feeders`` and ``capacity``.
    basemap : Basemap
        Default none (offline); see :mod:`viz.maps.basemap`.
    roads, feeders, capacity : dict
        GeoJSON FeatureCollections in EPSG:4326 (properties: :mod:`viz.maps.context`).
    asset_url : str
        Serve Leaflet and the page's CSS/JS from this URL prefix instead of inlining them.
    html_dir : Path
        Folder the page will be written to (relative paths of a local tile folder).

    Raises
    ------
    InputError
        ``lang``/``audience`` unknown, or grid layers requested for a customer map.
    """
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}", field="lang")
    if audience not in ("customer", "designer"):
        raise InputError(f"audience must be 'customer' or 'designer', got {audience!r}",
                         field="audience")
    if audience == "customer" and (feeders is not None or capacity is not None):
        raise InputError("a customer map shows no grid elements: feeders and capacity layers "
                         "are for audience='designer' only", field="audience")
    basemap = basemap or Basemap()
    designer = audience == "designer"

    def shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    shift_fn = shift if basemap.shifts_to_gcj02 else None

    def latlngs(coords: list) -> list[list[float]]:
        xy = np.asarray([c[:2] for c in coords], dtype=float).reshape(-1, 2)
        if shift_fn is not None and len(xy):
            xy = shift_fn(xy)
        return [[round(float(y), 7), round(float(x), 7)] for x, y in xy]

    point = customer_point(result)
    rings = parcel_rings(result)
    schemes = result.get("schemes") or []
    all_pts: list[list[float]] = []
    if point:
        all_pts += latlngs([point])
    for ring in rings or []:
        all_pts += latlngs(ring)
    for s in schemes:
        for c in s.get("circuits") or []:
            all_pts += latlngs((c.get("route") or {}).get("coordinates") or [])
    centre = all_pts[0] if all_pts else [0.0, 0.0]

    # The scale bar is added by map.js (metric only: one unit system per page).
    m = folium.Map(location=centre, zoom_start=15, tiles=None, control_scale=False,
                   max_zoom=19)
    m.default_js = []  # per instance: folium's class-level lists point at CDNs
    m.default_css = []
    root = cast(Figure, m.get_root())  # a Map's root is always a Figure
    root.title = f"{t('title_map', lang)} · {customer_name(result, lang)}"  # escaped below
    root.header.add_child(Element(
        style_tag(LEAFLET_CSS, asset_url) + script_tag(LEAFLET_JS, asset_url)
        + style_tag(MAP_CSS, asset_url)), name="gs_assets")
    add_basemap(m, basemap, lang, html_dir)

    # Context layers, cut to the schemes' surroundings (WGS-84 bbox before any shift).
    bbox = _bbox(result, point, rings)
    if roads is not None:
        g, p = prepare(roads, bbox, shift_fn)
        if g:
            roads_layer(g, p, lang).add_to(m)
    if designer and capacity is not None:
        g, p = prepare(capacity, bbox, shift_fn)
        if g:
            capacity_layer(g, p, lang).add_to(m)
    if designer and feeders is not None:
        g, p = prepare(feeders, None, shift_fn)  # whole feeders: they are few and all relevant
        if g:
            feeders_layer(g, p, lang).add_to(m)

    colours = rank_colours(len(schemes))
    weight = float(value("map_styles.csv", "route_weight_px"))
    layer_names = []
    for i, s in enumerate(schemes):
        colour = colours[i]
        cost = (s.get("cost_cny") or {}).get("total")
        name = (f'<span class="gs-swatch" style="background:{h(colour)}"></span>'
                f"{h(scheme_title(s, lang))} · {h(money(cost, lang))}")
        if not s.get("feasible", True):
            name += h("（不可行）" if lang == "zh" else " (not feasible)")
        fg = folium.FeatureGroup(name=name, show=True)
        layer_names.append(fg.get_name())
        _add_scheme(fg, s, i, colour, weight, lang, latlngs, point, designer)
        fg.add_to(m)

    cust = folium.FeatureGroup(name=f'<span class="gs-swatch gs-swatch-customer"></span>'
                                    f'{h(t("customer", lang))}', show=True)
    _add_customer(cust, result, lang, latlngs, point, rings)
    cust.add_to(m)

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    if len(all_pts) > 1:
        m.fit_bounds(_bounds(all_pts), padding=(30, 30))

    root.html.add_child(Element(sidebar_html(result, lang, colours, layer_names, designer)),
                        name="gs_sidebar")
    config = {"map": m.get_name(), "layers": layer_names, "lang": lang}
    root.html.add_child(Element(
        f'<script type="application/json" id="gs-map-config">{script_json(config)}</script>'
        + script_tag(MAP_JS, asset_url)), name="gs_map_js")
    return m


def _add_scheme(fg: folium.FeatureGroup, s: dict, i: int, colour: str, weight: float,
                lang: Lang, latlngs, point, designer: bool) -> None:
    """Routes, connection points and new equipment of one scheme."""
    title = scheme_title(s, lang)
    equipment = s.get("equipment") or []
    circuits = s.get("circuits") or []
    for j, c in enumerate(circuits):
        coords = (c.get("route") or {}).get("coordinates") or []
        if len(coords) < 2:
            continue
        kind = construction(c)
        dash = None
        if c.get("route_fallback"):
            dash = value("map_styles.csv", "fallback_dash")
        elif kind == "overhead":
            dash = value("map_styles.csv", "overhead_dash")
        rows = circuit_rows(s, c, lang)
        head = f"{title} · {t('circuit', lang)} {j + 1}/{len(circuits)}"
        popup = (f'<div class="gs-pop"><h4 style="border-color:{h(colour)}">{h(head)}</h4>'
                 f'<table>{"".join(f"<tr><th>{h(k)}</th><td>{h(v)}</td></tr>" for k, v in rows)}'
                 f"</table></div>")
        # New lines get a white casing so they read apart from existing feeders and roads.
        folium.PolyLine(latlngs(coords), color="#ffffff", weight=weight - min(i, 2) + 4,
                        opacity=0.85, interactive=False, class_name="gs-casing").add_to(fg)
        line = folium.PolyLine(latlngs(coords), color=colour, weight=weight - min(i, 2),
                               opacity=0.9, dash_array=dash,
                               class_name=f"gs-route gs-rank-{s.get('rank', i + 1)} gs-{kind}")
        line.add_child(SafePopup(popup))
        line.add_child(SafeTooltip(
            f"{h(head)}: {h((c.get('conductor') or {}).get('type', ''))} "
            f"{h(f'{route_length(c) or 0:,.0f} m')}"))
        line.add_to(fg)
        conn = c.get("connection") or {}
        if conn.get("lon") is None or conn.get("lat") is None:
            continue
        new_here = [e for e in equipment if e.get("at") == conn.get("point_id")]
        lines = [f"<b>{h(pick(KINDS, conn.get('kind'), lang))} {h(conn.get('point_id', ''))}</b>"]
        if designer:
            for key, label in (("substation_id", "substation"), ("bus_section_id", "bus_section"),
                               ("feeder_id", "feeder")):
                if conn.get(key):
                    lines.append(f"{h(t(label, lang))}: {h(conn[key])}")
        for e in new_here:
            lines.append(f"{h(t('new_equipment', lang))}: {h(_equipment_text(e, lang))}")
        glyph = _KIND_GLYPH[lang].get(str(conn.get("kind")), "+")
        folium.Marker(
            latlngs([[conn["lon"], conn["lat"]]])[0],
            icon=folium.DivIcon(
                html=f'<div class="gs-pin" style="background:{h(colour)}">{h(glyph)}</div>',
                icon_size=(22, 22), icon_anchor=(11, 11), class_name="gs-pin-wrap"),
        ).add_child(SafeTooltip("<br>".join(lines), sticky=False)).add_to(fg)
    # Equipment that sits at the customer (emergency source) is drawn at the point used.
    at_customer = [e for e in equipment if e.get("item") in ("emergency_source",)]
    if at_customer and point:
        folium.Marker(
            latlngs([point])[0],
            icon=folium.DivIcon(html=f'<div class="gs-pin gs-pin-eq" style="background:{h(colour)}">'
                                     f'{"急" if lang == "zh" else "G"}</div>',
                                icon_size=(22, 22), icon_anchor=(-6, 26), class_name="gs-pin-wrap"),
        ).add_child(SafeTooltip("<br>".join(h(_equipment_text(e, lang)) for e in at_customer),
                                sticky=False)).add_to(fg)


def _equipment_text(e: dict, lang: Lang) -> str:
    parts = [pick(EQUIPMENT, e.get("item"), lang)]
    if e.get("type"):
        parts.append(str(e["type"]))
    if e.get("kind"):
        parts.append(pick(KINDS, e["kind"], lang))
    if e.get("length_m") is not None:
        parts.append(f"{float(e['length_m']):,.0f} m")
    if e.get("kva") is not None:
        parts.append(f"{float(e['kva']):,.0f} kVA")
    return " ".join(parts)


def _add_customer(fg: folium.FeatureGroup, result: dict, lang: Lang, latlngs, point, rings) -> None:
    name = customer_name(result, lang)
    app = result.get("application") or {}
    if rings:
        folium.Polygon([latlngs(r) for r in rings], color="#222", weight=2, fill=True,
                       fill_color="#f4d35e", fill_opacity=0.35, class_name="gs-parcel"
                       ).add_child(SafeTooltip(f"<b>{h(t('parcel', lang))}</b><br>{h(name)}")
                                   ).add_to(fg)
    if point:
        lines = [f"<b>{h(name)}</b>", h(t("point_used", lang))]
        if app.get("requested_kva") is not None:
            kva = float(app["requested_kva"])
            lines.append(f"{h(t('requested', lang))}: {kva:,.0f} kVA")
        for s in (result.get("schemes") or [])[:1]:
            for e in s.get("equipment") or []:
                if e.get("item") == "customer_transformer":
                    lines.append(f"{h(t('new_equipment', lang))}: {h(_equipment_text(e, lang))}")
        folium.CircleMarker(latlngs([point])[0], radius=8, color="#000", weight=2, fill=True,
                            fill_color="#fff", fill_opacity=1, class_name="gs-customer-point"
                            ).add_child(SafeTooltip("<br>".join(lines), sticky=False)).add_to(fg)


def _bbox(result: dict, point, rings, margin_m: float | None = None
          ) -> tuple[float, float, float, float] | None:
    xs, ys = [], []
    if point:
        xs.append(point[0])
        ys.append(point[1])
    for r in rings or []:
        xs += [p[0] for p in r]
        ys += [p[1] for p in r]
    for s in result.get("schemes") or []:
        for c in s.get("circuits") or []:
            for p in (c.get("route") or {}).get("coordinates") or []:
                xs.append(p[0])
                ys.append(p[1])
    if not xs:
        return None
    mg = (margin_m if margin_m is not None else float(value("map_styles.csv", "context_margin_m")))
    dy = mg / 111_000.0
    dx = dy / max(np.cos(np.radians(np.mean(ys))), 0.1)
    return min(xs) - dx, min(ys) - dy, max(xs) + dx, max(ys) + dy


def _bounds(pts: list[list[float]]) -> list[list[float]]:
    a = np.asarray(pts)
    return [[float(a[:, 0].min()), float(a[:, 1].min())], [float(a[:, 0].max()), float(a[:, 1].max())]]


def map_html(result: dict, lang: Lang = "zh", **kwargs) -> str:
    """The map page as one HTML string (see :func:`scheme_map` for the arguments)."""
    m = scheme_map(result, lang, **kwargs)
    root = cast(Figure, m.get_root())  # a Map's root is always a Figure
    root.title = h(root.title)  # branca renders the title unescaped
    html = root.render()
    return html.replace("<html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', 1)


def write_scheme_map(result: dict, path: str | Path, lang: Lang = "zh", **kwargs) -> Path:
    """Write the map page to ``path`` and return the path.

    Raises
    ------
    InputError
        ``path`` is a directory or cannot be written.
    """
    p = Path(path)
    if p.is_dir():  # refused before the page is built
        return write_text_file(p, "", "map", "map.html")
    kwargs.setdefault("html_dir", p.parent)
    return write_text_file(p, map_html(result, lang, **kwargs), "map", "map.html")
