"""The map and the 3D preview in a real browser (Debian chromium via Playwright), offline.

Every non-local request is aborted and recorded by the guard in :mod:`viz.browser`; console
errors, page errors and dialogs are recorded too, and each test fails on any of them.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import pytest

pytest.importorskip("playwright")

from tests.viz_plans import HOSTILE, network, plan  # noqa: E402
from viz.browser import PageLog, browser_context, chromium_available, drag, open_page  # noqa: E402
from viz.maps import Basemap, write_scheme_map  # noqa: E402
from viz.network_layers import feeders_geojson, roads_geojson  # noqa: E402
from viz.preview3d import write_preview3d  # noqa: E402

if not chromium_available():
    if os.environ.get("GRIDSCHEME_REQUIRE_BROWSER"):  # set by .ci/run: CI must run them
        raise RuntimeError("GRIDSCHEME_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
    pytest.skip("Debian chromium is not installed (.ci/run installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def ctx():
    with browser_context() as c:
        yield c


def _clean(log: PageLog) -> None:
    assert log.problems() == []


def _path_point(page, selector: str) -> tuple[float, float]:
    """Screen coordinates of a point half-way along an SVG path (a real point on the line)."""
    return tuple(page.eval_on_selector(selector, """el => {
        const p = el.getPointAtLength(el.getTotalLength() / 2);
        const m = el.getScreenCTM();
        return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f];
    }"""))


def _open_map(ctx, tmp_path: Path, key: str, lang: str = "zh", **kw):
    doc = plan(key)
    p = write_scheme_map(doc, tmp_path / f"map_{key}_{lang}.html", lang, **kw)
    page, log = open_page(ctx, p.resolve().as_uri(), wait_ms=400)
    return doc, page, log


def test_map_layers_popup_and_toggle(ctx, tmp_path: Path) -> None:
    net = network()
    doc, page, log = _open_map(ctx, tmp_path, "taps", roads=roads_geojson(net, plan("taps")))
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    names = [x.strip() for x in labels]
    assert any(n.startswith("道路") for n in names) and any(n.startswith("客户") for n in names)
    ranks = [s["rank"] for s in doc["schemes"]]
    for r in ranks:
        assert any(n.startswith(f"方案 {r} ") for n in names), names
    assert page.locator("path.gs-route").count() == sum(len(s["circuits"]) for s in doc["schemes"])
    # clicking a route opens its popup with the scheme's figures
    x, y = _path_point(page, "path.gs-rank-1")
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=3000)
    text = popup.inner_text()
    assert "方案 1" in text and "总投资" in text and "接入后负载率" in text and "最紧约束" in text
    cost = doc["schemes"][0]["cost_cny"]["total"]
    assert f"{cost / 1e4:,.1f} 万元" in text
    # unticking a scheme's layer removes its routes from the map
    label = page.locator(".leaflet-control-layers-overlays label", has_text="方案 1 ")
    label.locator("input").uncheck()
    page.wait_for_timeout(200)
    assert page.locator("path.gs-rank-1").count() == 0
    assert page.locator("path.gs-rank-2").count() >= 1
    label.locator("input").check()
    page.wait_for_timeout(200)
    assert page.locator("path.gs-rank-1").count() >= 1
    # the comparison table has one column per scheme
    assert page.locator(".gs-table thead th.gs-col").count() == len(ranks)
    _clean(log)
    page.close()


def test_map_english(ctx, tmp_path: Path) -> None:
    doc, page, log = _open_map(ctx, tmp_path, "dual", lang="en")
    names = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any(n.strip().startswith("Scheme 1 · CNY") for n in names), names
    body = page.locator("aside.gs-side").inner_text()
    assert "Comparison" in body and "万元" not in body and "客户" not in body
    _clean(log)
    page.close()


def test_designer_map_feeders_and_capacity(ctx, tmp_path: Path) -> None:
    doc = plan("taps")
    feeders = feeders_geojson(network(), doc)
    lon, lat = doc["application"]["lon"], doc["application"]["lat"]
    cells = []
    for i in range(3):
        for j in range(3):
            x0, y0 = lon + (i - 1.5) * 0.004, lat + (j - 1.5) * 0.003
            cells.append({"type": "Feature",
                          "properties": {"cell_id": f"C{i}{j}", "headroom_mva": 3.0 * i + j - 1},
                          "geometry": {"type": "Polygon", "coordinates": [[
                              [x0, y0], [x0 + 0.004, y0], [x0 + 0.004, y0 + 0.003],
                              [x0, y0 + 0.003], [x0, y0]]]}})
    cap = {"type": "FeatureCollection", "features": cells}
    _, page, log = _open_map(ctx, tmp_path, "taps", audience="designer", feeders=feeders,
                             capacity=cap)
    assert page.locator("path.gs-feeder").count() == len(feeders["features"])
    assert page.locator("path.gs-capacity").count() == 9
    page.locator("path.gs-capacity").nth(0).dispatch_event("mouseover")
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for(state="visible", timeout=3000)
    assert "可开放容量" in tip.inner_text() and "MVA" in tip.inner_text()
    # the panel lists rejected candidates for designers
    assert page.locator(".gs-rejected li").count() >= 1
    _clean(log)
    page.close()


def test_hostile_names_are_inert_on_the_map(ctx, tmp_path: Path) -> None:
    for lang, audience in (("zh", "customer"), ("en", "designer")):
        doc, page, log = _open_map(ctx, tmp_path, "hostile", lang=lang, audience=audience)
        assert page.evaluate("typeof window.__x") == "undefined"
        assert page.locator("aside .gs-customer").inner_text() == HOSTILE
        assert page.title().endswith(HOSTILE)
        # tooltip of the customer point shows the name as text
        page.locator("path.gs-customer-point").hover(force=True)
        tip = page.locator(".leaflet-tooltip").first
        tip.wait_for(state="visible", timeout=3000)
        assert HOSTILE in tip.inner_text()
        assert page.locator(".leaflet-tooltip img").count() == 0
        x, y = _path_point(page, "path.gs-rank-1")
        page.mouse.click(x, y)
        page.locator(".leaflet-popup-content").wait_for(state="visible", timeout=3000)
        # the parcel is drawn and the map is not blanked by the backtick
        assert page.locator("path.gs-parcel").count() == 1
        assert page.evaluate("typeof window.__x") == "undefined"
        _clean(log)
        page.close()


def test_local_tile_folder(ctx, tmp_path: Path) -> None:
    from PIL import Image

    doc = plan("taps")
    lon, lat = doc["application"]["lon"], doc["application"]["lat"]
    z = 15
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    tile = tmp_path / "tiles" / str(z) / str(x) / f"{y}.png"
    tile.parent.mkdir(parents=True)
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 230, 200)).save(buf, "PNG")
    tile.write_bytes(buf.getvalue())
    _, page, log = _open_map(ctx, tmp_path, "taps",
                             basemap=Basemap("tiles", url=str(tmp_path / "tiles")))
    page.wait_for_timeout(500)
    loaded = page.eval_on_selector_all(
        "img.leaflet-tile", "els => els.filter(e => e.complete && e.naturalWidth === 256)"
                            ".map(e => e.getAttribute('src'))")
    assert loaded and all(s.startswith(f"tiles/{z}/{x}/{y}") for s in loaded)
    _clean(log)
    page.close()


def test_guard_records_external_requests(ctx, tmp_path: Path) -> None:
    p = tmp_path / "ext.html"
    p.write_text('<html><body><img src="http://example.invalid/x.png"></body></html>')
    page, log = open_page(ctx, p.as_uri())
    assert any("example.invalid" in u for u in log.blocked)
    page.close()


def _canvas_png(page):
    from PIL import Image

    return Image.open(io.BytesIO(page.locator("#gs3d canvas").screenshot())).convert("RGB")


def _changed_fraction(a, b) -> float:
    import numpy as np

    x, y = np.asarray(a, dtype=int), np.asarray(b, dtype=int)
    return float((np.abs(x - y).sum(axis=2) > 30).mean())


def test_preview3d_renders_moves_and_switches(ctx, tmp_path: Path) -> None:
    import numpy as np

    doc = plan("taps")
    p = write_preview3d(doc, tmp_path / "p3.html", "zh", roads=roads_geojson(network(), doc))
    page, log = open_page(ctx, p.resolve().as_uri(), wait_ms=800)
    before = _canvas_png(page)
    arr = np.asarray(before, dtype=int)
    background = arr[5, -5]
    assert (np.abs(arr - background).sum(axis=2) > 30).mean() > 0.01  # something is drawn
    assert len(np.unique(arr.reshape(-1, 3), axis=0)) > 20
    # drag to orbit the camera: the picture changes
    drag(page, page.locator("#gs3d canvas").bounding_box(), 200, 40)
    after = _canvas_png(page)
    assert _changed_fraction(before, after) > 0.01
    # alternatives are switchable: button 2 shows scheme 2 only
    buttons = page.locator(".gs3d-btn")
    assert buttons.count() == len(doc["schemes"])
    buttons.nth(1).click()
    page.wait_for_timeout(200)
    assert page.evaluate("window.__gs3d.groups.map(g => g.visible)") == \
        [i == 1 for i in range(len(doc["schemes"]))]
    assert "方案 2" in page.locator(".gs3d-btn.gs3d-active").inner_text()
    labels = page.locator(".gs3d-label").all_inner_texts()
    assert any("架空线T接" in t for t in labels)
    _clean(log)
    page.close()


def test_preview3d_hostile_name_is_text(ctx, tmp_path: Path) -> None:
    doc = plan("hostile")
    for lang in ("zh", "en"):
        p = write_preview3d(doc, tmp_path / f"h3_{lang}.html", lang)
        page, log = open_page(ctx, p.resolve().as_uri(), wait_ms=600)
        assert page.evaluate("typeof window.__x") == "undefined"
        assert page.locator(".gs3d-panel h1").inner_text().endswith(HOSTILE)
        assert any(HOSTILE in t for t in page.locator(".gs3d-label").all_inner_texts())
        assert page.locator("#gs3d img").count() == 0
        assert page.title().endswith(HOSTILE)
        _clean(log)
        page.close()
