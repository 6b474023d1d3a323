"""A distribution grid laid along real streets: for trying the engine on real street data.

Given any street layer (e.g. an OSM extract read by :mod:`grid_models.import_roads` or pyrosm),
:func:`grid_along_streets` places substations at well-spread junctions, grows each one's feeders
along its shortest-path tree over the streets (each child subtree of the substation is one
radial feeder, cut at ``max_feeder_km``), and hangs ring-main units, poles and customers'
distribution transformers on them. Lines follow the streets exactly, so routes to the grid can
be compared with an independent shortest path along the same streets. Deterministic by seed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from .crs import metric_crs_for
from .network import Network
from .policy import Policy, load_policy, load_standard_types
from .road_graph import build_road_graph


def grid_along_streets(roads: gpd.GeoDataFrame, n_substations: int = 2, vn_kv: float = 10.0,
                       seed: int = 0, max_feeder_km: float = 4.0, rmu_spacing_m: float = 250.0,
                       load_spacing_m: float = 120.0, overhead_share: float = 0.5,
                       max_load_rate: float = 0.4,
                       policy: Policy | None = None, name: str = "streets") -> Network:
    """Lay a radial 10 kV grid along ``roads``.

    Parameters
    ----------
    roads : GeoDataFrame
        Street centre-lines with a CRS and a ``road_class`` column (policy road classes) or an
        OSM ``highway`` column (mapped through ``road_classes.csv``).
    n_substations : int
        110/10 kV substations, placed at junctions spread over the largest street component.
    seed : int
        Random seed (RMU spare bays, loads, cable or overhead per feeder).
    max_feeder_km : float
        Longest feeder path from the substation along the streets.
    rmu_spacing_m, load_spacing_m : float
        A cable feeder gets an RMU about every ``rmu_spacing_m`` along the street; every feeder
        a customer transformer (15 m off the street) about every ``load_spacing_m``.
    overhead_share : float
        Share of feeders built as overhead lines on poles (the rest are cables with RMUs).
    max_load_rate : float
        Feeder loads are scaled so that no feeder carries more than this share of its rating.

    Returns
    -------
    Network
        Valid (``validate()`` reports no errors), in a metric CRS, with the roads layer.
    """
    pol = policy or load_policy()
    rng = np.random.default_rng(seed)
    roads = _conformed_roads(roads, pol)
    g = build_road_graph(roads, None, pol)
    if g.n_edges == 0:
        raise ValueError("roads: no street edges to lay a grid along")
    crs = roads.crs
    lcc = g.lcc_vertices
    deg = np.diff(g.csr.indptr)
    junctions = lcc[deg[lcc] >= 3] if (deg[lcc] >= 3).sum() >= n_substations else lcc
    subs = _spread(g.xy[junctions], n_substations, rng)
    sub_v = junctions[subs]
    # length-weighted graph: feeders follow the shortest street paths from their substation
    w = g.csr.copy()
    w.data = g.edge_length_m[g.edge_lookup.data - 1].astype(float)
    dist, pred, src = dijkstra(w, indices=sub_v, min_only=True, return_predecessors=True,
                               limit=max_feeder_km * 1000.0)
    std = load_standard_types().conductors.set_index("name")
    cab, ovh, tap = std.loc["YJV22-3x300"], std.loc["JKLYJ-240"], std.loc["YJV22-3x70"]
    nodes, segs, feeders, bus_sections, subs_rows = [], [], [], [], []
    for si, v0 in enumerate(sub_v):
        sid = f"SS{si + 1}"
        x0, y0 = g.xy[v0]
        subs_rows.append({"id": sid, "name": f"{name} {sid}", "hv_kv": 110.0, "n_transformers": 2,
                          "transformer_mva": 40.0, "peak_mw": np.nan, "power_factor": 0.95,
                          "source_ref": f"vertex {v0}", "geometry": shapely.Point(x0, y0)})
        for b in (1, 2):
            bsid = f"{sid}-B{b}"
            bus_sections.append({"id": bsid, "substation_id": sid, "vn_kv": vn_kv, "bays_total": 12,
                                 "bays_used": 0, "vm_pu": 1.0, "source_ref": "",
                                 "geometry": shapely.Point(x0, y0)})
            nodes.append(_node(f"{bsid}-BB", "busbar", "", bsid, vn_kv, x0, y0))
        # children of the substation vertex in the tree: one feeder each
        mine = np.flatnonzero((src == v0) & np.isfinite(dist))
        children = mine[pred[mine] == v0]
        for fi, c in enumerate(children):
            fid = f"{sid}-F{fi + 1}"
            bsid = f"{sid}-B{1 + fi % 2}"
            overhead = rng.random() < overhead_share
            cond = ovh if overhead else cab
            sub_tree = _subtree(c, mine, pred)
            feeder_load = 0.0
            n_cust = 0
            first_node = len(nodes)
            for v in sub_tree:
                parent = pred[v]
                nid = f"{fid}-V{v}"
                # a new RMU / load each time the path from the substation passes a spacing mark
                is_rmu = not overhead and (v == c or dist[v] // rmu_spacing_m
                                           != dist[parent] // rmu_spacing_m)
                kind = "rmu" if is_rmu else ("pole" if overhead else "junction")
                spare = int(rng.integers(1, 4)) if is_rmu else 0
                vx, vy = g.xy[v]
                nodes.append(_node(nid, kind, fid, "", vn_kv, vx, vy, bays=spare + 2 if is_rmu
                                   else 0, spare=spare))
                from_id = f"{bsid}-BB" if parent == v0 else f"{fid}-V{parent}"
                segs.append(_seg(f"{fid}-S{v}", from_id, nid, fid, cond, g.xy[parent], g.xy[v]))
                if dist[v] // load_spacing_m != dist[parent] // load_spacing_m:
                    p = float(rng.uniform(0.1, 0.4))
                    feeder_load += p
                    n_cust += 1
                    off = _offset(g.xy[parent], g.xy[v], 15.0)
                    lid = f"{fid}-T{v}"
                    nodes.append(_node(lid, "dist_transformer", fid, "", vn_kv, off[0], off[1],
                                       p=p, q=p * 0.33, kva=630.0))
                    segs.append(_seg(f"{fid}-L{v}", nid, lid, fid, tap, g.xy[v], off))
            cap_mw = max_load_rate * np.sqrt(3) * vn_kv * float(cond["max_i_ka"]) * 0.95
            if feeder_load > cap_mw:
                for nd in nodes[first_node:]:
                    nd["p_mw"] *= cap_mw / feeder_load
                    nd["q_mvar"] *= cap_mw / feeder_load
            feeders.append({"id": fid, "name": fid, "substation_id": sid, "bus_section_id": bsid,
                            "vn_kv": vn_kv, "conductor_type": str(cond.name),
                            "rated_i_ka": float(cond["max_i_ka"]), "peak_mw": np.nan,
                            "power_factor": 0.95,
                            "connection_mode": "overhead_multi_1tie" if overhead
                            else "cable_single_ring",
                            "n_customers": n_cust, "source_ref": ""})
    for bs_row in bus_sections:
        bs_row["bays_used"] = sum(1 for f in feeders if f["bus_section_id"] == bs_row["id"])
        bs_row["bays_total"] = max(bs_row["bays_total"], bs_row["bays_used"] + 2)
    layers = {
        "substations": gpd.GeoDataFrame(subs_rows, geometry="geometry", crs=crs),
        "bus_sections": gpd.GeoDataFrame(bus_sections, geometry="geometry", crs=crs),
        "feeders": pd.DataFrame(feeders),
        "nodes": gpd.GeoDataFrame(nodes, geometry="geometry", crs=crs),
        "segments": gpd.GeoDataFrame(segs, geometry="geometry", crs=crs),
        "roads": roads,
    }
    return Network.from_layers(layers, crs=crs, meta={"name": name,
                                                      "geometry_source": "surveyed",
                                                      "generator": "grid_along_streets"})


def _conformed_roads(roads: gpd.GeoDataFrame, pol: Policy) -> gpd.GeoDataFrame:
    if roads.crs is None:
        raise ValueError("roads: no CRS")
    r = roads.copy()
    if not r.crs.is_projected:
        b = r.total_bounds
        r = r.to_crs(metric_crs_for((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))
    if "road_class" not in r.columns:
        t = pol.table("road_classes")
        m = {h: c for c, hs in zip(t["road_class"], t["osm_highway"].fillna(""), strict=True)
             for h in str(hs).split("|") if h}
        r["road_class"] = r.get("highway", pd.Series("", index=r.index)).map(m).fillna("local")
    if "id" not in r.columns:
        r["id"] = [f"R{i}" for i in range(len(r))]
    r = r.explode(index_parts=False).reset_index(drop=True)
    r["id"] = [f"{a}-{i}" for i, a in enumerate(r["id"].astype(str))]
    return r[["id", "road_class", "geometry"]]


def _spread(xy: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Farthest-point sampling: ``k`` indices of well-spread points."""
    first = int(rng.integers(len(xy)))
    chosen = [first]
    d = np.hypot(*(xy - xy[first]).T)
    for _ in range(1, min(k, len(xy))):
        nxt = int(np.argmax(d))
        chosen.append(nxt)
        d = np.minimum(d, np.hypot(*(xy - xy[nxt]).T))
    return np.array(chosen)


