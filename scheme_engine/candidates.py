"""Connection candidates near a customer: substation bays, RMU / switching-station bays,
T-taps on overhead segments and, for a capacity increase, the present connection.

One application costs a few k-d tree / STRtree queries with a radius that doubles until enough
distinct feeders are found (``min_distinct_feeders``); nothing loops over network elements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from grid_models.compiled import NODE_KIND_CODES, CompiledNetwork
from grid_models.policy import Policy

KINDS = ("busbar", "rmu", "switching_station", "tap", "existing", "station")
K_BUSBAR, K_RMU, K_SWST, K_TAP, K_EXISTING, K_STATION = range(6)
#: connection kinds that occupy a spare switchgear bay on the existing feeder
BAY_KINDS = (K_RMU, K_SWST, K_STATION)
#: node kind code (grid_models.compiled.NODE_KIND_CODES) -> connection kind
_NODE_BAY_KIND = {NODE_KIND_CODES["rmu"]: K_RMU, NODE_KIND_CODES["switching_station"]: K_SWST,
                  NODE_KIND_CODES["station"]: K_STATION}
#: the same as a look-up array (other node kinds with bays count as switching stations)
_NODE_BAY_KIND_LUT = np.full(256, K_SWST, np.int8)
_NODE_BAY_KIND_LUT[list(_NODE_BAY_KIND)] = list(_NODE_BAY_KIND.values())
#: whether a connection kind occupies a bay, by kind code
IS_BAY_KIND = np.isin(np.arange(len(KINDS)), BAY_KINDS)


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
        fields = ("kind", "point_id", "node", "seg", "frac_from_parent", "dist_from_start_m",
                  "xy", "dist_m", "feeder", "bus_section", "substation")
        return Candidates(self.vn_kv, *(getattr(self, f)[idx] for f in fields),  # type: ignore[misc]
                          radius_m=self.radius_m)


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
        k = _NODE_BAY_KIND_LUT[cn.node_kind[idx]]
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
    pieces = _overhead_pieces(cn, vn)
    if pieces is not None:
        hit = pieces.near(xy, r)
        if hit is not None:
            s, d, frac_start, tap_xy = hit
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


class _Pieces:
    """The straight pieces of a level's overhead segments (consecutive vertices of their
    geometry) with a k-d tree over their midpoints: the nearest point of every segment within a
    radius in a few numpy steps, where shapely's tree query, distance, locate and interpolate
    cost ~0.3 ms per application."""

    def __init__(self, cn: CompiledNetwork, segs: np.ndarray) -> None:
        geoms = cn.seg_geometry[segs]
        coords, owner = shapely.get_coordinates(geoms, return_index=True)
        same = owner[1:] == owner[:-1]
        self.p0, self.p1 = coords[:-1][same], coords[1:][same]
        self.seg = segs[owner[:-1][same]]
        ln = np.hypot(*(self.p1 - self.p0).T)
        self.len = ln
        start = np.r_[0, np.cumsum(ln)]
        first = np.r_[True, self.seg[1:] != self.seg[:-1]]
        base = np.maximum.accumulate(np.where(first, start[:-1], 0.0))
        self.cum = start[:-1] - base  # length of the geometry before each piece
        total = np.bincount(np.searchsorted(np.unique(self.seg), self.seg), weights=ln)
        self.glen = total[np.searchsorted(np.unique(self.seg), self.seg)]
        self.half = float(ln.max() / 2) if ln.size else 0.0
        self.tree = cKDTree((self.p0 + self.p1) / 2) if ln.size else None

    def near(self, xy: np.ndarray, r: float):
        """(segment, distance, fraction along its geometry, nearest point) of every segment
        within ``r`` of ``xy``, or None."""
        if self.tree is None:
            return None
        # sorted: a segment's pieces are consecutive, so each segment is one run of ``idx``
        idx = np.sort(np.asarray(self.tree.query_ball_point(xy, r + self.half), dtype=np.int64))
        if idx.size == 0:
            return None
        a, b = self.p0[idx], self.p1[idx]
        ab = b - a
        ll = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", xy - a, ab) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
        p = a + t[:, None] * ab
        d = np.hypot(*(xy - p).T)
        seg = self.seg[idx]
        # per segment (run), its nearest piece: the first piece at the run's minimum
        first = np.empty(seg.size, bool)
        first[0] = True
        np.not_equal(seg[1:], seg[:-1], out=first[1:])
        run = np.cumsum(first) - 1
        at_min = np.flatnonzero(d == np.minimum.reduceat(d, np.flatnonzero(first))[run])
        k = at_min[np.concatenate(([True], run[at_min][1:] != run[at_min][:-1]))]
        k = k[np.argsort(seg[k], kind="stable")]  # by segment id, as before
        keep = d[k] <= r
        k = k[keep]
        if k.size == 0:
            return None
        along = self.cum[idx[k]] + t[k] * self.len[idx[k]]
        glen = self.glen[idx[k]]
        frac = np.where(glen > 0, along / np.where(glen > 0, glen, 1.0), 0.0)
        return seg[k], d[k], frac, p[k]


def _overhead_pieces(cn: CompiledNetwork, vn: float) -> _Pieces | None:
    """The level's overhead pieces, built on first use and remembered on the compiled view
    (derived once per network version, not pickled)."""
    memo = cn.__dict__.setdefault("_overhead_pieces", {})
    if vn not in memo:
        oh = cn.overhead_segments.get(vn)
        memo[vn] = _Pieces(cn, np.asarray(oh[1], np.int64)) if oh is not None and len(oh[1]) \
            else None
    return memo[vn]


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
    first = np.concatenate(([True], g[1:] != g[:-1]))
    start = np.maximum.accumulate(np.where(first, np.arange(g.size), 0))
    rank = np.empty(g.size, np.int64)
    rank[o] = np.arange(g.size) - start
    must = c.kind == K_EXISTING
    busbar = np.flatnonzero(c.kind == K_BUSBAR)[: max(int(cap * bay_share), 1)]
    must[busbar] = True
    rest = np.flatnonzero(~must & (rank < per_feeder))[: max(cap - int(must.sum()), 0)]
    idx = np.sort(np.concatenate((np.flatnonzero(must), rest)))  # keeps distance order
    return c.take(idx)
