"""Baselines: what a connection-study script does per application.

The reference points of the benchmark's ratios. Built once per network: a networkx graph of the
road layer (one node per road vertex, edge weight = length in metres), a pandapower net of the
grid (:func:`grid_models.export_pandapower.to_pandapower` when that module exists, else
:func:`build_pandapower` below) and, for the per-feeder baseline, the bus list of every feeder
(from the element tables' ``feeder_id`` columns). Per application:

1. project the customer's lon/lat to the network's metric CRS;
2. find the 10 nearest connectable grid nodes by brute-force numpy distance;
3. snap the customer and the 10 candidates to their nearest road vertex (brute force);
4. one ``networkx.shortest_path_length`` (Dijkstra) from the customer to each candidate;
5. **whole network**: add the customer's load at the candidate with the shortest route and run
   ``pandapower.runpp`` on the whole network, read the lowest voltage and highest line loading,
   remove the load;
6. **per feeder** (what a careful analyst scripts): cut the feeder of that candidate out of the
   whole net with ``pandapower.toolbox.select_subnet`` (its buses and its bus section's busbar,
   timed per application), make the busbar the slack at the bus section's ``vm_pu``, add the
   load there and run ``pandapower.runpp`` on that small net only. A candidate on a busbar (a
   new feeder) gives a net of the busbar alone.

Steps 1-4 are shared: the whole-network baseline is 1-5, the per-feeder baseline 1-4 and 6.
Both deliberately do no more than that (no rules, conductor choice, costs or ranking): the
engine does more work per application, so the ratios understate its advantage.

Run alone: ``python -m benchmarks.baseline_networkx NET.gpkg [--n-apps 20] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from grid_models.network import Network

N_CANDIDATES = 10
CONNECTABLE = ("busbar", "rmu", "switching_station", "pole")


def build_road_graph_nx(roads: pd.DataFrame) -> tuple[nx.Graph, np.ndarray]:
    """A networkx graph of the road lines, as a typical script builds it (line by line).

    Vertices are coordinates rounded to 0.1 m (lines sharing a coordinate join there).

    Returns
    -------
    graph : networkx.Graph
        Nodes are integer vertex ids; edges carry ``length`` (m).
    xy : ndarray, shape (n, 2)
        Coordinates of the vertex ids.
    """
    g = nx.Graph()
    key_of: dict[tuple[float, float], int] = {}
    for geom in roads.geometry.values:
        if geom is None or geom.is_empty:
            continue
        coords = [(round(x, 1), round(y, 1)) for x, y in geom.coords]
        ids = [key_of.setdefault(c, len(key_of)) for c in coords]
        for (a, ca), (b, cb) in zip(zip(ids, coords, strict=True), zip(ids[1:], coords[1:], strict=True),
                                    strict=False):
            if a != b:
                g.add_edge(a, b, length=math.dist(ca, cb))
    xy = np.array(list(key_of), float).reshape(-1, 2)
    return g, xy


def build_pandapower(net: Network):
    """pandapower net of the operating topology (bus index = node position).

    Buses are the nodes; lines the in-service segments not cut by an open switch; closed
    bus-to-bus switches become bus-bus switches; node loads become loads; every busbar node
    gets an external grid at its bus section's ``vm_pu``.
    """
    import pandapower as pp

    L = net.layers
    nodes, segs, sw, bss = L["nodes"], L["segments"], L["switches"], L["bus_sections"]
    pos = pd.Index(nodes["id"])
    pnet = pp.create_empty_network(f_hz=50.0)
    pp.create_buses(pnet, len(nodes), vn_kv=nodes["vn_kv"].to_numpy(), name=nodes["id"].to_numpy(),
                    index=np.arange(len(nodes)))
    open_seg = set(sw.loc[~sw["closed"] & (sw["segment_id"] != ""), "segment_id"])
    fi, ti = pos.get_indexer(segs["from_node"]), pos.get_indexer(segs["to_node"])
    on = (segs["in_service"].to_numpy() & ~segs["id"].isin(open_seg).to_numpy()
          & (fi >= 0) & (ti >= 0))
    s = segs[on]
    pp.create_lines_from_parameters(
        pnet, from_buses=fi[on], to_buses=ti[on],
        length_km=np.maximum(s["length_km"].to_numpy(), 1e-3),
        r_ohm_per_km=s["r_ohm_per_km"].to_numpy(), x_ohm_per_km=s["x_ohm_per_km"].to_numpy(),
        c_nf_per_km=s["c_nf_per_km"].to_numpy(), max_i_ka=s["max_i_ka"].to_numpy(),
        name=s["id"].to_numpy())
    closed = sw[sw["closed"] & (sw["segment_id"] == "")]
    sa, sb = pos.get_indexer(closed["node_a"]), pos.get_indexer(closed["node_b"])
    ok = (sa >= 0) & (sb >= 0)
    if ok.any():
        pp.create_switches(pnet, buses=sa[ok], elements=sb[ok], et="b", closed=True)
    loaded = np.flatnonzero((nodes["p_mw"].to_numpy() != 0) | (nodes["q_mvar"].to_numpy() != 0))
    if loaded.size:
        pp.create_loads(pnet, buses=loaded, p_mw=nodes["p_mw"].to_numpy()[loaded],
                        q_mvar=nodes["q_mvar"].to_numpy()[loaded])
    vm = dict(zip(bss["id"], bss["vm_pu"], strict=True))
    for i in np.flatnonzero((nodes["kind"] == "busbar").to_numpy()):
        pp.create_ext_grid(pnet, bus=int(i), vm_pu=float(vm.get(nodes["bus_section_id"].iat[i], 1.0)))
    return pnet


class Baseline:
    """The baseline of one network (graphs built once in ``__init__``).

    Attributes
    ----------
    setup_times : dict
        ``graph_s`` (networkx road graph), ``pandapower_s`` (pandapower net), ``pandapower_builder``.
    """

    def __init__(self, net: Network) -> None:
        self.net = net
        self.setup_times: dict[str, object] = {}
        t0 = time.perf_counter()
        self.graph, self.road_xy = build_road_graph_nx(net.layers["roads"])
        self.setup_times["graph_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.pnet, self.bus_of_node, self.setup_times["pandapower_builder"] = _pandapower_net(net)
        self.setup_times["pandapower_s"] = time.perf_counter() - t0
        nodes = net.layers["nodes"]
        sel = nodes["kind"].isin(CONNECTABLE).to_numpy()
        self.cand_pos = np.flatnonzero(sel)
        self.cand_xy = shapely.get_coordinates(nodes.geometry.values[sel]).reshape(-1, 2)
        self.to_metric = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True)
        t0 = time.perf_counter()
        self.feeder_buses, self.busbar_of_bs, self.vm_of_bs = _feeder_index(net, self.bus_of_node)
        self.setup_times["feeder_index_s"] = time.perf_counter() - t0

    def plan(self, app: dict) -> dict:
        """One application: nearest candidates, road distances, one power flow."""
        import pandapower as pp
        import pandapower.toolbox as tb

        from load_forecast.industries import get_industry

        t, cpu = {}, {}
        c0 = time.process_time()
        t0 = time.perf_counter()
        x, y = self.to_metric.transform(app["lon"], app["lat"])
        d = np.hypot(self.cand_xy[:, 0] - x, self.cand_xy[:, 1] - y)
        near = np.argsort(d)[:N_CANDIDATES]
        t["nearest"] = time.perf_counter() - t0
        cpu["nearest"] = time.process_time() - c0

        c0 = time.process_time()
        t0 = time.perf_counter()
        src = int(np.argmin(np.hypot(self.road_xy[:, 0] - x, self.road_xy[:, 1] - y)))
        lengths = []
        for c in near:
            cx, cy = self.cand_xy[c]
            tgt = int(np.argmin(np.hypot(self.road_xy[:, 0] - cx, self.road_xy[:, 1] - cy)))
            try:
                route = nx.shortest_path_length(self.graph, src, tgt, weight="length")
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                route = math.inf
            lengths.append(route + math.dist((x, y), self.road_xy[src])
                           + math.dist((cx, cy), self.road_xy[tgt]))
        best = int(near[int(np.argmin(lengths))])
        t["dijkstra"] = time.perf_counter() - t0
        cpu["dijkstra"] = time.process_time() - c0

        ind = get_industry(app.get("industry", "others"))
        p = app["requested_kva"] * ind.demand_factor / 1000
        q = p * (1 / ind.power_factor**2 - 1) ** 0.5
        node = int(self.cand_pos[best])

        c0 = time.process_time()
        t0 = time.perf_counter()
        li = pp.create_load(self.pnet, bus=int(self.bus_of_node[node]), p_mw=p, q_mvar=q)
        try:
            whole = _runpp(self.pnet)
        finally:
            self.pnet.load = self.pnet.load.drop(li)
        t["powerflow"] = time.perf_counter() - t0
        cpu["powerflow"] = time.process_time() - c0

        # per feeder: the affected feeder alone, its busbar the slack
        c0 = time.process_time()
        t0 = time.perf_counter()
        nodes = self.net.layers["nodes"]
        if nodes["kind"].iat[node] == "busbar":
            bs = str(nodes["bus_section_id"].iat[node])
            buses = np.array([self.busbar_of_bs[bs]], np.int64)
        else:
            fid = str(nodes["feeder_id"].iat[node])
            buses, bs = self.feeder_buses[fid]
        sub = tb.select_subnet(self.pnet, buses)
        sub.ext_grid = sub.ext_grid.iloc[0:0]
        pp.create_ext_grid(sub, bus=int(self.busbar_of_bs[bs]), vm_pu=float(self.vm_of_bs[bs]))
        t["extract"] = time.perf_counter() - t0
        cpu["extract"] = time.process_time() - c0
        c0 = time.process_time()
        t0 = time.perf_counter()
        pp.create_load(sub, bus=int(self.bus_of_node[node]), p_mw=p, q_mvar=q)
        feeder = _runpp(sub)
        t["powerflow_feeder"] = time.perf_counter() - t0
        cpu["powerflow_feeder"] = time.process_time() - c0
        return {"best_node": str(nodes["id"].iat[node]),
                "route_m": float(min(lengths)), "converged": whole["converged"],
                "vm_min_pu": whole["vm_min_pu"], "loading_max_pct": whole["loading_max_pct"],
                "feeder_buses": len(sub.bus), "feeder_converged": feeder["converged"],
                "feeder_vm_min_pu": feeder["vm_min_pu"],
                "feeder_loading_max_pct": feeder["loading_max_pct"], "stage_s": t,
                "stage_cpu_s": cpu}

    def run(self, apps: list[dict], progress: bool = False) -> dict:
        """Time :meth:`plan` on each application: both baselines, medians per stage.

        The whole-network time of an application is nearest + dijkstra + powerflow, the
        per-feeder time nearest + dijkstra + extract + powerflow_feeder (stages timed apart,
        wall and process CPU time).
        """
        from tqdm import tqdm

        from .run import latency_stats

        names = ("nearest", "dijkstra", "powerflow", "extract", "powerflow_feeder")
        stages: dict[str, list[float]] = {k: [] for k in names}
        stages_cpu: dict[str, list[float]] = {k: [] for k in names}
        results = []
        for app in tqdm(apps, desc="baseline", file=sys.stderr, disable=not progress, leave=False):
            r = self.plan(app)
            for k in names:
                stages[k].append(r["stage_s"][k] * 1000)
                stages_cpu[k].append(r["stage_cpu_s"][k] * 1000)
            results.append({k: v for k, v in r.items() if k not in ("stage_s", "stage_cpu_s")})

        def total(st: dict[str, list[float]], keys: tuple[str, ...]) -> np.ndarray:
            return np.sum([st[k] for k in keys], axis=0) if apps else np.zeros(0)

        whole_keys, feeder_keys = ("nearest", "dijkstra", "powerflow"), ("nearest", "dijkstra",
                                                                           "extract",
                                                                           "powerflow_feeder")
        ms, cpu_ms = total(stages, whole_keys), total(stages_cpu, whole_keys)
        f_ms, f_cpu = total(stages, feeder_keys), total(stages_cpu, feeder_keys)

        def med(v: list[float]) -> float:
            return float(np.median(v)) if v else math.nan

        return {"n_apps": len(apps), "stats": latency_stats(ms), "cpu_stats": latency_stats(cpu_ms),
                "stage_median_ms": {k: med(v) for k, v in stages.items()},
                "stage_median_cpu_ms": {k: med(v) for k, v in stages_cpu.items()},
                "n_converged": sum(r["converged"] for r in results),
                "samples_ms": [round(float(v), 3) for v in ms],
                "cpu_samples_ms": [round(float(v), 3) for v in cpu_ms],
                "feeder": {"stats": latency_stats(f_ms), "cpu_stats": latency_stats(f_cpu),
                           "n_converged": sum(r["feeder_converged"] for r in results),
                           "buses_median": med([r["feeder_buses"] for r in results]),
                           "buses_max": max((r["feeder_buses"] for r in results), default=0),
                           "samples_ms": [round(float(v), 3) for v in f_ms],
                           "cpu_samples_ms": [round(float(v), 3) for v in f_cpu]},
                "results": results}


def _runpp(pnet) -> dict:
    """``pandapower.runpp`` and the lowest voltage / highest line loading (NaN if not converged)."""
    import pandapower as pp

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(pnet, numba=False)  # numba is not installed: skip its warning
    except pp.powerflow.LoadflowNotConverged:
        return {"converged": False, "vm_min_pu": math.nan, "loading_max_pct": math.nan}
    vm = pnet.res_bus["vm_pu"].to_numpy()
    ld = pnet.res_line["loading_percent"].to_numpy()
    return {"converged": True,
            "vm_min_pu": float(np.nanmin(vm)) if np.isfinite(vm).any() else math.nan,
            "loading_max_pct": float(np.nanmax(ld)) if np.isfinite(ld).any() else math.nan}


def _feeder_index(net: Network, bus_of_node: np.ndarray
                  ) -> tuple[dict[str, tuple[np.ndarray, str]], dict[str, int], dict[str, float]]:
    """Per feeder id: the pandapower buses of its nodes (``nodes.feeder_id`` and both ends of
    its ``segments``) plus its bus section's busbar, and the bus section id; per bus section:
    the busbar's bus and ``vm_pu``. Built once, from the element tables (as an analyst would)."""
    L = net.layers
    nodes, segs, feeders, bss = L["nodes"], L["segments"], L["feeders"], L["bus_sections"]
    pos = pd.Index(nodes["id"].astype(str))
    is_bb = (nodes["kind"] == "busbar").to_numpy()
    busbar_of_bs = {str(b): int(bus_of_node[i]) for b, i in
                    zip(nodes["bus_section_id"].to_numpy()[is_bb], np.flatnonzero(is_bb),
                        strict=True)}
    vm_of_bs = {str(k): float(v) for k, v in zip(bss["id"], bss["vm_pu"], strict=True)}
    f_node = pd.DataFrame({"f": nodes["feeder_id"].astype(str).to_numpy(),
                           "p": np.arange(len(nodes))})
    fi = pos.get_indexer(segs["from_node"].astype(str))
    ti = pos.get_indexer(segs["to_node"].astype(str))
    sf = segs["feeder_id"].astype(str).to_numpy()
    f_seg = pd.DataFrame({"f": np.concatenate([sf, sf]), "p": np.concatenate([fi, ti])})
    allp = pd.concat([f_node, f_seg])
    allp = allp[(allp["f"] != "") & (allp["p"] >= 0)]
    bs_of_f = dict(zip(feeders["id"].astype(str), feeders["bus_section_id"].astype(str),
                       strict=True))
    out: dict[str, tuple[np.ndarray, str]] = {}
    for f, grp in allp.groupby("f")["p"]:
        bs = bs_of_f.get(str(f), "")
        buses = np.unique(bus_of_node[grp.to_numpy()])
        if bs in busbar_of_bs:
            buses = np.union1d(buses, [busbar_of_bs[bs]])
        out[str(f)] = (buses, bs)
    return out, busbar_of_bs, vm_of_bs


