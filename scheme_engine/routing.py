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
        if self.fallback[i] or self._cn is None:
            return np.vstack([self._xy, self._cand_xy[i]])
        road = self._cn.road
        # the route's road edges, stored in order from the customer
        e = self.edge_id[self.edge_owner == i]
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
    length = straight * policy.params.route_detour_factor
    cab = np.zeros(n)
    ovh = length.copy()
    cross = np.zeros(n)
    cross_cost = np.zeros(n)
    fallback = np.ones(n, bool)
    none = np.empty(0, np.int64)
    road = cn.road
    snap_max = policy.params.road_snap_max_m

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
    cap = policy.params.route_search_max_m
    limit = min(policy.params.route_search_limit_factor
                * (float(straight[ok].max()) + src_d + 1.0), cap)
    core = cn.road_core
    tgt = np.flatnonzero(ok)
    s_idx, s_w, _ = core.ends(np.array([src]))
    srcs = np.unique(s_idx[0])
    t_idx, t_w, _ = core.ends(tv[tgt])
    for _ in range(3):  # a target beyond the limit: double it (recipes.md), up to the cap
        dist, pred = dijkstra(core.csr, indices=srcs, limit=limit, return_predecessors=True)
        dist, pred = np.atleast_2d(dist), np.atleast_2d(pred)
        # best of (way out of the source's chain) x (way into the target's chain)
        tot = np.full((tgt.size, 4), np.inf)
        for i in range(2):
            si = int(np.searchsorted(srcs, s_idx[0, i]))
            for j in range(2):
                tot[:, 2 * i + j] = s_w[0, i] + dist[si, t_idx[:, j]] + t_w[:, j]
        sc = core.v_chain[src]
        same = (sc >= 0) & (core.v_chain[tv[tgt]] == sc)
        direct = np.where(same, np.abs(core.v_off_w[tv[tgt]] - core.v_off_w[src]), np.inf)
        direct = np.where(tv[tgt] == src, 0.0, direct)
        best_way = np.argmin(tot, axis=1)
        best = tot[np.arange(tgt.size), best_way]
        use_direct = direct <= best
        best = np.minimum(best, direct)
        reached_t = np.isfinite(best) & (best <= limit)
        if reached_t.all() or limit >= cap:
            break
        limit = min(2 * limit, cap)
    idx = tgt[reached_t]
    segs = _segments(core, src, tv, idx, best_way[reached_t], use_direct[reached_t], srcs, s_idx,
                     t_idx[reached_t], pred)
    owner, eid = _expand(core, *segs)
    ncons = len(road.constructions)
    by = np.bincount(owner * ncons + road.edge_construction[eid].astype(np.int64),
                     weights=road.edge_length_m[eid], minlength=n * ncons).reshape(n, ncons)
    ci = road.constructions.index("cable") if "cable" in road.constructions else -1
    ends = src_d + np.where(np.isfinite(td), td, 0)
    length[idx] = by.sum(axis=1)[idx] + ends[idx]
    cab[idx] = by[idx, ci] if ci >= 0 else 0.0
    # the snap legs at both ends count with the overhead share
    ovh[idx] = length[idx] - cab[idx]
    cross[idx] = np.round(np.bincount(owner, weights=road.edge_crossings[eid], minlength=n))[idx]
    cross_cost[idx] = np.bincount(owner, weights=road.edge_crossing_cost_cny[eid], minlength=n)[idx]
    fallback[idx] = False
    # Neighbouring plots: a short direct line beats walking out to the road and back.
    direct_line = straight * policy.params.route_detour_factor
    short = ~fallback & (direct_line < length) & (straight <= snap_max)
    if short.any():
        length[short], cab[short], ovh[short] = direct_line[short], 0.0, direct_line[short]
        cross[short] = 0
        cross_cost[short] = 0
        fallback[short] = True
        keep = ~short[owner]
        owner, eid = owner[keep], eid[keep]
    return done(None, src, tv, owner, eid)


