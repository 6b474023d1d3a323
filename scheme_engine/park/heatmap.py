"""Capacity heat map recomputed from the model: remaining N-1 headroom per feeder and per access
point, after any reservations (a :class:`~scheme_engine.park.ledger.Ledger`).

Per feeder: ``headroom_mva = limit x rated - peak/pf - reserved`` (the ``feeder_load_rate``
check's room), with ``rated_mva``, ``peak_mw``, ``load_rate`` (after reservations),
``n1_load_rate_limit``, ``reserved_mva``. Per access point (an RMU / switching station /
station with spare bays, or a substation bus section with spare bays): the MVA a new customer
could still take there, the smallest of its feeder's N-1 room (a bus section: a new feeder's, the
section's unit room), its substation's transformer room, and the thermal headroom of the path
to its busbar (``sqrt(3) x kV x kA``); ``bays_left`` after reservations. Geometry in EPSG:4326;
everything vectorised over the compiled arrays (no loop over elements).
"""

from __future__ import annotations

import json

import numpy as np
import shapely

from grid_models.compiled import BAY_KIND_CODES, SQRT3, CompiledNetwork
from grid_models.crs import transformer
from grid_models.policy import Policy

from .ledger import Ledger, Limits

COORD_DIGITS = 7


def _to_wgs(cn: CompiledNetwork, geoms: np.ndarray) -> np.ndarray:
    tr = transformer(cn.crs, "EPSG:4326")

    def f(xy: np.ndarray) -> np.ndarray:
        lon, lat = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.set_precision(shapely.transform(geoms, f), 10 ** -COORD_DIGITS)


def _path_min(cn: CompiledNetwork, per_branch: np.ndarray) -> np.ndarray:
    """Per node: the smallest ``per_branch`` value on its path to the busbar (by tree level)."""
    out = np.full(cn.n_nodes, np.inf)
    for lv in cn.levels[1:]:
        out[lv] = np.minimum(out[cn.parent[lv]], per_branch[lv])
    return out


def capacity_heatmap(cn: CompiledNetwork, policy: Policy, ledger: Ledger | None = None,
                     access_points: bool = True,
                     bbox: tuple[float, float, float, float] | None = None) -> dict:
    """The heat map as a GeoJSON FeatureCollection (features with ``kind`` ``feeder`` or
    ``access_point``; see the module notes for the properties).

    Parameters
    ----------
    bbox : (xmin, ymin, xmax, ymax), optional
        Metric bounds (the network's CRS): only feeders with a node inside and access points
        inside (a park's neighbourhood; the whole city's map is large).
    """
    lim = Limits.of(cn, policy)
    led = ledger if ledger is not None else Ledger.empty(cn)
    nf = len(cn.feeder_ids)
    rated = cn.feeder_rated_mva
    pf = np.where(cn.feeder_pf > 0, cn.feeder_pf, 1.0)
    f_head = lim.feeder_mva - led.feeder_mva
    ss_head = lim.ss_mva - led.ss_mva
    bs_head = lim.bs_mva - led.bs_mva
    # feeder geometry: each in-forest segment belongs to its child node's feeder
    child = cn.seg_child
    seg_f = np.where(child >= 0, cn.node_feeder[np.maximum(child, 0)], -1)
    inside = _inside(cn.node_xy, bbox)
    keep_f = np.ones(nf, bool) if bbox is None else np.zeros(nf, bool)
    if bbox is not None:
        keep_f[cn.node_feeder[inside & (cn.node_feeder >= 0)]] = True
    ok = (seg_f >= 0) & ~shapely.is_missing(cn.seg_geometry)
    ok &= keep_f[np.maximum(seg_f, 0)]
    geoms = np.full(nf, None, dtype=object)
    if ok.any():
        o = np.argsort(seg_f[ok], kind="stable")
        present, dense = np.unique(seg_f[ok][o], return_inverse=True)
        multi = shapely.multilinestrings(cn.seg_geometry[ok][o], indices=dense.ravel())
        geoms[present] = _to_wgs(cn, np.asarray(multi, dtype=object))
    feats = []
    load_rate = (cn.feeder_peak_mw / pf + led.feeder_mva) / np.where(rated > 0, rated, np.nan)
    for f in np.flatnonzero(keep_f):
        g = geoms[f]
        feats.append({
            "type": "Feature", "id": str(cn.feeder_ids[f]),
            "geometry": None if g is None else json.loads(shapely.to_geojson(g)),
            "properties": {
                "kind": "feeder", "feeder_id": str(cn.feeder_ids[f]),
                "substation_id": str(cn.ss_ids[cn.feeder_substation[f]])
                if cn.feeder_substation[f] >= 0 else None,
                "bus_section_id": str(cn.bs_ids[cn.feeder_bus_section[f]])
                if cn.feeder_bus_section[f] >= 0 else None,
                "vn_kv": round(float(cn.feeder_vn_kv[f]), 3),
                "connection_mode": str(cn.feeder_mode[f]),
                "rated_mva": _r(rated[f]), "peak_mw": _r(cn.feeder_peak_mw[f]),
                "power_factor": _r(pf[f]), "load_rate": _r(load_rate[f]),
                "n1_load_rate_limit": _r(lim.feeder_limit[f]),
                "reserved_mva": _r(led.feeder_mva[f]), "headroom_mva": _r(f_head[f]),
                "n1_secure": bool(f_head[f] >= 0)}})
    if access_points:
        feats += _access_points(cn, policy, lim, led, f_head, ss_head, bs_head, inside)
    return {"type": "FeatureCollection", "network_version": cn.version_id,
            "policy_id": policy.policy_id, "reservations": list(led.parks),
            "features": feats}


