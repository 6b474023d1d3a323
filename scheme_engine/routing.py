"""Routes along the streets from the customer to every candidate: ONE bounded Dijkstra.

The customer and every access point join the street network at their projection on the
nearest street edge (a virtual split of that edge: the two partial lengths, per request; the
graph is never rebuilt). The piece from the customer to its street is the on-property access;
the piece from the street to a substation / RMU / pole is the verge access. Along the streets
the route is exact: the search runs once per application on the road graph's core (degree-2
chains contracted, :mod:`grid_models.road_core`) from the two ends of the customer's chain;
every target is reached through the two ends of its own chain, or directly along a shared
chain. Lengths by construction class and crossings come from offsets along the chains, so no
route is expanded to road edges unless its geometry or its corridor is asked for.

Route classes (``ROUTE_CLASSES``):

- ``street``: along the streets, with the two access pieces;
- ``shortcut``: a deliberate direct cable across open land, only where the policy allows one
  (``shortcut_max_m`` > 0) and the street route is much longer (``shortcut_street_ratio``);
- ``fallback``: no street path exists within the policy's limits (no street within
  ``road_snap_max_m``, or none reached within ``route_search_max_m``): the straight line x
  ``route_detour_factor``, flagged and explained.

Straight lines (shortcut, fallback) pay for the costly obstacles they cross and are refused
through forbidden zones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from grid_models.compiled import CompiledNetwork
from grid_models.policy import Policy
from grid_models.road_graph import EdgeAttachment

from .candidates import Candidates

ROUTE_CLASSES = ("street", "shortcut", "fallback")
STREET, SHORTCUT, FALLBACK = range(3)
_BIG = 1 << 30


@dataclass(frozen=True)
class Routes:
    """Route of each candidate (arrays aligned with the candidates)."""

    length_m: np.ndarray  # total: access pieces + along the streets (or the straight line)
    road_m: np.ndarray  # along the streets
    road_cable_m: np.ndarray  # along streets whose class takes cable
    access_customer_m: np.ndarray  # customer point -> its street (on the customer's land)
    access_point_m: np.ndarray  # street -> the connection point (verge)
    crossings: np.ndarray
    crossing_cost_cny: np.ndarray
    forbidden: np.ndarray  # a straight line would cross a forbidden zone
    route_class: np.ndarray  # index into ROUTE_CLASSES
    customer_construction: str  # class of the customer's own street (no street part)
    # what is needed to rebuild a route's road edges and geometry on demand
    _xy: np.ndarray
    _cand_xy: np.ndarray
    _s_xy: np.ndarray  # customer's point on the street
    _t_xy: np.ndarray  # each access point's point on the street
    _s_frac: float  # the customer's place on its street edge (from edge_u)
    _t_frac: np.ndarray  # each access point's place on its street edge
    _pieces: tuple[np.ndarray, ...]  # (owner, lo, hi, rev, order) ranges of core.chain_edges
    _cn: CompiledNetwork | None

    @property
    def fallback(self) -> np.ndarray:
        """Straight line x detour factor because no street path exists."""
        return self.route_class == FALLBACK

    @property
    def road_overhead_m(self) -> np.ndarray:
        return self.road_m - self.road_cable_m

    @cached_property
    def _edges(self) -> tuple[np.ndarray, ...]:
        if self._cn is None or self._cn.road_core is None:
            z = np.empty(0, np.int64)
            return z, z, np.empty(0), np.empty(0)
        own, eid, fwd = _expand(self._cn.road_core, *self._pieces)
        lo, hi = np.zeros(eid.size), np.ones(eid.size)
        if eid.size:
            # the two partial edges of each route: from the customer's point onwards, and up
            # to the target's point (fractions from edge_u; fwd: travelling towards edge_v)
            step = own[1:] != own[:-1]
            first = np.concatenate(([True], step))
            last = np.concatenate((step, [True]))
            fs = self._s_frac
            lo[first] = np.where(fwd[first], fs, 0.0)
            hi[first] = np.where(fwd[first], 1.0, fs)
            ft = self._t_frac[own[last]]
            lo_t = np.where(fwd[last], 0.0, ft)
            hi_t = np.where(fwd[last], ft, 1.0)
            lo[last] = np.maximum(lo[last], lo_t)
            hi[last] = np.minimum(hi[last], hi_t)
            one = first & last  # customer and target on the same edge
            lo[one] = np.minimum(fs, ft[one[last]]) if one.any() else lo[one]
            hi[one] = np.maximum(fs, ft[one[last]]) if one.any() else hi[one]
        return own, eid, lo, hi

    @property
    def edge_owner(self) -> np.ndarray:
        """Route index of each (route, road edge) pair of the street routes, in order."""
        return self._edges[0]

    @property
    def edge_id(self) -> np.ndarray:
        """Road edge of each pair (the partial edges at both ends included)."""
        return self._edges[1]

    @property
    def edge_span(self) -> tuple[np.ndarray, np.ndarray]:
        """Covered part of each pair's edge, as fractions from ``edge_u`` (lo, hi)."""
        return self._edges[2], self._edges[3]

    def coords(self, i: int) -> np.ndarray:
        """Polyline (metric) from the customer to access point ``i``."""
        if self.route_class[i] != STREET or self._cn is None:
            return np.vstack([self._xy, self._cand_xy[i]])
        road = self._cn.road
        e, fwd = self._route_edges(i)
        pts = [self._xy[None, :], self._s_xy[None, :]]
        if e.size > 1:
            # the vertices in travel order: each edge's entry, then the last edge's exit;
            # drop the vertex behind the customer's point and the one beyond the target's
            entry = np.where(fwd, road.edge_u[e], road.edge_v[e])
            pts.append(road.xy[entry[1:]])
        pts += [self._t_xy[i][None, :], self._cand_xy[i][None, :]]
        c = np.concatenate(pts)
        keep = np.concatenate(([True], np.any(np.abs(np.diff(c, axis=0)) > 1e-9, axis=1)))
        return c[keep]

    def _route_edges(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Road edges of street route ``i`` in travel order, and whether each is travelled
        from ``edge_u`` to ``edge_v``: only this route's chains (a plan draws a few of its ~20
        routes), one slice per chain."""
        core = self._cn.road_core if self._cn is not None else None
        own, lo, hi, rev, order = self._pieces
        if core is None:  # no street graph: no street route either
            return np.empty(0, np.int64), np.empty(0, bool)
        m = np.flatnonzero(own == i)
        m = m[np.argsort(order[m], kind="stable")]
        ce = core.chain_edges
        parts = [ce[a:b][::-1] if r else ce[a:b]
                 for a, b, r in zip(lo[m].tolist(), hi[m].tolist(), rev[m].tolist(), strict=True)]
        if not parts:
            return np.empty(0, np.int64), np.empty(0, bool)
        e = np.concatenate(parts)
        return e, core.edge_fwd[e] != np.repeat(rev[m], hi[m] - lo[m])


def route_all(cn: CompiledNetwork, xy: np.ndarray, cand: Candidates, policy: Policy) -> Routes:
    """Route from ``xy`` to every candidate access point with one bounded Dijkstra."""
    p = policy.params
    n = len(cand)
    straight = cand.dist_m
    road, core = cn.road, cn.road_core
    length = straight * p.route_detour_factor
    z = np.zeros(n)
    road_m, road_cab, acc_c, acc_t = z.copy(), z.copy(), z.copy(), z.copy()
    cross, cross_cost = z.copy(), z.copy()
    cls = np.full(n, FALLBACK, np.int8)
    none = np.empty(0, np.int64)
    pieces: tuple[np.ndarray, ...] = (none, none, none, np.empty(0, bool), none)
    s_xy, t_xy = xy.copy(), cand.xy.copy()
    s_frac, t_frac = 0.0, np.zeros(n)
    cons_name = "overhead"

    def done() -> Routes:
        _shortcuts(policy, straight, length, cls)
        return _finish(cn, xy, cand, length, road_m, road_cab, acc_c, acc_t, cross, cross_cost,
                       cls, cons_name, s_xy, t_xy, s_frac, t_frac, pieces)

    if n == 0 or core is None or road.n_edges == 0:
        return done()
    att = _attach(cn, xy, cand, p.road_snap_max_m)
    if att.edge[0] < 0:
        return done()
    s_xy, t_xy = att.xy[0], att.xy[1:].copy()
    s_frac, t_frac = float(att.frac[0]), att.frac[1:].copy()
    ok = att.edge[1:] >= 0
    if not ok.any():
        return done()
    ncons = len(road.constructions)
    cs, ows, ows_len, ows_cr, ows_cc = _place(road, core, att.edge[:1], att.frac[:1], ncons)
    cons_name = road.constructions[int(road.edge_construction[att.edge[0]])]
    tgt = np.flatnonzero(ok)
    ct, owt, owt_len, owt_cr, owt_cc = _place(road, core, att.edge[1:][tgt], att.frac[1:][tgt],
                                              ncons)
    cs0 = int(cs[0])
    s_ends = np.array([core.chain_a[cs0], core.chain_b[cs0]])
    s_w = np.array([ows[0], core.chain_w[cs0] - ows[0]])
    srcs = np.unique(s_ends)
    t_ends = np.stack([core.chain_a[ct], core.chain_b[ct]], axis=1)
    t_w = np.stack([owt, core.chain_w[ct] - owt], axis=1)
    cap = p.route_search_max_m
    limit = min(p.route_search_limit_factor
                * (float(straight[tgt].max()) + float(att.dist[0]) + 1.0), cap)
    same = ct == cs0
    direct = np.where(same, np.abs(owt - ows[0]), np.inf)
    for _ in range(3):  # a target beyond the limit: double it (recipes.md), up to the cap
        dist, pred = dijkstra(core.csr, indices=srcs, limit=limit, return_predecessors=True)
        dist, pred = np.atleast_2d(dist), np.atleast_2d(pred)
        si = np.searchsorted(srcs, s_ends)
        # best of (way out of the customer's chain) x (way into the target's chain)
        tot = (s_w[:, None, None] + dist[si][:, t_ends] + t_w[None, :, :])  # (2, T, 2)
        tot = tot.transpose(1, 0, 2).reshape(tgt.size, 4)
        way = np.argmin(tot, axis=1)
        best = tot[np.arange(tgt.size), way]
        use_direct = direct <= best
        best = np.minimum(best, direct)
        reached = np.isfinite(best) & (best <= limit)
        if reached.all() or limit >= cap:
            break
        limit = min(2 * limit, cap)
    r = np.flatnonzero(reached)
    idx = tgt[r]
    iw, jw = way[r] // 2, way[r] % 2
    dr = use_direct[r]
    # along the customer's chain to the way out, and along the target's chain from the way in
    s_len = np.where((iw == 0)[:, None], ows_len, core.chain_len[cs0] - ows_len)
    t_len = np.where((jw == 0)[:, None], owt_len[r], core.chain_len[ct[r]] - owt_len[r])
    s_cr = np.where(iw == 0, ows_cr[0], core.chain_cross[cs0] - ows_cr[0])
    t_cr = np.where(jw == 0, owt_cr[r], core.chain_cross[ct[r]] - owt_cr[r])
    s_cc = np.where(iw == 0, ows_cc[0], core.chain_cross_cost[cs0] - ows_cc[0])
    t_cc = np.where(jw == 0, owt_cc[r], core.chain_cross_cost[ct[r]] - owt_cc[r])
    # the core path: chains walked back from each target's way in, all targets at once
    c_own, c_chain, c_rev, c_order = _walk(core, pred, srcs, s_ends, t_ends[r], iw, jw,
                                            np.flatnonzero(~dr))
    mid_len = np.zeros((r.size, ncons))
    mid_cr: np.ndarray = np.zeros(r.size)
    mid_cc: np.ndarray = np.zeros(r.size)
    if c_own.size:
        for k in range(ncons):
            mid_len[:, k] = np.bincount(c_own, weights=core.chain_len[c_chain, k], minlength=r.size)
        mid_cr = np.bincount(c_own, weights=core.chain_cross[c_chain], minlength=r.size)
        mid_cc = np.bincount(c_own, weights=core.chain_cross_cost[c_chain], minlength=r.size)
    by_len = np.where(dr[:, None], np.abs(owt_len[r] - ows_len), s_len + mid_len + t_len)
    n_cr = np.where(dr, np.abs(owt_cr[r] - ows_cr[0]), s_cr + mid_cr + t_cr)
    n_cc = np.where(dr, np.abs(owt_cc[r] - ows_cc[0]), s_cc + mid_cc + t_cc)
    ci = road.constructions.index("cable") if "cable" in road.constructions else -1
    road_m[idx] = by_len.sum(axis=1)
    road_cab[idx] = by_len[:, ci] if ci >= 0 else 0.0
    acc_c[idx] = float(att.dist[0])
    acc_t[idx] = att.dist[1:][idx]
    length[idx] = road_m[idx] + acc_c[idx] + acc_t[idx]
    cross[idx] = np.round(n_cr)
    cross_cost[idx] = n_cc
    cls[idx] = STREET
    pieces = _pieces(core, cs0, att, idx, r, ct, iw, jw, dr, c_own, c_chain, c_rev, c_order)
    return done()


def _attach(cn: CompiledNetwork, xy: np.ndarray, cand: Candidates, snap_m: float
            ) -> EdgeAttachment:
    """Street attachments of the customer (row 0) and of every access point. A network
    node's attachment never changes, so it is computed once and remembered on the compiled
    view (not pickled); the customer and tap points are attached per request."""
    road = cn.road
    memo = cn.__dict__.get("_node_attach")
    if memo is None or memo[4] != snap_m:
        n = cn.n_nodes
        memo = (np.full(n, -2, np.int64), np.zeros(n), np.full(n, np.inf), np.zeros((n, 2)), snap_m)
        cn.__dict__["_node_attach"] = memo
    m_edge, m_frac, m_dist, m_xy, _ = memo
    is_node = cand.seg < 0
    nodes = cand.node[is_node]
    todo = np.unique(nodes[m_edge[nodes] == -2])
    per_req = np.flatnonzero(~is_node)
    pts = np.vstack([xy[None, :], cn.node_xy[todo], cand.xy[per_req]])
    a = road.attach(pts, snap_m)
    k = 1 + todo.size
    m_edge[todo], m_frac[todo], m_dist[todo], m_xy[todo] = (a.edge[1:k], a.frac[1:k],
                                                            a.dist[1:k], a.xy[1:k])
    n = len(cand)
    edge = np.empty(n + 1, np.int64)
    frac, dist, pxy = np.empty(n + 1), np.empty(n + 1), np.empty((n + 1, 2))
    edge[0], frac[0], dist[0], pxy[0] = a.edge[0], a.frac[0], a.dist[0], a.xy[0]
    rows = 1 + np.flatnonzero(is_node)
    edge[rows], frac[rows], dist[rows], pxy[rows] = (m_edge[nodes], m_frac[nodes], m_dist[nodes],
                                                     m_xy[nodes])
    rows = 1 + per_req
    edge[rows], frac[rows], dist[rows], pxy[rows] = a.edge[k:], a.frac[k:], a.dist[k:], a.xy[k:]
    return EdgeAttachment(edge, frac, dist, pxy)


def _place(road, core, e: np.ndarray, f: np.ndarray, ncons: int):
    """Chain and offsets from the chain start (weight, metres by construction, crossings,
    crossing cost) of points at fraction ``f`` along road edges ``e``."""
    g = np.where(core.edge_fwd[e], f, 1.0 - f)  # fraction in the chain's direction
    off_w = core.edge_off_w[e] + g * road.edge_weight[e]
    onehot = road.edge_construction[e][:, None] == np.arange(ncons)[None, :]
    off_len = core.edge_off_len[e] + (g * road.edge_length_m[e])[:, None] * onehot
    off_cr = core.edge_off_cross[e] + g * road.edge_crossings[e]
    off_cc = core.edge_off_cross_cost[e] + g * road.edge_crossing_cost_cny[e]
    return core.edge_chain[e], off_w, off_len, off_cr, off_cc


def _walk(core, pred, srcs, s_ends, t_ends, iw, jw, via):
    """Core chains of each route (rows ``via``), walked back from the target's way in to the
    customer's way out: flat (row, chain, reversed, order)."""
    own, pvs, curs, sizes = [], [], [], []
    if via.size:
        si = np.searchsorted(srcs, s_ends[iw[via]])
        cur = t_ends[via, jw[via]].astype(np.int64)
        goal = s_ends[iw[via]]
        active = np.flatnonzero(cur != goal)
        while active.size:  # one step back along every unfinished route at once
            here = cur[active]
            pv = pred[si[active], here]
            own.append(via[active])
            pvs.append(pv)
            curs.append(here)
            sizes.append(active.size)
            cur[active] = pv
            active = active[pv != goal[active]]
    if not own:
        z = np.empty(0, np.int64)
        return z, z, np.empty(0, bool), z
    pv = np.concatenate(pvs)
    chains = core.chain_between(pv, np.concatenate(curs))  # all steps' chains in one look-up
    order = _BIG - np.repeat(np.arange(len(sizes)), sizes)
    return np.concatenate(own), chains, core.chain_a[chains] != pv, order


