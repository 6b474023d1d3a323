"""Connection candidates near a customer: substation bays, RMU / switching-station bays,
T-taps on overhead segments and, for a capacity increase, the present connection.

One application costs a few k-d tree / STRtree queries with a radius that doubles until enough
distinct feeders are found (``min_distinct_feeders``); nothing loops over network elements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from grid_models.compiled import CompiledNetwork
from grid_models.policy import Policy

KINDS = ("busbar", "rmu", "switching_station", "tap", "existing", "station")
K_BUSBAR, K_RMU, K_SWST, K_TAP, K_EXISTING, K_STATION = range(6)
#: connection kinds that occupy a spare switchgear bay on the existing feeder
BAY_KINDS = (K_RMU, K_SWST, K_STATION)
#: node kind code (grid_models.compiled.NODE_KIND_CODES) -> connection kind
_NODE_BAY_KIND = {1: K_RMU, 2: K_SWST, 6: K_STATION}


@dataclass(frozen=True)
class Candidates:
    """Candidate connection points for one voltage level (arrays of equal length)."""

    vn_kv: float
    kind: np.ndarray  # index into KINDS
    point_id: np.ndarray  # node id, bus-section id, or segment id for taps
    node: np.ndarray  # electrical node (busbar node for new feeders; tree child for taps)
    seg: np.ndarray  # tapped segment (-1 otherwise)
    frac_from_parent: np.ndarray  # tap position along the segment from its parent side
    dist_from_start_m: np.ndarray  # tap position from the segment geometry's start
    xy: np.ndarray  # access point coordinates (metric)
    dist_m: np.ndarray  # straight distance from the customer
    feeder: np.ndarray  # existing feeder (-1 for a new dedicated feeder)
    bus_section: np.ndarray
    substation: np.ndarray
    radius_m: float

    def __len__(self) -> int:
        return int(self.kind.size)

    def take(self, idx: np.ndarray) -> Candidates:
        return Candidates(self.vn_kv, *(getattr(self, f)[idx] for f in (
            "kind", "point_id", "node", "seg", "frac_from_parent", "dist_from_start_m", "xy",
            "dist_m", "feeder", "bus_section", "substation")), radius_m=self.radius_m)


def find_candidates(cn: CompiledNetwork, xy: np.ndarray, vn_kv: float, policy: Policy,
                    existing_node: int | None = None,
                    excluded: frozenset[str] = frozenset()) -> Candidates:
    """Candidates at ``vn_kv`` around ``xy`` (metric), nearest first, diverse across feeders.

    Parameters
    ----------
    cn : CompiledNetwork
    xy : ndarray, shape (2,)
        Customer location in the network's metric CRS.
    vn_kv : float
        Voltage level.
    policy : Policy
        Supplies the radius schedule, candidate cap and per-feeder diversity.
    existing_node : int, optional
        Present connection node of a capacity-increase customer (always kept).
    excluded : frozenset of str
        Point ids the designer excluded.
    """
    p = policy.params
    r = p.candidate_search_radius_m
    r_max = policy.voltage_level(vn_kv).search_radius_max_m
    need = p.min_distinct_feeders
    while True:
        c = _query(cn, xy, vn_kv, r, existing_node, excluded)
        distinct = np.unique(np.where(c.feeder >= 0, c.feeder, -2 - c.bus_section)).size
        if distinct >= need or r >= r_max:
            break
        r = min(2 * r, r_max)
    return _diversify(c, p.max_candidates, existing_node, p.candidates_per_feeder,
                      p.substation_bay_candidate_share)


def _query(cn: CompiledNetwork, xy: np.ndarray, vn: float, r: float,
           existing_node: int | None, excluded: frozenset[str]) -> Candidates:
    parts = []
    bay = cn.bay_nodes.get(vn)
    if bay is not None:
        idx, d = bay.query_radius(xy, r)
        nk = cn.node_kind[idx]
        k = np.select([nk == code for code in _NODE_BAY_KIND], list(_NODE_BAY_KIND.values()),
                      K_SWST)
        parts.append(_from_nodes(cn, idx, d, k))
    bb = cn.busbar_sections.get(vn)
    if bb is not None:
        bsi, d = bb.query_radius(xy, r)
        node = cn.bs_busbar_node[bsi]
        parts.append(dict(kind=np.full(bsi.size, K_BUSBAR), point_id=cn.bs_ids[bsi], node=node,
                          seg=np.full(bsi.size, -1), frac=np.zeros(bsi.size),
                          dstart=np.zeros(bsi.size), xy=cn.node_xy[node], dist=d,
                          feeder=np.full(bsi.size, -1), bs=bsi,
                          ss=cn.bs_substation[bsi]))
    oh = cn.overhead_segments.get(vn)
    if oh is not None:
        tree, segs = oh
        hit = tree.query(shapely.points(xy), predicate="dwithin", distance=r)
        if hit.size:
            s = segs[hit]
            geoms = cn.seg_geometry[s]
            pt = shapely.points(xy)
            d = shapely.distance(geoms, pt)
            along = shapely.line_locate_point(geoms, pt)
            glen = shapely.length(geoms)
            frac_start = np.where(glen > 0, along / np.where(glen > 0, glen, 1), 0.0)
            tap_xy = shapely.get_coordinates(shapely.line_interpolate_point(geoms, along))
            child = cn.seg_child[s]
            # The parent side is the end that is not the tree child.
            child_is_to = cn.seg_to[s] == child
            frac_parent = np.where(child_is_to, frac_start, 1 - frac_start)
            parts.append(dict(kind=np.full(s.size, K_TAP), point_id=cn.seg_ids[s], node=child,
                              seg=s, frac=frac_parent,
                              dstart=frac_start * cn.seg_length_km[s] * 1000, xy=tap_xy,
                              dist=d, feeder=cn.node_feeder[child],
                              bs=cn.node_bus_section[child],
                              ss=cn.feeder_substation[np.maximum(cn.node_feeder[child], 0)]))
    if existing_node is not None:
        e = np.array([existing_node])
        parts.append(_from_nodes(cn, e, np.hypot(*(cn.node_xy[e] - xy).T), np.array([K_EXISTING])))
    cat = {k: np.concatenate([p[k] for p in parts]) if parts else np.empty(0)
           for k in ("kind", "point_id", "node", "seg", "frac", "dstart", "dist", "feeder", "bs", "ss")}
    cat_xy = np.vstack([p["xy"].reshape(-1, 2) for p in parts]) if parts else np.empty((0, 2))
    keep = ~np.isin(cat["point_id"].astype(str), list(excluded)) if excluded else \
        np.ones(cat["kind"].size, bool)
    keep &= cat["node"].astype(np.int64) >= 0
    o = np.flatnonzero(keep)[np.argsort(cat["dist"][keep], kind="stable")]
    return Candidates(vn, cat["kind"][o].astype(np.int8), cat["point_id"][o].astype(object),
                      cat["node"][o].astype(np.int64), cat["seg"][o].astype(np.int64),
                      cat["frac"][o].astype(float), cat["dstart"][o].astype(float), cat_xy[o],
                      cat["dist"][o].astype(float), cat["feeder"][o].astype(np.int64),
                      cat["bs"][o].astype(np.int64), cat["ss"][o].astype(np.int64), r)


def _from_nodes(cn: CompiledNetwork, idx: np.ndarray, d: np.ndarray, kind: np.ndarray) -> dict:
    f = cn.node_feeder[idx]
    return dict(kind=kind, point_id=cn.node_ids[idx], node=idx, seg=np.full(idx.size, -1),
                frac=np.zeros(idx.size), dstart=np.zeros(idx.size), xy=cn.node_xy[idx], dist=d,
                feeder=f, bs=cn.node_bus_section[idx],
                ss=np.where(f >= 0, cn.feeder_substation[np.maximum(f, 0)],
                            cn.bs_substation[np.maximum(cn.node_bus_section[idx], 0)]))


def _diversify(c: Candidates, cap: int, existing_node: int | None, per_feeder: int,
               bay_share: float) -> Candidates:
    """Keep at most ``cap`` candidates: the present connection, the nearest substation bays
    (``bay_share`` of the cap: new dedicated feeders must stay in the comparison even when many
    RMUs and taps are closer), then the nearest others with at most ``per_feeder`` per feeder."""
    if len(c) == 0:
        return c
    group = np.where(c.feeder >= 0, c.feeder, -2 - c.bus_section)
    # rank within group in distance order (candidates are already sorted by distance)
    o = np.argsort(group, kind="stable")
    g = group[o]
    first = np.r_[True, g[1:] != g[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(g.size), 0))
    rank = np.empty(g.size, np.int64)
    rank[o] = np.arange(g.size) - start
    must = c.kind == K_EXISTING
    busbar = np.flatnonzero(c.kind == K_BUSBAR)[: max(int(cap * bay_share), 1)]
    must[busbar] = True
    rest = np.flatnonzero(~must & (rank < per_feeder))[: max(cap - int(must.sum()), 0)]
    idx = np.sort(np.r_[np.flatnonzero(must), rest])  # keeps distance order
    return c.take(idx)
