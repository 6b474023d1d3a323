"""The web page served by the service, in a real browser against the real service.

uvicorn runs ``create_app`` in a thread on localhost with a fresh SQLite database and the demo
network (:mod:`api.service.live`); Debian's chromium is driven by Playwright with the guard of
:mod:`viz.browser`: every non-local request is aborted and fails the test, as do console
errors, page errors and dialogs.
"""

from __future__ import annotations

import io
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tests.viz_plans import HOSTILE  # noqa: E402
from viz.browser import PageLog, browser_context, chromium_available, drag, open_page  # noqa: E402

if not chromium_available():
    if os.environ.get("GRIDSCHEME_REQUIRE_BROWSER"):  # set by .ci/run: CI must run them
        raise RuntimeError("GRIDSCHEME_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
    pytest.skip("Debian chromium is not installed (.ci/run installs it)", allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Three alternatives on the demo city (T-taps on overhead lines), as in tests/viz_plans.py.
SITE = (106.80, 39.66)
NOT_FOUND_LOG = "Failed to load resource: the server responded with a status of 404"


@pytest.fixture(scope="module")
def svc():
    from api.service.live import live_service

    with live_service() as s:
        yield s


@pytest.fixture(scope="module")
def ctx():
    with browser_context() as c:
        yield c


def _api(svc, path: str, token: str, body: Any = None) -> Any:
    req = urllib.request.Request(svc.url + path, method="POST" if body is not None else "GET",
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def _sign_in(ctx, svc, token: str, path: str = "/app/", lang: str = "zh") -> tuple[Any, PageLog]:
    page, log = open_page(ctx, svc.url + path, wait_ms=100)
    page.evaluate(f"localStorage.setItem('gs-lang', '{lang}')")
    page.reload()
    page.locator("#view-signin").wait_for(state="visible")
    page.fill("#gs-token", token)
    page.click("#gs-signin-btn")
    page.locator("#gs-signout").wait_for(state="visible")
    return page, log


def _click_site(page, lon: float, lat: float) -> None:
    """A real mouse click on the map at (lon, lat)."""
    page.wait_for_function("() => window.__gsweb && document.querySelectorAll('path.gs-road').length > 0")
    page.wait_for_timeout(300)  # the initial fit to the network's area has settled
    x, y = page.evaluate("""([lat, lon]) => {
        const p = window.__gsweb.map.latLngToContainerPoint([lat, lon]);
        const r = document.getElementById('gs-map').getBoundingClientRect();
        return [p.x + r.left, p.y + r.top]; }""", [lat, lon])
    page.mouse.click(x, y)


def _submit(page, name: str, kva: float = 800, tier: str = "普通", site=SITE) -> str:
    page.locator("#view-new").wait_for(state="visible")
    page.fill("#f-name", name)
    page.fill("#f-kva", str(kva))
    page.select_option("#f-tier", tier)
    _click_site(page, *site)
    assert page.locator("#f-where").get_attribute("class") == "gs-where-value gs-set"
    page.click("#f-submit")
    page.locator("table.gs-compare").wait_for(state="visible", timeout=30000)
    page.wait_for_timeout(300)
    return page.evaluate("location.hash").split("/")[-1]


def _canvas_pixels(frame_locator) -> Any:
    import numpy as np
    from PIL import Image

    png = frame_locator.locator("#gs3d canvas").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


def _clean(log: PageLog, allow: tuple[str, ...] = ()) -> None:
    problems = [p for p in log.problems() if not any(a in p for a in allow)]
    assert problems == []


def test_page_served_offline_with_a_strict_policy(ctx, svc) -> None:
    page, log = open_page(ctx, svc.url + "/", wait_ms=300)
    assert page.url == svc.url + "/app/"
    assert page.locator("#view-signin").is_visible()
    assert page.title() == "供电方案比选"  # Chinese by default
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    with urllib.request.urlopen(svc.url + "/app/") as r:
        csp = r.headers["Content-Security-Policy"]
        html = r.read().decode()
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'self'" in script_src and "unsafe" not in script_src and "http" not in csp
    assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    assert "http://" not in html and "https://" not in html  # nothing from another origin
    # only listed files are served: no path reaches the file system
    for bad in ("/static/viz/../web/view.py", "/app/..%2Fview.py", "/app/nope.js",
                "/static/viz/%2e%2e/labels.py"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(svc.url + bad)
        assert e.value.code == 404
    _clean(log)
    page.close()


def test_sign_in_refuses_a_bad_token(ctx, svc) -> None:
    page, log = open_page(ctx, svc.url + "/app/", wait_ms=100)
    page.fill("#gs-token", "gs_not_a_token")
    page.click("#gs-signin-btn")
    err = page.locator("#gs-signin-error")
    err.wait_for(state="visible")
    assert "令牌无效" in err.inner_text()
    assert page.evaluate("sessionStorage.getItem('gs-token')") is None
    assert "gs_not_a_token" not in page.url
    _clean(log, allow=("status of 401",))
    page.close()


def test_web_flow_plan_compare_toggle_3d_letter(ctx, svc, tmp_path: Path) -> None:
    import numpy as np

    token = svc.token("flow", "customer", "cust-flow")
    page, log = _sign_in(ctx, svc, token)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    # the token is kept for this tab and sent in a header, never in a URL
    assert page.evaluate("sessionStorage.getItem('gs-token')") == token
    app_id = _submit(page, "城西物流园", 800)
    assert app_id.startswith("a_")
    assert not any(token in u for u in requests)
    # >= 2 ranked schemes side by side, as the API stored them
    doc = _api(svc, f"/v1/applications/{app_id}", token)
    ranks = [s["rank"] for s in doc["result"]["schemes"]]
    assert len(ranks) >= 2
    cols = page.locator("table.gs-compare thead th.gs-col")
    assert cols.count() == len(ranks)
    assert [int(cols.nth(i).get_attribute("data-rank")) for i in range(len(ranks))] == ranks
    side = page.locator("#gs-result").inner_text()
    assert "方案比较" in side and "总投资" in side and "万元" in side
    cost = doc["result"]["schemes"][0]["cost_cny"]["total"]
    assert f"{cost / 1e4:,.1f} 万元" in side
    # every circuit drawn; toggling scheme 1 hides its route and only its route
    n_paths = {r: page.locator(f"path.gs-route.gs-rank-{r}").count() for r in ranks}
    assert all(n >= 1 for n in n_paths.values())
    page.uncheck(f"#gs-toggle-{ranks[0]}")
    assert page.locator(f"path.gs-route.gs-rank-{ranks[0]}").count() == 0
    assert page.locator(f"path.gs-route.gs-rank-{ranks[1]}").count() == n_paths[ranks[1]]
    page.check(f"#gs-toggle-{ranks[0]}")
    assert page.locator(f"path.gs-route.gs-rank-{ranks[0]}").count() == n_paths[ranks[0]]
    # clicking a route opens its popup with the scheme's figures
    x, y = page.eval_on_selector(f"path.gs-route.gs-rank-{ranks[0]}", """el => {
        const p = el.getPointAtLength(el.getTotalLength() / 2);
        const m = el.getScreenCTM();
        return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f]; }""")
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=3000)
    assert "方案 1" in popup.inner_text() and "电压降" in popup.inner_text()
    # the 3D preview opens in its sandboxed frame with a drawn canvas that follows the camera
    page.click(f"button.gs-3d[data-rank='{ranks[0]}']")
    frame = page.frame_locator("#gs-3d")
    frame.locator("#gs3d canvas").wait_for(state="visible", timeout=15000)
    page.wait_for_timeout(800)
    assert page.locator("#gs-3d").get_attribute("sandbox") == "allow-scripts"
    before = _canvas_pixels(frame)
    background = before[5, -5]
    assert (np.abs(before - background).sum(axis=2) > 30).mean() > 0.01
    drag(page, page.locator("#gs-3d").bounding_box(), 180, 40)
    after = _canvas_pixels(frame)
    assert (np.abs(after - before).sum(axis=2) > 30).mean() > 0.01
    assert "方案 1" in frame.locator(".gs3d-panel").inner_text()
    # the preview cannot reach the page: it runs in an opaque origin
    assert frame.locator("body").evaluate("() => { try { return parent.document.title; } "
                                          "catch (e) { return 'blocked'; } }") == "blocked"
    page.click("#gs-modal-close")
    assert page.locator("#gs-modal").is_hidden()
    # the reply letter downloads (PDF and Word) for the chosen scheme
    with page.expect_download() as dl:
        page.click(f"button.gs-letter-pdf[data-rank='{ranks[1]}']")
    pdf = Path(dl.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and dl.value.suggested_filename.endswith(f"scheme{ranks[1]}-zh.pdf")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "供电方案答复单" in text.replace(" ", "")
    with page.expect_download() as dl:
        page.click(f"button.gs-letter-docx[data-rank='{ranks[0]}']")
    docx_path = tmp_path / "letter.docx"
    dl.value.save_as(docx_path)
    import docx

    assert any("供电方案答复单" in p.text for p in docx.Document(str(docx_path)).paragraphs)
    # the list shows the application; opening it by its link shows it again
    page.click("#gs-nav-list")
    item = page.locator(f"#gs-list a[data-id='{app_id}']")
    item.wait_for(state="visible")
    assert "城西物流园" in item.inner_text()
    item.click()
    page.locator("table.gs-compare").wait_for(state="visible")
    # a customer's page never asks for grid layers
    assert not any("/v1/capacity" in u or "/v1/networks" in u for u in requests)
    assert page.locator("path.gs-feeder, path.gs-capacity").count() == 0
    _clean(log)
    page.close()


def test_customer_session_shows_nothing_of_another_customer(ctx, svc) -> None:
    a = svc.token("cust-a", "customer", "cust-A")
    b = svc.token("cust-b", "customer", "cust-B")
    secret = "客户A-机密项目"
    doc = _api(svc, "/v1/applications", a, {"customer_name": secret, "lon": SITE[0],
                                           "lat": SITE[1], "requested_kva": 630})
    page, log = _sign_in(ctx, svc, b)
    page.click("#gs-nav-list")
    page.wait_for_function("() => document.getElementById('gs-list-note').textContent !== '正在加载…'")
    assert page.locator("#gs-list li").count() == 0
    assert "还没有申请" in page.locator("#gs-list-note").inner_text()
    assert secret not in page.content()
    # A's application by its direct URL: the not-found state, nothing of A's
    page.evaluate(f"location.hash = '#/a/{doc['id']}'")
    page.locator("#view-missing").wait_for(state="visible")
    assert "未找到该申请" in page.locator("#view-missing").inner_text()
    assert secret not in page.content()
    assert page.locator("path.gs-route").count() == 0
    # a new tab opened straight on A's URL, signed in as B: the same
    page2, log2 = _sign_in(ctx, svc, b, path=f"/app/#/a/{doc['id']}")
    page2.locator("#view-missing").wait_for(state="visible")
    assert secret not in page2.content()
    # and A, on the same URL, sees it
    page3, log3 = _sign_in(ctx, svc, a, path=f"/app/#/a/{doc['id']}")
    page3.locator("table.gs-compare").wait_for(state="visible", timeout=15000)
    assert page3.locator("h2.gs-customer").inner_text() == secret
    for lg in (log, log2):
        _clean(lg, allow=(NOT_FOUND_LOG,))
    _clean(log3)
    for p in (page, page2, page3):
        p.close()


def test_designer_sees_feeders_and_capacity(ctx, svc) -> None:
    page, log = _sign_in(ctx, svc, svc.token("designer", "designer"))
    page.wait_for_function("() => document.querySelectorAll('path.gs-feeder').length > 0")
    assert page.locator("#gs-layer-capacity").is_visible()
    assert page.locator("path.gs-capacity").count() == 0  # off until asked for
    page.check("#gs-layer-capacity")
    assert page.locator("path.gs-capacity").count() == page.locator("path.gs-feeder").count()
    page.uncheck("#gs-layer-feeders")
    assert page.locator("path.gs-feeder").count() == 0
    page.locator("path.gs-capacity").nth(0).dispatch_event("mouseover")
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for(state="visible", timeout=3000)
    assert "可开放容量" in tip.inner_text() and "MVA" in tip.inner_text()
    _clean(log)
    page.close()


def test_hostile_names_are_inert(ctx, svc) -> None:
    token = svc.token("hostile", "customer", "cust-H")
    page, log = _sign_in(ctx, svc, token)
    _submit(page, HOSTILE, 800)
    assert page.evaluate("typeof window.__x") == "undefined"
    assert page.locator("h2.gs-customer").inner_text() == HOSTILE
    assert page.locator("#gs-side img, .leaflet-pane img").count() == 0
    page.locator("path.gs-customer-point").hover(force=True)
    tip = page.locator(".leaflet-tooltip").first
    tip.wait_for(state="visible", timeout=3000)
    assert HOSTILE in tip.inner_text()
    page.click("button.gs-3d-all")
    frame = page.frame_locator("#gs-3d")
    frame.locator(".gs3d-panel h1").wait_for(state="visible", timeout=15000)
    assert frame.locator(".gs3d-panel h1").inner_text().endswith(HOSTILE)
    assert frame.locator("#gs3d img").count() == 0
    assert page.locator("#gs-modal-title").inner_text().endswith(HOSTILE)
    page.keyboard.press("Escape")
    page.click("#gs-nav-list")
    page.locator("#gs-list li").first.wait_for(state="visible")
    assert page.locator(".gs-list-name").first.inner_text() == HOSTILE
    assert page.evaluate("typeof window.__x") == "undefined"
    _clean(log)
    page.close()


def test_english_switch(ctx, svc) -> None:
    token = svc.token("english", "customer", "cust-E")
    page, log = _sign_in(ctx, svc, token)
    app_id = _submit(page, "English check", 800)
    page.click("#gs-lang")
    page.wait_for_function("() => document.querySelector('.gs-corner') && "
                           "document.querySelector('.gs-corner').textContent === 'Comparison'")
    side = page.locator("#gs-side").inner_text()
    assert "Total cost" in side and "CNY" in side
    assert not any(c in side for c in ("万元", "方案", "总投资", "申请"))
    assert page.locator("html").get_attribute("lang") == "en"
    top = page.locator("header.gs-top").inner_text()
    assert "Supply-scheme comparison" in top and "Sign out" in top and "中文" in top
    # kept across a reload of the same tab (the token too: sessionStorage)
    page.reload()
    page.locator("table.gs-compare").wait_for(state="visible")
    assert page.locator(".gs-corner").inner_text() == "Comparison"
    assert page.evaluate("location.hash") == f"#/a/{app_id}"
    with page.expect_download() as dl:
        page.click("button.gs-letter-pdf[data-rank='1']")
    assert dl.value.suggested_filename.endswith("-en.pdf")
    page.click("#gs-lang")
    page.wait_for_function("() => document.querySelector('.gs-corner') && "
                           "document.querySelector('.gs-corner').textContent === '方案比较'")
    _clean(log)
    page.close()


def test_parcel_upload(ctx, svc, tmp_path: Path) -> None:
    from tests.viz_plans import PARCEL

    token = svc.token("parcel", "customer", "cust-P")
    page, log = _sign_in(ctx, svc, token)
    page.locator("#view-new").wait_for(state="visible")
    bad = tmp_path / "projected.geojson"
    bad.write_text(json.dumps({"type": "Polygon", "coordinates": [[[500000, 4390000],
                              [500100, 4390000], [500100, 4390100], [500000, 4390000]]]}))
    page.set_input_files("#f-parcel", str(bad))
    err = page.locator("#f-error")
    err.wait_for(state="visible")
    assert "EPSG:4326" in err.inner_text()
    good = tmp_path / "地块.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "x"},
         "geometry": {"type": "Polygon", "coordinates": PARCEL}}]}))
    page.set_input_files("#f-parcel", str(good))
    page.wait_for_function("() => document.getElementById('f-where').textContent.includes('地块')")
    assert page.locator("path.gs-parcel").count() == 1
    page.fill("#f-name", "地块客户")
    page.fill("#f-kva", "1000")
    page.click("#f-submit")
    page.locator("table.gs-compare").wait_for(state="visible", timeout=30000)
    app_id = page.evaluate("location.hash").split("/")[-1]
    doc = _api(svc, f"/v1/applications/{app_id}", token)
    assert doc["result"]["application"]["parcel"] == PARCEL
    assert page.locator("path.gs-parcel").count() == 1
    _clean(log)
    page.close()