def _pieces(core, cs0, att, idx, r, ct, iw, jw, dr, c_own, c_chain, c_rev, c_order):
    """Ranges of ``core.chain_edges`` making up each street route, in order from the customer
    (the partial edges at both ends included): (route, lo, hi, reversed, order)."""
    ptr = core.chain_ptr
    ks = int(_chain_pos(core, att.edge[0])[0])
    kt = _chain_pos(core, att.edge[1:][idx])
    own, lo, hi, rev, order = [], [], [], [], []
    # direct along one chain
    d = np.flatnonzero(dr)
    if d.size:
        base = ptr[cs0]
        own.append(idx[d])
        lo.append(base + np.minimum(ks, kt[d]))
        hi.append(base + np.maximum(ks, kt[d]) + 1)
        rev.append(kt[d] < ks)
        order.append(np.zeros(d.size, np.int64))
    v = np.flatnonzero(~dr)
    if v.size:
        base, end = ptr[cs0], ptr[cs0 + 1]
        out_a = iw[v] == 0  # leave towards the chain start: backwards over [0, ks]
        own.append(idx[v])
        lo.append(np.where(out_a, base, base + ks))
        hi.append(np.where(out_a, base + ks + 1, end))
        rev.append(out_a)
        order.append(np.zeros(v.size, np.int64))
        own.append(idx[c_own])
        lo.append(ptr[c_chain])
        hi.append(ptr[c_chain + 1])
        rev.append(c_rev)
        order.append(c_order)
        tch = ct[r][v]
        tb, te = ptr[tch], ptr[tch + 1]
        in_a = jw[v] == 0  # enter from the chain start: forwards over [0, kt]
        own.append(idx[v])
        lo.append(np.where(in_a, tb, tb + kt[v]))
        hi.append(np.where(in_a, tb + kt[v] + 1, te))
        rev.append(~in_a)
        order.append(np.full(v.size, _BIG + 1))
    if not own:
        z = np.empty(0, np.int64)
        return z, z, z, np.empty(0, bool), z
    return (np.concatenate(own).astype(np.int64), np.concatenate(lo).astype(np.int64),
            np.concatenate(hi).astype(np.int64), np.concatenate(rev).astype(bool),
            np.concatenate(order).astype(np.int64))


