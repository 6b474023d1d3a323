"""3D preview candidates: the same schemes with three.js (ours), plotly and deck.gl (pydeck).

Not part of the tests; needs ``pip install plotly pydeck`` (not project dependencies) and the
``browser`` extra. Writes three pages to benchmarks/results/viz3d/ and prints their size and
load time in headless chromium (median of 3 after a warm-up). Results: docs/viz.md.

    .venv/bin/python -m benchmarks.viz_3d_candidates
"""
# ruff: noqa
import gzip, re, statistics, sys, time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results" / "viz3d"
OUT.mkdir(parents=True, exist_ok=True)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.viz_plans import plan
from viz.preview3d import write_preview3d, scene_data
doc = plan("taps")
write_preview3d(doc, OUT / "three.html", "zh")
sc = scene_data(doc, "zh")

import plotly.graph_objects as go
fig = go.Figure()
for s in sc["schemes"]:
    for c in s["circuits"]:
        xs, ys = zip(*c["path"])
        fig.add_trace(go.Scatter3d(x=xs, y=ys, z=[c.get("pole_height", 0.5)] * len(xs), mode="lines",
                                   line=dict(color=s["colour"], width=5), name=s["title"]))
        if "poles" in c:
            px, py, pz = [], [], []
            for p in c["poles"]:
                px += [p[0], p[0], None]; py += [p[1], p[1], None]; pz += [0, c["pole_height"], None]
            fig.add_trace(go.Scatter3d(x=px, y=py, z=pz, mode="lines", line=dict(color="#888", width=3), showlegend=False))
    for cn in s["connections"]:
        x, y, w, d, h = cn["x"], cn["y"], cn["w"], cn["d"], cn["h"]
        fig.add_trace(go.Mesh3d(x=[x-w/2, x+w/2, x+w/2, x-w/2]*2, y=[y-d/2, y-d/2, y+d/2, y+d/2]*2,
                                z=[0]*4+[h]*4, alphahull=0, color="#9aa5b1", showlegend=False))
fig.update_layout(scene=dict(aspectmode="data"))
fig.write_html(str(OUT / "plotly.html"), include_plotlyjs=True)

import pydeck as pdk
paths, cols = [], []
for s in sc["schemes"]:
    for c in s["circuits"]:
        paths.append({"path": [[doc["application"]["lon"] + p[0] / 85000, doc["application"]["lat"] + p[1] / 111000] for p in c["path"]], "colour": [200, 40, 40]})
        for p in c.get("poles", []):
            cols.append({"pos": [doc["application"]["lon"] + p[0] / 85000, doc["application"]["lat"] + p[1] / 111000], "h": c["pole_height"]})
layers = [pdk.Layer("PathLayer", paths, get_path="path", get_color="colour", get_width=3, width_min_pixels=3),
          pdk.Layer("ColumnLayer", cols, get_position="pos", get_elevation="h", radius=1, get_fill_color=[120, 120, 120])]
deck = pdk.Deck(layers=layers, initial_view_state=pdk.ViewState(longitude=doc["application"]["lon"], latitude=doc["application"]["lat"], zoom=15, pitch=50), map_style=None)
html = deck.to_html(as_string=True, offline=True)
# strip the template's CDN tags (recipes.md)
html = re.sub(r'<(script|link)[^>]*(?:src|href)="https?://[^"]*"[^>]*>(</script>)?', "", html)
open(OUT / "deckgl.html", "w", encoding="utf-8").write(html)

from viz.browser import browser_context

names = ["three", "plotly", "deckgl"]
res = {}
with browser_context() as ctx:
    for rep in range(4):
        for n in names:
            page = ctx.new_page()
            blocked = []
            page.route("**/*", lambda r: (blocked.append(r.request.url), r.abort()) if not r.request.url.startswith(("file:", "data:", "blob:")) else r.continue_())
            errs = []
            page.on("pageerror", lambda e: errs.append(str(e)))
            t0 = time.perf_counter()
            page.goto((OUT / f"{n}.html").as_uri(), wait_until="load")
            t_load = time.perf_counter() - t0
            # first non-blank canvas (WebGL draw finished)
            page.wait_for_function("""() => { const c = [...document.querySelectorAll('canvas')].find(c => c.width > 100);
                 return !!c; }""", timeout=20000)
            page.wait_for_timeout(50)
            t_canvas = time.perf_counter() - t0
            res.setdefault(n, []).append((t_load, t_canvas, len(blocked), len(errs)))
            page.close()
for n in names:
    raw = open(OUT / f"{n}.html", "rb").read()
    loads = [r[0] for r in res[n][1:]]; canv = [r[1] for r in res[n][1:]]
    print(f"{n:7s} size {len(raw)/1e6:.2f} MB gzip {len(gzip.compress(raw))/1e6:.2f} MB  load median {statistics.median(loads)*1000:.0f} ms  canvas {statistics.median(canv)*1000:.0f} ms  blocked {res[n][0][2]} errors {res[n][0][3]}")