def _pandapower_net(net: Network):
    """pandapower net, bus index of each node position, and which builder made it."""
    ids = net.layers["nodes"]["id"].to_numpy()
    try:
        from grid_models.export_pandapower import to_pandapower
    except ImportError:
        return build_pandapower(net), np.arange(len(ids)), "benchmarks.baseline_networkx.build_pandapower"
    pnet, bus_of, _ = to_pandapower(net)
    return (pnet, np.array([bus_of[i] for i in ids], np.int64),
            "grid_models.export_pandapower.to_pandapower")


def main(argv: list[str] | None = None) -> int:
    """Run the baseline alone on a network file and print its timings."""
    from grid_models.io import read_network

    from .run import make_apps

    ap = argparse.ArgumentParser(prog="python -m benchmarks.baseline_networkx")
    ap.add_argument("network", help="NET.gpkg or a GeoJSON folder")
    ap.add_argument("--n-apps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    net = read_network(a.network)
    bl = Baseline(net)
    res = bl.run(make_apps(net, a.n_apps, a.seed), progress=True)
    print(f"setup: {bl.setup_times}")
    print(f"whole network: median {res['stats']['p50']:.1f} ms per application; per feeder: "
          f"median {res['feeder']['stats']['p50']:.1f} ms; stages (median ms): "
          f"{ {k: round(v, 1) for k, v in res['stage_median_ms'].items()} }; "
          f"converged {res['n_converged']}/{res['n_apps']} (whole), "
          f"{res['feeder']['n_converged']}/{res['n_apps']} (feeder)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