def _chain_pos(core, e: np.ndarray | np.integer) -> np.ndarray:
    """Index of road edges within their chain's edge list."""
    return core.edge_k[np.atleast_1d(np.asarray(e, np.int64))]


def _expand(core, own, lo, hi, rev, order):
    """Road edges of the ranges, ordered from the customer: flat (owner, edge id, whether the
    route travels the edge from edge_u to edge_v)."""
    if own.size == 0:
        z = np.empty(0, np.int64)
        return z, z, np.empty(0, bool)
    o = np.lexsort((order, own))
    own, lo, hi, rev = own[o], lo[o], hi[o], rev[o]
    ln = hi - lo
    tot = int(ln.sum())
    start = np.concatenate(([0], np.cumsum(ln)[:-1]))
    k = np.arange(tot) - np.repeat(start, ln)
    r = np.repeat(rev, ln)
    pos = np.where(r, np.repeat(hi, ln) - 1 - k, np.repeat(lo, ln) + k)
    e = core.chain_edges[pos]
    return np.repeat(own, ln), e, core.edge_fwd[e] != r


def _shortcuts(policy: Policy, straight: np.ndarray, length: np.ndarray, cls: np.ndarray) -> None:
    """Where the policy allows a direct cable across open land and the street route is much
    longer (or missing), use it: its own route class, never called a fallback."""
    p = policy.params
    if p.shortcut_max_m <= 0:
        return
    sc = (straight <= p.shortcut_max_m) & (
        (cls == FALLBACK) | (length > p.shortcut_street_ratio * straight))
    length[sc] = straight[sc] * p.shortcut_length_factor
    cls[sc] = SHORTCUT


