"""Render PNG screenshots of the map pages, the 3D preview and the reply letter for review.

    .venv/bin/python scripts/screenshots.py [--out out/screenshots] [--plan PLAN.json]

Without ``--plan`` it plans sample applications on the bundled demo city. Needs the ``browser``
extra and Debian's chromium (and poppler-utils' ``pdftoppm`` for the letter). Every non-local
request is aborted; problems are printed.
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
    ap.add_argument("--web", help="also screenshot this URL (the service's page, later)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

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
        if args.web:
            page, log = open_page(ctx, args.web, wait_ms=1500)
            page.screenshot(path=str(out / "web.png"), full_page=True)
    from viz.letter import write_letter

    for key, doc in plans.items():
        for lang in ("zh", "en"):
            files = write_letter(doc, 1, out / f"letter_{key}_{lang}", lang)
            subprocess.run(["pdftoppm", "-png", "-r", "80", str(files["pdf"]),
                            str(out / f"letter_{key}_{lang}")], check=False)
    print(f"screenshots in {out} ({problems} problems)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
