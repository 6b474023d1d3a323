"""The compiled road graph: CSR adjacency with route costs, obstacle crossings and k-d trees.

Built once per network version from the ``roads`` and ``obstacles`` layers (in the network's
metric CRS) and read on every routing request, so everything here is numpy/scipy arrays.

Vertices are the roads' vertices snapped to a grid of ``road_snap_grid_m`` (policy parameter,
0.1 m): lines that share a coordinate join there, as OSM ways do at junction nodes. Lines that
merely cross without a shared vertex (bridges, tunnels) do not join. Edges are consecutive
vertex pairs of each line; zero-length pairs are dropped and, of parallel edges between the
same two vertices, the cheapest is kept.

Edge weight (in route metres)::

    length_m × cost_factor(road class) + crossing_cost_cny / (route_reference_cny_per_km / 1000)

Obstacles (``crossing == "forbidden"``) remove every edge that enters their interior; costly
ones add their ``crossing_cost_cny`` (or the policy unit cost ``crossing/obstacle``). An edge
that merely runs along an obstacle's boundary crosses nothing.

Crossings are counted so that a path's sum counts whole crossings even when a road has vertices
inside the obstacle (a bridge with a node mid-river): an edge that enters and leaves an
obstacle counts 1, an edge with one end inside counts 0.5 (the path's other half-crossing is on
the edge where it leaves), an edge wholly inside counts 0. This is why ``edge_crossings`` is a
float and not an integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .errors import CRSError, GridSchemeError, InputError
from .policy import Policy
from .schema import CONSTRUCTIONS, CROSSINGS, LAYERS

if TYPE_CHECKING:  # geopandas is slow to import and only typed here
    import geopandas as gpd

DEFAULT_CLASS: str = next(c.default for c in LAYERS["roads"]["columns"]
                          if c.name == "road_class")


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """Read-only road graph for routing.

    Attributes
    ----------
    xy : ndarray, shape (n, 2), float64
        Vertex coordinates in the metric CRS.
    edge_u, edge_v : ndarray, int32
        Edge end vertices (``edge_u < edge_v``).
    edge_length_m : ndarray, float64
    edge_class : ndarray, int16
        Index into :attr:`classes`.
    classes : tuple of str
        Road class names, in the policy table's order.
    edge_construction : ndarray, int8
        Index into :attr:`constructions` (``cable`` / ``overhead``) from the class.
    constructions : tuple of str
    edge_crossings : ndarray, float32
        Costly-obstacle crossings the edge accounts for (see the module docs for halves).
    edge_crossing_cost_cny : ndarray, float64
        Crossing cost the edge accounts for.
    edge_weight : ndarray, float64
        Route cost in metres: length × class cost factor + crossing cost / reference CNY/m.
    csr : scipy.sparse.csr_matrix
        Symmetric n × n matrix of ``edge_weight`` for ``scipy.sparse.csgraph.dijkstra``.
    edge_lookup : scipy.sparse.csr_matrix
        Same sparsity as :attr:`csr`, data = edge id + 1.
    kdtree : scipy.spatial.cKDTree
        Over every vertex.
    component : ndarray, int32
        Connected-component label of each vertex.
    n_components : int
    largest_component_size : int
        Vertices in the largest component.
    lcc_vertices : ndarray, int64
        Vertex ids of the largest component (the only snap targets).
    lcc_kdtree : scipy.spatial.cKDTree
        Over ``xy[lcc_vertices]``.
    crossing_penalty_m : float
        Weight added by one crossing at the policy's default crossing cost.
    crs : pyproj.CRS or None
    """

    xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_class: np.ndarray
    classes: tuple[str, ...]
    edge_construction: np.ndarray
    constructions: tuple[str, ...]
    edge_crossings: np.ndarray
    edge_crossing_cost_cny: np.ndarray
    edge_weight: np.ndarray
    csr: csr_matrix
    edge_lookup: csr_matrix
    kdtree: cKDTree
    component: np.ndarray
    n_components: int
    largest_component_size: int
    lcc_vertices: np.ndarray
    lcc_kdtree: cKDTree
    crossing_penalty_m: float
    crs: CRS | None
    _keys: np.ndarray  # sorted u * n + v of both directions, for edge look-ups
    _key_edge: np.ndarray  # edge id of each key

    @property
    def n_vertices(self) -> int:
        return int(len(self.xy))

    # The edge index is derived from the vertex/edge arrays on first use and not pickled: a
    # k-d tree over edge midpoints builds in ~0.05 s on the L city (an STRtree of 300k line
    # geometries took ~0.4 s, paid by every cold `gridscheme plan`).
    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_edge_index", None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    def _edges_index(self) -> tuple[cKDTree | None, np.ndarray, float]:
        hit = self.__dict__.get("_edge_index")
        if hit is None:
            lcc = np.zeros(self.n_vertices, bool)
            lcc[self.lcc_vertices] = True
            e = np.flatnonzero(lcc[self.edge_u] & lcc[self.edge_v])
            mid = (self.xy[self.edge_u[e]] + self.xy[self.edge_v[e]]) / 2
            half = float(self.edge_length_m[e].max() / 2) if e.size else 0.0
            hit = (cKDTree(mid, balanced_tree=False) if e.size else None, e, half)
            self.__dict__["_edge_index"] = hit
        return hit

    def attach(self, points_xy: np.ndarray, max_dist_m: float) -> EdgeAttachment:
        """Where each point joins the streets: its projection on the nearest edge of the
        largest connected component (a virtual split of that edge; the graph is unchanged).

        The nearest edge is exact: no edge nearer than the nearest midpoint can have its
        midpoint farther than that distance plus the longest half edge, so only the midpoints
        within that ball are projected on.

        Parameters
        ----------
        points_xy : array, shape (m, 2)
        max_dist_m : float
            Farthest a point may lie from a street.

        Returns
        -------
        EdgeAttachment
            ``edge`` -1 where no street edge lies within ``max_dist_m``.
        """
        pts = np.atleast_2d(np.asarray(points_xy, dtype=np.float64))
        m = len(pts)
        edge = np.full(m, -1, np.int64)
        frac = np.zeros(m)
        dist = np.full(m, np.inf)
        proj = pts.copy()
        if self.n_edges == 0 or m == 0:
            return EdgeAttachment(edge, frac, dist, proj)
        tree, eids, half = self._edges_index()
        if tree is None:
            return EdgeAttachment(edge, frac, dist, proj)
        ok = np.flatnonzero(np.isfinite(pts).all(axis=1))
        if ok.size == 0:
            return EdgeAttachment(edge, frac, dist, proj)
        d0, _ = tree.query(pts[ok])
        reach = np.minimum(d0, max_dist_m + half) + half + 1e-6
        lists = tree.query_ball_point(pts[ok], reach)
        cnt = np.fromiter((len(x) for x in lists), np.int64, ok.size)
        if cnt.sum() == 0:
            return EdgeAttachment(edge, frac, dist, proj)
        owner = np.repeat(np.arange(ok.size), cnt)
        e = eids[np.concatenate([np.asarray(x, np.int64) for x in lists if len(x)])]
        p = pts[ok][owner]
        a, b = self.xy[self.edge_u[e]], self.xy[self.edge_v[e]]
        ab = b - a
        ll = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.where(ll > 0, ll, 1.0), 0, 1)
        q = a + t[:, None] * ab
        d = np.hypot(*(p - q).T)
        # per point: its nearest candidate edge (ties: the lowest edge id, deterministic)
        o = np.lexsort((e, d, owner))
        oo = owner[o]
        first = np.concatenate(([True], oo[1:] != oo[:-1]))
        k = o[first]
        rows = ok[owner[k]]
        within = d[k] <= max_dist_m
        rows, k = rows[within], k[within]
        edge[rows], frac[rows], proj[rows], dist[rows] = e[k], t[k], q[k], d[k]
        return EdgeAttachment(edge, frac, dist, proj)

    @property
    def n_edges(self) -> int:
        return int(len(self.edge_u))

    def nearest_vertex(self, points_xy: np.ndarray, max_dist_m: float,
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest vertex of the largest connected component to each point.

        Parameters
        ----------
        points_xy : array, shape (m, 2) or (2,)
            Points in the graph's metric CRS.
        max_dist_m : float
            Farthest snap distance.

        Returns
        -------
        idx : ndarray, int64, shape (m,)
            Vertex id, or -1 where no vertex lies within ``max_dist_m``.
        dist : ndarray, float64, shape (m,)
            Distance in metres, ``inf`` where ``idx == -1``.
        """
        pts = np.atleast_2d(np.asarray(points_xy, dtype=np.float64))
        if len(self.lcc_vertices) == 0 or len(pts) == 0:
            return np.full(len(pts), -1, dtype=np.int64), np.full(len(pts), np.inf)
        dist, loc = self.lcc_kdtree.query(pts, distance_upper_bound=max_dist_m)
        found = np.isfinite(dist)
        idx = np.where(found, self.lcc_vertices[np.minimum(loc, len(self.lcc_vertices) - 1)], -1)
        return idx.astype(np.int64), np.asarray(dist, dtype=np.float64)

    def edge_ids(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Edge ids joining vertex pairs ``(u[i], v[i])``; -1 where no edge joins them."""
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        if len(self._keys) == 0:
            return np.full(len(u), -1, dtype=np.int64)
        k = u * self.n_vertices + v
        pos = np.minimum(np.searchsorted(self._keys, k), len(self._keys) - 1)
        return np.where(self._keys[pos] == k, self._key_edge[pos], -1).astype(np.int64)

    def path_vertices(self, pred_row: np.ndarray, source: int, target: int) -> np.ndarray:
        """Vertices from ``source`` to ``target`` by walking a Dijkstra predecessor row.

        Raises
        ------
        GridSchemeError
            ``target`` is not reached from ``source`` in ``pred_row``.
        """
        pred = np.asarray(pred_row).ravel()
        verts = [int(target)]
        cur = int(target)
        # One step per path vertex: a per-path loop, not a loop over the network.
        while cur != source:
            cur = int(pred[cur])
            if cur < 0 or len(verts) > len(pred):
                raise GridSchemeError(f"road vertex {target} is not reached from vertex "
                                      f"{source} in this predecessor row")
            verts.append(cur)
        return np.asarray(verts[::-1], dtype=np.int64)

    def path_edges(self, pred_row: np.ndarray, source: int, target: int) -> np.ndarray:
        """Edge ids, in order from ``source`` to ``target``, of a Dijkstra path."""
        verts = self.path_vertices(pred_row, source, target)
        return self.edge_ids(verts[:-1], verts[1:])

    def orient(self, edge_ids: np.ndarray) -> np.ndarray:
        """Vertex sequence of a path given as consecutive edge ids."""
        e = np.asarray(edge_ids, dtype=np.int64)
        return _orient(self.edge_u[e].astype(np.int64), self.edge_v[e].astype(np.int64))

    def path_summary(self, edge_ids: np.ndarray) -> dict[str, object]:
        """Lengths, crossings and geometry of a path given as consecutive edge ids.

        Returns
        -------
        dict
            ``length_m`` (float), ``length_m_by_construction`` (dict name → metres),
            ``crossings`` (float, whole crossings for a path starting and ending outside
            obstacles), ``crossing_cost_cny``, ``weight``, ``vertices`` (ndarray of vertex ids)
            and ``coords`` (ndarray (k + 1, 2) in path order; empty for no edge).
        """
        e = np.asarray(edge_ids, dtype=np.int64)
        by_c = np.bincount(self.edge_construction[e], weights=self.edge_length_m[e],
                           minlength=len(self.constructions))
        out: dict[str, object] = {
            "length_m": float(self.edge_length_m[e].sum()),
            "length_m_by_construction": {c: float(by_c[i])
                                         for i, c in enumerate(self.constructions)},
            "crossings": float(self.edge_crossings[e].sum()),
            "crossing_cost_cny": float(self.edge_crossing_cost_cny[e].sum()),
            "weight": float(self.edge_weight[e].sum()),
        }
        verts = _orient(self.edge_u[e].astype(np.int64), self.edge_v[e].astype(np.int64))
        out["vertices"] = verts
        out["coords"] = self.xy[verts]
        return out


@dataclass(frozen=True)
class EdgeAttachment:
    """Points joined to the streets (arrays aligned with the points).

    Attributes
    ----------
    edge : ndarray, int64
        Road edge id (-1: no street within reach).
    frac : ndarray
        Position along the edge from ``edge_u`` (0) to ``edge_v`` (1).
    dist : ndarray
        Metres from the point to the street (the access piece); inf where unattached.
    xy : ndarray, shape (m, 2)
        The point on the street.
    """

    edge: np.ndarray
    frac: np.ndarray
    dist: np.ndarray
    xy: np.ndarray


def _orient(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vertex sequence of a chain of undirected edges (vectorised)."""
    k = len(u)
    if k == 0:
        return np.empty(0, dtype=np.int64)
    if k == 1:
        return np.array([u[0], v[0]], dtype=np.int64)
    # Each edge after the first starts at the vertex it shares with the previous edge.
    shared_prev = (u[1:] == u[:-1]) | (u[1:] == v[:-1])
    start = np.empty(k, dtype=np.int64)
    start[1:] = np.where(shared_prev, u[1:], v[1:])
    start[0] = v[0] if u[0] == start[1] else u[0]
    end = v[-1] if u[-1] == start[-1] else u[-1]
    return np.append(start, end)


def empty_road_graph(crs: object | None = None) -> RoadGraph:
    """A graph with no vertices, for networks without roads."""
    z = np.empty(0)
    xy = np.empty((0, 2))
    tree = cKDTree(xy)
    m = csr_matrix((0, 0))
    return RoadGraph(
        xy=xy, edge_u=z.astype(np.int32), edge_v=z.astype(np.int32), edge_length_m=z,
        edge_class=z.astype(np.int16), classes=(), edge_construction=z.astype(np.int8),
        constructions=CONSTRUCTIONS, edge_crossings=z.astype(np.float32),
        edge_crossing_cost_cny=z, edge_weight=z, csr=m, edge_lookup=m.copy(), kdtree=tree,
        component=z.astype(np.int32), n_components=0, largest_component_size=0,
        lcc_vertices=z.astype(np.int64), lcc_kdtree=tree, crossing_penalty_m=0.0,
        crs=CRS.from_user_input(crs) if crs is not None else None,
        _keys=z.astype(np.int64), _key_edge=z.astype(np.int64))


def build_road_graph(roads: gpd.GeoDataFrame, obstacles: gpd.GeoDataFrame | None,
                     policy: Policy) -> RoadGraph:
    """Compile the roads (and obstacles) of a network into a :class:`RoadGraph`.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        The ``roads`` layer in a projected (metric) CRS.
    obstacles : geopandas.GeoDataFrame or None
        The ``obstacles`` layer (columns ``id``, ``crossing``, ``crossing_cost_cny``);
        reprojected to the roads' CRS if it differs.
    policy : Policy
        Gives road classes (cost factor, construction), the crossing unit cost, and the
        parameters ``route_reference_cny_per_km`` and ``road_snap_grid_m``.

    Returns
    -------
    RoadGraph

    Raises
    ------
    CRSError
        The roads are in a geographic CRS.
    InputError
        An obstacle crossing kind is unknown, a class cost factor is not positive, or a road
        has a class the policy lacks and the policy has no default class either.

    Notes
    -----
    A road whose ``road_class`` the policy does not list is routed as the schema's default
    class (``local``); validation reports it as a warning.
    """
    crs = CRS.from_user_input(roads.crs) if roads.crs is not None else None
    if crs is not None and not crs.is_projected:
        raise CRSError(f"roads are in {crs.to_string()}, a geographic CRS; the road graph "
                       "needs the network's metric CRS", field="roads.crs")
    geoms = np.asarray(roads.geometry.values, dtype=object) if len(roads) else np.empty(0, object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return empty_road_graph(crs)
    classes, cost_factor, construction = _class_table(policy)
    road_cls = pd.Index(classes).get_indexer(roads["road_class"].astype(str))
    if ((road_cls < 0) & ok).any():
        # Validation warns about these; routing gives them the schema's default class.
        if DEFAULT_CLASS not in classes:
            i = int(np.flatnonzero((road_cls < 0) & ok)[0])
            raise InputError(f"road {roads['id'].iloc[i]!r} has road_class "
                             f"{roads['road_class'].iloc[i]!r}, and the policy lacks the default "
                             f"class {DEFAULT_CLASS!r}; its classes are {', '.join(classes)}",
                             field=f"roads.{roads['id'].iloc[i]}.road_class")
        road_cls = np.where(road_cls < 0, classes.index(DEFAULT_CLASS), road_cls)
    grid_m = policy.param("road_snap_grid_m")
    ref_cny_per_m = policy.param("route_reference_cny_per_km") / 1000.0
    default_crossing_cny = policy.cost("crossing", "obstacle")

    # Vertices: every coordinate of every part, snapped to the grid; equal cells join.
    parts, prow = shapely.get_parts(geoms[ok], return_index=True)
    prow = np.flatnonzero(ok)[prow]
    coords, pidx = shapely.get_coordinates(parts, return_index=True)
    q = np.round(coords / grid_m).astype(np.int64)
    q -= q.min(axis=0)
    key = q[:, 0] * (int(q[:, 1].max()) + 1) + q[:, 1]
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    xy = coords[first]
    inv = inv.ravel()

    # Edges: consecutive coordinates of one part.
    same = pidx[1:] == pidx[:-1]
    u = inv[:-1][same]
    v = inv[1:][same]
    ecls = road_cls[prow[pidx[:-1][same]]]
    nz = u != v
    a = np.minimum(u[nz], v[nz])
    b = np.maximum(u[nz], v[nz])
    ecls = ecls[nz]
    length = np.hypot(*(xy[b] - xy[a]).T)
    crossings, cross_cny, forbidden = _obstacle_effects(xy, a, b, obstacles, crs,
                                                        default_crossing_cny)
    weight = length * cost_factor[ecls] + cross_cny / ref_cny_per_m

    # Keep the cheapest of parallel edges, drop edges through forbidden obstacles.
    keep = np.flatnonzero(~forbidden)
    pair = a[keep] * len(xy) + b[keep]
    order = keep[np.argsort(pair, kind="stable")]
    pair_sorted = a[order] * len(xy) + b[order]
    if (pair_sorted[1:] == pair_sorted[:-1]).any():
        # Parallel edges exist: order by weight first, then stably by pair.
        by_w = keep[np.argsort(weight[keep], kind="stable")]
        order = by_w[np.argsort(a[by_w] * len(xy) + b[by_w], kind="stable")]
        pair_sorted = a[order] * len(xy) + b[order]
    firsts = np.ones(len(order), dtype=bool)
    firsts[1:] = pair_sorted[1:] != pair_sorted[:-1]
    sel = order[firsts]

    # Vertices left without an edge (all removed) are dropped; the remap keeps a < b.
    used = np.zeros(len(xy), dtype=bool)
    used[a[sel]] = True
    used[b[sel]] = True
    remap = np.cumsum(used) - 1
    xy = xy[used]
    n = len(xy)
    eu = remap[a[sel]]
    ev = remap[b[sel]]
    m = len(sel)
    if m == 0:
        return empty_road_graph(crs)

    # The look-up matrix fixes the sparsity; the weight matrix reuses its structure so that
    # both index the same entries, and its sorted (row, col) order gives the edge keys.
    rows = np.concatenate([eu, ev])
    cols = np.concatenate([ev, eu])
    eid = np.concatenate([np.arange(m), np.arange(m)])
    lookup = csr_matrix(((eid + 1).astype(np.int64), (rows, cols)), shape=(n, n))
    lookup.sort_indices()
    key_edge = lookup.data - 1
    w = weight[sel]
    csr = csr_matrix((w[key_edge], lookup.indices.copy(), lookup.indptr.copy()), shape=(n, n))
    keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(lookup.indptr)) * n + lookup.indices
    n_comp, labels = connected_components(csr, directed=False)
    sizes = np.bincount(labels)
    big = int(np.argmax(sizes))
    lcc = np.flatnonzero(labels == big)
    return RoadGraph(
        xy=xy, edge_u=eu.astype(np.int32), edge_v=ev.astype(np.int32),
        edge_length_m=length[sel], edge_class=ecls[sel].astype(np.int16), classes=classes,
        edge_construction=construction[ecls[sel]], constructions=CONSTRUCTIONS,
        edge_crossings=crossings[sel], edge_crossing_cost_cny=cross_cny[sel], edge_weight=w,
        csr=csr, edge_lookup=lookup, kdtree=_tree(xy), component=labels.astype(np.int32),
        n_components=int(n_comp), largest_component_size=int(sizes[big]),
        lcc_vertices=lcc.astype(np.int64), lcc_kdtree=_tree(xy[lcc]),
        crossing_penalty_m=default_crossing_cny / ref_cny_per_m, crs=crs,
        _keys=keys, _key_edge=key_edge)


def _tree(xy: np.ndarray) -> cKDTree:
    # Sliding-midpoint trees build about twice as fast on road vertices and query as fast.
    return cKDTree(xy, balanced_tree=False)


def _class_table(policy: Policy) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    t = policy.table("road_classes")
    classes = tuple(t["road_class"].astype(str))
    cost = pd.to_numeric(t["cost_factor"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(cost) & (cost > 0))
    if bad.any():
        c = classes[int(np.flatnonzero(bad)[0])]
        raise InputError(f"policy {policy.name!r}: road class {c!r} needs a positive "
                         "cost_factor", field=f"road_classes.{c}.cost_factor")
    cons = pd.Index(CONSTRUCTIONS).get_indexer(t["construction"].astype(str))
    if (cons < 0).any():
        c = classes[int(np.flatnonzero(cons < 0)[0])]
        raise InputError(f"policy {policy.name!r}: road class {c!r} has construction "
                         f"{t['construction'].iloc[int(np.flatnonzero(cons < 0)[0])]!r}; valid: "
                         f"{', '.join(CONSTRUCTIONS)}", field=f"road_classes.{c}.construction")
    return classes, cost, cons.astype(np.int8)


def _obstacle_effects(xy: np.ndarray, a: np.ndarray, b: np.ndarray,
                      obstacles: gpd.GeoDataFrame | None, crs: CRS | None,
                      default_cny: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per edge: crossings (halves allowed), crossing cost, and whether it is forbidden."""
    m = len(a)
    crossings = np.zeros(m, dtype=np.float32)
    cost = np.zeros(m, dtype=np.float64)
    forbidden = np.zeros(m, dtype=bool)
    if obstacles is None or len(obstacles) == 0 or m == 0:
        return crossings, cost, forbidden
    if crs is not None and obstacles.crs is not None and not CRS.from_user_input(
            obstacles.crs).equals(crs):
        obstacles = obstacles.to_crs(crs)
    kind = obstacles["crossing"].astype(str).to_numpy() if "crossing" in obstacles.columns \
        else np.full(len(obstacles), "costly", dtype=object)
    bad = ~np.isin(kind, CROSSINGS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        oid = obstacles["id"].iloc[i] if "id" in obstacles.columns else i
        raise InputError(f"obstacle {oid!r} has crossing {kind[i]!r}; valid: "
                         f"{', '.join(CROSSINGS)}", field=f"obstacles.{oid}.crossing")
    obs_cny = (pd.to_numeric(obstacles["crossing_cost_cny"], errors="coerce").to_numpy(float)
               if "crossing_cost_cny" in obstacles.columns else np.full(len(obstacles), np.nan))
    obs_cny = np.where(np.isfinite(obs_cny), obs_cny, default_cny)
    geoms = np.asarray(obstacles.geometry.values, dtype=object)
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = np.where(valid & ~shapely.is_valid(geoms), shapely.make_valid(geoms), geoms)
    oix = np.flatnonzero(valid)
    if len(oix) == 0:
        return crossings, cost, forbidden
    geoms = geoms[oix]
    # Only edges whose box meets some obstacle's box need a geometry (a river crossing the
    # whole city has a narrow box; the overall extent would keep every edge).
    pa, pb = xy[a], xy[b]
    ex0, ex1 = np.minimum(pa[:, 0], pb[:, 0]), np.maximum(pa[:, 0], pb[:, 0])
    ey0, ey1 = np.minimum(pa[:, 1], pb[:, 1]), np.maximum(pa[:, 1], pb[:, 1])
    near = np.zeros(m, dtype=bool)
    for x0, y0, x1, y1 in shapely.bounds(geoms):  # one pass per obstacle (few), vectorised
        near |= (ex1 >= x0) & (ex0 <= x1) & (ey1 >= y0) & (ey0 <= y1)
    ci = np.flatnonzero(near)
    if len(ci) == 0:
        return crossings, cost, forbidden
    lines = shapely.linestrings(np.stack([pa[ci], pb[ci]], axis=1))
    li, oi = shapely.STRtree(geoms).query(lines, predicate="intersects")
    # Running along the boundary (a riverside road) is not a crossing.
    inner = ~shapely.touches(lines[li], geoms[oi])
    e, oi = ci[li[inner]], oi[inner]
    ok_kind = kind[oix][oi]
    forbidden[e[ok_kind == "forbidden"]] = True
    c = ok_kind == "costly"
    e, og = e[c], oi[c]
    outside = (2 - shapely.contains_xy(geoms[og], pa[e, 0], pa[e, 1]).astype(np.int8)
               - shapely.contains_xy(geoms[og], pb[e, 0], pb[e, 1]).astype(np.int8))
    half = outside.astype(np.float64) / 2.0
    np.add.at(crossings, e, half.astype(np.float32))
    np.add.at(cost, e, half * obs_cny[oix][og])
    return crossings, cost, forbidden