def _finish(cn, xy, cand, length, road_m, road_cab, acc_c, acc_t, cross, cross_cost, cls,
            cons_name, s_xy, t_xy, s_frac, t_frac, pieces) -> Routes:
    """Obstacles on straight lines: costly ones are paid, forbidden ones block."""
    forbidden = np.zeros(len(length), bool)
    straight_line = np.flatnonzero(cls != STREET)
    road_m[straight_line] = road_cab[straight_line] = 0.0
    acc_c[straight_line] = acc_t[straight_line] = 0.0
    cross[straight_line] = cross_cost[straight_line] = 0.0
    if straight_line.size and cn.obstacle_tree is not None:
        fb = straight_line
        lines = shapely.linestrings(np.stack([np.repeat(xy[None, :], fb.size, 0), cand.xy[fb]], 1))
        li, oi = cn.obstacle_tree.query(lines, predicate="intersects")
        if li.size:
            np.logical_or.at(forbidden, fb[li], cn.obstacle_forbidden[oi])
            costly = ~cn.obstacle_forbidden[oi]
            np.add.at(cross, fb[li[costly]], 1)
            np.add.at(cross_cost, fb[li[costly]], cn.obstacle_cost_cny[oi[costly]])
    return Routes(length, road_m, road_cab, acc_c, acc_t, cross.astype(np.int64), cross_cost,
                  forbidden, cls, cons_name, xy, cand.xy, np.asarray(s_xy), t_xy, s_frac, t_frac,
                  pieces, cn)