def _subtree(root: int, members: np.ndarray, pred: np.ndarray) -> list[int]:
    """Vertices of the tree below ``root`` (parents before children)."""
    children: dict[int, list[int]] = {}
    for v in members:
        children.setdefault(int(pred[v]), []).append(int(v))
    out, stack = [], [int(root)]
    while stack:  # generation-time walk of one feeder, not on a request path
        v = stack.pop()
        out.append(v)
        stack.extend(sorted(children.get(v, []), reverse=True))
    return out


def _offset(a: np.ndarray, b: np.ndarray, d: float) -> np.ndarray:
    t = b - a
    n = np.array([-t[1], t[0]]) / max(float(np.hypot(*t)), 1e-9)
    return b + d * n


def _node(nid: str, kind: str, fid: str, bs: str, vn: float, x: float, y: float, bays: int = 0,
          spare: int = 0, p: float = 0.0, q: float = 0.0, kva: float = 0.0) -> dict:
    return {"id": nid, "kind": kind, "feeder_id": fid, "bus_section_id": bs, "vn_kv": vn,
            "bays_total": bays, "spare_bays": spare, "p_mw": p, "q_mvar": q, "rated_kva": kva,
            "customer_id": "", "source_ref": "", "geometry": shapely.Point(x, y)}


def _seg(sid: str, a: str, b: str, fid: str, cond: pd.Series, pa: np.ndarray,
         pb: np.ndarray) -> dict:
    length = float(np.hypot(*(pb - pa))) / 1000.0
    return {"id": sid, "from_node": a, "to_node": b, "feeder_id": fid, "std_type": str(cond.name),
            "construction": str(cond["construction"]), "length_km": max(length, 1e-4),
            "r_ohm_per_km": float(cond["r_ohm_per_km"]), "x_ohm_per_km": float(cond["x_ohm_per_km"]),
            "c_nf_per_km": float(cond["c_nf_per_km"]), "max_i_ka": float(cond["max_i_ka"]),
            "in_service": True, "source_ref": "",
            "geometry": shapely.LineString([tuple(pa), tuple(pb)])}
