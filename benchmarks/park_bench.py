"""Park planning benchmark (not a test): a 2,000-parcel park on the L city, HiGHS vs CP-SAT side
by side, and a 50-park run through a Dask LocalCluster.

    .venv/bin/python -m benchmarks.park_bench [--parcels 2000] [--parks 50] [--time-limit 30]

Writes ``benchmarks/results/park_bench.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

OUT = Path(__file__).resolve().parent / "results"


def parcels_grid(cx: float, cy: float, n: int, size: float, crs, prefix: str) -> gpd.GeoDataFrame:
    side = int(np.ceil(np.sqrt(n)))
    rng = np.random.default_rng(7)
    rows = []
    for k in range(n):
        i, j = divmod(k, side)
        x0, y0 = cx + (i - side / 2) * size, cy + (j - side / 2) * size
        rows.append({"parcel_id": f"{prefix}{k:05d}",
                     "land_use": ["M1", "M2", "W", "B", "R", "A"][int(rng.integers(6))],
                     "plot_ratio": float(rng.choice([0.8, 1.0, 1.5, 2.0])),
                     "planned_year": 2026 + int(rng.integers(4)),
                     "geometry": shapely.box(x0, y0, x0 + size * 0.9, y0 + size * 0.9)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=2000)
    ap.add_argument("--parks", type=int, default=50)
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    from grid_models.io import write_network
    from grid_models.policy import load_policy
    from grid_models.synth import synth_city
    from scheme_engine.engine import Planner
    from scheme_engine.park import check_parcels, park_settings, plan_park
    from scheme_engine.park.many import run_many

    OUT.mkdir(parents=True, exist_ok=True)
    work = OUT / "park_work"
    work.mkdir(exist_ok=True)
    t = time.perf_counter()
    net = synth_city("L", seed=1)
    net_path = work / "L.gpkg"
    if not net_path.exists():
        write_network(net, net_path)
    pol = load_policy()
    planner = Planner(net, pol)
    report: dict = {"network": "synth_city('L', seed=1)", "setup_s": round(time.perf_counter() - t, 1)}
    cn = planner.cn
    cx, cy = np.median(cn.node_xy[cn.node_feeder >= 0], axis=0)
    g = parcels_grid(cx, cy, a.parcels, 45.0, cn.crs, "L")
    t = time.perf_counter()
    park = check_parcels(g, planner, park_id="L2000")
    t_check = time.perf_counter() - t
    rows = []
    for solver in ("highs", "cpsat"):
        st = park_settings(pol).replace(time_limit_s=a.time_limit, mip_gap=0.01)
        t = time.perf_counter()
        res = plan_park(planner, park, settings=st, solver=solver)
        wall = time.perf_counter() - t
        s = res.stats
        rows.append({"solver": solver, "wall_s": round(wall + t_check, 2),
                     "options_s": s["seconds_options"], "solve_s": s["seconds"],
                     "objective": round(s["objective"], 0), "bound": round(s["bound"], 0),
                     "gap": s["gap"], "status": s["status"],
                     "greedy_objective": round(s["greedy_objective"], 0),
                     "reserved": s["n_reserved"], "unserved": s["n_unserved"],
                     "n_options": s["n_options"], "n_rows": s["n_rows"]})
        print(rows[-1], flush=True)
    report["park_2000"] = {"parcels": a.parcels, "check_s": round(t_check, 2), "runs": rows}
    # 50 parks of 20 parcels spread over the city
    rng = np.random.default_rng(3)
    pts = cn.node_xy[cn.node_feeder >= 0]
    centres = pts[rng.choice(len(pts), a.parks, replace=False)]
    parts = []
    for k, (x, y) in enumerate(centres):
        gk = parcels_grid(x, y, 20, 70.0, cn.crs, f"K{k:02d}-")
        gk["park_id"] = f"K{k:02d}"
        parts.append(gk)
    parks_file = work / "parks50.geojson"
    pd.concat(parts).to_crs("EPSG:4326").to_file(parks_file, driver="GeoJSON")
    out = work / "many"
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    st = park_settings(pol).replace(time_limit_s=a.time_limit, mip_gap=0.01)
    t = time.perf_counter()
    summ = run_many(str(net_path), str(parks_file), str(out), settings=st, policy_name="default",
                    workers=a.workers, progress=False)
    report["many_50"] = {"parks": a.parks, "workers": a.workers,
                         "wall_s": round(time.perf_counter() - t, 1),
                         "parks_per_minute": round(summ["parks_per_minute"], 1),
                         "groups": len(json.loads(Path(summ["index"]).read_text())["reservation_order"])}
    print(report["many_50"], flush=True)
    (OUT / "park_bench.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