def shared_corridor_m(routes: Routes, edge_length_m: np.ndarray) -> np.ndarray:
    """Pairwise length of street shared by two routes (n x n, metres).

    Whole edges: a dense incidence over only the edges the routes use (a few thousand) keeps
    this a small matrix product. The two partial edges of each route (a street edge can be
    hundreds of metres long) are then corrected to the exact overlap of their covered parts.
    """
    n = len(routes.length_m)
    if routes.edge_id.size == 0:
        return np.zeros((n, n))
    own, eid = routes.edge_owner, routes.edge_id
    lo, hi = routes.edge_span
    used, inv = np.unique(eid, return_inverse=True)
    m = np.zeros((n, used.size))
    m[own, inv] = 1.0  # a route uses an edge once
    out = (m * edge_length_m[used]) @ m.T
    part = np.flatnonzero((lo > 0) | (hi < 1))
    if part.size:
        # every pair (partial entry p, entry q of another route on the same edge): replace the
        # whole-edge contribution by the overlap of the covered parts (all pairs at once: the
        # entries of each edge are a run of the entries sorted by edge)
        by_edge = np.argsort(inv, kind="stable")
        inv_s = inv[by_edge]
        start = np.searchsorted(inv_s, inv[part], "left")
        cnt = np.searchsorted(inv_s, inv[part], "right") - start
        pp = np.repeat(part, cnt)
        qq = by_edge[np.repeat(start - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))]
        other = own[pp] != own[qq]
        pp, qq = pp[other], qq[other]
        ov = np.clip(np.minimum(hi[pp], hi[qq]) - np.maximum(lo[pp], lo[qq]), 0, None)
        full = (lo[qq] <= 0) & (hi[qq] >= 1)
        # a pair of two partial entries is met twice (once from each): apply half each time
        w = np.where(full, 1.0, 0.5)
        delta = (ov - 1.0) * edge_length_m[eid[pp]] * w
        np.add.at(out, (own[pp], own[qq]), delta)
        np.add.at(out, (own[qq], own[pp]), delta)
    np.fill_diagonal(out, 0.0)
    return np.maximum(out, 0.0)


def corridor_conflicts(routes: Routes, edge_length_m: np.ndarray, max_ratio: float,
                       allowance_m: float) -> np.ndarray:
    """Pairs of routes sharing more than ``max(max_ratio x shorter route, allowance_m)``."""
    shared = shared_corridor_m(routes, edge_length_m)
    shorter = np.minimum.outer(routes.length_m, routes.length_m)
    return shared > np.maximum(max_ratio * shorter, allowance_m)
