"""``gridscheme park plan`` and ``gridscheme park run-many``: park pre-planning (电等客户)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viz.labels import Lang  # type only: viz is imported when a map is written

def add_park_commands(sub: Any) -> None:
    """The ``park`` command group."""
    pk = sub.add_parser("park", help="pre-plan every parcel of a park (or of many parks)")
    psub = pk.add_subparsers(dest="park_command", required=True)
    p = psub.add_parser("plan", help="jointly reserve a scheme for every parcel of one park")
    p.add_argument("--network", required=True, help="NET.gpkg or GeoJSON folder")
    p.add_argument("--parcels", required=True, help="parcels GeoPackage / GeoJSON (parcel_id, "
                   "land_use or planned_kva; optional tier, industry, planned_year, plot_ratio)")
    p.add_argument("--layer", help="layer of the parcels file (default: 'parcels' or its only one)")
    p.add_argument("--park-id", help="park id (default: the parcels file's name)")
    _common(p)
    p.set_defaults(func=run_park_plan)
    r = psub.add_parser("run-many", help="plan many parks (Dask; checkpoint per park, resumable)")
    r.add_argument("--network", required=True)
    r.add_argument("--parks", required=True, help="a parcels file with a park_id column, or a "
                   "folder of parcels files (one park each)")
    r.add_argument("--scheduler", help="address of an existing Dask scheduler (default: a "
                   "LocalCluster on this machine)")
    r.add_argument("--workers", type=int, default=None,
                   help="LocalCluster worker processes (default: CPU count, at most 4); "
                        "0 runs in this process without Dask")
    _common(r)
    r.set_defaults(func=run_park_many)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds for the joint model (policy park_planning.time_limit_s)")
    p.add_argument("--gap", type=float, default=None,
                   help="relative gap of the costs (unserved penalties excluded) to stop at "
                        "(policy park_planning.mip_gap, e.g. 0.01)")
    p.add_argument("--on-bad", default="skip", choices=["skip", "fail"],
                   help="bad parcels: list and plan the others (skip) or stop (fail)")
    p.add_argument("--solver", default="highs", choices=["highs", "cpsat"])
    p.add_argument("--policy", default="default", help="policy profile name, folder or YAML")
    p.add_argument("--lang", default="zh", choices=["zh", "en"])
    p.add_argument("--no-map", action="store_true", help="do not write the HTML park map")
    p.add_argument("--no-cache", action="store_true",
                   help="read and compile the network afresh (default: cached compiled view)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _settings(planner: Any, args: argparse.Namespace) -> Any:
    from grid_models.errors import InputError
    from scheme_engine.park import park_settings

    if args.time_limit is not None and not args.time_limit > 0:
        raise InputError(f"--time-limit {args.time_limit}: give seconds > 0", field="time_limit")
    if args.gap is not None and not 0 <= args.gap < 1:
        raise InputError(f"--gap {args.gap}: give a fraction in [0, 1), e.g. 0.01",
                         field="gap")
    return park_settings(planner.policy).replace(time_limit_s=args.time_limit,
                                                 mip_gap=args.gap)


def load_planner(network: str, policy_name: str, no_cache: bool = False) -> Any:
    """A planner of a network file (compiled view cached by content)."""
    from grid_models.cache import load_compiled
    from grid_models.policy import load_policy
    from scheme_engine.engine import Planner

    policy = load_policy(policy_name)
    entry = load_compiled(network, policy, use_cache=not no_cache)
    return Planner(entry.compiled, policy)


def run_park_plan(args: argparse.Namespace) -> int:
    """Plan one park and write its files."""
    from tqdm import tqdm  # (here: `gridscheme plan` builds this parser too)

    from scheme_engine.park import check_parcels, plan_park, read_parcels_file
    from scheme_engine.park.output import write_park_outputs

    steps = ["network", "parcels", "options", "model", "solve", "files"]
    bar = tqdm(total=len(steps), desc="park", unit="step", disable=args.quiet, file=sys.stderr)

    def tick(step: str) -> None:
        bar.set_postfix_str(step)
        bar.update(1)

    planner = load_planner(args.network, args.policy, args.no_cache)
    tick("network")
    st = _settings(planner, args)
    gdf, boundary = read_parcels_file(args.parcels, args.layer)
    park_id = args.park_id or Path(args.parcels).stem
    park = check_parcels(gdf, planner, park_id=park_id, boundary=boundary, on_bad=args.on_bad)
    tick("parcels")
    res = plan_park(planner, park, settings=st, solver=args.solver, progress=tick)
    paths = write_park_outputs(planner, res, args.out, args.lang)
    if not args.no_map:
        paths["map"] = write_map(planner, res, Path(args.out) / "park_map.html", args.lang,
                                 args.network)
    tick("files")
    bar.close()
    s = res.stats
    zh = args.lang == "zh"
    print((f"园区 {park_id}: 地块 {s['n_parcels'] + s['n_bad']}，已预留 {s['n_reserved']}，"
           f"未能供电 {s['n_unserved']}，数据有误 {s['n_bad']}；"
           f"目标值 {s['objective']:,.0f}，下界 {s['bound']:,.0f}，gap {s['gap']:.2%}"
           f"（不含未供罚项 {s['gap_costs']:.2%}）"
           f"（{s['solver']}，{s['status']}）；逐个预留目标值 {s['greedy_objective']:,.0f}")
          if zh else
          (f"park {park_id}: {s['n_parcels'] + s['n_bad']} parcels, {s['n_reserved']} reserved, "
           f"{s['n_unserved']} unserved, {s['n_bad']} bad; objective {s['objective']:,.0f}, "
           f"bound {s['bound']:,.0f}, gap {s['gap']:.2%} (of costs {s['gap_costs']:.2%}; "
           f"{s['solver']}, {s['status']}); "
           f"greedy objective {s['greedy_objective']:,.0f}"))
    for k, v in paths.items():
        print(f"  {k}: {v}")
    return 0


def write_map(planner: Any, res: Any, path: Path, lang: Lang, network: str | None = None
              ) -> Path:
    """The designer park map (parcels, routes, new assets, heat map after reservations)."""
    from scheme_engine.park.heatmap import capacity_heatmap
    from scheme_engine.park.output import geodata
    from viz.maps.park_map import write_park_map

    layers = geodata(planner, res)
    fc = {k: json.loads(v.to_json(default=str)) for k, v in layers.items()}
    from scheme_engine.park.output import park_bbox

    # the map shows the park's neighbourhood: its heat map need not hold the whole city
    heat = capacity_heatmap(planner.cn, planner.policy, res.ledger,
                            bbox=park_bbox(planner, res))
    roads = None
    if network:
        roads = _roads_near(network, layers["parcels"])
    from scheme_engine.park.summary import park_summary

    return write_park_map(path, lang, parcels=fc["parcels"], routes=fc["routes"],
                          new_assets=fc["new_assets"], capacity=heat, roads=roads,
                          title=res.park_id, summary=park_summary(planner, res))


def _roads_near(network: str, parcels: Any) -> dict | None:
    try:
        import geopandas as gpd
        import shapely

        if not len(parcels):
            return None
        box = shapely.box(*parcels.total_bounds).buffer(0.02)
        roads = gpd.read_file(network, layer="roads", bbox=tuple(
            gpd.GeoSeries([box], crs="EPSG:4326").to_crs(gpd.read_file(
                network, layer="roads", rows=1).crs).total_bounds))
        if not len(roads):
            return None
        cols = [c for c in ("id", "road_class") if c in roads.columns]
        return json.loads(roads[cols + ["geometry"]].to_crs("EPSG:4326").to_json())
    except Exception:  # roads are context only; a folder network or odd file: no roads
        return None


def run_park_many(args: argparse.Namespace) -> int:
    """Plan many parks through Dask with a checkpoint per park (resumable)."""
    from scheme_engine.park.many import run_many

    planner = load_planner(args.network, args.policy, args.no_cache)
    st = _settings(planner, args)
    summary = run_many(args.network, args.parks, args.out, settings=st,
                       policy_name=args.policy, scheduler=args.scheduler, workers=args.workers,
                       on_bad=args.on_bad, solver=args.solver, lang=args.lang,
                       progress=not args.quiet, planner=planner)
    zh = args.lang == "zh"
    print((f"园区 {summary['n_parks']} 个：本次计算 {summary['computed']}，已有检查点 "
           f"{summary['resumed']}；用时 {summary['seconds']:.1f} s（{summary['parks_per_minute']:.1f} 个/分钟）"
           f"；结果 {summary['index']}") if zh else
          (f"{summary['n_parks']} parks: {summary['computed']} computed, {summary['resumed']} "
           f"from checkpoints; {summary['seconds']:.1f} s ({summary['parks_per_minute']:.1f} "
           f"parks/min); results {summary['index']}"))
    return 0