def _inside(xy: np.ndarray, bbox: tuple[float, float, float, float] | None) -> np.ndarray:
    if bbox is None:
        return np.ones(len(xy), bool)
    x0, y0, x1, y1 = bbox
    return (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)


def _access_points(cn: CompiledNetwork, policy: Policy, lim: Limits, led: Ledger,
                   f_head: np.ndarray, ss_head: np.ndarray, bs_head: np.ndarray,
                   inside: np.ndarray) -> list[dict]:
    branch = lim.branch_ka - led.branch_ka
    path_ka = _path_min(cn, branch)
    bay = np.flatnonzero(np.isin(cn.node_kind, BAY_KIND_CODES) & (cn.node_feeder >= 0)
                         & (cn.node_spare_bays > 0) & inside)
    f = cn.node_feeder[bay]
    bsi = cn.node_bus_section[bay]
    ss = cn.feeder_substation[f]
    therm = SQRT3 * cn.node_vn_kv[bay] * path_ka[bay]
    head_n = np.minimum.reduce([f_head[f], np.where(ss >= 0, ss_head[np.maximum(ss, 0)], np.inf),
                                np.where(bsi >= 0, bs_head[np.maximum(bsi, 0)], np.inf), therm])
    bays_n = lim.node_bays[bay] - led.node_bays[bay] + policy.params.min_spare_bays_rmu - 1
    bsel = np.flatnonzero((cn.bs_spare_bays > 0) & (cn.bs_busbar_node >= 0))
    bsel = bsel[inside[cn.bs_busbar_node[bsel]]]
    ss_b = cn.bs_substation[bsel]
    head_b = np.minimum(bs_head[bsel], np.where(ss_b >= 0, ss_head[np.maximum(ss_b, 0)], np.inf))
    bays_b = lim.bs_bays[bsel] - led.bs_bays[bsel] + policy.params.min_spare_bays_substation - 1
    xy = np.vstack([cn.node_xy[bay], cn.node_xy[cn.bs_busbar_node[bsel]]])
    pts = _to_wgs(cn, shapely.points(xy)) if len(xy) else np.zeros(0, object)
    coords = shapely.get_coordinates(pts) if len(xy) else np.zeros((0, 2))
    out = []
    kinds = {1: "rmu", 2: "switching_station", 6: "station"}
    for i, n in enumerate(bay):
        out.append({"type": "Feature", "id": str(cn.node_ids[n]),
                    "geometry": {"type": "Point", "coordinates": [float(coords[i, 0]),
                                                                  float(coords[i, 1])]},
                    "properties": {"kind": "access_point", "point_id": str(cn.node_ids[n]),
                                   "point_kind": kinds.get(int(cn.node_kind[n]), "bay"),
                                   "feeder_id": str(cn.feeder_ids[f[i]]),
                                   "vn_kv": round(float(cn.node_vn_kv[n]), 3),
                                   "headroom_mva": _r(head_n[i]), "bays_left": int(bays_n[i]),
                                   "n1_secure": bool(head_n[i] >= 0), "radius_m": 120}})
    k0 = bay.size
    for i, b in enumerate(bsel):
        out.append({"type": "Feature", "id": str(cn.bs_ids[b]),
                    "geometry": {"type": "Point", "coordinates": [float(coords[k0 + i, 0]),
                                                                  float(coords[k0 + i, 1])]},
                    "properties": {"kind": "access_point", "point_id": str(cn.bs_ids[b]),
                                   "point_kind": "busbar",
                                   "substation_id": str(cn.ss_ids[ss_b[i]]) if ss_b[i] >= 0 else None,
                                   "vn_kv": round(float(cn.bs_vn_kv[b]), 3),
                                   "headroom_mva": _r(head_b[i]), "bays_left": int(bays_b[i]),
                                   "n1_secure": bool(head_b[i] >= 0), "radius_m": 250}})
    return out


def _r(v: float) -> float | None:
    v = float(v)
    return round(v, 4) if np.isfinite(v) else None
