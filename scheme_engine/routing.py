"""Least-cost routes along roads from the customer to every candidate: ONE bounded Dijkstra.

The search runs once per application from the customer's road vertex on the compiled road
graph (edge weights: length x road-class cost factor + obstacle-crossing penalty; forbidden
zones are already cut out). The predecessor tree is walked for all targets at once (one numpy
step per path depth, not one Python walk per candidate); route geometry is rebuilt only for
the routes a scheme uses. Where no road reaches (no roads, snap too far, beyond the search
limit), or where a neighbouring point is closer directly than via the road, the route is the
straight line x ``route_detour_factor`` and is flagged; such a line pays for costly obstacles
it crosses and is refused through forbidden zones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from grid_models.compiled import CompiledNetwork
from grid_models.policy import Policy

from .candidates import Candidates


@dataclass(frozen=True)
class Routes:
    """Route of each candidate (arrays aligned with the candidates)."""

    length_m: np.ndarray
    road_cable_m: np.ndarray  # along roads whose class takes cable
    road_overhead_m: np.ndarray  # along roads whose class takes overhead lines
    crossings: np.ndarray
    crossing_cost_cny: np.ndarray
    forbidden: np.ndarray  # a straight fallback line would cross a forbidden zone
    fallback: np.ndarray  # straight line x detour factor (no road path)
    edge_owner: np.ndarray  # flat (route index, road edge id) pairs of every road path
    edge_id: np.ndarray
    # what is needed to rebuild a route's geometry on demand
    _xy: np.ndarray
    _cand_xy: np.ndarray
    _target: np.ndarray  # road vertex of each access point (-1 none)
    _source: int
    _pred: np.ndarray | None
    _cn: CompiledNetwork | None

    def coords(self, i: int) -> np.ndarray:
        """Polyline (metric) from the customer to access point ``i``."""
        if self.fallback[i] or self._pred is None or self._cn is None:
            return np.vstack([self._xy, self._cand_xy[i]])
        road = self._cn.road
        # the all-target walk stored this route's edges from the target back to the source
        e = self.edge_id[self.edge_owner == i][::-1]
        if e.size == 0:
            return np.vstack([self._xy, road.xy[self._source], self._cand_xy[i]])
        summ = road.path_summary(e)
        verts, pc = summ["vertices"], summ["coords"]
        if verts[0] != self._source:  # a chain's direction is ambiguous for one edge
            pc = pc[::-1]
        return np.vstack([self._xy, pc, self._cand_xy[i]])


def route_all(cn: CompiledNetwork, xy: np.ndarray, cand: Candidates, policy: Policy) -> Routes:
    """Route from ``xy`` to every candidate access point with one bounded Dijkstra."""
    n = len(cand)
    straight = cand.dist_m
    length = straight * policy.param("route_detour_factor")
    cab = np.zeros(n)
    ovh = length.copy()
    cross = np.zeros(n)
    cross_cost = np.zeros(n)
    fallback = np.ones(n, bool)
    none = np.empty(0, np.int64)
    road = cn.road
    snap_max = policy.param("road_snap_max_m")

    def done(pred=None, src=-1, tv=None, owner=none, eid=none) -> Routes:
        return _finish(cn, xy, cand, length, cab, ovh, cross, cross_cost, fallback, owner, eid,
                       np.full(n, -1) if tv is None else tv, src, pred)

    if n == 0 or road.xy.shape[0] == 0:
        return done()
    src_a, src_d = road.nearest_vertex(xy.reshape(1, 2), snap_max)
    src, src_d = int(src_a[0]), float(src_d[0])
    if src < 0 or not np.isfinite(src_d):
        return done()
    # Access-point road vertices: precomputed for nodes, queried for tap points.
    node = np.maximum(cand.node, 0)
    tv = np.where(cand.seg < 0, cn.node_road_vertex[node], -1)
    td = np.where(cand.seg < 0, cn.node_road_dist_m[node], np.inf)
    taps = np.flatnonzero(cand.seg >= 0)
    if taps.size:
        v, d = road.nearest_vertex(cand.xy[taps], snap_max)
        tv[taps], td[taps] = v, d
    ok = (tv >= 0) & np.isfinite(td) & (td <= snap_max)
    if not ok.any():
        return done()
    cap = policy.param("route_search_max_m")
    limit = min(policy.param("route_search_limit_factor")
                * (float(straight[ok].max()) + src_d + 1.0), cap)
    for _ in range(3):  # a target beyond the limit: double it (recipes.md), up to the cap
        dist, pred = dijkstra(road.csr, indices=src, limit=limit, return_predecessors=True)
        reached = ok & np.isfinite(dist[np.maximum(tv, 0)])
        if reached.sum() == ok.sum() or limit >= cap:
            break
        limit = min(2 * limit, cap)
    idx = np.flatnonzero(reached)
    owner, eid = _walk(pred, src, tv[idx], road)
    owner = idx[owner]
    eid_ok = eid >= 0
    owner, eid = owner[eid_ok], eid[eid_ok]
    ncons = len(road.constructions)
    by = np.bincount(owner * ncons + road.edge_construction[eid].astype(np.int64),
                     weights=road.edge_length_m[eid], minlength=n * ncons).reshape(n, ncons)
    on_road = by.sum(axis=1)
    ci = road.constructions.index("cable") if "cable" in road.constructions else -1
    road_cab = by[:, ci] if ci >= 0 else np.zeros(n)
    ends = src_d + np.where(np.isfinite(td), td, 0)
    length[idx] = on_road[idx] + ends[idx]
    cab[idx] = road_cab[idx]
    # the snap legs at both ends count with the overhead share
    ovh[idx] = length[idx] - cab[idx]
    cross[idx] = np.round(np.bincount(owner, weights=road.edge_crossings[eid], minlength=n))[idx]
    cross_cost[idx] = np.bincount(owner, weights=road.edge_crossing_cost_cny[eid], minlength=n)[idx]
    fallback[idx] = False
    # Neighbouring plots: a short direct line beats walking out to the road and back.
    direct = straight * policy.param("route_detour_factor")
    short = ~fallback & (direct < length) & (straight <= snap_max)
    if short.any():
        length[short], cab[short], ovh[short] = direct[short], 0.0, direct[short]
        cross[short] = 0
        cross_cost[short] = 0
        fallback[short] = True
        keep = ~short[owner]
        owner, eid = owner[keep], eid[keep]
    return done(pred, src, tv, owner, eid)


def _walk(pred: np.ndarray, src: int, targets: np.ndarray, road
          ) -> tuple[np.ndarray, np.ndarray]:
    """Edges of the paths src -> each target, all targets at once.

    Returns flat arrays (target index, edge id); one numpy step per path depth.
    """
    from grid_models.errors import GridSchemeError

    cur = targets.astype(np.int64).copy()
    active = np.flatnonzero(cur != src)
    owners, us, vs = [], [], []
    steps = 0
    while active.size:
        p = pred[cur[active]]
        if (p < 0).any() or steps > road.n_vertices:
            raise GridSchemeError("road predecessor tree is broken: a reached target has no path")
        owners.append(active)
        us.append(p)
        vs.append(cur[active])
        cur[active] = p
        active = active[p != src]
        steps += 1
    if not owners:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(owners), road.edge_ids(np.concatenate(us), np.concatenate(vs))


def _finish(cn, xy, cand, length, cab, ovh, cross, cross_cost, fallback, owner, eid, tv, src,
            pred) -> Routes:
    """Obstacles on straight fallback lines: costly ones are paid, forbidden ones block."""
    forbidden = np.zeros(len(length), bool)
    fb = np.flatnonzero(fallback)
    if fb.size and cn.obstacle_tree is not None:
        lines = shapely.linestrings(np.stack([np.repeat(xy[None, :], fb.size, 0), cand.xy[fb]], 1))
        li, oi = cn.obstacle_tree.query(lines, predicate="intersects")
        if li.size:
            np.logical_or.at(forbidden, fb[li], cn.obstacle_forbidden[oi])
            costly = ~cn.obstacle_forbidden[oi]
            np.add.at(cross, fb[li[costly]], 1)
            np.add.at(cross_cost, fb[li[costly]], cn.obstacle_cost_cny[oi[costly]])
    return Routes(length, cab, ovh, cross.astype(np.int64), cross_cost, forbidden, fallback,
                  owner, eid, xy, cand.xy, tv, src, pred, cn)


def shared_corridor_m(routes: Routes, edge_length_m: np.ndarray) -> np.ndarray:
    """Pairwise length of road shared by two routes (n x n, metres)."""
    n = len(routes.length_m)
    if routes.edge_id.size == 0:
        return np.zeros((n, n))
    m = csr_matrix((np.ones(routes.edge_id.size), (routes.edge_owner, routes.edge_id)),
                   shape=(n, edge_length_m.size))
    m.data[:] = 1.0  # a route uses an edge once
    w = m.multiply(edge_length_m.reshape(1, -1)).tocsr()
    out = (w @ m.T).toarray()
    np.fill_diagonal(out, 0.0)
    return out


def corridor_conflicts(routes: Routes, edge_length_m: np.ndarray, max_ratio: float,
                       allowance_m: float) -> np.ndarray:
    """Pairs of routes sharing more than ``max(max_ratio x shorter route, allowance_m)``."""
    shared = shared_corridor_m(routes, edge_length_m)
    shorter = np.minimum.outer(routes.length_m, routes.length_m)
    return shared > np.maximum(max_ratio * shorter, allowance_m)