def test_form_errors_name_the_field(ctx, svc) -> None:
    page, log = _sign_in(ctx, svc, svc.token("form", "customer", "cust-F"))
    page.locator("#view-new").wait_for(state="visible")
    page.fill("#f-name", "缺位置")
    page.fill("#f-kva", "800")
    page.click("#f-submit")
    assert "请在地图上点击" in page.locator("#f-error").inner_text()
    assert "gs-invalid" in page.locator("fieldset.gs-where").get_attribute("class")
    # the service's own refusal (a site far outside the network) is shown with its field
    page.fill("#f-kva", "1e9")
    _click_site(page, *SITE)
    page.click("#f-submit")
    err = page.locator("#f-error")
    err.wait_for(state="visible", timeout=30000)
    assert "提交未成功" in err.inner_text()
    assert page.locator("#f-kva.gs-invalid").count() == 1
    _clean(log, allow=("status of 422",))
    page.close()


def test_a_lost_answer_and_a_retry_store_one_application(ctx, svc) -> None:
    """The first submission reaches the service but its answer is lost on the way back; the
    user presses submit again: the same Idempotency-Key returns the stored application."""
    token = svc.token("retry", "customer", "cust-R")
    page, log = _sign_in(ctx, svc, token)
    keys: list[str] = []
    lost = {"n": 0}

    def lose_first_answer(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key", ""))
        if lost["n"] == 0:
            lost["n"] += 1
            route.fetch()  # the service plans and stores it ...
            route.abort()  # ... and the answer never arrives
        else:
            route.continue_()

    page.route("**/v1/applications", lose_first_answer)
    page.locator("#view-new").wait_for(state="visible")
    page.fill("#f-name", "重试客户")
    page.fill("#f-kva", "800")
    _click_site(page, *SITE)
    page.click("#f-submit")
    page.locator("#f-error").wait_for(state="visible", timeout=30000)
    page.click("#f-submit")
    page.locator("table.gs-compare").wait_for(state="visible", timeout=30000)
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0].startswith("web-")
    mine = _api(svc, "/v1/applications", token)
    assert mine["total"] == 1 and mine["items"][0]["customer_name"] == "重试客户"
    _clean(log, allow=("net::ERR_FAILED",))
    page.close()
