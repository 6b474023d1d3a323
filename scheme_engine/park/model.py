"""The joint park model as one sparse mixed-integer program (solver-independent).

Variables
    ``x[o]`` option o taken (binary); ``u[p]`` parcel p unserved; park assets: ``z[m]`` RMU
    units at site m (integer), ``w[m]`` site m on the ring (binary), ``y[b]`` new feeders from
    source section b (integer), ``g[b]`` MVA of park load they carry, ``q[b]`` section b feeds
    the park (binary), ``S_park`` the largest busbar sag of a park source; voltage totals
    ``P[f]`` (drop along feeder f at its connection points) and ``S[b]`` (sag of bus section b).

Rows (capacities from :class:`~scheme_engine.park.ledger.Limits` less the ledger's prior
reservations; see :mod:`scheme_engine.park.ledger` for which engine check each one is)
    one option or unserved per parcel; feeder MVA and customers; substation MVA; bus-section
    unit MVA and bays; RMU / station bays; branch currents (only branches that all the park's
    parcels together could overload); voltage: ``P[f] + S[b(f)]`` within each feeder's margin,
    ``S[b]`` within the section's, and each chosen circuit's own customer margin (a big-M row,
    only where the park could use it up); park: site bays ``<= bays x z``, a ring needs two
    feeders, park load ``<= sum g``, ``g <= capacity x y``, customers per park feeder.

Objective: option scores (the engine's score: cost + weighted works days, losses, N-1) + RMU
units, ring links and new feeders (each paid once, whoever uses them) + a penalty per unserved
parcel (policy ``unserved_penalty_*``).

Park rows also keep the hub (the site every new feeder lands at,
:attr:`~scheme_engine.park.assets.ParkAssets.hub`) on the ring with a unit whenever any site is
built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from grid_models.compiled import CompiledNetwork

from ..candidates import K_BUSBAR
from .assets import ParkAssets, park_item_mva
from .ledger import Ledger, Limits, branch_paths
from .options import K_PARK, Circuits, OptionSet
from .settings import ParkSettings


@dataclass
class JointModel:
    """``min c.v`` s.t. ``lo <= A v <= hi``, ``lb <= v <= ub``, integrality."""

    c: np.ndarray
    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    blocks: dict[str, slice]
    row_kind: np.ndarray  # object: what each row is
    row_ref: np.ndarray  # element index the row is about (-1 none)
    circuits: Circuits
    options: OptionSet
    n_parcels: int
    assets: ParkAssets | None
    # per option: aux deltas for the greedy (var index, coefficient)
    opt_aux: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    s_var_of_bs: dict[int, int] = field(default_factory=dict)
    prior_sag: dict[int, float] = field(default_factory=dict)

    @property
    def n_vars(self) -> int:
        return int(self.c.size)

    def x_of(self, v: np.ndarray) -> np.ndarray:
        return v[self.blocks["x"]]


class _Rows:
    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.kind: list[np.ndarray] = []
        self.ref: list[np.ndarray] = []
        self.n = 0

    def add(self, kind: str, ref: np.ndarray, lo: float | np.ndarray,
            hi: float | np.ndarray) -> int:
        ref = np.asarray(ref, np.int64)
        start = self.n
        self.n += ref.size
        self.lo.append(np.broadcast_to(np.asarray(lo, float), ref.shape).copy())
        self.hi.append(np.broadcast_to(np.asarray(hi, float), ref.shape).copy())
        self.kind.append(np.full(ref.size, kind, dtype=object))
        self.ref.append(ref)
        return start

    def coef(self, r: np.ndarray, c: np.ndarray, v: np.ndarray | float) -> None:
        r = np.asarray(r, np.int64)
        self.r.append(r)
        self.c.append(np.broadcast_to(np.asarray(c, np.int64), r.shape).copy())
        self.v.append(np.broadcast_to(np.asarray(v, float), r.shape).copy())


def _potential(ref: np.ndarray, parcel: np.ndarray, coef: np.ndarray, n_ref: int,
               n_parcels: int) -> np.ndarray:
    """Per element: the sum over parcels of the largest use any one option of it makes (the
    most the park could take; a row that cannot bind is left out)."""
    if ref.size == 0:
        return np.zeros(n_ref)
    key = ref * np.int64(n_parcels) + parcel
    o = np.lexsort((coef, key))
    k = key[o]
    last = np.r_[k[1:] != k[:-1], True]
    best = coef[o][last]
    return np.bincount(k[last] // n_parcels, weights=best, minlength=n_ref)


def build_model(cn: CompiledNetwork, circ: Circuits, opts: OptionSet, n_parcels: int,
                penalty: np.ndarray, limits: Limits, ledger: Ledger, assets: ParkAssets | None,
                st: ParkSettings, max_customers: int) -> JointModel:
    """The joint model of one park (see the module notes)."""
    nopt = len(opts)
    rows = _Rows()
    # variables
    lb: list[np.ndarray] = []
    ub: list[np.ndarray] = []
    integ: list[np.ndarray] = []
    cost: list[np.ndarray] = []
    blocks: dict[str, slice] = {}

    def var(name: str, n: int, c: np.ndarray | float, lo: float | np.ndarray,
            hi: float | np.ndarray, integer: bool) -> slice:
        start = sum(a.size for a in lb)
        lb.append(np.broadcast_to(np.asarray(lo, float), (n,)).copy())
        ub.append(np.broadcast_to(np.asarray(hi, float), (n,)).copy())
        integ.append(np.full(n, integer))
        cost.append(np.broadcast_to(np.asarray(c, float), (n,)).copy())
        blocks[name] = slice(start, start + n)
        return blocks[name]

    X = var("x", nopt, opts.score, 0, 1, True)
    U = var("u", n_parcels, penalty, 0, 1, False)
    # the park's assets when the model builds any (None: no park rows, no park variables)
    park = (assets if assets is not None and assets.n_sources > 0
            and bool((circ.kind == K_PARK).any()) else None)
    M_ = park.n_sites if park is not None else 0
    B_ = park.n_sources if park is not None else 0
    Z = var("z", M_, park.rmu_cost if park is not None else 0, 0,
            park.site_max_units if park is not None else 0, True)
    W = var("w", M_, park.site_link_cost if park is not None else 0, 0, 1, True)
    Y = var("y", B_, park.src_cost if park is not None else 0, 0,
            park.src_max if park is not None else 0, True)
    G = var("g", B_, 0, 0, (park.feeder_cap_mva * park.src_max) if park is not None else 0,
            False)
    Q = var("q", B_, 0, 0, 1, True)
    # the park's busbar sag may not take the worst ring voltage below the band (every park
    # customer's feeder holds a node that far: the engine's network_voltage bound)
    sp_ub = (park.v_ring_pu - park.ring_floor_pu) if park is not None else 0.0
    SP = var("s_park", 1 if park is not None else 0, 0, 0, max(sp_ub, 0.0), False)
    E = var("e", M_, 0, 0, (park.site_max_units + 1) if park is not None else 0, True)

    # option -> circuit pairs
    two = opts.c2 >= 0
    oc_o = np.concatenate([np.arange(nopt), np.flatnonzero(two)])
    oc_c = np.concatenate([opts.c1, opts.c2[two]])
    par_o = opts.parcel
    xo = X.start + oc_o

    # 1. one option (or unserved) per parcel
    r0 = rows.add("assign", np.arange(n_parcels), 1.0, 1.0)
    rows.coef(r0 + par_o, X.start + np.arange(nopt), 1.0)
    rows.coef(r0 + np.arange(n_parcels), U.start + np.arange(n_parcels), 1.0)

    k_feed = circ.feeder[oc_c]
    k_bs = circ.bus_section[oc_c]
    k_ss = circ.substation[oc_c]
    k_kind = circ.kind[oc_c]
    k_par = par_o[oc_o]
    inc = circ.inc_mva[oc_c]

    def simple(kind: str, mask: np.ndarray, ref: np.ndarray, coef: np.ndarray, cap: np.ndarray,
               used: np.ndarray, n_ref: int, always: np.ndarray | None = None) -> dict[int, int]:
        """Rows ``sum coef x <= cap - used`` for elements the park could over-commit."""
        ref_m = ref[mask]
        coef_m = np.broadcast_to(coef, mask.shape)[mask]
        pot = _potential(ref_m, k_par[mask], coef_m, n_ref, n_parcels)
        rhs = np.maximum(cap - used, 0.0)
        need = pot > rhs + 1e-9
        if always is not None:
            need[always] = True
        els = np.flatnonzero(need)
        start = rows.add(kind, els, -np.inf, rhs[els])
        pos = np.full(n_ref, -1, np.int64)
        pos[els] = np.arange(els.size)
        sel = pos[ref_m] >= 0
        rows.coef(start + pos[ref_m][sel], xo[mask][sel], coef_m[sel])
        return {int(e): start + i for i, e in enumerate(els)}

    nf, nb, ns = len(cn.feeder_ids), len(cn.bs_ids), len(cn.ss_ids)
    on_f = k_feed >= 0
    simple("feeder_load_rate", on_f, k_feed, inc, limits.feeder_mva, ledger.feeder_mva, nf)
    simple("customers_on_feeder", on_f, k_feed, np.ones_like(inc), limits.feeder_cust,
           ledger.feeder_cust, nf)
    src_ss = park.src_ss if park is not None else np.zeros(0, np.int64)
    src_bs = park.src_bs if park is not None else np.zeros(0, np.int64)
    ss_rows = simple("transformer_load_rate", k_ss >= 0, k_ss, inc, limits.ss_mva, ledger.ss_mva,
                     ns, always=src_ss)
    bs_rows = simple("transformer_unit_loading", k_bs >= 0, k_bs, inc, limits.bs_mva,
                     ledger.bs_mva, nb, always=src_bs)
    bay_rows = simple("spare_bays_substation", k_kind == K_BUSBAR, k_bs, np.ones_like(inc),
                      limits.bs_bays, ledger.bs_bays, nb, always=src_bs)
    bn = circ.bay_node[oc_c]
    simple("spare_bays", bn >= 0, bn, np.ones_like(inc), limits.node_bays, ledger.node_bays,
           cn.n_nodes)
    # branch currents along each circuit's path to its busbar
    pr, pn = branch_paths(cn, circ.node[oc_c])
    if pr.size:
        cur = circ.i_ka[oc_c][pr] * st.current_margin_ratio
        pot = _potential(pn, k_par[pr], cur, cn.n_nodes, n_parcels)
        rhs = np.maximum(limits.branch_ka - ledger.branch_ka, 0.0)
        els = np.flatnonzero(pot > rhs + 1e-12)
        if els.size:
            start = rows.add("path_headroom", els, -np.inf, rhs[els])
            pos = np.full(cn.n_nodes, -1, np.int64)
            pos[els] = np.arange(els.size)
            sel = pos[pn] >= 0
            rows.coef(start + pos[pn][sel], xo[pr][sel], cur[sel])

    # voltage: P[f] per feeder with circuits, S[b] per section with circuits or park sources
    feeders = np.unique(k_feed[on_f])
    sections = np.unique(np.concatenate([k_bs[k_bs >= 0], src_bs]))
    P = var("P", feeders.size, 0, 0, np.inf, False)
    S = var("S", sections.size, 0, 0, np.inf, False)
    pf_pos = np.full(nf, -1, np.int64)
    pf_pos[feeders] = np.arange(feeders.size)
    sb_pos = np.full(nb, -1, np.int64)
    sb_pos[sections] = np.arange(sections.size)
    path = circ.path_pu[oc_c]
    sag = circ.sag_pu[oc_c]
    # definitions: sum path x - P <= 0 ; sum sag x + k g - S <= 0
    rp = rows.add("P_def", feeders, -np.inf, 0.0)
    rows.coef(rp + pf_pos[k_feed[on_f]], xo[on_f], path[on_f])
    rows.coef(rp + np.arange(feeders.size), P.start + np.arange(feeders.size), -1.0)
    rs = rows.add("S_def", sections, -np.inf, 0.0)
    on_b = k_bs >= 0
    rows.coef(rs + sb_pos[k_bs[on_b]], xo[on_b], sag[on_b])
    rows.coef(rs + np.arange(sections.size), S.start + np.arange(sections.size), -1.0)
    if park is not None:
        rows.coef(rs + sb_pos[src_bs], G.start + np.arange(B_), park.src_sag_per_mva)
    # the most P / S the park could add (for big-M rows)
    maxP = _potential(k_feed[on_f], k_par[on_f], path[on_f], nf, n_parcels)
    maxS = _potential(k_bs[on_b], k_par[on_b], sag[on_b], nb, n_parcels)
    if park is not None:
        park_total = float(_potential(np.zeros(int((circ.kind[oc_c] == K_PARK).sum()), np.int64),
                                      k_par[k_kind == K_PARK], inc[k_kind == K_PARK], 1,
                                      n_parcels)[0])
        np.add.at(maxS, src_bs, park.src_sag_per_mva
                  * np.minimum(park_total, park.feeder_cap_mva * park.src_max))
    fl = np.minimum(limits.feeder_vcap_pu, ledger.feeder_vlim) - ledger.feeder_path_pu
    f_head = fl - ledger.bs_sag_pu[np.maximum(cn.feeder_bus_section, 0)]
    b_lim = np.minimum(limits.bs_vcap_pu, ledger.bs_vlim) - ledger.bs_sag_pu
    okb = cn.feeder_bus_section >= 0
    np.minimum.at(b_lim, cn.feeder_bus_section[okb], f_head[okb])
    rv = rows.add("network_voltage", feeders, -np.inf, np.maximum(f_head[feeders], 0.0))
    rows.coef(rv + np.arange(feeders.size), P.start + np.arange(feeders.size), 1.0)
    fb = cn.feeder_bus_section[feeders]
    has_b = (fb >= 0) & (sb_pos[np.maximum(fb, 0)] >= 0)
    rows.coef(rv + np.flatnonzero(has_b), S.start + sb_pos[fb[has_b]], 1.0)
    rb = rows.add("section_voltage", sections, -np.inf, np.maximum(b_lim[sections], 0.0))
    rows.coef(rb + np.arange(sections.size), S.start + np.arange(sections.size), 1.0)
    # own customer voltage of each circuit (big-M, only where it can bind)
    vcap = circ.vcap_pu[oc_c]
    kf = np.maximum(k_feed, 0)
    kb = np.maximum(k_bs, 0)
    prior = np.where(on_f, ledger.feeder_path_pu[kf], 0.0) + np.where(on_b, ledger.bs_sag_pu[kb], 0)
    avail = vcap - prior
    most = np.where(on_f, maxP[kf], 0.0) + np.where(on_b, maxS[kb], 0.0)
    bigm = most - np.maximum(avail, 0.0)
    need = (bigm > 1e-12) & (on_b | on_f)
    idx = np.flatnonzero(need)
    if idx.size:
        r = rows.add("voltage_deviation", oc_c[idx], -np.inf, np.maximum(avail[idx], 0) + bigm[idx])
        rr = r + np.arange(idx.size)
        rows.coef(rr, xo[idx], bigm[idx])
        f_i = on_f[idx]
        rows.coef(rr[f_i], P.start + pf_pos[k_feed[idx][f_i]], 1.0)
        b_i = on_b[idx]
        rows.coef(rr[b_i], S.start + sb_pos[k_bs[idx][b_i]], 1.0)

    prior_sag: dict[int, float] = {}
    if park is not None:
        pk = k_kind == K_PARK
        site = circ.site[oc_c][pk]
        rsite = rows.add("park_rmu_bays", np.arange(M_), -np.inf, 0.0)
        rows.coef(rsite + site, xo[pk], 1.0)
        rows.coef(rsite + np.arange(M_), Z.start + np.arange(M_), -float(park.bays_per_unit))
        ru = rows.add("park_site_built", np.arange(M_), -np.inf, 0.0)
        rows.coef(ru + np.arange(M_), Z.start + np.arange(M_), 1.0)
        rows.coef(ru + np.arange(M_), W.start + np.arange(M_), -park.site_max_units.astype(float))
        # the hub (where every new feeder lands) is on the ring whenever any site is, with at
        # least one unit to land the feeders on
        hub = park.hub
        others = np.array([m_ for m_ in range(M_) if m_ != hub], np.int64)
        if others.size:
            rh = rows.add("park_hub_on_ring", others, -np.inf, 0.0)
            rows.coef(rh + np.arange(others.size), W.start + others, 1.0)
            rows.coef(rh + np.arange(others.size), np.full(others.size, W.start + hub), -1.0)
        rhu = rows.add("park_hub_unit", np.array([hub]), -np.inf, 0.0)
        rows.coef(np.array([rhu]), np.array([W.start + hub]), 1.0)
        rows.coef(np.array([rhu]), np.array([Z.start + hub]), -1.0)
        rr2 = rows.add("park_ring_two_feeders", np.arange(M_), -np.inf, 0.0)
        rows.coef(rr2 + np.arange(M_), W.start + np.arange(M_), 2.0)
        rows.coef(np.repeat(rr2 + np.arange(M_), B_), np.tile(Y.start + np.arange(B_), M_), -1.0)
        # packing: parcels are hung on the new feeders source by source, feeder by feeder
        # (next fit, scheme_engine.park.rebuild); with item weights w <= s_w, a feeder is
        # left only when it holds more than cap - s_w, a source only when it holds more than
        # g - s_w. So sum w + s_w x (sources used) <= sum g and g <= (cap - s_w) y guarantee
        # that every reserved parcel finds a feeder (MVA and customers: park_item_mva)
        s_w = park.item_max_mva
        wgt = park_item_mva(inc[pk], park)
        rsup = rows.add("park_supply", np.array([0]), -np.inf, 0.0)
        rows.coef(np.full(int(pk.sum()), rsup), xo[pk], wgt)
        rows.coef(np.full(B_, rsup), G.start + np.arange(B_), -1.0)
        rows.coef(np.full(B_, rsup), Q.start + np.arange(B_), s_w)
        rg = rows.add("park_feeder_load_rate", np.arange(B_), -np.inf, 0.0)
        rows.coef(rg + np.arange(B_), G.start + np.arange(B_), 1.0)
        rows.coef(rg + np.arange(B_), Y.start + np.arange(B_), -(park.feeder_cap_mva - s_w))
        # units: e[m] >= parcels at m / bays per unit; where the packing moves to the next
        # feeder a site may split over two feeders (one unit more): sum z >= sum e + feeders - 1
        rne = rows.add("park_units_needed", np.arange(M_), -np.inf, 0.0)
        rows.coef(rne + site, xo[pk], 1.0)
        rows.coef(rne + np.arange(M_), E.start + np.arange(M_), -float(park.bays_per_unit))
        rsp_u = rows.add("park_units_split", np.array([0]), -np.inf, 1.0)
        rows.coef(np.full(M_, rsp_u), E.start + np.arange(M_), 1.0)
        rows.coef(np.full(M_, rsp_u), Z.start + np.arange(M_), -1.0)
        rows.coef(np.full(B_, rsp_u), Y.start + np.arange(B_), 1.0)
        rc = rows.add("park_customers_on_feeder", np.array([0]), -np.inf, 0.0)
        rows.coef(np.full(int(pk.sum()), rc), xo[pk], 1.0)
        rows.coef(np.full(B_, rc), Y.start + np.arange(B_), -float(max_customers))
        rq = rows.add("park_source_used", np.arange(B_), -np.inf, 0.0)
        rows.coef(rq + np.arange(B_), Y.start + np.arange(B_), 1.0)
        rows.coef(rq + np.arange(B_), Q.start + np.arange(B_), -park.src_max.astype(float))
        # feeders and bays of the sources' sections and substations
        rows.coef(np.array([bay_rows[int(b)] for b in src_bs]), Y.start + np.arange(B_), 1.0)
        rows.coef(np.array([bs_rows[int(b)] for b in src_bs]), G.start + np.arange(B_), 1.0)
        rows.coef(np.array([ss_rows[int(s)] for s in src_ss]), G.start + np.arange(B_), 1.0)
        # S_park >= S[b] + prior when b feeds the park; park customers' own voltage
        mb = maxS[src_bs] + ledger.bs_sag_pu[src_bs] + 1e-9
        rsp = rows.add("park_sag", np.arange(B_), -np.inf, mb - ledger.bs_sag_pu[src_bs])
        rows.coef(rsp + np.arange(B_), S.start + sb_pos[src_bs], 1.0)
        rows.coef(rsp + np.arange(B_), np.full(B_, SP.start), -1.0)
        rows.coef(rsp + np.arange(B_), Q.start + np.arange(B_), mb)
        pidx = np.flatnonzero(pk)
        most_park = float(np.max(mb)) if mb.size else 0.0
        bm = most_park - np.maximum(vcap[pidx], 0.0)
        sel = bm > 1e-12
        if sel.any():
            rpv = rows.add("voltage_deviation", oc_c[pidx][sel], -np.inf,
                           np.maximum(vcap[pidx][sel], 0.0) + bm[sel])
            rows.coef(rpv + np.arange(int(sel.sum())), xo[pidx][sel], bm[sel])
            rows.coef(rpv + np.arange(int(sel.sum())), np.full(int(sel.sum()), SP.start), 1.0)
        prior_sag = {int(b): float(ledger.bs_sag_pu[b]) for b in src_bs}
        # supply radius: a circuit may not be fed from a source too far for it
        bad_src = park.circuit_bad_src or {}
        if bad_src:
            ks = np.flatnonzero(pk)
            pairs = [(int(i), int(b)) for i in ks
                     for b in bad_src.get((int(circ.parcel[oc_c[i]]), int(circ.site[oc_c[i]])), ())]
            if pairs:
                pi = np.array([q[0] for q in pairs], np.int64)
                pb = np.array([q[1] for q in pairs], np.int64)
                rb = rows.add("supply_radius", oc_c[pi], -np.inf, 1.0)
                rows.coef(rb + np.arange(pi.size), xo[pi], 1.0)
                rows.coef(rb + np.arange(pi.size), Q.start + pb, 1.0)

    nv = sum(a.size for a in lb)
    A = sp.csr_matrix((np.concatenate(rows.v) if rows.v else np.zeros(0),
                       (np.concatenate(rows.r) if rows.r else np.zeros(0, np.int64),
                        np.concatenate(rows.c) if rows.c else np.zeros(0, np.int64))),
                      shape=(rows.n, nv))
    A.sum_duplicates()
    # per option: what else moves when it is taken (for the greedy)
    opt_aux = []
    order = np.argsort(oc_o, kind="stable")
    starts = np.searchsorted(oc_o[order], np.arange(nopt))
    ends = np.searchsorted(oc_o[order], np.arange(nopt), side="right")
    for o in range(nopt):
        ks = order[starts[o]:ends[o]]
        vs, cs = [U.start + par_o[o]], [-1.0]
        for k in ks:
            if on_f[k]:
                vs.append(P.start + pf_pos[k_feed[k]])
                cs.append(path[k])
            if on_b[k]:
                vs.append(S.start + sb_pos[k_bs[k]])
                cs.append(sag[k])
        opt_aux.append((np.array(vs, np.int64), np.array(cs)))
    return JointModel(
        c=np.concatenate(cost), A=A, lo=np.concatenate(rows.lo), hi=np.concatenate(rows.hi),
        lb=np.concatenate(lb), ub=np.concatenate(ub), integer=np.concatenate(integ),
        blocks=blocks, row_kind=np.concatenate(rows.kind), row_ref=np.concatenate(rows.ref),
        circuits=circ, options=opts, n_parcels=n_parcels, assets=park,
        opt_aux=opt_aux, s_var_of_bs={int(b): S.start + i for i, b in enumerate(sections)},
        prior_sag=prior_sag)
