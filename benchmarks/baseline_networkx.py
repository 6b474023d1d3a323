"""Baseline: what a typical connection-study script does per application.

The reference point of the benchmark's ratios. Built once per network: a networkx graph of the
road layer (one node per road vertex, edge weight = length in metres) and a pandapower net of
the grid (:func:`grid_models.export_pandapower.to_pandapower` when that module exists, else
:func:`build_pandapower` below). Per application:

1. project the customer's lon/lat to the network's metric CRS;
2. find the 10 nearest connectable grid nodes by brute-force numpy distance;
3. snap the customer and the 10 candidates to their nearest road vertex (brute force);
4. one ``networkx.shortest_path_length`` (Dijkstra) from the customer to each candidate;
5. add the customer's load at the candidate with the shortest route and run ``pandapower.runpp``
   on the whole network, read the lowest voltage and highest line loading, remove the load.

It deliberately does no more than that (no rules, conductor choice, costs or ranking): the
engine does more work per application, so the ratio understates its advantage.

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

    def plan(self, app: dict) -> dict:
        """One application: nearest candidates, road distances, one power flow."""
        import pandapower as pp

        from load_forecast.industries import get_industry

        t = {}
        t0 = time.perf_counter()
        x, y = self.to_metric.transform(app["lon"], app["lat"])
        d = np.hypot(self.cand_xy[:, 0] - x, self.cand_xy[:, 1] - y)
        near = np.argsort(d)[:N_CANDIDATES]
        t["nearest"] = time.perf_counter() - t0

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

        t0 = time.perf_counter()
        ind = get_industry(app.get("industry", "others"))
        p = app["requested_kva"] * ind.demand_factor / 1000
        q = p * (1 / ind.power_factor**2 - 1) ** 0.5
        li = pp.create_load(self.pnet, bus=int(self.bus_of_node[self.cand_pos[best]]), p_mw=p,
                            q_mvar=q)
        converged = True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pp.runpp(self.pnet, numba=False)  # numba is not installed: skip its warning
            vmin = float(np.nanmin(self.pnet.res_bus["vm_pu"].to_numpy()))
            lmax = float(np.nanmax(self.pnet.res_line["loading_percent"].to_numpy()))
        except pp.powerflow.LoadflowNotConverged:
            converged, vmin, lmax = False, math.nan, math.nan
        finally:
            self.pnet.load = self.pnet.load.drop(li)
        t["powerflow"] = time.perf_counter() - t0
        return {"best_node": str(self.net.layers["nodes"]["id"].iat[int(self.cand_pos[best])]),
                "route_m": float(min(lengths)), "converged": converged, "vm_min_pu": vmin,
                "loading_max_pct": lmax, "stage_s": t}

    def run(self, apps: list[dict], progress: bool = False) -> dict:
        """Time :meth:`plan` on each application; medians per stage."""
        from tqdm import tqdm

        ms, cpu_ms, stages, results = [], [], {"nearest": [], "dijkstra": [], "powerflow": []}, []
        for app in tqdm(apps, desc="baseline", file=sys.stderr, disable=not progress, leave=False):
            t0, c0 = time.perf_counter(), time.process_time()
            r = self.plan(app)
            ms.append((time.perf_counter() - t0) * 1000)
            cpu_ms.append((time.process_time() - c0) * 1000)
            for k in stages:
                stages[k].append(r["stage_s"][k] * 1000)
            results.append({k: v for k, v in r.items() if k != "stage_s"})
        from .run import latency_stats

        return {"n_apps": len(apps), "stats": latency_stats(ms), "cpu_stats": latency_stats(cpu_ms),
                "stage_median_ms": {k: float(np.median(v)) if v else math.nan
                                    for k, v in stages.items()},
                "n_converged": sum(r["converged"] for r in results),
                "samples_ms": [round(v, 3) for v in ms],
                "cpu_samples_ms": [round(v, 3) for v in cpu_ms], "results": results}


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
    print(f"median {res['stats']['p50']:.1f} ms per application; stages (median ms): "
          f"{ {k: round(v, 1) for k, v in res['stage_median_ms'].items()} }; "
          f"converged {res['n_converged']}/{res['n_apps']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
