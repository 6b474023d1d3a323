"""Park planning benchmark (not a test): a 2,000-parcel park on the L city with HiGHS and CP-SAT
side by side on the same joint model, and a 50-park run through a Dask LocalCluster.

    .venv/bin/python -m benchmarks.park_bench                 # both parts, defaults below
    .venv/bin/python -m benchmarks.park_bench --skip-many     # the 2,000-parcel park only
    .venv/bin/python -m benchmarks.park_bench --skip-park     # the 50 parks only

Part 1 plans the park once end to end (``plan_park``, HiGHS, ``--time-limit`` s, ``--gap``),
then gives the *same* joint model to HiGHS and to CP-SAT (hinted with the greedy solution, as
``--solver cpsat`` does), each with the same time limit and the same stopping gap (the gap of
the costs, :func:`scheme_engine.park.solve.cost_gap_target`). Part 2 plans ``--parks`` parks
of ``--park-parcels`` parcels each through ``run_many`` on a LocalCluster of ``--workers``
processes (one thread each), ``--many-time-limit`` s per park. Wall and CPU seconds are
reported (CPU: this process, and for part 2 the workers' too): the machine is shared.

Writes ``benchmarks/results/park_bench.json`` (git-ignored) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

OUT = Path(__file__).resolve().parent / "results"


def parcels_grid(cx: float, cy: float, n: int, size: float, crs, prefix: str,
                 seed: int = 7) -> gpd.GeoDataFrame:
    """``n`` square parcels of ``size`` m on a grid around ``(cx, cy)`` (metric): land uses,
    plot ratios and planned years drawn with ``seed``."""
    side = int(np.ceil(np.sqrt(n)))
    rng = np.random.default_rng(seed)
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


def _solver_row(name: str, m, sol, wall: float, cpu: float) -> dict:
    u = m.blocks["u"]
    pen = float(m.c[u] @ sol.v[u]) if np.isfinite(sol.objective) else float("nan")
    cost = sol.objective - pen
    abs_gap = sol.objective - sol.bound if np.isfinite(sol.bound) else float("inf")
    abs_gap = 0.0 if abs_gap <= 1e-9 * max(1.0, abs(sol.objective)) else abs_gap
    return {"solver": name, "status": sol.status, "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "objective": round(sol.objective, 0),
            "bound": round(sol.bound, 0) if np.isfinite(sol.bound) else None,
            "gap": round(sol.gap, 6), "gap_costs": round(abs_gap / cost, 6) if cost > 0 else None,
            "served": int(m.n_parcels - round(float(sol.v[u].sum())))}


def bench_park(planner, n: int, size: float, time_limit: float, gap: float) -> dict:
    """Part 1 (see the module notes)."""
    from scheme_engine.park import check_parcels, park_settings, plan_park
    from scheme_engine.park.solve import (
        cost_gap_target,
        greedy,
        solve_cpsat,
        solve_highs,
        violation,
    )

    cn = planner.cn
    cx, cy = np.median(cn.node_xy[cn.node_feeder >= 0], axis=0)
    g = parcels_grid(cx, cy, n, size, cn.crs, "L")
    t = time.perf_counter()
    park = check_parcels(g, planner, park_id=f"L{n}")
    t_check = time.perf_counter() - t
    st = park_settings(planner.policy).replace(time_limit_s=time_limit, mip_gap=gap)
    c0, t = time.process_time(), time.perf_counter()
    res = plan_park(planner, park, settings=st)
    wall, cpu = time.perf_counter() - t, time.process_time() - c0
    s = res.stats
    out = {"parcels": n, "parcel_size_m": size, "good": len(park), "bad": int(len(park.bad)),
           "check_s": round(t_check, 2), "time_limit_s": time_limit, "mip_gap": gap,
           "plan": {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                    "options_s": s["seconds_options"], "model_s": s["seconds_model"],
                    "solve_s": s["seconds"], "status": s["status"],
                    "objective": round(s["objective"], 0), "bound": round(s["bound"], 0),
                    "gap": round(s["gap"], 6), "gap_costs": round(s["gap_costs"], 6),
                    "greedy_objective": round(s["greedy_objective"], 0),
                    "reserved": s["n_reserved"], "unserved": s["n_unserved"],
                    "kinds": {str(k): int(v) for k, v in
                              res.parcels["kind"].value_counts().items()},
                    "new_assets": [a["asset"] for a in res.new_assets],
                    "n_options": s["n_options"], "n_rows": s["n_rows"], "n_vars": s["n_vars"]}}
    m = res.model
    rows = []
    c0, t = time.process_time(), time.perf_counter()
    base = greedy(m)
    rows.append(_solver_row("greedy", m, base, time.perf_counter() - t, time.process_time() - c0))
    # both solvers stop at the same target: the gap of the costs (cost_gap_target)
    rel = cost_gap_target(m, base, gap)
    out["solver_rel_gap"] = rel
    c0, t = time.process_time(), time.perf_counter()
    h = solve_highs(m, time_limit, rel)
    rows.append(_solver_row("highs", m, h, time.perf_counter() - t, time.process_time() - c0))
    c0, t = time.process_time(), time.perf_counter()
    c = solve_cpsat(m, time_limit, rel, hint=base.v)
    rows.append(_solver_row("cpsat", m, c, time.perf_counter() - t, time.process_time() - c0))
    for r, sol in zip(rows, (base, h, c), strict=True):
        r["feasible"] = bool(np.isfinite(sol.objective) and violation(m, sol.v) <= 1e-5)
    out["solvers"] = rows
    return out


def bench_many(net_path: Path, planner, n_parks: int, per_park: int, time_limit: float,
               gap: float, workers: int, work: Path) -> dict:
    """Part 2 (see the module notes)."""
    from dask.distributed import Client, LocalCluster

    from scheme_engine.park import park_settings
    from scheme_engine.park.many import run_many

    cn = planner.cn
    rng = np.random.default_rng(3)
    pts = cn.node_xy[cn.node_feeder >= 0]
    centres = pts[rng.choice(len(pts), n_parks, replace=False)]
    parts = []
    for k, (x, y) in enumerate(centres):
        gk = parcels_grid(x, y, per_park, 70.0, cn.crs, f"K{k:02d}-", seed=k)
        gk["park_id"] = f"K{k:02d}"
        parts.append(gk)
    parks_file = work / f"parks{n_parks}.geojson"
    pd.concat(parts).to_crs("EPSG:4326").to_file(parks_file, driver="GeoJSON")
    out = work / "many"
    shutil.rmtree(out, ignore_errors=True)
    st = park_settings(planner.policy).replace(time_limit_s=time_limit, mip_gap=gap)
    c0, t = time.process_time(), time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    t_cluster = time.perf_counter() - t
    try:
        summ = run_many(str(net_path), str(parks_file), str(out), settings=st,
                        policy_name="default", scheduler=cluster.scheduler_address,
                        progress=False, planner=planner)
        wall = time.perf_counter() - t

        def cpu() -> float:
            import psutil

            c = psutil.Process().cpu_times()
            return c.user + c.system

        w_cpu = sum(client.run(cpu).values())
    finally:
        client.close()
        cluster.close()
    index = json.loads(Path(summ["index"]).read_text(encoding="utf-8"))
    stats = [json.loads((out / p["folder"] / "done.json").read_text(encoding="utf-8"))
             .get("stats") or {} for p in index["parks"]]
    gaps = [s.get("gap") for s in stats if s.get("gap") is not None]
    gcs = [s.get("gap_costs") for s in stats if s.get("gap_costs") is not None]
    stat = [s.get("status") for s in stats]
    return {"parks": n_parks, "parcels_per_park": per_park, "workers": workers,
            "time_limit_s": time_limit, "cluster_start_s": round(t_cluster, 1),
            "wall_s": round(wall, 1), "run_many_s": round(summ["seconds"], 1),
            "parks_per_minute": round(n_parks / wall * 60, 1),
            "parks_per_minute_run_many": round(summ["parks_per_minute"], 1),
            "driver_cpu_s": round(time.process_time() - c0, 1),
            "workers_cpu_s": round(w_cpu, 1),
            "reservation_groups": len(index["reservation_order"]),
            "largest_group": max(len(g) for g in index["reservation_order"]),
            "done": sum(p["status"] == "done" for p in index["parks"]),
            "reserved": int(sum(s.get("n_reserved", 0) for s in stats)),
            "unserved": int(sum(s.get("n_unserved", 0) for s in stats)),
            "max_gap": max(gaps) if gaps else None,
            "max_gap_costs": max(gcs) if gcs else None,
            "statuses": {k: stat.count(k) for k in sorted(set(map(str, stat)))}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parcels", type=int, default=2000)
    ap.add_argument("--parcel-size", type=float, default=45.0, help="parcel pitch in m")
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--gap", type=float, default=0.01)
    ap.add_argument("--parks", type=int, default=50)
    ap.add_argument("--park-parcels", type=int, default=20)
    ap.add_argument("--many-time-limit", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-park", action="store_true")
    ap.add_argument("--skip-many", action="store_true")
    a = ap.parse_args()
    from grid_models.io import write_network
    from grid_models.policy import load_policy
    from grid_models.synth import synth_city
    from scheme_engine.engine import Planner

    OUT.mkdir(parents=True, exist_ok=True)
    work = OUT / "park_work"
    work.mkdir(exist_ok=True)
    t = time.perf_counter()
    net = synth_city("L", seed=1)
    t_synth = time.perf_counter() - t
    net_path = work / "L.gpkg"
    if not net_path.exists():
        write_network(net, net_path)
    t = time.perf_counter()
    planner = Planner(net, load_policy())
    report: dict = {"network": "synth_city('L', seed=1)", "synth_s": round(t_synth, 1),
                    "planner_s": round(time.perf_counter() - t, 1),
                    "cpus": os.cpu_count(), "load_avg_start": os.getloadavg()}
    if not a.skip_park:
        report["park"] = bench_park(planner, a.parcels, a.parcel_size, a.time_limit, a.gap)
        print(json.dumps(report["park"], indent=1), flush=True)
    if not a.skip_many:
        report["many"] = bench_many(net_path, planner, a.parks, a.park_parcels,
                                    a.many_time_limit, a.gap, a.workers, work)
        print(json.dumps(report["many"], indent=1), flush=True)
    report["load_avg_end"] = os.getloadavg()
    (OUT / "park_bench.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    if "park" in report:
        print("\n| solver | status | wall s | CPU s | objective | bound | gap | gap of costs |"
              " served |\n|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in report["park"]["solvers"]:
            bound = "–" if r["bound"] is None else f"{r['bound']:,.0f}"
            gc = "–" if r["gap_costs"] is None else f"{r['gap_costs']:.4%}"
            print(f"| {r['solver']} | {r['status']} | {r['wall_s']} | {r['cpu_s']} | "
                  f"{r['objective']:,.0f} | {bound} | {r['gap']:.4%} | {gc} | {r['served']} |")

if __name__ == "__main__":
    main()
