"""A park plan built into the network: the element tables after the reservations.

:func:`network_with_plan` copies the network's element tables and writes every reservation of a
:class:`~scheme_engine.park.plan.ParkResult` into them, so the engine can plan on the network as
it will be. This is how the re-plan test checks the joint model: each reserved parcel is
re-planned alone on the network with every *other* reservation built in, and its reserved
option must still pass every check of the engine.

What is written (the load of each circuit is the parcel's whole design demand, as the model
reserves it: N-1 sizing, so a dual-supply parcel loads both of its circuits):

- **a bay of an existing RMU / switching station / station**: the demand as load at that node,
  one spare bay fewer;
- **a tap on an overhead segment**: the segment is split at the tap point (a new ``pole`` node,
  the two pieces share the segment's length and geometry by the tap's position), the demand as
  load at the new node;
- **a dedicated feeder from a substation bay**: a new feeder (``dedicated``, rated by its
  conductor), a node at the parcel and the routed cable from the busbar; one bay more used;
- **park assets**: every built RMU site, the new feeders from their bus sections (the engine's
  route to the hub, then along the ring, in the shorter direction, to their RMUs), each
  RMU's customers. The parcels of a site are packed into its RMU units (``rmu_customer_bays``
  each), the units onto the plan's new feeders (largest first, onto the feeder with the most
  room that keeps ``limit x rating`` MVA and ``max_customers_per_feeder``); a unit that fits
  nowhere goes on the feeder with the most room and is reported in ``notes``. Units of one site
  on one feeder form one ``rmu`` node. The ring's normally-open points are not drawn (they
  carry no current).

Loads of existing elements are written so that each engine check sees exactly the reserved
increment: an existing feeder's ``peak_mw`` becomes its compiled peak plus the reserved MVA x
its power factor (its ``peak / pf`` grows by the reserved MVA), likewise a substation's, and a
new feeder gets ``peak_mw = sum p`` and ``power_factor = sum p / sum |s|``. A bus section's
``vm_pu`` falls by the sag the added load causes on one main transformer's impedance (the same
Thevenin source the engine's checks use), complex and exact for the total added current.

Excluded parcels (``exclude``) are planned as if they had not been reserved: none of their load,
bays, customers or dedicated feeders is written; the park assets and the packing stay those of
the whole plan (the assets are built whoever uses them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from grid_models.compiled import SQRT3
from grid_models.network import Network
from grid_models.schema import conform

from .settings import park_settings

if TYPE_CHECKING:
    from ..engine import Planner
    from .plan import ParkResult

_SAFE = re.compile(r"[^0-9A-Za-z_\-\u4e00-\u9fff]+")


@dataclass
class PlanNetwork:
    """The network with a park plan built in.

    Attributes
    ----------
    network : Network
    points : dict
        ``(parcel_id, circuit) -> (kind, point)``: where each reserved circuit connects in the
        new network: a node id (RMU / station bays, park RMUs), a bus-section id (dedicated
        feeders) or the tap point ``(x, y)`` (metric) on the split overhead line.
    park_feeders : list of dict
        The new park feeders: ``feeder_id``, ``bus_section_id``, ``load_mva``, ``customers``,
        ``capacity_mva`` (all of the plan's parcels, excluded ones included).
    notes : list of str
        Anything the plan left that could not be built exactly (a unit that fitted no feeder).
    """

    network: Network
    points: dict[tuple[str, int], tuple[str, Any]] = field(default_factory=dict)
    park_feeders: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _sid(text: Any) -> str:
    return _SAFE.sub("_", str(text))[:60]


def _line(coords: np.ndarray) -> shapely.LineString:
    c = np.asarray(coords, float)
    keep = np.r_[True, np.hypot(*np.diff(c, axis=0).T) > 1e-6]
    c = c[keep]
    if len(c) < 2:
        c = np.vstack([c[:1], c[:1] + [0.01, 0.0]])
    return shapely.LineString(c)


def network_with_plan(planner: Planner, res: ParkResult, exclude: Iterable[str] = ()
                      ) -> PlanNetwork:
    """The planner's network with the reservations of ``res`` built in (module notes).

    Parameters
    ----------
    planner : Planner
        Built from the element tables (``planner.network``), the one ``res`` was planned on.
    res : ParkResult
    exclude : iterable of str
        Parcel ids whose reservations are left out (the parcel being re-planned).

    Returns
    -------
    PlanNetwork
    """
    net, cn, pol = planner.network, planner.cn, planner.policy
    st = park_settings(pol)
    ex = {str(x) for x in exclude}
    L = {k: v.copy() for k, v in net.layers.items()}
    nodes, segs, feeders = L["nodes"], L["segments"], L["feeders"]
    bss, sss, sw = L["bus_sections"], L["substations"], L["switches"]
    out = PlanNetwork(net)
    C = res.circuits
    nf, nb, ns, nn = len(cn.feeder_ids), len(cn.bs_ids), len(cn.ss_ids), cn.n_nodes
    add_p, add_q = np.zeros(nn), np.zeros(nn)
    spare = np.zeros(nn, np.int64)
    f_inc, f_cust = np.zeros(nf), np.zeros(nf, np.int64)
    ss_inc = np.zeros(ns)
    bs_ds = np.zeros(nb, complex)
    bs_bays = np.zeros(nb, np.int64)
    new_nodes: list[dict[str, Any]] = []
    new_segs: list[dict[str, Any]] = []
    new_feeders: list[dict[str, Any]] = []
    taps: dict[int, list[tuple[float, np.ndarray, float, float]]] = {}
    pos_node = pd.Index(nodes["id"])
    # node / segment ids in the tables are in compiled order (compile keeps the table order)
    assert len(nodes) == nn and len(segs) == len(cn.seg_ids)
    conds = planner._conductors

    def cond_row(vn: float, name: str) -> pd.Series:
        t = conds[vn]
        return t[t["name"] == name].iloc[0]

    def seg_row(sid: str, a: str, b: str, fid: str, cond: pd.Series, km: float,
                geom: shapely.LineString, approx: bool = False) -> dict[str, Any]:
        return {"id": sid, "from_node": a, "to_node": b, "feeder_id": fid,
                "std_type": str(cond["name"]), "construction": str(cond["construction"]),
                "length_km": max(float(km), 1e-3), "r_ohm_per_km": float(cond["r_ohm_per_km"]),
                "x_ohm_per_km": float(cond["x_ohm_per_km"]),
                "c_nf_per_km": float(cond.get("c_nf_per_km", 0.0)),
                "max_i_ka": float(cond["max_i_ka"]), "in_service": True,
                "geometry_approximate": approx, "source_ref": f"park plan {res.park_id}",
                "geometry": geom}

    for r in C.itertuples(index=False):
        s = complex(r.p_mw, r.q_mvar)
        key = (str(r.parcel_id), int(r.circuit))
        if r.kind == "park_rmu":
            continue
        if str(r.parcel_id) in ex:  # where it would connect; nothing of it is built
            out.points[key] = (
                ("tap", (float(r.access_x), float(r.access_y))) if r.kind == "tap" else
                ("bus_section", str(cn.bs_ids[int(r.bus_section)])) if r.kind == "busbar" else
                ("node", str(cn.node_ids[int(r.node)])))
            continue
        if r.kind in ("rmu", "switching_station", "station", "existing"):
            i = int(r.node)
            add_p[i] += r.p_mw
            add_q[i] += r.q_mvar
            if r.kind != "existing":
                spare[i] -= 1
            out.points[key] = ("node", str(cn.node_ids[i]))
        elif r.kind == "tap":
            taps.setdefault(int(r.seg), []).append(
                (0.0, np.array([r.access_x, r.access_y]), r.p_mw, r.q_mvar))
            out.points[key] = ("tap", (float(r.access_x), float(r.access_y)))
        elif r.kind == "busbar":
            b = int(r.bus_section)
            cond = cond_row(float(r.vn_kv), str(r.conductor))
            fid = f"{_sid(res.park_id)}-{_sid(r.parcel_id)}-D{int(r.circuit)}"
            coords = np.asarray(r.coords, float)
            bb_node = str(cn.node_ids[cn.bs_busbar_node[b]])
            cust = f"{fid}-C"
            new_nodes.append({"id": cust, "kind": "junction", "feeder_id": fid,
                              "vn_kv": float(r.vn_kv), "p_mw": r.p_mw, "q_mvar": r.q_mvar,
                              "source_ref": f"park plan {res.park_id}",
                              "geometry": shapely.Point(coords[0])})
            new_segs.append(seg_row(f"{fid}-S", bb_node, cust, fid, cond, r.route_m / 1000.0,
                                    _line(coords[::-1])))
            new_feeders.append({
                "id": fid, "name": f"{r.parcel_id} dedicated", "substation_id":
                str(cn.ss_ids[cn.bs_substation[b]]), "bus_section_id": str(cn.bs_ids[b]),
                "vn_kv": float(r.vn_kv), "conductor_type": str(cond["name"]),
                "rated_i_ka": float(cond["max_i_ka"]), "peak_mw": r.p_mw,
                "power_factor": r.p_mw / abs(s) if abs(s) > 0 else 1.0,
                # radial, no tie: the network tables' mode of a feeder that carries one
                # customer (its N-1 is the customer's second circuit; limit 1.0 like the
                # engine's "dedicated")
                "connection_mode": "overhead_radial", "n_customers": 1,
                "source_ref": f"park plan {res.park_id}"})
            bs_bays[b] += 1
            out.points[key] = ("bus_section", str(cn.bs_ids[b]))
        else:  # pragma: no cover - every kind of the planner is handled above
            raise ValueError(f"unknown reserved circuit kind {r.kind!r}")
        if r.kind != "busbar" and r.feeder >= 0:
            f_inc[r.feeder] += r.inc_mva
            f_cust[r.feeder] += 1
        if r.substation >= 0:
            ss_inc[r.substation] += r.inc_mva
        if r.bus_section >= 0:
            bs_ds[r.bus_section] += s

    # taps: split each tapped segment at its tap points
    drop_segs: list[int] = []
    for si, lst in taps.items():
        geom = segs.geometry.iloc[si]
        a_id, b_id = str(segs["from_node"].iloc[si]), str(segs["to_node"].iloc[si])
        a_xy = cn.node_xy[pos_node.get_loc(a_id)]
        if np.hypot(*(np.asarray(geom.coords[0]) - a_xy)) > \
                np.hypot(*(np.asarray(geom.coords[-1]) - a_xy)):
            geom = shapely.reverse(geom)
        glen = float(geom.length)
        fr = np.array([shapely.line_locate_point(geom, shapely.Point(xy)) / max(glen, 1e-9)
                       for _, xy, _, _ in lst])
        km = float(segs["length_km"].iloc[si])
        p = np.array([x[2] for x in lst])
        q = np.array([x[3] for x in lst])
        o = np.argsort(fr, kind="stable")
        fr, p, q = fr[o], p[o], q[o]
        tol = 1.0 / max(km * 1000.0, 1.0)  # taps within 1 m share a pole
        cuts: list[float] = []
        loads: list[list[float]] = []
        for f, pp, qq in zip(fr, p, q, strict=True):
            if cuts and f - cuts[-1] <= tol:
                loads[-1][0] += pp
                loads[-1][1] += qq
            else:
                cuts.append(float(f))
                loads.append([pp, qq])
        base = segs.iloc[si].to_dict()
        fid = str(base.get("feeder_id") or "")
        if not fid:
            ch = cn.seg_child[si]
            fid = str(cn.feeder_ids[cn.node_feeder[ch]]) if ch >= 0 and cn.node_feeder[ch] >= 0 \
                else ""
        vn = float(cn.node_vn_kv[pos_node.get_loc(a_id)])
        prev_id, prev_f = a_id, 0.0
        ids: list[str] = []
        for k, (f, (pp, qq)) in enumerate(zip(cuts, loads, strict=True)):
            if f <= tol:  # at the from-node itself
                add_p[pos_node.get_loc(a_id)] += pp
                add_q[pos_node.get_loc(a_id)] += qq
                continue
            if f >= 1 - tol:
                add_p[pos_node.get_loc(b_id)] += pp
                add_q[pos_node.get_loc(b_id)] += qq
                continue
            nid = f"{base['id']}/T{k + 1}"
            new_nodes.append({"id": nid, "kind": "pole", "feeder_id": fid, "vn_kv": vn,
                              "p_mw": pp, "q_mvar": qq, "source_ref": f"park plan {res.park_id}",
                              "geometry": shapely.Point(geom.interpolate(f, normalized=True))})
            piece = dict(base)
            piece.update({"id": f"{base['id']}/{len(ids) + 1}", "from_node": prev_id,
                          "to_node": nid, "length_km": km * (f - prev_f),
                          "geometry": _line(np.asarray(shapely.ops.substring(
                              geom, prev_f, f, normalized=True).coords))})
            new_segs.append(piece)
            ids.append(piece["id"])
            prev_id, prev_f = nid, f
        if not ids:
            continue
        piece = dict(base)
        piece.update({"id": f"{base['id']}/{len(ids) + 1}", "from_node": prev_id, "to_node": b_id,
                      "length_km": km * (1.0 - prev_f),
                      "geometry": _line(np.asarray(shapely.ops.substring(
                          geom, prev_f, 1.0, normalized=True).coords))})
        new_segs.append(piece)
        ids.append(piece["id"])
        # a switch on an end of the segment stays on the piece at that end
        on = sw["segment_id"] == base["id"]
        if on.any():
            for j in np.flatnonzero(on.to_numpy()):
                ends = {str(sw["node_a"].iloc[j]), str(sw["node_b"].iloc[j])}
                sw.iloc[j, sw.columns.get_loc("segment_id")] = ids[-1] if b_id in ends \
                    and a_id not in ends else ids[0]
        drop_segs.append(si)

    _park_assets(planner, res, st, ex, out, new_nodes, new_segs, new_feeders, ss_inc, bs_ds,
                 bs_bays, cond_row, seg_row)

    # existing elements: loads, bays, customers, peaks, busbar voltages
    nodes["p_mw"] = nodes["p_mw"].to_numpy(float) + add_p
    nodes["q_mvar"] = nodes["q_mvar"].to_numpy(float) + add_q
    nodes["spare_bays"] = nodes["spare_bays"].to_numpy() + spare
    touched = (f_inc > 0) | (f_cust > 0)
    if touched.any():
        pk = feeders["peak_mw"].to_numpy(float).copy()
        pk[touched] = cn.feeder_peak_mw[touched] + f_inc[touched] * cn.feeder_pf[touched]
        feeders["peak_mw"] = pk
        feeders["n_customers"] = feeders["n_customers"].to_numpy() + f_cust
    if (ss_inc > 0).any():
        base_pk = cn.ss_load_mw
        pk = sss["peak_mw"].to_numpy(float).copy()
        t = ss_inc > 0
        pk[t] = base_pk[t] + ss_inc[t] * cn.ss_pf[t]
        sss["peak_mw"] = pk
    bss["bays_used"] = bss["bays_used"].to_numpy() + bs_bays
    vm = bss["vm_pu"].to_numpy(float).copy()
    for sec in np.flatnonzero(bs_ds != 0):
        u = float(cn.bs_vn_kv[sec])
        v0 = vm[sec] * u
        i = np.conj(bs_ds[sec] / (SQRT3 * v0))
        vm[sec] = abs(v0 - SQRT3 * cn.bs_z_source_ohm[sec] * i) / u
    bss["vm_pu"] = vm

    if drop_segs:
        segs = segs.drop(index=segs.index[drop_segs])
    crs = net.crs
    # the tables are conformed already; only the new rows are brought to the schema (defaults,
    # dtypes), which keeps a rebuild at a few ms
    if new_nodes:
        nodes = pd.concat([nodes, conform("nodes", gpd.GeoDataFrame(
            new_nodes, geometry="geometry", crs=crs))], ignore_index=True)
    if new_segs:
        segs = pd.concat([segs, conform("segments", gpd.GeoDataFrame(
            new_segs, geometry="geometry", crs=crs))], ignore_index=True)
    if new_feeders:
        feeders = pd.concat([feeders, conform("feeders", pd.DataFrame(new_feeders))],
                            ignore_index=True)
    L.update({"nodes": nodes, "segments": segs.reset_index(drop=True), "feeders": feeders,
              "bus_sections": bss, "substations": sss, "switches": sw})
    meta = {**net.meta, "park_plan": str(res.park_id)}
    out.network = Network(L, crs, meta)
    return out


@dataclass
class _NewFeeder:
    """One new park feeder while the parcels are packed onto it."""

    src: int  # the park source (index into the assets' sources) it leaves from
    mva: float = 0.0  # the parcels' design MVA
    w: float = 0.0  # their packing weights (park_item_mva)
    cust: int = 0
    rows: list[Any] = field(default_factory=list)  # the parcels' circuit rows (itertuples)


def _park_assets(planner: Planner, res: ParkResult, st: Any, ex: set[str], out: PlanNetwork,
                 new_nodes: list, new_segs: list, new_feeders: list, ss_inc: np.ndarray,
                 bs_ds: np.ndarray, bs_bays: np.ndarray, cond_row: Any, seg_row: Any) -> None:
    """RMU sites, new feeders and the park parcels' loads (module notes)."""
    m, sol = res.model, res.solution
    if m is None or sol is None or m.assets is None:
        return
    a = m.assets
    cn, pol = planner.cn, planner.policy
    p = pol.params
    bl = m.blocks
    z = np.round(sol.v[bl["z"]]).astype(int)
    y = np.round(sol.v[bl["y"]]).astype(int)
    built = [int(s) for s in a.ring_order if z[s] > 0]
    if not built or y.sum() == 0:
        return
    pid = _sid(res.park_id)
    C = res.circuits
    pk = C[C["kind"] == "park_rmu"] if len(C) else C
    # the built ring: tour distance from the hub each way
    xy = a.site_xy[built]
    link = np.hypot(*(np.roll(xy, -1, axis=0) - xy).T) * p.route_detour_factor \
        if len(built) > 1 else np.zeros(1)
    fwd = np.r_[0.0, np.cumsum(link)[:-1]]
    ring = float(link.sum()) if len(built) > 1 else 0.0
    bwd = np.where(fwd > 0, ring - fwd, 0.0)
    forward = fwd <= bwd
    pos = {s: i for i, s in enumerate(built)}
    # parcels onto the new feeders: along the ring from the hub, source by source, feeder by
    # feeder, next fit in packing weights (the model's park_supply / park_feeder_load_rate rows
    # guarantee that every parcel finds room; see scheme_engine.park.model)
    from .assets import park_item_mva

    bpu = a.bays_per_unit
    g = sol.v[bl["g"]]
    rank = np.full(a.n_sites, len(built), np.int64)
    rank[built] = np.arange(len(built))
    rs = pk.assign(_rank=rank[pk["site"].to_numpy(int)]).sort_values(
        ["_rank", "inc_mva"], ascending=[True, False], kind="stable")
    w = park_item_mva(rs["inc_mva"].to_numpy(float), a)
    cap = a.feeder_cap_mva
    fs = [_NewFeeder(src=i) for i in range(a.n_sources) for _ in range(int(y[i]))]
    src_w = np.zeros(a.n_sources)
    cur = 0
    tol = 1e-6
    for r, wk in zip(rs.itertuples(index=False), w, strict=True):
        while cur < len(fs):
            f = fs[cur]
            i = f.src
            if src_w[i] + wk > g[i] + tol:  # the source's share is used: its next source
                nxt = [k for k in range(cur + 1, len(fs)) if fs[k].src != i]
                cur = nxt[0] if nxt else len(fs)
            elif f.w + wk > cap + tol:
                cur += 1
            else:
                break
        if cur >= len(fs):
            f = min(fs, key=lambda fd: fd.w)
            out.notes.append(f"parcel {r.parcel_id} ({r.inc_mva:.2f} MVA) found no room on the "
                             "new feeders; hung on the least loaded one")
        else:
            f = fs[cur]
        f.rows.append(r)
        f.w += wk
        f.mva += float(r.inc_mva)
        f.cust += 1
        src_w[f.src] += wk
    # units of each (site, feeder) group; units the plan paid beyond them stay at their site
    need: dict[tuple[int, int], list[Any]] = {}
    for j, f in enumerate(fs):
        for r in f.rows:
            need.setdefault((int(r.site), j), []).append(r)
    units_at = {s: 0 for s in built}
    for (s, _), lst in need.items():
        units_at[s] += math.ceil(len(lst) / bpu)
    if sum(units_at.values()) > int(z[built].sum()):
        out.notes.append(f"the packing needs {sum(units_at.values())} RMU units, the plan paid "
                         f"{int(z[built].sum())}")
    cond = cond_row(a.vn_kv, a.conductor)
    src = f"park plan {res.park_id}"
    spare_units = {s: max(int(z[s]) - units_at[s], 0) for s in built}
    groups_at: dict[int, int] = {}
    for j, f in enumerate(fs):
        b = int(a.src_bs[f.src])
        fid = f"{pid}-F{j + 1:02d}"
        site_node: dict[int, str] = {}
        p_sum = q_sum = s_abs = 0.0
        n_cust = 0
        for s in sorted({int(r.site) for r in f.rows}, key=lambda s: rank[s]):
            grp = need[(s, j)]
            k = groups_at.get(s, 0)
            groups_at[s] = k + 1
            point = f"{pid}-RMU{s + 1:03d}"
            nid = point if k == 0 else f"{point}-{k + 1}"
            site_node[s] = nid
            applied = [r for r in grp if str(r.parcel_id) not in ex]
            pp = sum(r.p_mw for r in applied)
            qq = sum(r.q_mvar for r in applied)
            bays = bpu * (math.ceil(len(grp) / bpu) + (spare_units.pop(s, 0) if k == 0 else 0))
            new_nodes.append({"id": nid, "kind": "rmu", "feeder_id": fid, "vn_kv": a.vn_kv,
                              "bays_total": bays, "spare_bays": bays - len(applied),
                              "p_mw": pp, "q_mvar": qq, "source_ref": src,
                              "geometry": shapely.Point(a.site_xy[s])})
            for r in grp:
                out.points[(str(r.parcel_id), int(r.circuit))] = ("node", nid)
            p_sum += pp
            q_sum += qq
            s_abs += sum(r.inc_mva for r in applied)
            n_cust += len(applied)
        # trunk: busbar -> hub (the engine's route), then along the ring each way
        hub = a.hub
        if hub in site_node:
            hub_node = site_node[hub]
        else:
            hub_node = f"{fid}-HUB"
            new_nodes.append({"id": hub_node, "kind": "junction", "feeder_id": fid,
                              "vn_kv": a.vn_kv, "source_ref": src,
                              "geometry": shapely.Point(a.site_xy[hub])})
        bb_node = str(cn.node_ids[cn.bs_busbar_node[b]])
        coords = np.asarray(a.src_coords[f.src], float)
        new_segs.append(seg_row(f"{fid}-S0", bb_node, hub_node, fid, cond,
                                a.src_route_m[f.src] / 1000.0, _line(coords[::-1])))
        for way in (True, False):
            sites = sorted((s for s in site_node if s != hub and forward[pos[s]] == way),
                           key=lambda s: fwd[pos[s]] if way else bwd[pos[s]])
            prev, prev_d = hub_node, 0.0
            prev_i = 0
            for s in sites:
                i = pos[s]
                d = fwd[i] if way else bwd[i]
                if way:
                    path = built[prev_i:i + 1]
                else:  # backwards: the hub is position len(built) of the loop
                    path = [built[j % len(built)] for j in
                            range(prev_i if prev_i else len(built), i - 1, -1)]
                # the ring's length is the straight line x route_detour_factor (as costed);
                # its drawn geometry is the straight sketch
                new_segs.append(seg_row(f"{fid}-S{len(new_segs)}", prev, site_node[s], fid, cond,
                                        (d - prev_d) / 1000.0, _line(a.site_xy[path]), True))
                prev, prev_d, prev_i = site_node[s], d, i
        new_feeders.append({
            "id": fid, "name": f"{res.park_id} new feeder {j + 1}",
            "substation_id": str(cn.ss_ids[cn.bs_substation[b]]),
            "bus_section_id": str(cn.bs_ids[b]), "vn_kv": a.vn_kv,
            "conductor_type": a.conductor, "rated_i_ka": float(cond["max_i_ka"]),
            # no load (only the re-planned parcel on it): the schema's default power factor
            "peak_mw": p_sum, "power_factor": p_sum / s_abs if s_abs > 0 else np.nan,
            "connection_mode": st.park_feeder_mode, "n_customers": n_cust, "source_ref": src})
        bs_bays[b] += 1
        bs_ds[b] += complex(p_sum, q_sum)
        ss_inc[int(a.src_ss[f.src])] += s_abs
        out.park_feeders.append({"feeder_id": fid, "bus_section_id": str(cn.bs_ids[b]),
                                 "load_mva": f.mva, "customers": f.cust,
                                 "capacity_mva": cap, "packing_mva": f.w})


def recheck_parcel(planner: Planner, res: ParkResult, parcel_id: str,
                   plan_net: PlanNetwork | None = None) -> list[dict[str, Any]]:
    """Re-plan one reserved parcel alone on the network with every *other* reservation built
    in, at its reserved point and conductor, through the engine's own candidates, routing
    and checks.

    Parameters
    ----------
    planner : Planner
        The planner ``res`` was made with (built from element tables).
    res : ParkResult
    parcel_id : str
    plan_net : PlanNetwork, optional
        ``network_with_plan(planner, res, exclude=[parcel_id])`` when already built.

    Returns
    -------
    list of dict
        One per reserved circuit: ``circuit``, ``point``, ``conductor``, ``feasible`` (every
        rejecting check passes), ``failing`` (names of the checks that fail, rejecting or
        flagging), ``found`` (the point is a candidate of the engine there).
    """
    from grid_models.compiled import compile_network
    from grid_models.errors import ValidationReport

    from ..candidates import KINDS, _query
    from ..evaluation import evaluate
    from ..routing import route_all
    from ..supply_area import area_class_at

    pn = plan_net or network_with_plan(planner, res, exclude=[parcel_id])
    pol = planner.policy
    if "version_id" not in pn.network.__dict__:
        # a throw-away view: named by what it is made of instead of hashing every table
        # (the content hash costs more than the rest of the rebuild)
        pn.network.__dict__["version_id"] = (f"{planner.cn.version_id}+park:{res.park_id}"
                                             f"-{parcel_id}")
    # the whole plan was validated by the caller; the per-parcel copies differ in loads only
    cn2 = compile_network(pn.network, pol, standard_types=planner.std,
                          validation=ValidationReport())
    C = res.circuits
    rows = C[C["parcel_id"].astype(str) == str(parcel_id)]
    out: list[dict[str, Any]] = []
    if rows.empty:
        return out
    p = int(rows["parcel"].iloc[0])
    park = res.park
    xy = park.parcels[["x", "y"]].to_numpy(float)[p]
    demand = park.demands[p]
    kva = float(park.parcels["requested_kva"].iloc[p])
    area = area_class_at(cn2, xy, pol)[0]
    for r in rows.itertuples(index=False):
        kind, point = pn.points[(str(r.parcel_id), int(r.circuit))]
        vn = float(r.vn_kv)
        if kind == "tap":
            pxy = np.asarray(point, float)
        elif kind == "bus_section":
            b = int(np.flatnonzero(cn2.bs_ids == point)[0])
            pxy = cn2.node_xy[cn2.bs_busbar_node[b]]
        else:
            pxy = cn2.node_xy[int(np.flatnonzero(cn2.node_ids == point)[0])]
        cand = _query(cn2, xy, vn, float(np.hypot(*(pxy - xy))) + 1.0, None, frozenset())
        if kind == "tap":  # the same point on the same feeder (a tie's two ends coincide)
            fid = str(planner.cn.feeder_ids[int(r.feeder)])
            hit = np.flatnonzero((cand.kind == KINDS.index("tap"))
                                 & (np.hypot(*(cand.xy - pxy).T) < 0.5)
                                 & (cn2.feeder_ids[np.maximum(cand.feeder, 0)] == fid)
                                 & (cand.feeder >= 0))
        else:
            hit = np.flatnonzero(cand.point_id.astype(str) == str(point))
        rec = {"circuit": int(r.circuit), "kind": r.kind, "point": point,
               "conductor": r.conductor, "found": bool(hit.size), "feasible": False,
               "failing": []}
        if hit.size:
            one = cand.take(hit[:1])
            routes = route_all(cn2, xy, one, pol)
            o = evaluate(cn2, one, routes, demand, pol, planner._conductors[vn], kva, -1, 0.0,
                         area)
            t = int(np.flatnonzero(o.conductors["name"].to_numpy() == r.conductor)[0])
            rec["feasible"] = bool(o.feasible[0, t])
            rec["failing"] = [n for n, ok in o.checks.passed.items() if not bool(ok[0, t])]
            rec["values"] = {n: float(v[0, t]) for n, v in o.checks.values.items()}
            rec["limits"] = {n: float(v[0, t]) for n, v in o.checks.limits.items()}
        out.append(rec)
    return out
