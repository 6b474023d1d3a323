"""The road graph's core: chains of degree-2 vertices contracted into single edges.

Street centre-lines carry a vertex every few tens of metres; almost all of them have degree 2
(96 % on the L synthetic city). Routing searches the core (junctions and dead ends only, each
chain one weighted edge) and expands chains back to road edges afterwards, so the one Dijkstra
per application touches ~20x fewer vertices and the path walk is ~20x shorter, with exactly the
same shortest distances as on the full graph (tests compare them).

An interior vertex (customer or access point snapped mid-street) reaches the core through the
two ends of its chain, at known offsets along it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .road_graph import RoadGraph


@dataclass(frozen=True)
class RoadCore:
    """Contracted road graph (see module docstring); indices are road-graph vertex/edge ids."""

    csr: csr_matrix  # core x core, weight of the cheapest chain between two core vertices
    chain_keys: np.ndarray  # sorted u * n_core + v of core adjacencies (both directions)
    chain_key_id: np.ndarray  # the cheapest chain id for each key
    core_of: np.ndarray  # road vertex -> core index, -1 for interior vertices
    core_vertex: np.ndarray  # core index -> road vertex
    chain_a: np.ndarray  # core index of each chain's start
    chain_b: np.ndarray  # core index of each chain's end
    chain_w: np.ndarray  # total weight of each chain
    chain_ptr: np.ndarray  # chain c's road edges, in order from a: edges[ptr[c]:ptr[c+1]]
    chain_edges: np.ndarray
    chain_len: np.ndarray  # (chains, constructions) metres
    chain_cross: np.ndarray
    chain_cross_cost: np.ndarray
    v_chain: np.ndarray  # road vertex -> chain id (-1 for core vertices)
    v_pos: np.ndarray  # number of chain edges between the chain start and the vertex
    v_off_w: np.ndarray  # weight from the chain start to the vertex
    v_off_len: np.ndarray  # (vertices, constructions) metres from the chain start
    v_off_cross: np.ndarray
    v_off_cross_cost: np.ndarray
    # each road edge's place in its chain (a point on an edge reaches the core through the
    # chain's two ends, at offsets interpolated along the edge)
    edge_chain: np.ndarray  # chain id of each road edge
    edge_k: np.ndarray  # position of the edge in its chain's edge list
    edge_fwd: np.ndarray  # the chain runs from edge_u to edge_v
    edge_off_w: np.ndarray  # weight from the chain start to the edge's chain-start end
    edge_off_len: np.ndarray  # (edges, constructions) metres, likewise
    edge_off_cross: np.ndarray
    edge_off_cross_cost: np.ndarray

    @property
    def n_core(self) -> int:
        return int(self.core_vertex.size)

    def chain_between(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Cheapest chain joining core vertices ``u[i]`` and ``v[i]`` (vectorised look-up)."""
        k = np.asarray(u, np.int64) * self.n_core + np.asarray(v, np.int64)
        pos = np.minimum(np.searchsorted(self.chain_keys, k), max(self.chain_keys.size - 1, 0))
        return np.where(self.chain_keys[pos] == k, self.chain_key_id[pos], -1)

    def ends(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For road vertices ``v``: core indices of the two ways in (m, 2), their weights from
        ``v`` (m, 2), and whether each way is the chain start (m, 2). Core vertices get the same
        core index twice at weight 0."""
        v = np.asarray(v, np.int64)
        c = self.v_chain[v]
        interior = c >= 0
        cc = np.maximum(c, 0)
        core = self.core_of[v]
        idx = np.where(interior[:, None], np.stack([self.chain_a[cc], self.chain_b[cc]], 1),
                       np.stack([core, core], 1))
        w = np.where(interior[:, None],
                     np.stack([self.v_off_w[v], self.chain_w[cc] - self.v_off_w[v]], 1), 0.0)
        is_a = np.broadcast_to(np.array([True, False]), idx.shape)
        return idx.astype(np.int64), w, is_a


def build_road_core(road: RoadGraph) -> RoadCore:
    """Contract the degree-2 chains of ``road`` (vectorised; one numpy step per chain hop)."""
    n = road.n_vertices
    ncons = len(road.constructions)
    indptr, indices = road.csr.indptr, road.csr.indices
    eid_at = road.edge_lookup.data.astype(np.int64) - 1  # edge id at each CSR position
    deg = np.diff(indptr)
    core = deg != 2
    # A cycle made only of degree-2 vertices has no core vertex: promote one per cycle.
    two = np.flatnonzero(~core)
    if two.size:
        ncomp, lab = connected_components(road.csr[two][:, two], directed=False)
        touches = np.zeros(ncomp, bool)
        nb_core = core[indices[indptr[two]]] | core[indices[indptr[two] + 1]]
        np.logical_or.at(touches, lab, nb_core)
        lowest = np.full(ncomp, np.iinfo(np.int64).max)
        np.minimum.at(lowest, lab, two)
        core[lowest[~touches]] = True
    core_vertex = np.flatnonzero(core)
    core_of = np.full(n, -1, np.int64)
    core_of[core_vertex] = np.arange(core_vertex.size)

    # one trace per (core vertex, incident edge)
    rows = np.repeat(np.arange(n), deg)
    start_pos = np.flatnonzero(core[rows])
    t_start = rows[start_pos]
    t_prev = t_start.copy()
    t_cur = indices[start_pos].astype(np.int64)
    first_edge = eid_at[start_pos]
    n_t = start_pos.size
    w_sum = road.edge_weight[first_edge].copy()
    steps_owner = [np.arange(n_t)]
    steps_edge = [first_edge]
    steps_vertex = [t_cur.copy()]
    last_edge = first_edge.copy()
    active = np.flatnonzero(~core[t_cur])
    while active.size:
        cur = t_cur[active]
        p0 = indptr[cur]
        nb0 = indices[p0]
        take_first = nb0 != t_prev[active]
        pos = np.where(take_first, p0, p0 + 1)
        nxt = indices[pos].astype(np.int64)
        e = eid_at[pos]
        steps_owner.append(active)
        steps_edge.append(e)
        steps_vertex.append(nxt)
        w_sum[active] += road.edge_weight[e]
        last_edge[active] = e
        t_prev[active] = cur
        t_cur[active] = nxt
        active = active[~core[nxt]]
    t_end = t_cur
    keep = (first_edge < last_edge) | ((first_edge == last_edge) & (t_start <= t_end))
    # a single edge between two core vertices appears twice with a == b only for self loops
    kept = np.flatnonzero(keep)
    chain_of_trace = np.full(n_t, -1, np.int64)
    chain_of_trace[kept] = np.arange(kept.size)
    owner = np.concatenate(steps_owner)
    edges = np.concatenate(steps_edge)
    verts = np.concatenate(steps_vertex)
    step_no = np.concatenate([np.full(o.size, k, np.int64) for k, o in enumerate(steps_owner)])
    sel = chain_of_trace[owner] >= 0
    ch = chain_of_trace[owner[sel]]
    edges, verts, step_no = edges[sel], verts[sel], step_no[sel]
    o = np.lexsort((step_no, ch))
    ch, edges, verts, step_no = ch[o], edges[o], verts[o], step_no[o]
    m = kept.size
    counts = np.bincount(ch, minlength=m)
    ptr = np.r_[0, np.cumsum(counts)]
    # running sums along each chain (exclusive of the step's own edge for the vertex offset:
    # the vertex after edge k has all edges 0..k behind it)
    ew = road.edge_weight[edges]
    el = road.edge_length_m[edges]
    econ = road.edge_construction[edges].astype(np.int64)
    ecr = road.edge_crossings[edges].astype(np.float64)
    ecc = road.edge_crossing_cost_cny[edges]
    cw = _segmented_cumsum(ew, ptr)
    ccr = _segmented_cumsum(ecr, ptr)
    ccc = _segmented_cumsum(ecc, ptr)
    clen = np.zeros((edges.size, ncons))
    for k in range(ncons):
        clen[:, k] = _segmented_cumsum(np.where(econ == k, el, 0.0), ptr)
    last = ptr[1:] - 1
    chain_len = clen[last] if m else np.zeros((0, ncons))
    v_chain = np.full(n, -1, np.int64)
    v_pos = np.zeros(n, np.int64)
    v_off_w = np.zeros(n)
    v_off_len = np.zeros((n, ncons))
    v_off_cross = np.zeros(n)
    v_off_cc = np.zeros(n)
    interior = ~core[verts]
    iv = verts[interior]
    v_chain[iv] = ch[interior]
    v_pos[iv] = step_no[interior] + 1
    v_off_w[iv] = cw[interior]
    v_off_len[iv] = clen[interior]
    v_off_cross[iv] = ccr[interior]
    v_off_cc[iv] = ccc[interior]
    # place of every edge in its chain: the vertex before it along the chain, and the sums up
    # to that vertex (the running sums above include the edge itself)
    ne = road.n_edges
    chain_start_v = t_start[kept]
    prev_v = np.empty_like(verts)
    if verts.size:
        prev_v[1:] = verts[:-1]
        first_step = np.r_[True, ch[1:] != ch[:-1]]
        prev_v[first_step] = chain_start_v[ch[first_step]]
    edge_chain = np.full(ne, -1, np.int64)
    edge_fwd = np.ones(ne, bool)
    edge_off_w = np.zeros(ne)
    edge_off_len = np.zeros((ne, ncons))
    edge_off_cross = np.zeros(ne)
    edge_off_cc = np.zeros(ne)
    edge_chain[edges] = ch
    edge_k = np.zeros(ne, np.int64)
    edge_k[edges] = step_no
    edge_fwd[edges] = road.edge_u[edges] == prev_v
    edge_off_w[edges] = cw - ew
    edge_off_len[edges] = clen - np.where(econ[:, None] == np.arange(ncons)[None, :],
                                          el[:, None], 0.0)
    edge_off_cross[edges] = ccr - ecr
    edge_off_cc[edges] = ccc - ecc
    a = core_of[t_start[kept]]
    b = core_of[t_end[kept]]
    chain_w = w_sum[kept]
    # core adjacency: the cheapest chain between each pair (both directions)
    r = np.r_[a, b]
    c = np.r_[b, a]
    w = np.r_[chain_w, chain_w]
    cid = np.r_[np.arange(m), np.arange(m)]
    nonloop = r != c
    r, c, w, cid = r[nonloop], c[nonloop], w[nonloop], cid[nonloop]
    o = np.lexsort((w, c, r))
    r, c, w, cid = r[o], c[o], w[o], cid[o]
    first = np.ones(r.size, bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    r, c, w, cid = r[first], c[first], w[first], cid[first]
    nc = core_vertex.size
    csr = csr_matrix((w, (r, c)), shape=(nc, nc))
    keys = r.astype(np.int64) * nc + c  # sorted: (r, c) are in lexicographic order
    return RoadCore(csr, keys, cid.astype(np.int64), core_of, core_vertex, a, b, chain_w, ptr, edges, chain_len,
                    ccr[last] if m else np.zeros(0), ccc[last] if m else np.zeros(0),
                    v_chain, v_pos, v_off_w, v_off_len, v_off_cross, v_off_cc,
                    edge_chain, edge_k, edge_fwd, edge_off_w, edge_off_len, edge_off_cross, edge_off_cc)


def _segmented_cumsum(x: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each segment start ``ptr[:-1]``."""
    if x.size == 0:
        return x.astype(float)
    cs = np.cumsum(x, dtype=np.float64)
    seg = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    base = np.r_[0.0, cs][ptr[:-1]]
    return cs - base[seg]
