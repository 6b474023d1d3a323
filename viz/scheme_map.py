"""A folium map of the ranked schemes of one application.

Shows only what belongs to the application (customer, routes, connection points): never the
rest of the grid, which is sensitive infrastructure data. No tile layer is loaded (utility
intranets have no internet); Leaflet/jQuery assets still come from folium's CDN list until the
offline-assets work vendors them (see README, "Known limits").
"""

from __future__ import annotations

from pathlib import Path

import folium

COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")


def scheme_map(result: dict, lang: str = "zh") -> folium.Map:
    """Build the map from a ``PlanResult`` JSON document (dict).

    Parameters
    ----------
    result : dict
        ``PlanResult.model_dump(mode="json")``.
    lang : {"zh", "en"}
        Label language.
    """
    app = result["application"]
    if app.get("lon") is not None:
        lon, lat = app["lon"], app["lat"]
    else:
        ring = app["parcel"][0]
        lon = sum(p[0] for p in ring) / len(ring)
        lat = sum(p[1] for p in ring) / len(ring)
    m = folium.Map(location=[lat, lon], zoom_start=15, tiles=None, control_scale=True)
    cust = "客户" if lang == "zh" else "Customer"
    folium.CircleMarker([lat, lon], radius=8, color="#000", fill=True, fill_opacity=1,
                        tooltip=f"{cust}: {app.get('customer_name', '')}").add_to(m)
    bounds = [[lat, lon]]
    for i, s in enumerate(result["schemes"]):
        colour = COLOURS[i % len(COLOURS)]
        label = f"#{s['rank']} " + ("方案" if lang == "zh" else "scheme")
        fg = folium.FeatureGroup(name=f"{label} {s['cost_cny']['total'] / 1e4:.1f} 万元")
        for c in s["circuits"]:
            coords = [[y, x] for x, y in c["route"]["coordinates"]]
            bounds += coords
            folium.PolyLine(coords, color=colour, weight=5 - min(i, 3),
                            tooltip=f"{label}: {c['conductor']['type']} {c['route_length_m']['total']:.0f} m").add_to(fg)
            conn = c["connection"]
            folium.CircleMarker([conn["lat"], conn["lon"]], radius=6, color=colour, fill=True,
                                tooltip=f"{label}: {conn['kind']} {conn['point_id']}").add_to(fg)
        fg.add_child(folium.Popup(s["explanation"].get(lang, ""), max_width=400))
        fg.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    if len(bounds) > 1:
        m.fit_bounds(bounds)
    return m


def write_scheme_map(result: dict, path: str | Path, lang: str = "zh") -> Path:
    """Write the map to ``path`` (HTML) and return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    scheme_map(result, lang).save(str(p))
    return p
