"""Maps and 3D scenes without a browser: offline assets, audiences, language, escaping, GCJ-02."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from grid_models.errors import InputError
from tests.viz_plans import HOSTILE, network, plan
from viz.escape import html_text, script_json
from viz.maps import Basemap, map_html, parse_basemap, wgs84_to_gcj02
from viz.maps.context import prepare
from viz.maps.gcj02 import gcj02_to_wgs84
from viz.network_layers import feeders_geojson, roads_geojson
from viz.preview3d import preview3d_html, scene_data

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


def _external_refs(html: str) -> list[str]:
    """src/href attributes and CSS url()s that point off the machine."""
    refs = re.findall(r"""<(?:script|link|img|iframe|source|embed)\b[^>]*?(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    refs += re.findall(r"url\(([^)]+)\)", html)
    return [r for r in refs if re.match(r"\s*['\"]?(https?:)?//", r)]


@pytest.mark.parametrize("key", ["dual", "taps", "remedy", "hostile"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pages_reference_nothing_off_the_machine(key: str, lang: str) -> None:
    doc = plan(key)
    for html in (map_html(doc, lang), map_html(doc, lang, audience="designer"),
                 preview3d_html(doc, lang)):
        assert _external_refs(html) == []
        assert "jsdelivr" not in html and "cdnjs" not in html and "code.jquery" not in html
        assert "<script src=" not in html and "<link rel=\"stylesheet\" href=" not in html


def test_asset_url_mode_loads_from_the_given_prefix() -> None:
    html = map_html(plan("taps"), "zh", asset_url="/static/viz/")
    assert '<script src="/static/viz/leaflet/leaflet.js"></script>' in html
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html


def test_customer_map_shows_no_other_grid_element() -> None:
    doc = plan("taps")
    net = network()
    feeders = feeders_geojson(net, doc)
    assert feeders and feeders["features"]
    with pytest.raises(InputError, match="customer map"):
        map_html(doc, "zh", feeders=feeders)
    with pytest.raises(InputError, match="customer map"):
        map_html(doc, "zh", capacity={"type": "FeatureCollection", "features": []})
    customer = map_html(doc, "zh", roads=roads_geojson(net, doc))
    designer = map_html(doc, "zh", audience="designer", feeders=feeders)
    own = {c["connection"]["point_id"] for s in doc["schemes"] for c in s["circuits"]}
    rejected = {r["point_id"] for r in doc["rejected"]} - own
    assert rejected, "the test needs rejected candidates"
    for pid in rejected:
        assert pid not in customer
    assert any(pid in designer for pid in rejected)
    assert "gs-feeder" not in customer and "gs-feeder" in designer
    # the grid nodes of the network never appear on the customer's page
    other_nodes = set(net.nodes["id"]) - own
    assert not other_nodes & set(re.findall(r"[A-Za-z0-9_]+", customer))


def test_one_language_per_page() -> None:
    doc = plan("dual")
    en = map_html(doc, "en")
    zh = map_html(doc, "zh")
    visible_en = _visible_text(en)
    assert "万元" not in visible_en and "客户" not in visible_en
    name = doc["application"]["customer_name"]
    assert not CJK.search(visible_en.replace(name, "")), CJK.findall(visible_en.replace(name, ""))[:10]
    visible_zh = _visible_text(zh)
    for word in ("dual_circuit", "busbar", "Scheme", "Customer", "cable", "overhead", "Total cost"):
        assert word not in visible_zh, word


def _visible_text(html: str) -> str:
    """Text of the side panel plus the popup/tooltip/layer strings in the scripts."""
    side = re.search(r'<aside class="gs-side".*?</aside>', html, re.S).group(0)
    strings = re.findall(r'bind(?:Popup|Tooltip)\(\s*"((?:[^"\\]|\\.)*)"', html)
    layer_names = re.findall(r'"((?:[^"\\]|\\.)*)"\s*:\s*feature_group_', html)
    text = side + " ".join(json.loads(f'"{s}"') for s in strings + layer_names)
    return re.sub(r"<[^>]+>", " ", text)


def test_hostile_name_is_escaped_in_every_context() -> None:
    doc = plan("hostile")
    assert doc["application"]["customer_name"] == HOSTILE
    for html in (map_html(doc, "zh"), map_html(doc, "en", audience="designer"),
                 preview3d_html(doc, "zh")):
        assert "<script>window.__x" not in html
        assert "<img src=x" not in html
        assert html.count("</script>") == html.count("<script")
    for html in (map_html(doc, "zh"), map_html(doc, "en", audience="designer")):
        # folium wraps some HTML in JS template literals: no raw ${ or backtick from the name
        assert "${alert(1)}" not in html and "`\"'" not in html
    # the 3D page carries the name only as JSON data (parsed, then set as textContent)
    page = preview3d_html(doc, "zh")
    data = re.search(r'<script type="application/json" id="gs3d-data">(.*?)</script>', page, re.S)
    assert json.loads(data.group(1))["customer"]["name"] == HOSTILE
    assert "${alert(1)}" not in page.replace(data.group(1), "")


def test_escape_functions() -> None:
    assert html_text('<a href="x">`${y}`\\') == \
        "&lt;a href=&quot;x&quot;&gt;&#96;&#36;{y}&#96;&#92;"
    s = script_json({"n": "</script><!--", "f": float("nan"), "l": "\u2028"})
    assert "</" not in s and "<!--" not in s and "\u2028" not in s
    assert json.loads(s) == {"n": "</script><!--", "f": None, "l": "\u2028"}


def test_gcj02_matches_the_published_transform_and_inverts() -> None:
    lon, lat = wgs84_to_gcj02(121.5272106, 31.1774276)  # eviltransform's test point
    assert float(lon) == pytest.approx(121.531541859215, abs=1e-9)
    assert float(lat) == pytest.approx(31.17530398364597, abs=1e-9)
    back = gcj02_to_wgs84(lon, lat)
    assert float(back[0]) == pytest.approx(121.5272106, abs=1e-7)
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)  # outside China: unchanged


def test_gaode_basemap_shifts_every_overlay() -> None:
    doc = plan("taps")
    plain = map_html(doc, "zh")
    shifted = map_html(doc, "zh", basemap=Basemap("gaode"))
    c = doc["schemes"][0]["circuits"][0]["connection"]
    glon, glat = (float(v) for v in wgs84_to_gcj02(c["lon"], c["lat"]))
    assert f"{round(c['lat'], 7)}, {round(c['lon'], 7)}" in plain.replace("[", "").replace("]", "")
    assert f"{round(glat, 7)}, {round(glon, 7)}" in shifted.replace("[", "").replace("]", "")
    assert "autonavi" in shifted and "autonavi" not in plain


@pytest.mark.parametrize("spec,kind", [("none", "none"), ("osm", "osm"), ("gaode", "gaode"),
                                       ("tianditu:0123456789abcdef", "tianditu"),
                                       ("xyz:http://tiles.local/{z}/{x}/{y}.png", "xyz")])
def test_parse_basemap(spec: str, kind: str) -> None:
    assert parse_basemap(spec).kind == kind


@pytest.mark.parametrize("spec", ["tianditu:a'b", "xyz:http://x/no-placeholders", "tiles:/no/such",
                                  "bing", "gaode:x"])
def test_parse_basemap_refuses(spec: str) -> None:
    with pytest.raises(InputError, match="basemap"):
        parse_basemap(spec)


def test_tianditu_key_is_in_the_tile_url_only() -> None:
    html = map_html(plan("taps"), "zh", basemap=parse_basemap("tianditu:0123456789abcdef"))
    assert html.count("tk=0123456789abcdef") == 2  # vector + labels


def test_large_layers_are_cut_and_simplified() -> None:
    # 4,000 wiggly lines around the box: the page keeps the 500 nearest that touch it, simplified.
    import shapely

    rng = np.random.default_rng(0)
    feats = []
    for i in range(4_000):
        x0, y0 = rng.uniform(106.77, 106.85), rng.uniform(39.65, 39.69)
        xs = x0 + np.linspace(0, 0.002, 50)
        ys = y0 + 1e-7 * rng.standard_normal(50)
        feats.append({"type": "Feature", "properties": {"i": i},
                      "geometry": {"type": "LineString", "coordinates": np.c_[xs, ys].tolist()}})
    fc = {"type": "FeatureCollection", "features": feats}
    bbox = (106.79, 39.66, 106.83, 39.68)
    box = shapely.box(*bbox)
    touching = [shapely.geometry.shape(f["geometry"]) for f in feats]
    touching = [g for g in touching if g.intersects(box)]
    assert len(touching) > 500
    geoms, props = prepare(fc, bbox, max_features=500)
    assert len(geoms) == 500
    assert max(len(g.coords) for g in geoms) <= 3  # 50 near-collinear vertices → a line
    kept = {p["i"] for p in props}
    d_kept = max(shapely.geometry.shape(feats[i]["geometry"]).distance(box.centroid) for i in kept)
    d_dropped = min(g.distance(box.centroid) for k, g in enumerate(touching)
                    if _index(feats, g) not in kept)
    assert d_kept <= d_dropped + 1e-9


def _index(feats: list[dict], g) -> int:
    x0 = g.coords[0][0]
    return next(k for k, f in enumerate(feats) if f["geometry"]["coordinates"][0][0] == x0)


def test_scene_has_poles_at_span_and_boxes(tmp_path: Path) -> None:
    doc = plan("taps")
    sc = scene_data(doc, "zh")
    c = sc["schemes"][0]["circuits"][0]
    assert c["construction"] == "overhead"
    poles = np.asarray(c["poles"])
    gaps = np.hypot(*np.diff(poles, axis=0).T)
    assert gaps.max() <= 50.0 + 1e-6 and c["pole_height"] == 12.0
    length = doc["schemes"][0]["circuits"][0]["route_length_m"]["total"]
    assert len(poles) >= length / 50.0  # at least one pole per span
    assert sc["schemes"][0]["connections"][0]["type"] == "tap_switch"
    dual = scene_data(plan("dual"), "en")["schemes"][0]
    assert dual["circuits"][0]["construction"] == "cable"
    # the two bays of one substation share a box and a label
    assert len(dual["connections"]) == 1 and " / " in dual["connections"][0]["label"]
    # the route starts at the customer point (the scene's origin)
    assert np.allclose(dual["circuits"][0]["path"][0], [0, 0], atol=0.5)


def test_scene_parcel_and_point_used() -> None:
    doc = plan("hostile")
    sc = scene_data(doc, "zh")
    parcel = np.asarray(sc["customer"]["parcel"])
    # the parcel surrounds the point used (origin) and measures ~100 m x 90 m
    assert parcel[:, 0].min() < 0 < parcel[:, 0].max() and parcel[:, 1].min() < 0 < parcel[:, 1].max()
    assert 90 < np.ptp(parcel[:, 0]) < 110 and 80 < np.ptp(parcel[:, 1]) < 100


def test_park_map_tooltips_carry_the_escaped_text() -> None:
    """Every park-map tooltip is the SafeTooltip's text (not an object repr), input escaped."""
    from viz.maps.park_map import park_map

    def fc(*features: dict) -> dict:
        return {"type": "FeatureCollection", "features": list(features)}

    square = {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.001, 30.0],
                                                  [120.001, 30.001], [120.0, 30.0]]]}
    line = {"type": "LineString", "coordinates": [[120.0, 30.0], [120.002, 30.002]]}
    parcels = fc({"type": "Feature", "geometry": square, "properties": {
        "parcel_id": HOSTILE, "status": "reserved", "kind": "rmu", "point_id": "RMU7",
        "feeder_id": "F1", "cost_cny": 250_000.0, "kva": 1250.0}})
    routes = fc({"type": "Feature", "geometry": line, "properties": {
        "parcel_id": "P1", "point_id": "RMU7", "kind": "rmu", "conductor": "YJV22-3x70"}})
    assets = fc({"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.0, 30.0]},
                 "properties": {"asset": "park_rmu", "id": "PR1"}},
                {"type": "Feature", "geometry": line, "properties": {"asset": "park_ring",
                                                                      "id": "RING1"}})
    capacity = fc({"type": "Feature", "geometry": line, "properties": {
        "kind": "feeder", "feeder_id": "F1", "headroom_mva": 1.5}})
    html = park_map(parcels, routes, assets, capacity=capacity, lang="en").get_root().render()
    assert "SafeTooltip object" not in html
    tips = [json.loads(f'"{s}"') for s in
            re.findall(r'bindTooltip\(\s*"((?:[^"\\]|\\.)*)"', html)]
    assert len(tips) == 5  # parcel, route, two assets, feeder
    parcel_tip = next(t for t in tips if "RMU7" in t and "kVA" in t)
    assert html_text(HOSTILE) in parcel_tip and HOSTILE not in parcel_tip
    assert "1,250 kVA" in parcel_tip and "CNY 250,000" in parcel_tip
    assert any("RMU7" in t and "YJV22-3x70" in t for t in tips)
    assert any("PR1" in t for t in tips) and any("RING1" in t for t in tips)
    assert any("F1" in t and "1.50 MVA" in t for t in tips)
    assert "<script>window.__x" not in html
