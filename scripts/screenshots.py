"""Render PNG screenshots of the map pages, the 3D preview, the reply letter and the web page
for review.

    .venv/bin/python scripts/screenshots.py [--out out/screenshots] [--plan PLAN.json]
                                            [--web | --web-only] [--web-url URL]

Without ``--plan`` it plans sample applications on the bundled demo city. ``--web`` also starts
the service in a thread (fresh SQLite, demo network) and walks the web page as a customer and a
designer in Chinese and English: sign-in, the form with a clicked site, the result with its
comparison, the 3D preview, the list and the not-found state (``web_*.png``). Needs the
``browser`` and ``service`` extras and Debian's chromium (and poppler-utils' ``pdftoppm`` for the
letter). Every non-local request is aborted; problems are printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLES = {
    "dual": {"customer_name": "示范数据中心 <b>&amp;</b> `${x}`", "lon": 106.8215, "lat": 39.67,
             "requested_kva": 1600, "tier": "二级", "industry": "others"},
    "single": {"customer_name": "城西物流园", "lon": 106.80, "lat": 39.66, "requested_kva": 800,
               "tier": "普通"},
}


def plan_samples() -> dict[str, dict]:
    """Plan the sample applications on the demo network."""
    from grid_models.io import read_network
    from scheme_engine.engine import Planner

    planner = Planner(read_network(ROOT / "grid_models" / "demo" / "demo_city_S.gpkg"))
    return {k: planner.plan(app).model_dump(mode="json") for k, app in SAMPLES.items()}


def sample_capacity(doc: dict) -> dict:
    """An ILLUSTRATIVE capacity grid around the customer (styling review only, not engine data:
    the park planner computes the real heat map)."""
    import math

    lon, lat = doc["application"].get("lon") or 106.8215, doc["application"].get("lat") or 39.67
    feats = []
    for i in range(-4, 4):
        for j in range(-3, 3):
            x0, y0 = lon + i * 0.004, lat + j * 0.003
            h = 6 + 5 * math.sin(i * 0.9) + 4 * math.cos(j * 1.3)
            feats.append({"type": "Feature",
                          "properties": {"cell_id": f"S{i}{j}", "headroom_mva": round(h, 1)},
                          "geometry": {"type": "Polygon", "coordinates": [[
                              [x0, y0], [x0 + 0.004, y0], [x0 + 0.004, y0 + 0.003],
                              [x0, y0 + 0.003], [x0, y0]]]}})
    return {"type": "FeatureCollection", "features": feats}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(ROOT / "out" / "screenshots"))
    ap.add_argument("--plan", help="a PlanResult JSON instead of the demo samples")
    ap.add_argument("--web", action="store_true",
                    help="also walk the web page on a service started here")
    ap.add_argument("--web-only", action="store_true", help="only the web page")
    ap.add_argument("--web-url", help="also screenshot this URL as it is")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.web_only:
        problems = web_screenshots(out)
        print(f"screenshots in {out} ({problems} problems)")
        return 1 if problems else 0

    from viz.browser import browser_context, open_page
    from viz.maps.scheme_map import write_scheme_map
    from viz.network_layers import demo_context
    from viz.preview3d import write_preview3d

    plans = ({"plan": json.loads(Path(args.plan).read_text(encoding="utf-8"))} if args.plan
             else plan_samples())
    pages: list[tuple[str, Path]] = []
    for key, doc in plans.items():
        ctx_layers = demo_context(doc) if not args.plan else {}
        if not args.plan:
            ctx_layers["capacity"] = sample_capacity(doc)
        for lang in ("zh", "en"):
            for aud in ("customer", "designer"):
                extra = (ctx_layers if aud == "designer" else {"roads": ctx_layers.get("roads")})
                p = write_scheme_map(doc, out / f"map_{key}_{aud}_{lang}.html", lang,
                                     audience=aud, **extra)
                pages.append((p.stem, p))
            p = write_preview3d(doc, out / f"preview3d_{key}_{lang}.html", lang,
                                roads=ctx_layers.get("roads"))
            pages.append((p.stem, p))
    problems = 0
    with browser_context() as ctx:
        for stem, p in pages:
            page, log = open_page(ctx, p.resolve().as_uri(), wait_ms=1200)
            if stem.startswith("map_") and page.locator("path.gs-rank-1").count():
                # open the best scheme's popup: click a point on the line itself
                x, y = page.eval_on_selector("path.gs-rank-1", """el => {
                    const p = el.getPointAtLength(el.getTotalLength() / 2);
                    const m = el.getScreenCTM();
                    return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f]; }""")
                page.mouse.click(x, y)
                page.wait_for_timeout(400)
            page.screenshot(path=str(out / f"{stem}.png"))
            for line in log.problems():
                print(f"{stem}: {line}")
                problems += 1
            page.close()
        if args.web_url:
            page, log = open_page(ctx, args.web_url, wait_ms=1500)
            page.screenshot(path=str(out / "web_url.png"), full_page=True)
    from viz.letter import write_letter

    for key, doc in plans.items():
        for lang in ("zh", "en"):
            files = write_letter(doc, 1, out / f"letter_{key}_{lang}", lang)
            subprocess.run(["pdftoppm", "-png", "-r", "80", str(files["pdf"]),
                            str(out / f"letter_{key}_{lang}")], check=False)
    if args.web:
        problems += web_screenshots(out)
    print(f"screenshots in {out} ({problems} problems)")
    return 1 if problems else 0


#: applications the web walk submits: (who, role, principal, form values, site lon/lat)
WEB_SAMPLES = [
    ("customer", "customer", "cust-demo",
     {"name": "城西物流园 <b>&</b> `${x}`", "kva": "800", "tier": "普通"}, (106.80, 39.66)),
    ("designer", "designer", None,
     {"name": "示范数据中心", "kva": "1600", "tier": "二级"}, (106.8215, 39.67)),
]


def _click_map(page, lon: float, lat: float) -> None:
    page.wait_for_function("() => window.__gsweb && "
                           "document.querySelectorAll('path.gs-road').length > 0")
    page.wait_for_timeout(400)
    x, y = page.evaluate("""([lat, lon]) => {
        const p = window.__gsweb.map.latLngToContainerPoint([lat, lon]);
        const r = document.getElementById('gs-map').getBoundingClientRect();
        return [p.x + r.left, p.y + r.top]; }""", [lat, lon])
    page.mouse.click(x, y)


def web_screenshots(out: Path) -> int:
    """Walk the web page on a service started here; write ``web_*.png``; count problems."""
    from api.service.live import live_service
    from viz.browser import browser_context, open_page

    problems = 0
    with live_service() as svc, browser_context() as ctx:
        for who, role, principal, form, site in WEB_SAMPLES:
            token = svc.token(who, role, principal)
            for lang in ("zh", "en"):
                stem = f"web_{who}_{lang}"
                page, log = open_page(ctx, svc.url + "/app/", wait_ms=200)
                page.evaluate(f"localStorage.setItem('gs-lang', '{lang}')")
                page.reload()
                page.locator("#view-signin").wait_for(state="visible")
                if who == "customer":
                    page.screenshot(path=str(out / f"web_signin_{lang}.png"))
                page.fill("#gs-token", token)
                page.click("#gs-signin-btn")
                page.locator("#view-new").wait_for(state="visible")
                page.fill("#f-name", form["name"])
                page.fill("#f-kva", form["kva"])
                page.select_option("#f-tier", form["tier"])
                _click_map(page, *site)
                page.wait_for_timeout(200)
                page.screenshot(path=str(out / f"{stem}_form.png"))
                page.click("#f-submit")
                page.locator("table.gs-compare, .gs-empty").first.wait_for(state="visible",
                                                                            timeout=30000)
                page.wait_for_timeout(800)
                if who == "designer" and lang == "zh":
                    page.check("#gs-layer-capacity")
                page.screenshot(path=str(out / f"{stem}_result.png"))
                # the whole side panel, unrolled (it scrolls on its own in the page)
                side = page.locator("#gs-side")
                height = side.evaluate("e => e.scrollHeight")
                page.set_viewport_size({"width": 1400, "height": max(900, height + 60)})
                page.wait_for_timeout(300)
                side.screenshot(path=str(out / f"{stem}_result_panel.png"))
                page.set_viewport_size({"width": 1400, "height": 900})
                if page.locator("button.gs-3d").count():
                    page.locator("button.gs-3d").first.click()
                    page.frame_locator("#gs-3d").locator("#gs3d canvas").wait_for(
                        state="visible", timeout=15000)
                    page.wait_for_timeout(1200)
                    page.screenshot(path=str(out / f"{stem}_3d.png"))
                    page.click("#gs-modal-close")
                page.click("#gs-nav-list")
                page.locator("#gs-list li").first.wait_for(state="visible")
                page.screenshot(path=str(out / f"{stem}_list.png"))
                if who == "customer":
                    page.evaluate("location.hash = '#/a/a_0000000000'")
                    page.locator("#view-missing").wait_for(state="visible")
                    page.screenshot(path=str(out / f"web_missing_{lang}.png"))
                for line in log.problems():
                    if "status of 404" in line and who == "customer":
                        continue  # the not-found state asked for a missing application
                    print(f"{stem}: {line}")
                    problems += 1
                page.close()
    return problems


if __name__ == "__main__":
    raise SystemExit(main())
