"""Least-cost routes along roads from the customer to every candidate: ONE bounded Dijkstra.

The search runs once per application from the customer's road vertex on the compiled road
graph (edge weights: length x road-class cost factor + obstacle-crossing penalty; forbidden
zones are already cut out). Where no road reaches (no roads, snap too far, beyond the search
limit) the route is the straight line x ``route_detour_factor`` and is flagged.
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
    coords: list[np.ndarray]  # polyline (metric) customer -> access point
    edges: list[np.ndarray]  # road edge ids per route (for corridor sharing)


def route_all(cn: CompiledNetwork, xy: np.ndarray, cand: Candidates, policy: Policy) -> Routes:
    """Route from ``xy`` to every candidate access point with one bounded Dijkstra."""
    n = len(cand)
    detour = policy.param("route_detour_factor")
    straight = cand.dist_m
    length = straight * detour
    cab = np.zeros(n)
    ovh = length.copy()  # fallback: construction decided by the candidate
    cross = np.zeros(n, np.int64)
    cross_cost = np.zeros(n)
    fallback = np.ones(n, bool)
    coords = [np.vstack([xy, cand.xy[i]]) for i in range(n)]
    edges = [np.empty(0, np.int64) for _ in range(n)]
    road = cn.road
    snap_max = policy.param("road_snap_max_m")
    if n == 0 or road.xy.shape[0] == 0:
        return _finish(cn, xy, cand, length, cab * 0, ovh, cross, np.zeros(n), fallback, coords, edges)
    src, src_d = road.nearest_vertex(xy.reshape(1, 2), snap_max)
    src, src_d = int(src[0]), float(src_d[0])
    if src < 0 or not np.isfinite(src_d) or src_d > snap_max:
        return _finish(cn, xy, cand, length, cab * 0, ovh, cross, np.zeros(n), fallback, coords, edges)
    # Access-point road vertices: precomputed for nodes, queried for tap points.
    tv = np.where(cand.seg < 0, cn.node_road_vertex[np.maximum(cand.node, 0)], -1)
    td = np.where(cand.seg < 0, cn.node_road_dist_m[np.maximum(cand.node, 0)], np.inf)
    taps = np.flatnonzero(cand.seg >= 0)
    if taps.size:
        v, d = road.nearest_vertex(cand.xy[taps], snap_max)
        tv[taps], td[taps] = v, d
    ok = (tv >= 0) & np.isfinite(td) & (td <= snap_max)
    if not ok.any():
        return _finish(cn, xy, cand, length, cab * 0, ovh, cross, np.zeros(n), fallback, coords, edges)
    limit = policy.param("route_search_limit_factor") * (float(straight[ok].max()) + src_d + 1.0)
    for _ in range(3):  # a target beyond the limit: double it (recipes.md)
        dist, pred = dijkstra(road.csr, indices=src, limit=limit, return_predecessors=True)
        reached = ok & np.isfinite(dist[np.maximum(tv, 0)])
        if reached.sum() == ok.sum():
            break
        limit *= 2
    for i in np.flatnonzero(reached):
        e = road.path_edges(pred, src, int(tv[i]))
        summ = road.path_summary(e)
        by = summ["length_m_by_construction"]
        on_road = float(sum(by.values()))
        ends = src_d + float(td[i])
        length[i] = on_road + ends
        cab[i] = by.get("cable", 0.0)
        ovh[i] = by.get("overhead", 0.0)
        cross[i] = int(round(float(summ["crossings"])))
        cross_cost[i] = float(summ["crossing_cost_cny"])
        fallback[i] = False
        pc = summ["coords"]
        coords[i] = np.vstack([xy, pc, cand.xy[i]]) if len(pc) else np.vstack([xy, cand.xy[i]])
        edges[i] = e
    ovh = np.where(fallback, length, ovh + (length - cab - ovh))  # snap legs count as overhead share
    cab = np.where(fallback, 0.0, cab)
    return _finish(cn, xy, cand, length, cab, ovh, cross, cross_cost, fallback, coords, edges)


def _finish(cn, xy, cand, length, cab, ovh, cross, cross_cost, fallback, coords, edges) -> Routes:
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
    return Routes(length, cab, ovh, cross, cross_cost, forbidden, fallback, coords, edges)


def shared_corridor_m(routes: Routes, edge_length_m: np.ndarray) -> np.ndarray:
    """Pairwise length of road shared by two routes (n x n, metres)."""
    n = len(routes.edges)
    out = np.zeros((n, n))
    if n == 0:
        return out
    from scipy.sparse import csr_matrix

    rows = np.concatenate([np.full(e.size, i) for i, e in enumerate(routes.edges)]) \
        if any(e.size for e in routes.edges) else np.empty(0, np.int64)
    cols = np.concatenate(routes.edges) if rows.size else np.empty(0, np.int64)
    if rows.size == 0:
        return out
    m = csr_matrix((np.ones(rows.size), (rows, cols)),
                   shape=(n, max(int(cols.max()) + 1, 1)))
    m.data[:] = 1.0
    w = m.multiply(edge_length_m[: m.shape[1]].reshape(1, -1)).tocsr()
    out = (w @ m.T).toarray()
    np.fill_diagonal(out, 0.0)
    return out


def corridor_conflicts(routes: Routes, edge_length_m: np.ndarray, max_ratio: float,
                       allowance_m: float) -> np.ndarray:
    """Pairs of routes sharing more than ``max(max_ratio x shorter route, allowance_m)``."""
    shared = shared_corridor_m(routes, edge_length_m)
    shorter = np.minimum.outer(routes.length_m, routes.length_m)
    return shared > np.maximum(max_ratio * shorter, allowance_m)