def _segments(core, src, tv, idx, way, use_direct, srcs, s_idx, t_idx, pred):
    """Ranges of ``core.chain_edges`` making up each route, in order from the customer.

    Returns flat arrays (owner, lo, hi, reversed, order).
    """
    own, lo, hi, rev, order = [], [], [], [], []
    ptr = core.chain_ptr

    def add(o, a, b, r, k):
        own.append(o)
        lo.append(a)
        hi.append(b)
        rev.append(r)
        order.append(k)

    i_way, j_way = way // 2, way % 2
    sc, sp = core.v_chain[src], core.v_pos[src]
    t = tv[idx]
    tc, tp = core.v_chain[t], core.v_pos[t]
    n = idx.size
    # direct along one chain
    d = np.flatnonzero(use_direct)
    if d.size:
        base = ptr[sc]
        fwd = sp <= tp[d]
        add(idx[d], base + np.minimum(sp, tp[d]), base + np.maximum(sp, tp[d]), ~fwd,
            np.zeros(d.size, np.int64))
    via = np.flatnonzero(~use_direct)
    if via.size:
        iw, jw = i_way[via], j_way[via]
        # source partial: towards the chain start (way 0) goes backwards over [0, sp)
        if sc >= 0:
            base, end = ptr[sc], ptr[sc + 1]
            add(idx[via], np.where(iw == 0, base, base + sp), np.where(iw == 0, base + sp, end),
                iw == 0, np.zeros(via.size, np.int64))
        # core path, walked back from the target's way in, for all targets at once
        si = np.searchsorted(srcs, s_idx[0, iw])
        cur = t_idx[via, jw].astype(np.int64)
        goal = srcs[si]
        step = 0
        active = np.flatnonzero(cur != goal)
        big = 1 << 30
        while active.size:
            p = pred[si[active], cur[active]]
            ch = core.chain_between(p, cur[active])
            fwd = core.chain_a[ch] == p
            add(idx[via[active]], ptr[ch], ptr[ch + 1], ~fwd, np.full(active.size, big - step))
            cur[active] = p
            active = active[p != goal[active]]
            step += 1
        # target partial: in from the chain start (way 0) runs forwards over [0, tp)
        tci = tc[via]
        interior = tci >= 0
        v2 = via[interior]
        if v2.size:
            base, end = ptr[tc[v2]], ptr[tc[v2] + 1]
            j2 = j_way[v2]
            add(idx[v2], np.where(j2 == 0, base, base + tp[v2]),
                np.where(j2 == 0, base + tp[v2], end), j2 == 1, np.full(v2.size, big + 1))
    del n
    if not own:
        z = np.empty(0, np.int64)
        return z, z, z, np.empty(0, bool), z
    return (np.concatenate(own), np.concatenate(lo), np.concatenate(hi),
            np.concatenate(rev).astype(bool), np.concatenate(order))


def _expand(core, own, lo, hi, rev, order):
    """Road edge ids of the ranges, ordered from the customer: flat (owner, edge id)."""
    if own.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    o = np.lexsort((order, own))
    own, lo, hi, rev = own[o], lo[o], hi[o], rev[o]
    ln = hi - lo
    tot = int(ln.sum())
    start = np.r_[0, np.cumsum(ln)[:-1]]
    k = np.arange(tot) - np.repeat(start, ln)
    pos = np.where(np.repeat(rev, ln), np.repeat(hi, ln) - 1 - k, np.repeat(lo, ln) + k)
    return np.repeat(own, ln), core.chain_edges[pos]


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
    """Pairwise length of road shared by two routes (n x n, metres).

    A dense incidence over only the edges the routes use (a few thousand) keeps this a small
    matrix product instead of a sparse one over every road edge.
    """
    n = len(routes.length_m)
    if routes.edge_id.size == 0:
        return np.zeros((n, n))
    used, inv = np.unique(routes.edge_id, return_inverse=True)
    m = np.zeros((n, used.size))
    m[routes.edge_owner, inv] = 1.0  # a route uses an edge once
    out = (m * edge_length_m[used]) @ m.T
    np.fill_diagonal(out, 0.0)
    return out


def corridor_conflicts(routes: Routes, edge_length_m: np.ndarray, max_ratio: float,
                       allowance_m: float) -> np.ndarray:
    """Pairs of routes sharing more than ``max(max_ratio x shorter route, allowance_m)``."""
    shared = shared_corridor_m(routes, edge_length_m)
    shorter = np.minimum.outer(routes.length_m, routes.length_m)
    return shared > np.maximum(max_ratio * shorter, allowance_m)
