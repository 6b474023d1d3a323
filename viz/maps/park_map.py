"""The designer map of a park plan (folium, fully offline): parcels coloured by their reserved
connection (or red when unserved), every reserved circuit's route, the new park assets (RMUs,
ring, feeders) and the capacity heat map after the reservations (feeders coloured by remaining
N-1 headroom, access points as circles; :mod:`viz.maps.context` classes).

Grid topology is shown: this map is for designers and planners only. Every string that came
from the input (parcel ids, names) is escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import folium
import numpy as np
import shapely
from branca.element import Element, Figure

from grid_models.userfiles import write_text_file

from ..assets import LEAFLET_CSS, LEAFLET_JS, MAP_CSS, script_tag, style_tag
from ..datafiles import class_colour
from ..escape import html_text as h
from ..labels import Lang
from .basemap import Basemap, add_basemap
from .context import capacity_layer, prepare, roads_layer
from .safe import SafeTooltip

_TXT = {
    "zh": {"title": "园区预规划", "parcels": "地块", "reserved": "已预留", "unserved": "未能供电",
           "routes": "预留线路", "assets": "新建设施", "feeders": "馈线剩余容量(N-1)",
           "points": "接入点剩余容量", "kind": "接入方式", "point": "接入点", "feeder": "馈线",
           "cost": "投资", "reason": "原因", "kva": "容量", "headroom": "剩余容量",
           "park_rmu": "园区环网柜", "park_ring": "园区环网", "park_feeder": "新出馈线",
           "wan": "万元"},
    "en": {"title": "Park pre-plan", "parcels": "parcels", "reserved": "reserved",
           "unserved": "unserved", "routes": "reserved lines", "assets": "new assets",
           "feeders": "feeder headroom (N-1)", "points": "access-point headroom",
           "kind": "connection", "point": "point", "feeder": "feeder", "cost": "cost",
           "reason": "reason", "kva": "capacity", "headroom": "headroom",
           "park_rmu": "park RMU", "park_ring": "park ring", "park_feeder": "new feeder",
           "wan": "CNY"},
}
_KIND_COLOUR = {"busbar": "#1f77b4", "rmu": "#2ca02c", "switching_station": "#17becf",
                "tap": "#9467bd", "station": "#8c564b", "existing": "#7f7f7f",
                "park_rmu": "#ff7f0e"}


def _gj(geom: Any) -> dict:
    return shapely.geometry.mapping(geom)


def _side_panel(summary: dict | None, tx: dict[str, str], lang: Lang, title: str) -> str:
    """The page's right-hand panel (the shared map layout keeps room for one): the park's
    numbers from ``summary.json`` and the colour legend. Every value is escaped."""
    zh = lang == "zh"
    legend = "".join(
        f'<li><span class="gs-swatch" style="background:{c}"></span>{h(_KIND_LABEL[lang][k])}</li>'
        for k, c in _KIND_COLOUR.items() if k in _KIND_LABEL[lang])
    legend += (f'<li><span class="gs-swatch" style="background:#d62728"></span>'
               f'{h(tx["unserved"])}</li>')
    rows = []
    if summary:
        p = summary.get("parcels") or {}
        d = summary.get("demand") or {}
        c = summary.get("cost_cny") or {}
        o = summary.get("optimisation") or {}
        nd = summary.get("need") or {}

        def num(v: Any, fmt: str) -> str:
            try:
                return format(float(v), fmt)
            except (TypeError, ValueError):
                return "–"

        def money(v: Any) -> str:
            return (num(float(v) / 1e4, ",.1f") + " 万元") if zh and v is not None else \
                ("CNY " + num(v, ",.0f"))
        rows = [
            ("地块" if zh else "parcels",
             f"{p.get('total', '–')} · {tx['reserved']} {p.get('reserved', '–')} · "
             f"{tx['unserved']} {p.get('unserved', '–')} · {'数据有误' if zh else 'bad'} "
             f"{p.get('bad', '–')}"),
            ("需求" if zh else "demand",
             f"{num(d.get('sum_mva'), ',.2f')} MVA · {'缺口' if zh else 'shortfall'} "
             f"{num(d.get('shortfall_mva'), ',.2f')} MVA"),
            ("投资" if zh else "cost",
             f"{money(c.get('total'))} ({'接入' if zh else 'connections'} "
             f"{money(c.get('connections'))}, {'新建设施' if zh else 'new assets'} "
             f"{money(c.get('new_assets'))})"),
            ("新建" if zh else "new",
             f"{'馈线' if zh else 'feeders'} {nd.get('new_feeders', 0)} · "
             f"{'环网柜' if zh else 'RMUs'} {nd.get('new_rmus', 0)}"
             + (f" · {'变电站' if zh else 'substation'} "
                f"{(nd.get('new_substation') or {}).get('count', '')}"
                if nd.get("new_substation") else "")),
            ("优化" if zh else "optimisation",
             f"{o.get('solver', '')} {o.get('status', '')} · gap {num(o.get('gap'), '.2%')} · "
             f"{'不含罚项' if zh else 'of costs'} {num(o.get('gap_costs'), '.2%')}"),
        ]
    dl = "".join(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in rows)
    return (f'<aside class="gs-side"><h1>{h(tx["title"])}</h1><h2>{h(title)}</h2>'
            + (f"<dl>{dl}</dl>" if dl else "")
            + f'<h3>{h(tx["kind"])}</h3><div class="gs-legend"><ul>{legend}</ul></div></aside>')


_KIND_LABEL = {
    "zh": {"busbar": "变电站间隔（专线）", "rmu": "环网柜间隔", "switching_station": "开关站间隔",
           "tap": "架空线T接", "station": "配电站间隔", "park_rmu": "园区新建环网柜"},
    "en": {"busbar": "substation bay (dedicated)", "rmu": "RMU bay",
           "switching_station": "switching-station bay", "tap": "overhead tap",
           "station": "station bay", "park_rmu": "new park RMU"},
}


def park_map(parcels: dict, routes: dict, new_assets: dict, capacity: dict | None = None,
             roads: dict | None = None, lang: Lang = "zh", title: str = "",
             basemap: Basemap | None = None, html_dir: Path | None = None,
             summary: dict | None = None) -> folium.Map:
    """Build the park map from GeoJSON FeatureCollections (EPSG:4326).

    Parameters
    ----------
    parcels : dict
        Features with ``parcel_id``, ``status``, ``kind``, ``point_id``, ``feeder_id``,
        ``cost_cny``, ``kva``, ``reason_detail``.
    routes, new_assets : dict
        Reserved circuits; new assets with ``asset`` and ``id``.
    capacity : dict, optional
        The heat map (:func:`scheme_engine.park.heatmap.capacity_heatmap`).
    roads : dict, optional
        Road lines for context.
    summary : dict, optional
        The park's ``summary.json`` document: its numbers go in the side panel beside the map
        (with the colour legend, which is always there).
    """
    tx = _TXT["zh" if lang == "zh" else "en"]
    feats = [f for f in parcels.get("features") or [] if f.get("geometry")]
    geoms = [shapely.geometry.shape(f["geometry"]) for f in feats]
    if geoms:
        x0, y0, x1, y1 = shapely.total_bounds(np.array(geoms, dtype=object))
    else:
        x0 = y0 = x1 = y1 = 0.0
    pad = 0.01
    bbox = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=15, tiles=None,
                   control_scale=True, max_zoom=19)
    m.default_js = []
    m.default_css = []
    root = cast(Figure, m.get_root())  # a Map's root is always a Figure
    root.title = h(f"{tx['title']} · {title}")
    root.header.add_child(Element(style_tag(LEAFLET_CSS, None) + script_tag(LEAFLET_JS, None)
                                  + style_tag(MAP_CSS, None)), name="gs_assets")
    add_basemap(m, basemap or Basemap(), lang, html_dir)
    if roads:
        g, p = prepare(roads, bbox)
        if g:
            roads_layer(g, p, lang).add_to(m)
    if capacity:
        lines = {"type": "FeatureCollection", "features": [
            f for f in capacity.get("features") or []
            if (f.get("properties") or {}).get("kind") == "feeder"]}
        g, p = prepare(lines, bbox)
        if g:
            fg = folium.FeatureGroup(name=h(tx["feeders"]), show=True)
            for geom, pr in zip(g, p, strict=True):
                hm = pr.get("headroom_mva")
                tip = (f"<b>{h(tx['feeder'])} {h(pr.get('feeder_id', ''))}</b><br>"
                       f"{h(tx['headroom'])}: {'–' if hm is None else f'{hm:.2f} MVA'}")
                # SafeTooltip is a child element: folium's tooltip= would wrap it in its own
                # Tooltip and show the object's repr
                folium.GeoJson(_gj(geom), style_function=_line_style(class_colour(
                    "capacity_headroom_mva", hm))).add_child(SafeTooltip(tip)).add_to(fg)
            fg.add_to(m)
        pts = {"type": "FeatureCollection", "features": [
            f for f in capacity.get("features") or []
            if (f.get("properties") or {}).get("kind") == "access_point"]}
        g, p = prepare(pts, bbox)
        if g:
            capacity_layer(g, p, lang).add_to(m)
    pg = folium.FeatureGroup(name=h(tx["parcels"]), show=True)
    for f, geom in zip(feats, geoms, strict=True):
        pr = f.get("properties") or {}
        ok = pr.get("status") == "reserved"
        colour = _KIND_COLOUR.get(str(pr.get("kind")), "#555") if ok else "#d62728"
        tip_lines = [f"<b>{h(pr.get('parcel_id', ''))}</b> · "
                     f"{h(tx['reserved'] if ok else tx['unserved'])}"]
        if pr.get("kva") is not None:
            tip_lines.append(f"{h(tx['kva'])}: {float(pr['kva']):,.0f} kVA")
        if ok:
            tip_lines.append(f"{h(tx['kind'])}: {h(pr.get('kind', ''))} · {h(tx['point'])}: "
                             f"{h(pr.get('point_id', ''))}")
            if pr.get("feeder_id"):
                tip_lines.append(f"{h(tx['feeder'])}: {h(pr['feeder_id'])}")
            if pr.get("cost_cny") is not None:
                c = float(pr["cost_cny"])
                tip_lines.append(f"{h(tx['cost'])}: " + (f"{c / 1e4:,.1f} {tx['wan']}" if lang == "zh"
                                                           else f"{tx['wan']} {c:,.0f}"))
        else:
            tip_lines.append(f"{h(tx['reason'])}: {h(pr.get('reason_detail', ''))}")
        folium.GeoJson(_gj(geom), style_function=_poly_style(colour)).add_child(
            SafeTooltip("<br>".join(tip_lines))).add_to(pg)
    pg.add_to(m)
    rg = folium.FeatureGroup(name=h(tx["routes"]), show=True)
    for f in routes.get("features") or []:
        if not f.get("geometry"):
            continue
        pr = f.get("properties") or {}
        folium.GeoJson(f["geometry"], style_function=_line_style(
            _KIND_COLOUR.get(str(pr.get("kind")), "#333"), 3)).add_child(
            SafeTooltip(f"{h(pr.get('parcel_id', ''))} → {h(pr.get('point_id', ''))} "
                        f"{h(pr.get('conductor', ''))}")).add_to(rg)
    rg.add_to(m)
    ag = folium.FeatureGroup(name=h(tx["assets"]), show=True)
    for f in new_assets.get("features") or []:
        if not f.get("geometry"):
            continue
        pr = f.get("properties") or {}
        kind = str(pr.get("asset", ""))
        tip = f"<b>{h(tx.get(kind, kind))}</b> {h(pr.get('id', ''))}"
        if f["geometry"]["type"] == "Point":
            lon, lat = f["geometry"]["coordinates"][:2]
            folium.CircleMarker([lat, lon], radius=8, color="#000", weight=2, fill=True,
                                fill_color="#ff7f0e", fill_opacity=1
                                ).add_child(SafeTooltip(tip)).add_to(ag)
        else:
            folium.GeoJson(f["geometry"], style_function=_line_style(
                "#ff7f0e" if kind == "park_ring" else "#e377c2", 4)
            ).add_child(SafeTooltip(tip)).add_to(ag)
    ag.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    root.html.add_child(Element(_side_panel(summary, tx, lang, title)), name="gs_side")
    if geoms:
        m.fit_bounds([[y0, x0], [y1, x1]], padding=(20, 20))
    return m


def _poly_style(colour: str):
    return lambda f: {"color": "#222", "weight": 1, "fillColor": colour, "fillOpacity": 0.45}


def _line_style(colour: str, weight: float = 2):
    return lambda f: {"color": colour, "weight": weight, "opacity": 0.85}


def write_park_map(path: str | Path, lang: Lang = "zh", **kwargs: Any) -> Path:
    """Write :func:`park_map` as one offline HTML file (atomically)."""
    p = Path(path)
    m = park_map(lang=lang, html_dir=p.parent, **kwargs)
    html = m.get_root().render().replace(
        "<html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', 1)
    return write_text_file(p, html, "out", "park_map.html")
