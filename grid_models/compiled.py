"""`CompiledNetwork`: the read-only array view of one network version.

Built once per (network version, policy) by :func:`compile_network` and reused for every
application: radial feeder trees with cumulative impedance from the source busbar, a baseline
backward/forward sweep (voltages and branch currents at the measured peak), per-node headroom
along the path to the source, spatial indexes of access points, and the road graph.

Units: voltages in kV line-to-line (complex), currents in kA, impedances in ohm, powers in MW /
Mvar / MVA (three-phase). ``I = conj(S / (sqrt(3) V))``; a branch drops ``sqrt(3) Z I``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, NotRequired, TypedDict

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.spatial import cKDTree

from .errors import NetworkValidationError, ValidationReport
from .forest import depths as forest_depths
from .forest import levels as forest_levels
from .policy import Policy, StandardTypes
from .road_core import RoadCore, build_road_core
from .road_graph import RoadGraph, build_road_graph, empty_road_graph
from .schema import BAY_NODE_KINDS

if TYPE_CHECKING:  # a compiled view (e.g. from the cache) needs no geopandas
    from .network import Network

SQRT3 = np.sqrt(3.0)
OMEGA = 2 * np.pi * 50.0  # Chinese grid frequency, GB/T 15945
NODE_KIND_CODES = {"busbar": 0, "rmu": 1, "switching_station": 2, "pole": 3, "junction": 4,
                   "dist_transformer": 5, "station": 6}
#: Codes of the node kinds whose spare bays are connection points (schema.BAY_NODE_KINDS).
BAY_KIND_CODES = tuple(NODE_KIND_CODES[k] for k in BAY_NODE_KINDS)


@dataclass(frozen=True)
class PointIndex:
    """A k-d tree over a subset of points with the element index of each point."""

    tree: cKDTree | None
    element: np.ndarray  # int32 index into the element arrays (nodes or bus sections)

    def query_radius(self, xy: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Elements within ``radius_m`` of ``xy`` sorted by distance: (element idx, distance)."""
        if self.tree is None:
            return np.empty(0, np.int32), np.empty(0)
        hits = np.asarray(self.tree.query_ball_point(xy, radius_m), dtype=np.int64)
        if hits.size == 0:
            return np.empty(0, np.int32), np.empty(0)
        d = np.hypot(*(self.tree.data[hits] - xy).T)
        o = np.argsort(d, kind="stable")
        return self.element[hits[o]], d[o]


def _point_index(xy: np.ndarray, element: np.ndarray) -> PointIndex:
    return PointIndex(cKDTree(xy[element]) if element.size else None, element.astype(np.int32))


@dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """Arrays derived from one :class:`Network` version (see module docstring).

    Node arrays are indexed by node position ``i`` (``node_ids[i]``); segment arrays by
    segment position; feeders, bus sections and substations likewise.
    """

    version_id: str
    policy_id: str
    crs: object
    # nodes
    node_ids: np.ndarray
    node_xy: np.ndarray
    node_kind: np.ndarray
    node_vn_kv: np.ndarray
    node_spare_bays: np.ndarray
    node_s_mva: np.ndarray  # complex existing load
    node_feeder: np.ndarray  # feeder index, -1 for busbars and unfed nodes
    node_bus_section: np.ndarray  # bus section index of the tree's root, -1 if unfed
    node_source_ref: np.ndarray
    # radial forest
    parent: np.ndarray
    parent_seg: np.ndarray  # segment index of the branch to the parent, -1 root/switch
    depth: np.ndarray
    levels: tuple[np.ndarray, ...]  # node indices by depth (levels[0] = roots)
    z_up_ohm: np.ndarray  # complex series impedance of the branch to the parent
    cum_z_ohm: np.ndarray  # complex impedance from the source busbar
    cum_len_km: np.ndarray  # length of line from the source busbar
    v0_kv: np.ndarray  # baseline complex voltage (line-to-line)
    i_branch0_ka: np.ndarray  # baseline current on the branch to the parent
    cum_rz_i0: np.ndarray  # sum over the path of R_s * I0_s (complex, for loss increments)
    path_headroom_ka: np.ndarray  # min over the path of (rating - |I0|)
    # segments
    seg_ids: np.ndarray
    seg_from: np.ndarray
    seg_to: np.ndarray
    seg_child: np.ndarray  # node whose parent branch is this segment, -1 if not in the forest
    seg_length_km: np.ndarray
    seg_z_ohm: np.ndarray
    seg_max_i_ka: np.ndarray
    seg_overhead: np.ndarray
    seg_source_ref: np.ndarray
    seg_geometry: np.ndarray
    # feeders
    feeder_ids: np.ndarray
    feeder_bus_section: np.ndarray
    feeder_substation: np.ndarray
    feeder_vn_kv: np.ndarray
    feeder_rated_i_ka: np.ndarray
    feeder_rated_mva: np.ndarray
    feeder_peak_mw: np.ndarray
    feeder_pf: np.ndarray
    feeder_mode: np.ndarray
    feeder_n_customers: np.ndarray
    feeder_min_vm_pu: np.ndarray
    feeder_n_ties: np.ndarray
    feeder_source_ref: np.ndarray
    # bus sections and substations
    bs_ids: np.ndarray
    bs_substation: np.ndarray
    bs_vn_kv: np.ndarray
    bs_spare_bays: np.ndarray
    bs_vm_pu: np.ndarray
    bs_busbar_node: np.ndarray
    bs_min_vm_pu: np.ndarray  # lowest baseline voltage of any node fed from the section
    bs_z_source_ohm: np.ndarray  # complex Thevenin impedance behind the busbar
    bs_load_mva: np.ndarray  # sum of the section's feeder peaks (MVA, not simultaneous)
    bs_unit_mva: np.ndarray  # transformer capacity behind the section
    ss_ids: np.ndarray
    ss_xy: np.ndarray
    ss_n_transformers: np.ndarray
    ss_transformer_mva: np.ndarray
    ss_peak_mw: np.ndarray
    ss_pf: np.ndarray
    ss_hv_kv: np.ndarray
    # short-circuit source data (IEC 60909-0 network feeder Q and main transformers), after
    # policy defaults (short_circuit_sources.csv) where the network gives none
    ss_s_sc_max_mva: np.ndarray
    ss_s_sc_min_mva: np.ndarray
    ss_rx_max: np.ndarray
    ss_rx_min: np.ndarray
    ss_vk_percent: np.ndarray
    ss_vkr_percent: np.ndarray
    ss_sc_default: np.ndarray  # bool: a source value (S''kQ, R/X) came from policy defaults
    ss_trafo_default: np.ndarray  # bool: vk or vkr came from policy defaults
    bs_z_q_max_ohm: np.ndarray  # complex source impedance at the section's voltage, max case
    bs_z_q_min_ohm: np.ndarray  # ... min case (c_min, S''kQ min)
    bs_z_trafo_ohm: np.ndarray  # complex R + jX of the transformation behind the section
    bs_c_max: np.ndarray  # IEC 60909 voltage factors at the section's voltage
    bs_c_min: np.ndarray
    # ties (normally open) between feeders
    tie_feeder_a: np.ndarray
    tie_feeder_b: np.ndarray
    # spatial indexes by voltage level (kV -> index)
    bay_nodes: dict[float, PointIndex]  # RMUs / switching stations with spare bays
    busbar_sections: dict[float, PointIndex]  # bus sections with spare bays
    overhead_segments: dict[float, tuple[shapely.STRtree, np.ndarray]]
    node_road_vertex: np.ndarray  # nearest road vertex of each node (-1 none)
    node_road_dist_m: np.ndarray
    customer_node: dict[str, int]
    obstacle_tree: shapely.STRtree | None
    obstacle_forbidden: np.ndarray
    obstacle_cost_cny: np.ndarray
    road: RoadGraph
    road_core: RoadCore | None
    area_hull: object  # shapely geometry of the served area (metric)
    # supply-area classes (供电区域): polygons, and the class everywhere else
    supply_area_tree: shapely.STRtree | None = None
    supply_area_ids: np.ndarray = field(default_factory=lambda: np.empty(0, object))
    supply_area_class: np.ndarray = field(default_factory=lambda: np.empty(0, object))
    supply_area_m2: np.ndarray = field(default_factory=lambda: np.empty(0))
    supply_area_default: str = ""
    supply_area_default_source: str = ""  # "network_info", "load_density" or "policy"
    meta: dict[str, str] = field(default_factory=dict)
    validation: ValidationReport | None = None  # the report the network passed (warnings)
    # bus sections joined by closed bus couplers share a group id (their transformers feed a
    # fault together, IEC 60909-0); an uncoupled section is its own group
    bs_coupled_group: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    @cached_property
    def node_pos(self) -> pd.Index:
        """Index from node id to position."""
        return pd.Index(self.node_ids)

    @cached_property
    def ss_load_mw(self) -> np.ndarray:
        """Peak load of each substation (MW): its own measured peak, else the sum of its
        feeders' peaks. Derived once per network version (the checks, the park ledger and the
        park's rebuilt network all read it)."""
        ok = self.feeder_substation >= 0
        fsum = np.bincount(self.feeder_substation[ok], weights=self.feeder_peak_mw[ok],
                           minlength=len(self.ss_ids))
        out = np.where(np.isnan(self.ss_peak_mw), fsum, self.ss_peak_mw)
        out.flags.writeable = False  # shared by every reader
        return out

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    # Pickling (the compiled-view cache, grid_models/cache.py): shapely objects one by one
    # take ~0.6 s for 100k segments; as one WKB array they take ~0.06 s, and the STRtrees are
    # rebuilt from them (~0.01 s) rather than pickled with copies of their geometries.
    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("node_pos", None)  # cached properties, rebuilt on use
        state.pop("ss_load_mw", None)
        state.pop("_node_attach", None)  # routing's memo of street attachments
        state.pop("_overhead_pieces", None)  # candidates' memo of overhead line pieces
        state["seg_geometry"] = shapely.to_wkb(self.seg_geometry)
        state["overhead_segments"] = {lv: osel for lv, (_, osel) in self.overhead_segments.items()}
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        geoms = shapely.from_wkb(state["seg_geometry"])
        state["seg_geometry"] = geoms
        state["overhead_segments"] = {
            lv: (shapely.STRtree(geoms[osel]), osel)
            for lv, osel in state["overhead_segments"].items()}  # type: ignore[attr-defined]
        self.__dict__.update(state)

    def supply_area_at(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Supply-area class at each point, vectorised (one STRtree query for all points).

        Parameters
        ----------
        xy : ndarray, shape (n, 2) or (2,)
            Points in the network's metric CRS.

        Returns
        -------
        classes : ndarray of str
            The class of the smallest ``supply_areas`` polygon holding each point (the most
            specific one where areas overlap), else :attr:`supply_area_default`.
        area_ids : ndarray of str
            The id of that polygon, ``""`` where the default applied.
        """
        pts = shapely.points(np.asarray(xy, dtype=float).reshape(-1, 2))
        cls = np.full(len(pts), self.supply_area_default, dtype=object)
        ids = np.full(len(pts), "", dtype=object)
        if self.supply_area_tree is None or len(pts) == 0:
            return cls, ids
        inp, hit = self.supply_area_tree.query(pts, predicate="intersects")
        if inp.size:
            o = np.lexsort((self.supply_area_m2[hit], inp))
            inp, hit = inp[o], hit[o]
            first = np.r_[True, inp[1:] != inp[:-1]]
            cls[inp[first]] = self.supply_area_class[hit[first]]
            ids[inp[first]] = self.supply_area_ids[hit[first]]
        return cls, ids


def compile_network(net: Network, policy: Policy, *,
                    standard_types: StandardTypes | None = None,
                    validation: ValidationReport | None = None) -> CompiledNetwork:
    """Derive the arrays of ``net`` once (per network version and policy).

    The network is validated first (:func:`grid_models.validation.validate`, about 0.4 s on
    the L city); a network with validation errors is refused with the same problem codes as
    ``gridscheme network validate``, so nothing is ever compiled (or planned) on a network
    that validation rejects. Warnings are kept in :attr:`CompiledNetwork.validation`.

    Parameters
    ----------
    net : Network
    policy : Policy
    standard_types : StandardTypes, optional
        For validation (default: the bundled ones).
    validation : ValidationReport, optional
        A report already made for this network version (skips validating again).

    Raises
    ------
    NetworkValidationError
        The network has validation errors; ``report`` holds every problem.
    """
    from .validation import validate

    report = validation if validation is not None else validate(net, standard_types, policy)
    if not report.ok:
        raise NetworkValidationError(report)
    L = net.layers
    nodes, segs, sw = L["nodes"], L["segments"], L["switches"]
    feeders, bss, sss = L["feeders"], L["bus_sections"], L["substations"]
    n = len(nodes)
    node_pos = pd.Index(nodes["id"])
    xy = shapely.get_coordinates(nodes.geometry.values).reshape(-1, 2) if n else np.zeros((0, 2))

    # --- operating topology: in-service segments not cut by an open switch + closed switches
    open_seg = set(sw.loc[~sw["closed"] & (sw["segment_id"] != ""), "segment_id"])
    seg_on = segs["in_service"].to_numpy() & ~segs["id"].isin(open_seg).to_numpy()
    fi = node_pos.get_indexer(segs["from_node"])
    ti = node_pos.get_indexer(segs["to_node"])
    seg_on &= (fi >= 0) & (ti >= 0)  # validation refused dangling in-service segments
    closed_sw = sw[sw["closed"] & (sw["segment_id"] == "")]
    sa, sb = node_pos.get_indexer(closed_sw["node_a"]), node_pos.get_indexer(closed_sw["node_b"])
    ok_sw = (sa >= 0) & (sb >= 0)
    kind = nodes["kind"].map(NODE_KIND_CODES).fillna(-1).to_numpy(np.int8)
    # A closed bus coupler between two busbars is not part of any feeder tree: each bus
    # section stays the root of its own feeders (validation treats it the same way).
    ok_sw &= ~((kind[np.maximum(sa, 0)] == 0) & (kind[np.maximum(sb, 0)] == 0))
    seg_idx = np.flatnonzero(seg_on)
    eu = np.concatenate([fi[seg_idx], sa[ok_sw]])
    ev = np.concatenate([ti[seg_idx], sb[ok_sw]])
    eid = np.concatenate([seg_idx, -1 - np.arange(ok_sw.sum())])  # <0: switch edge

    roots = np.flatnonzero(kind == 0)
    super_root = n
    ru = np.concatenate([eu, np.full(roots.size, super_root)])
    rv = np.concatenate([ev, roots])
    g = coo_matrix((np.ones(ru.size), (ru, rv)), shape=(n + 1, n + 1)).tocsr()
    order, pred = breadth_first_order(g, super_root, directed=False, return_predecessors=True)
    parent = pred[:n].astype(np.int64)
    parent[parent == super_root] = -1
    parent[parent < 0] = -1
    reached = np.zeros(n, bool)
    reached[order[order < n]] = True
    # Loops: a forest on the reached nodes has exactly (reached - roots) branches. Validation
    # refuses loops (feeder_loop / busbars_connected) before this; kept as a guard.
    n_edges_reached = int(np.count_nonzero(reached[eu] & reached[ev]))
    if n_edges_reached != int(reached.sum()) - roots.size:
        guard = ValidationReport()
        guard.add("feeder_loop", "segments", "*",
                  f"the operating topology has {n_edges_reached - (int(reached.sum()) - roots.size)} "
                  "loop(s) or busbar-to-busbar path(s) with normally-open ties open; each feeder "
                  "must be radial (run 'gridscheme network validate' for the elements)")
        raise NetworkValidationError(guard)

    # branch to parent: map (child, parent) -> edge id via a sparse lookup
    lookup = coo_matrix((np.concatenate([eid, eid]) + (1 << 40),
                         (np.concatenate([eu, ev]), np.concatenate([ev, eu]))),
                        shape=(n, n)).tocsr()
    child = np.flatnonzero(parent >= 0)
    e_of_child = np.asarray(lookup[child, parent[child]]).ravel().astype(np.int64) - (1 << 40)
    parent_seg = np.full(n, -1, np.int64)
    parent_seg[child] = np.where(e_of_child >= 0, e_of_child, -1)

    depth = forest_depths(parent)
    depth[~reached] = -1
    levels = tuple(forest_levels(depth))

    # --- impedances
    r = segs["r_ohm_per_km"].to_numpy() * segs["length_km"].to_numpy()
    x = segs["x_ohm_per_km"].to_numpy() * segs["length_km"].to_numpy()
    seg_z = r + 1j * x
    z_up = np.zeros(n, complex)
    has = parent_seg >= 0
    z_up[has] = seg_z[parent_seg[has]]
    rating = np.full(n, np.inf)
    rating[has] = segs["max_i_ka"].to_numpy()[parent_seg[has]] * policy.param("line_loading_limit")
    shunt_b = np.zeros(n)
    c_f = segs["c_nf_per_km"].to_numpy() * segs["length_km"].to_numpy() * 1e-9
    on = seg_idx
    np.add.at(shunt_b, fi[on], OMEGA * c_f[on] / 2)
    np.add.at(shunt_b, ti[on], OMEGA * c_f[on] / 2)

    # --- roots: bus section of each busbar
    bs_pos = pd.Index(bss["id"])
    root_bs = np.full(n, -1, np.int64)
    root_bs[roots] = bs_pos.get_indexer(nodes["bus_section_id"].to_numpy()[roots])
    node_bs = np.full(n, -1, np.int64)
    for lv in levels:
        node_bs[lv] = np.where(parent[lv] >= 0, node_bs[np.maximum(parent[lv], 0)], root_bs[lv])
    bs_vm = bss["vm_pu"].to_numpy()
    v_root = np.where(node_bs >= 0, bs_vm[np.maximum(node_bs, 0)], 1.0) * nodes["vn_kv"].to_numpy()

    # --- feeder of each node: the feeder of the first branch below the busbar
    fd_pos = pd.Index(feeders["id"])
    seg_feeder = fd_pos.get_indexer(segs["feeder_id"])
    node_fd_attr = fd_pos.get_indexer(nodes["feeder_id"])
    node_feeder = np.full(n, -1, np.int64)
    if len(levels) > 1:
        first = levels[1]
        ps = parent_seg[first]
        node_feeder[first] = np.where(ps >= 0, seg_feeder[np.maximum(ps, 0)], node_fd_attr[first])
        for lv in levels[2:]:
            node_feeder[lv] = node_feeder[parent[lv]]

    # --- baseline backward/forward sweep at the measured loads
    s_load = (nodes["p_mw"].to_numpy() + 1j * nodes["q_mvar"].to_numpy()).astype(complex)
    v, i_br = _sweep(levels, parent, z_up, s_load, shunt_b, v_root, reached,
                     int(policy.param("sweep_max_iterations")), policy.param("sweep_tolerance_pu"))
    cum_z = np.zeros(n, complex)
    cum_len = np.zeros(n)  # km of line from the source busbar (the supply radius)
    up_len = np.zeros(n)
    up_len[has] = segs["length_km"].to_numpy()[parent_seg[has]]
    cum_rzi = np.zeros(n, complex)
    headroom = np.full(n, np.inf)
    for lv in levels[1:]:
        p = parent[lv]
        cum_z[lv] = cum_z[p] + z_up[lv]
        cum_len[lv] = cum_len[p] + up_len[lv]
        cum_rzi[lv] = cum_rzi[p] + z_up[lv].real * i_br[lv]
        headroom[lv] = np.minimum(headroom[p], rating[lv] - np.abs(i_br[lv]))

    vn = nodes["vn_kv"].to_numpy()
    vm = np.where(reached, np.abs(v) / vn, np.nan)
    nf = len(feeders)
    feeder_min_vm = np.full(nf, np.inf)
    m = node_feeder >= 0
    np.minimum.at(feeder_min_vm, node_feeder[m], vm[m])
    bs_min_vm = np.full(len(bss), np.inf)
    m2 = node_bs >= 0
    np.minimum.at(bs_min_vm, node_bs[m2], vm[m2])

    # --- feeders
    f_vn = feeders["vn_kv"].to_numpy()
    f_rated = feeders["rated_i_ka"].to_numpy()
    f_peak = feeders["peak_mw"].to_numpy().copy()
    load_by_feeder = np.bincount(node_feeder[m], weights=s_load.real[m], minlength=nf)
    f_peak = np.where(np.isnan(f_peak), load_by_feeder, f_peak)
    ties = sw[(sw["kind"] == "tie") & ~sw["closed"]]
    ta, tb = node_pos.get_indexer(ties["node_a"]), node_pos.get_indexer(ties["node_b"])
    okt = (ta >= 0) & (tb >= 0)
    tfa, tfb = node_feeder[ta[okt]], node_feeder[tb[okt]]
    keep = (tfa >= 0) & (tfb >= 0) & (tfa != tfb)
    tfa, tfb = tfa[keep], tfb[keep]
    n_ties = np.bincount(np.concatenate([tfa, tfb]), minlength=nf) if nf else np.zeros(0, int)

    # --- substations: Thevenin impedance of one main transformer behind each bus section
    ss_pos = pd.Index(sss["id"])
    bs_ss = ss_pos.get_indexer(bss["substation_id"])
    vk = sss["vk_percent"].to_numpy().copy()
    vk = np.where(np.isnan(vk), policy.param("default_transformer_vk_percent"), vk)
    bs_vn = bss["vn_kv"].to_numpy()
    mva = sss["transformer_mva"].to_numpy()
    z_src = 1j * vk[np.maximum(bs_ss, 0)] / 100 * bs_vn**2 / mva[np.maximum(bs_ss, 0)]
    # The unit(s) feeding each section: one transformer per section, or a share of the
    # substation's units when there are more units than sections.
    n_bs_of_ss = np.bincount(bs_ss[bs_ss >= 0], minlength=len(sss))
    ss_i = np.maximum(bs_ss, 0)
    n_tr = sss["n_transformers"].to_numpy()
    bs_unit = mva[ss_i] * np.maximum(1.0, n_tr[ss_i] / np.maximum(n_bs_of_ss[ss_i], 1))
    fok = bs_pos.get_indexer(feeders["bus_section_id"]) >= 0
    f_pf = feeders["power_factor"].to_numpy()
    bs_load = np.bincount(bs_pos.get_indexer(feeders["bus_section_id"])[fok],
                          weights=(f_peak / f_pf)[fok], minlength=len(bss))
    busbar_node = np.full(len(bss), -1, np.int64)
    okr = root_bs[roots] >= 0
    busbar_node[root_bs[roots][okr]] = roots[okr]
    # closed bus couplers (busbar to busbar, no segment): groups of sections fed in parallel
    cpl = (sa >= 0) & (sb >= 0) & (kind[np.maximum(sa, 0)] == 0) \
        & (kind[np.maximum(sb, 0)] == 0)
    ca, cb = root_bs[sa[cpl]], root_bs[sb[cpl]]
    okc = (ca >= 0) & (cb >= 0)
    bs_group = connected_components(coo_matrix(
        (np.ones(int(okc.sum())), (ca[okc], cb[okc])), shape=(len(bss), len(bss))),
        directed=False)[1].astype(np.int64) if len(bss) else np.zeros(0, np.int64)
    ss_xy = (shapely.get_coordinates(sss.geometry.values).reshape(-1, 2) if len(sss)
             else np.zeros((0, 2)))

    # --- access points by voltage level
    spare = nodes["spare_bays"].to_numpy()
    bay_nodes = {}
    busbar_sections = {}
    overhead = {}
    seg_overhead = (segs["construction"] == "overhead").to_numpy()
    seg_vn = np.where(fi >= 0, vn[np.maximum(fi, 0)], np.nan)
    bs_spare = bss["bays_total"].to_numpy() - bss["bays_used"].to_numpy()
    bs_xy = np.where(busbar_node[:, None] >= 0, xy[np.maximum(busbar_node, 0)], np.nan)
    seg_child = np.full(len(segs), -1, np.int64)
    seg_child[parent_seg[has]] = np.flatnonzero(has)
    for level in np.unique(np.round(vn[reached], 3)):
        sel = np.flatnonzero(reached & np.isin(kind, BAY_KIND_CODES) & (spare > 0)
                             & np.isclose(vn, level))
        bay_nodes[float(level)] = _point_index(xy, sel)
        bsel = np.flatnonzero((bs_spare > 0) & np.isclose(bs_vn, level) & (busbar_node >= 0))
        busbar_sections[float(level)] = PointIndex(
            cKDTree(bs_xy[bsel]) if bsel.size else None, bsel.astype(np.int32))
        osel = np.flatnonzero(seg_overhead & (seg_child >= 0) & np.isclose(seg_vn, level))
        geoms = np.asarray(segs.geometry.values[osel], dtype=object)
        overhead[float(level)] = (shapely.STRtree(geoms), osel)

    road = (build_road_graph(L["roads"], L["obstacles"], policy) if len(L["roads"])
            else empty_road_graph())
    if road.xy.shape[0]:
        nv, nd = road.nearest_vertex(xy, policy.param("road_snap_max_m"))
    else:
        nv, nd = np.full(n, -1), np.full(n, np.inf)
    obs = L["obstacles"]
    obs_ok = obs[obs.geometry.notna()] if len(obs) else obs
    obstacle_tree = shapely.STRtree(obs_ok.geometry.values) if len(obs_ok) else None
    obs_cost = (obs_ok["crossing_cost_cny"].to_numpy(float) if len(obs_ok) else np.zeros(0))
    obs_cost = np.where(np.isnan(obs_cost), policy.cost("crossing", "obstacle"), obs_cost)
    sc = _short_circuit_sources(sss, bss, bs_ss, bs_unit, policy)
    load_mw = float(np.nansum(np.clip(s_load.real[reached], 0, None)))
    hull_km2 = float(shapely.area(shapely.convex_hull(shapely.multipoints(xy[reached])))) / 1e6 \
        if reached.sum() >= 3 else 0.0
    areas = _supply_areas(L["supply_areas"], net.meta, policy,
                          load_mw / hull_km2 if hull_km2 > 0 else float("nan"))
    cust = nodes["customer_id"].to_numpy()
    cm = cust != ""
    hull_pts = np.vstack([xy, ss_xy]) if n else ss_xy
    hull = shapely.convex_hull(shapely.multipoints(hull_pts)) if len(hull_pts) else None

    return CompiledNetwork(
        version_id=net.version_id, policy_id=policy.policy_id, crs=net.crs,
        node_ids=nodes["id"].to_numpy(), node_xy=xy, node_kind=kind, node_vn_kv=vn,
        node_spare_bays=spare, node_s_mva=s_load, node_feeder=node_feeder,
        node_bus_section=node_bs, node_source_ref=nodes["source_ref"].to_numpy(),
        parent=parent, parent_seg=parent_seg, depth=depth, levels=levels, z_up_ohm=z_up,
        cum_z_ohm=cum_z, cum_len_km=cum_len, v0_kv=v, i_branch0_ka=i_br, cum_rz_i0=cum_rzi,
        path_headroom_ka=headroom,
        seg_ids=segs["id"].to_numpy(), seg_from=fi, seg_to=ti, seg_child=seg_child,
        seg_length_km=segs["length_km"].to_numpy(), seg_z_ohm=seg_z,
        seg_max_i_ka=segs["max_i_ka"].to_numpy(), seg_overhead=seg_overhead,
        seg_source_ref=segs["source_ref"].to_numpy(), seg_geometry=np.asarray(segs.geometry.values, dtype=object),
        feeder_ids=feeders["id"].to_numpy(), feeder_bus_section=bs_pos.get_indexer(feeders["bus_section_id"]),
        feeder_substation=ss_pos.get_indexer(feeders["substation_id"]), feeder_vn_kv=f_vn,
        feeder_rated_i_ka=f_rated, feeder_rated_mva=SQRT3 * f_vn * f_rated, feeder_peak_mw=f_peak,
        feeder_pf=feeders["power_factor"].to_numpy(), feeder_mode=feeders["connection_mode"].to_numpy(),
        feeder_n_customers=feeders["n_customers"].to_numpy(), feeder_min_vm_pu=feeder_min_vm,
        feeder_n_ties=n_ties, feeder_source_ref=feeders["source_ref"].to_numpy(),
        bs_ids=bss["id"].to_numpy(), bs_substation=bs_ss, bs_vn_kv=bs_vn, bs_spare_bays=bs_spare,
        bs_vm_pu=bs_vm, bs_busbar_node=busbar_node, bs_min_vm_pu=bs_min_vm, bs_z_source_ohm=z_src,
        bs_load_mva=bs_load, bs_unit_mva=bs_unit,
        ss_ids=sss["id"].to_numpy(), ss_xy=ss_xy, ss_n_transformers=sss["n_transformers"].to_numpy(),
        ss_transformer_mva=mva, ss_peak_mw=sss["peak_mw"].to_numpy(),
        ss_pf=sss["power_factor"].to_numpy(), ss_hv_kv=sss["hv_kv"].to_numpy(),
        **sc,
        tie_feeder_a=tfa, tie_feeder_b=tfb,
        bay_nodes=bay_nodes, busbar_sections=busbar_sections, overhead_segments=overhead,
        node_road_vertex=np.asarray(nv, np.int64), node_road_dist_m=np.asarray(nd, float),
        customer_node={c: int(i) for c, i in zip(cust[cm], np.flatnonzero(cm), strict=True)},
        obstacle_tree=obstacle_tree,
        obstacle_forbidden=(obs_ok["crossing"] == "forbidden").to_numpy() if len(obs_ok) else np.zeros(0, bool),
        obstacle_cost_cny=obs_cost,
        road=road, road_core=build_road_core(road) if road.n_edges else None,
        area_hull=hull, **areas, meta=dict(net.meta), validation=report,
        bs_coupled_group=bs_group,
    )


def _level_rows(table: pd.DataFrame, kv: np.ndarray) -> np.ndarray:
    """Row of a by-voltage policy table for each voltage: the nearest level (log scale)."""
    levels = table["vn_kv"].to_numpy(dtype=float)
    kv = np.asarray(kv, dtype=float)
    safe = np.where(np.isfinite(kv) & (kv > 0), kv, levels.max())
    return np.argmin(np.abs(np.log(safe[:, None]) - np.log(levels[None, :])), axis=1)


class _ShortCircuitSources(TypedDict):
    """The :class:`CompiledNetwork` fields :func:`_short_circuit_sources` fills."""

    ss_s_sc_max_mva: np.ndarray
    ss_s_sc_min_mva: np.ndarray
    ss_rx_max: np.ndarray
    ss_rx_min: np.ndarray
    ss_vk_percent: np.ndarray
    ss_vkr_percent: np.ndarray
    ss_sc_default: np.ndarray
    ss_trafo_default: np.ndarray
    bs_z_q_max_ohm: np.ndarray
    bs_z_q_min_ohm: np.ndarray
    bs_z_trafo_ohm: np.ndarray
    bs_c_max: np.ndarray
    bs_c_min: np.ndarray


def _short_circuit_sources(sss: pd.DataFrame, bss: pd.DataFrame, bs_ss: np.ndarray,
                           bs_unit: np.ndarray, policy: Policy) -> _ShortCircuitSources:
    """Source and transformer impedances per bus section for IEC 60909-0 calculations.

    The network feeder (IEC 60909-0 §6.2): ``Z_Q = c U_nQ^2 / S''kQ`` referred to the section's
    side of the transformer is ``c vn^2 / S''kQ`` (rated ratio = nominal ratio), with
    ``X_Q = Z_Q / sqrt(1 + (R/X)^2)``; max case ``c_max, S''kQmax, (R/X)max``, min case
    ``c_min, S''kQmin, (R/X)min`` (the voltage factor of the HV level). The transformers (§6.3):
    ``Z_T = vk/100 vn^2 / S_rT``, ``R_T = vkr/100 vn^2 / S_rT`` for the transformer capacity
    behind the section (``bs_unit_mva``); the correction factor K_T is left to the calculation
    (``scheme_engine/short_circuit.py`` applies it in the maximum case, as pandapower does).
    Missing values come from the policy table ``short_circuit_sources`` (nearest voltage level),
    and ``ss_sc_default`` / ``ss_trafo_default`` record where they did.
    """
    tab = policy.table("short_circuit_sources")
    row = _level_rows(tab, sss["hv_kv"].to_numpy(dtype=float))

    def pick(col: str, dcol: str) -> tuple[np.ndarray, np.ndarray]:
        given = sss[col].to_numpy(dtype=float)
        dflt = tab[dcol].to_numpy(dtype=float)[row]
        use = ~np.isfinite(given)
        return np.where(use, dflt, given), use

    s_max, d1 = pick("s_sc_max_mva", "s_sc_max_mva")
    s_min, d2 = pick("s_sc_min_mva", "s_sc_min_mva")
    rx_max, d3 = pick("rx_max", "rx_max")
    rx_min, d4 = pick("rx_min", "rx_min")
    vkr, d5 = pick("vkr_percent", "transformer_vkr_percent")
    vk = sss["vk_percent"].to_numpy(dtype=float)
    d6 = ~np.isfinite(vk)
    vk = np.where(d6, policy.param("default_transformer_vk_percent"), vk)
    c_hv_max = tab["c_max"].to_numpy(dtype=float)[row]
    c_hv_min = tab["c_min"].to_numpy(dtype=float)[row]

    nb = len(bss)
    ss = np.maximum(bs_ss, 0)
    known = bs_ss >= 0
    vn = bss["vn_kv"].to_numpy(dtype=float)

    def z_q(c: np.ndarray, s_sc: np.ndarray, rx: np.ndarray) -> np.ndarray:
        if nb == 0:
            return np.zeros(0, complex)
        z = c[ss] * vn**2 / s_sc[ss]
        x = z / np.sqrt(1.0 + rx[ss] ** 2)
        return np.where(known, rx[ss] * x + 1j * x, np.nan)

    if nb:
        mva = sss["transformer_mva"].to_numpy(dtype=float)
        hv = sss["hv_kv"].to_numpy(dtype=float)
        base = vn**2 / bs_unit  # ohm per 1 (per unit) of the capacity behind the section
        zt = vk[ss] / 100 * base
        rt = np.minimum(vkr[ss] / 100 * base, zt)
        z_t = rt + 1j * np.sqrt(zt**2 - rt**2)
        # A source straight at the section's voltage (an external grid at an MV busbar): no
        # transformation between Q and the busbar.
        direct = np.isclose(hv[ss], vn) | ~np.isfinite(mva[ss])
        z_t = np.where(known, np.where(direct, 0j, z_t), np.nan)
        brow = _level_rows(tab, vn)
        c_max, c_min = tab["c_max"].to_numpy(dtype=float)[brow], tab["c_min"].to_numpy(dtype=float)[brow]
    else:
        z_t = np.zeros(0, complex)
        c_max = c_min = np.zeros(0)
    return _ShortCircuitSources(
        ss_s_sc_max_mva=s_max, ss_s_sc_min_mva=s_min, ss_rx_max=rx_max, ss_rx_min=rx_min,
        ss_vk_percent=vk, ss_vkr_percent=vkr, ss_sc_default=d1 | d2 | d3 | d4,
        ss_trafo_default=d5 | d6,
        bs_z_q_max_ohm=z_q(c_hv_max, s_max, rx_max), bs_z_q_min_ohm=z_q(c_hv_min, s_min, rx_min),
        bs_z_trafo_ohm=z_t, bs_c_max=c_max, bs_c_min=c_min)


class _SupplyAreas(TypedDict):
    """The :class:`CompiledNetwork` fields :func:`_supply_areas` fills (the polygons' fields
    only when the network has supply areas)."""

    supply_area_default: str
    supply_area_default_source: str
    supply_area_tree: NotRequired[shapely.STRtree | None]
    supply_area_ids: NotRequired[np.ndarray]
    supply_area_class: NotRequired[np.ndarray]
    supply_area_m2: NotRequired[np.ndarray]


def _supply_areas(sa: pd.DataFrame, meta: dict[str, str], policy: Policy,
                  density_mw_km2: float = float("nan")) -> _SupplyAreas:
    """STRtree over the supply-area polygons and the class that applies elsewhere: the
    network's own (metadata), else the class whose load-density band holds the network's
    average load density (DL/T 5729 defines the classes by it), else the policy default."""
    table = policy.table("supply_area_classes")
    given = str(meta.get("supply_area_class", "") or "").strip()
    dens = (pd.to_numeric(table["min_load_density_mw_per_km2"], errors="coerce")
            if "min_load_density_mw_per_km2" in table.columns else None)
    if given:
        default, source = given, "network_info"
    elif dens is not None and np.isfinite(density_mw_km2) and density_mw_km2 > 0 \
            and dens.notna().any():
        # the densest class whose lower bound the network reaches
        ok = dens.to_numpy() <= density_mw_km2
        order = np.argsort(-dens.to_numpy())
        pick = next((i for i in order if ok[i]), int(np.argmin(dens.to_numpy())))
        default, source = str(table["class"].iloc[pick]), "load_density"
    else:
        flag = table["is_default"].astype(str).str.strip().str.lower().isin(("true", "1", "yes"))
        default = str(table.loc[flag, "class"].iloc[0]) if flag.any() else ""
        source = "policy"
    out: _SupplyAreas = {"supply_area_default": default, "supply_area_default_source": source}
    if len(sa):
        geoms = np.asarray(sa.geometry.values, dtype=object)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        geoms = geoms[ok]
        out["supply_area_tree"] = shapely.STRtree(geoms) if len(geoms) else None
        out["supply_area_ids"] = sa["id"].to_numpy(dtype=object)[ok]
        out["supply_area_class"] = sa["class"].astype(str).str.strip().to_numpy(dtype=object)[ok]
        out["supply_area_m2"] = shapely.area(geoms)
    return out


def _sweep(levels, parent, z_up, s_load, shunt_b, v_root, reached, max_iter, tol):
    """Complex backward/forward sweep on the radial forest, vectorised by depth level."""
    v = v_root.astype(complex)
    i_br = np.zeros_like(v)
    vn = np.abs(v_root)
    vn[vn == 0] = 1.0
    for _ in range(max_iter):
        i_node = np.conj(s_load / (SQRT3 * v)) + 1j * shunt_b * v / SQRT3
        i_node[~reached] = 0
        i_br = i_node.copy()
        for lv in reversed(levels[1:]):
            np.add.at(i_br, parent[lv], i_br[lv])
        v_new = v.copy()
        for lv in levels[1:]:
            v_new[lv] = v_new[parent[lv]] - SQRT3 * z_up[lv] * i_br[lv]
        delta = np.nanmax(np.abs(v_new - v) / vn) if v.size else 0.0
        v = v_new
        if delta < tol:
            break
    v[~reached] = np.nan
    return v, i_br
