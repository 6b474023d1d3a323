"""Many parks: every park of a city through Dask, a checkpoint per park, resumable.

Each park's folder holds the heat map of its neighbourhood; ``OUT/capacity_heatmap.geojson`` is
the whole network's after every park.

Parks that could share a substation (a substation of any connection candidate of their parcels,
or of the new feeders their park assets may take; :func:`_groups`) are planned **in a stated
reservation order**: by ``park_id``, each park sees the
reservations of the parks before it in its group (its task waits for theirs); groups that share
nothing run in parallel. The order is written in ``index.json``.

Checkpoints: a park's files go to ``OUT/parks/<park_id>/``; ``done.json`` (its result and the
reservations after it) is written last, atomically. A resumed run skips every park with a
``done.json`` and hands its reservations to the parks after it, so an interrupted run loses no
finished park and computes none twice. Results are deterministic when the joint model stops on
its gap (not its time limit).

Dask: ``scheduler=None`` starts a ``LocalCluster`` on this machine (``workers`` processes, one
thread each), an address uses that cluster, ``workers=0`` runs in this process without Dask.
Each worker process compiles the network once (the compiled-view cache makes that a file read).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from scipy.spatial import cKDTree

from grid_models.errors import GridSchemeError, InputError

from .output import write_json

_WORKER_PLANNERS: dict[tuple[str, str], Any] = {}
_SAFE = re.compile(r"[^0-9A-Za-z_\-\u4e00-\u9fff]+")


def safe_name(park_id: str) -> str:
    """A folder name for a park id (ids are user text)."""
    s = _SAFE.sub("_", str(park_id)).strip("._")[:80]
    return s or "park"


def read_parks(path: str | Path) -> dict[str, tuple[gpd.GeoDataFrame, Any]]:
    """Parks by id: a file with a ``park_id`` column, or a folder of parcels files."""
    from .parcels import read_parcels_file

    p = Path(path)
    parks: dict[str, tuple[gpd.GeoDataFrame, Any]] = {}
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".gpkg", ".geojson", ".json"))
        if not files:
            raise InputError(f"--parks {p}: no .gpkg / .geojson files", field="parks")
        for f in files:
            parks[f.stem] = read_parcels_file(f)
        return parks
    gdf, _ = read_parcels_file(p)
    col = "park_id" if "park_id" in gdf.columns else "园区编号" if "园区编号" in gdf.columns else None
    if col is None:
        raise InputError(f"--parks {p}: no park_id column (or give a folder of parcels files)",
                         field="park_id")
    for pid, g in gdf.groupby(gdf[col].astype(str), sort=True):
        parks[str(pid)] = (g.reset_index(drop=True), None)
    return parks


def _groups(planner: Any, parks: dict[str, tuple[gpd.GeoDataFrame, Any]],
            settings: Any = None) -> list[list[str]]:
    """Parks that may reach a common substation, chained in park-id order (union-find).

    A park's reach is every substation of every connection candidate of its parcels at every
    voltage level the rules allow them (the engine's own candidate search, without routing),
    and the substations of the new park feeders it may build (the sources of its park
    assets): every element a park can reserve on belongs to one of them. A park whose parcels
    cannot be read falls back to every substation within the widest search radius.
    """
    from .. import rules
    from ..candidates import find_candidates
    from .assets import park_assets
    from .parcels import check_parcels
    from .settings import park_settings

    cn, pol = planner.cn, planner.policy
    st = settings or park_settings(pol)
    r_max = max(float(v) for v in pol.table("voltage_levels")["candidate_search_radius_max_m"])
    tree = cKDTree(cn.ss_xy) if len(cn.ss_xy) else None
    ids = sorted(parks)
    lv_all = np.array(list(planner._conductors))
    reach: list[set[int]] = []
    for pid in ids:
        g = parks[pid][0]
        try:
            park = check_parcels(g, planner, park_id=pid, on_bad="skip")
            rs: set[int] = set()
            xy = park.parcels[["x", "y"]].to_numpy(float)
            for k, kva in enumerate(park.parcels["requested_kva"].to_numpy(float)):
                for lv in rules.voltage_levels(pol, float(kva), lv_all, None):
                    c = find_candidates(cn, xy[k], float(lv), pol)
                    rs.update(int(x) for x in np.unique(c.substation[c.substation >= 0]))
            a = park_assets(planner, park, st) if len(park) else None
            if a is not None:
                rs.update(int(x) for x in a.src_ss)
            reach.append(rs)
            continue
        except (GridSchemeError, ValueError):
            pass
        if tree is None or g.crs is None or not len(g):
            reach.append(set())
            continue
        m = g.to_crs(cn.crs).geometry
        ok = m.notna() & ~m.is_empty
        if not ok.any():
            reach.append(set())
            continue
        b = m[ok].total_bounds
        centre = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])
        rad = float(np.hypot(b[2] - b[0], b[3] - b[1]) / 2) + r_max
        reach.append(set(int(i) for i in tree.query_ball_point(centre, rad)))
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for i, rs in enumerate(reach):
        for s in rs:
            if s in owner:
                parent[find(i)] = find(owner[s])
            else:
                owner[s] = i
    groups: dict[int, list[str]] = {}
    for i, pid in enumerate(ids):
        groups.setdefault(find(i), []).append(pid)
    return sorted(groups.values(), key=lambda g: g[0])


def _get_planner(network: str, policy_name: str) -> Any:
    key = (str(network), policy_name)
    pl = _WORKER_PLANNERS.get(key)
    if pl is None:
        from grid_models.cache import load_compiled
        from grid_models.policy import load_policy

        from ..engine import Planner

        policy = load_policy(policy_name)
        pl = Planner(load_compiled(network, policy).compiled, policy)
        _WORKER_PLANNERS[key] = pl
    return pl


def plan_one(network: str, policy_name: str, park_id: str, parcels_json: str,
             prior_json: dict | None, out_dir: str, settings: dict, on_bad: str,
             solver: str, lang: str) -> dict:
    """Plan one park in a worker and write its checkpoint (returns ``done.json``'s content)."""
    from .ledger import Ledger
    from .output import write_park_outputs
    from .parcels import check_parcels
    from .plan import plan_park
    from .settings import ParkSettings

    planner = _get_planner(network, policy_name)
    folder = Path(out_dir) / "parks" / safe_name(park_id)
    done = folder / "done.json"
    if done.exists():  # finished by an earlier attempt of this task
        return json.loads(done.read_text(encoding="utf-8"))
    gdf = gpd.read_file(parcels_json)
    prior = Ledger.from_json(planner.cn, prior_json) if prior_json else None
    try:
        park = check_parcels(gdf, planner, park_id=park_id, on_bad=on_bad)
        res = plan_park(planner, park, settings=ParkSettings(**settings), prior=prior,
                        solver=solver)
    except InputError as exc:
        doc = {"park_id": park_id, "status": "failed", "error": str(exc),
               "reservations": prior_json}
        write_json(done, doc)
        return doc
    # the park's neighbourhood only: the city's map is written once at the end of the run
    write_park_outputs(planner, res, folder, lang, heatmap_extent="park")
    stats = {k: v for k, v in res.stats.items() if "seconds" not in k}  # timings vary
    doc = {"park_id": park_id, "status": "done", "stats": stats,
           "parcels": json.loads(res.parcels.to_json(orient="records")),
           "reservations": res.ledger.to_json()}
    write_json(done, doc)
    return doc


def run_many(network: str, parks_path: str, out: str, *, settings: Any, policy_name: str,
             scheduler: str | None = None, workers: int | None = None, on_bad: str = "skip",
             solver: str = "highs", lang: str = "zh", progress: bool = True,
             planner: Any = None) -> dict[str, Any]:
    """Plan every park (see the module notes); the run's summary (also ``OUT/index.json``)."""
    from dataclasses import asdict

    from tqdm import tqdm

    t0 = time.perf_counter()
    network = str(Path(network).resolve())
    outp = Path(out).resolve()
    outp.mkdir(parents=True, exist_ok=True)
    planner = planner or _get_planner(network, policy_name)
    _WORKER_PLANNERS[(str(network), policy_name)] = planner
    parks = read_parks(parks_path)
    groups = _groups(planner, parks, settings)
    st = asdict(settings)
    files: dict[str, str] = {}
    for pid, (g, _) in parks.items():
        f = outp / "parks" / safe_name(pid) / "parcels.input.geojson"
        f.parent.mkdir(parents=True, exist_ok=True)
        if not f.exists():
            tmp = f.with_name(f.name + ".tmp")
            tmp.write_text(g.to_crs("EPSG:4326").to_json(default=str), encoding="utf-8")
            os.replace(tmp, f)
        files[pid] = str(f)

    def done_doc(pid: str) -> dict | None:
        d = outp / "parks" / safe_name(pid) / "done.json"
        return json.loads(d.read_text(encoding="utf-8")) if d.exists() else None

    resumed = sum(1 for pid in parks if done_doc(pid) is not None)
    bar = tqdm(total=len(parks), initial=resumed, desc="parks", unit="park", disable=not progress)
    results: dict[str, dict] = {}
    args = (policy_name,)
    if workers == 0 and scheduler is None:
        for grp in groups:
            prior: dict | None = None
            for pid in grp:
                doc = done_doc(pid)
                if doc is None:
                    doc = plan_one(network, *args, pid, files[pid], prior, str(outp), st,
                                   on_bad, solver, lang)
                    bar.update(1)
                results[pid] = doc
                prior = doc.get("reservations")
    else:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            n = workers if workers else min(os.cpu_count() or 1, 4)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            futs = []
            for grp in groups:
                # the reservations before each park: a done park's, or the future of the
                # park planned before it (dask passes its result to _chain)
                prior_dep: object = None
                for pid in grp:
                    doc = done_doc(pid)
                    if doc is not None:
                        results[pid] = doc
                        prior_dep = doc.get("reservations")
                        continue
                    fut = client.submit(_chain, network, policy_name, pid, files[pid], prior_dep,
                                        str(outp), st, on_bad, solver, lang, key=f"park-{pid}",
                                        pure=False)
                    futs.append(fut)
                    prior_dep = fut
            for fut in as_completed(futs):
                doc = fut.result()
                results[doc["park_id"]] = doc
                bar.update(1)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    bar.close()
    dt = time.perf_counter() - t0
    computed = len(parks) - resumed
    index = {"network": str(network), "n_parks": len(parks),
             "reservation_order": groups,
             "order_rule": "parks that may reach a common substation are planned in park_id "
                           "order, each with the reservations of those before it; other "
                           "groups independently",
             "parks": [{"park_id": pid, "folder": str(Path("parks") / safe_name(pid)),
                        "status": results.get(pid, {}).get("status", "missing"),
                        "n_reserved": (results.get(pid, {}).get("stats") or {}).get("n_reserved"),
                        "n_unserved": (results.get(pid, {}).get("stats") or {}).get("n_unserved")}
                       for pid in sorted(parks)]}
    write_json(outp / "index.json", index)
    heat = _city_heatmap(planner, groups, results)
    write_json(outp / "capacity_heatmap.geojson", heat, compact=True)
    return {"n_parks": len(parks), "computed": computed, "resumed": resumed, "seconds": dt,
            "parks_per_minute": computed / dt * 60 if dt > 0 else 0.0,
            "index": str(outp / "index.json")}


def _city_heatmap(planner: Any, groups: list[list[str]], results: dict[str, dict]) -> dict:
    """The whole network's heat map after every park's reservations (the last park of each
    reservation chain holds its chain's; independent chains add up)."""
    from .heatmap import capacity_heatmap
    from .ledger import Ledger

    total = Ledger.empty(planner.cn)
    for grp in groups:
        for pid in reversed(grp):
            doc = (results.get(pid) or {}).get("reservations")
            if doc:
                total.merge(Ledger.from_json(planner.cn, doc))
                break
    return capacity_heatmap(planner.cn, planner.policy, total)


def _chain(network: str, policy_name: str, pid: str, file: str, prior: Any, out: str,
           st: dict, on_bad: str, solver: str, lang: str) -> dict:
    """A Dask task: ``prior`` is the previous park's ``done.json`` content (a resolved future)
    or the reservations of a checkpointed one."""
    if isinstance(prior, dict) and "reservations" in prior and "park_id" in prior:
        prior = prior.get("reservations")
    return plan_one(network, policy_name, pid, file, prior, out, st, on_bad, solver, lang)
