"""Plan one park: options in one batch, the joint model, the reserved scheme of every parcel.

:func:`plan_park` is the entry point; :class:`ParkResult` holds what it found (reservations,
new assets, solver statistics, the ledger after the reservations). Summaries and files are
made from it by :mod:`scheme_engine.park.summary` and :mod:`scheme_engine.park.output`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import rules
from ..candidates import K_BUSBAR
from ..checks import REGISTRY
from .assets import park_assets, park_circuits
from .ledger import Ledger, Limits, branch_paths
from .model import JointModel, build_model
from .options import K_PARK, KIND_NAMES, Circuits, OptionSet, network_circuits, network_options
from .parcels import ParkInput
from .settings import ParkSettings, park_settings
from .solve import Solution, solve

if TYPE_CHECKING:
    from ..engine import Planner


@dataclass
class ParkResult:
    """The plan of one park.

    Attributes
    ----------
    park_id : str
    parcels : DataFrame
        One row per good parcel: ``parcel_id``, ``status`` (``reserved`` / ``unserved``), the
        reserved scheme's fields (``kind``, ``point_id``, ``feeder_id``, ``bus_section_id``,
        ``substation_id``, ``conductor``, ``route_m``, ``cost_cny``, ``score``, and for dual
        supply ``point_id_2`` ...), or ``reason`` / ``reason_detail`` when unserved.
    bad : DataFrame
        Parcels not planned (id, reason, message).
    routes : list of dict
        ``parcel_id``, ``circuit`` (1/2), ``coords`` (metric) of every reserved circuit.
    new_assets : list of dict
        ``asset`` (``park_rmu`` / ``park_ring`` / ``park_feeder``), ``id``, ``coords`` (metric)
        and numbers (units, bays, length, cost, MVA).
    stats : dict
        Solver, status, objective, bound, gap, seconds, greedy objective, counts.
    ledger : Ledger
        Reservations after this park (prior ones included).
    circuits : DataFrame
        One row per reserved circuit, what is needed to build it into the network
        (:mod:`scheme_engine.park.rebuild`): ``parcel``, ``parcel_id``, ``circuit``, ``kind``,
        ``point_id``, ``node`` / ``seg`` (compiled indexes; the tree child of a tapped
        segment), ``access_x``/``access_y`` (metric), ``vn_kv``, ``feeder``, ``bus_section``,
        ``substation``, ``site``, ``conductor``, ``route_m``, ``p_mw``, ``q_mvar``, ``inc_mva``
        and ``coords`` (the route, metric).
    """

    park_id: str
    parcels: pd.DataFrame
    bad: pd.DataFrame
    routes: list[dict[str, Any]]
    new_assets: list[dict[str, Any]]
    stats: dict[str, Any]
    ledger: Ledger
    prior: Ledger
    park: ParkInput = field(repr=False)
    model: JointModel | None = field(default=None, repr=False)
    solution: Solution | None = field(default=None, repr=False)
    greedy: Solution | None = field(default=None, repr=False)
    circuits: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


def _apps(park: ParkInput) -> list[dict[str, Any]]:
    t = park.parcels
    return [{"customer_name": str(pid)[:200] or "parcel", "lon": float(lon), "lat": float(lat),
             "requested_kva": float(kva), "tier": str(tier), "industry": str(ind)}
            for pid, lon, lat, kva, tier, ind in zip(
                t["parcel_id"], t["lon"], t["lat"], t["requested_kva"], t["tier"], t["industry"],
                strict=True)]


def plan_park(planner: Planner, park: ParkInput, *, settings: ParkSettings | None = None,
              prior: Ledger | None = None, solver: str = "highs",
              progress: Any = None) -> ParkResult:
    """Reserve a scheme for every parcel of a park, jointly (see :mod:`scheme_engine.park`).

    Parameters
    ----------
    planner : Planner
    park : ParkInput
        Checked parcels (:func:`scheme_engine.park.parcels.check_parcels`).
    settings : ParkSettings, optional
        Default: the policy's ``park_planning`` table.
    prior : Ledger, optional
        Reservations already made (earlier parks); they are kept and added to.
    solver : {"highs", "cpsat"}
    progress : callable, optional
        ``progress(step: str)`` after each step (CLI progress bar, job progress).

    Returns
    -------
    ParkResult
    """
    st = settings or park_settings(planner.policy)
    cn, pol = planner.cn, planner.policy
    ledger0 = prior.copy() if prior is not None else Ledger.empty(cn)
    tick = progress or (lambda step: None)
    t0 = time.perf_counter()
    n = len(park)
    modes = [rules.supply_mode(pol, str(t)) for t in park.parcels["tier"]]
    ncirc = np.array([md.n_circuits for md in modes], np.int64)
    results = planner.options_many(_apps(park), park.demands)
    t_opt = time.perf_counter() - t0
    tick("options")
    circ_net = network_circuits(results, ncirc, st, st.voltage_margin_pct)
    opt_net = network_options(circ_net, results, ncirc, modes, st)
    assets = park_assets(planner, park, st)
    circ_park = park_circuits(planner, park, assets, st, ncirc) if assets is not None \
        else Circuits.empty()
    circ = Circuits.concat([circ_net, circ_park])
    off = len(circ_net)
    pk = np.arange(len(circ_park))
    opts = OptionSet(np.r_[opt_net.parcel, circ_park.parcel], np.r_[opt_net.c1, off + pk],
                     np.r_[opt_net.c2, np.full(pk.size, -1, np.int64)],
                     np.r_[opt_net.score, circ_park.score])
    limits = Limits.of(cn, pol)
    kva = park.parcels["requested_kva"].to_numpy(float)
    penalty = st.unserved_penalty_cny + st.unserved_penalty_cny_per_kva * kva
    t1 = time.perf_counter()
    model = build_model(cn, circ, opts, n, penalty, limits, ledger0, assets, st,
                        pol.params.max_customers_per_feeder)
    t_build = time.perf_counter() - t1
    tick("model")
    sol, base = solve(model, st.time_limit_s, st.mip_gap, solver, st.cpsat_polish_s)
    tick("solve")
    res = _decode(planner, park, results, model, sol, base, ledger0, limits, st)
    res.stats.update({"seconds_options": round(t_opt, 3), "seconds_model": round(t_build, 3),
                      "seconds_total": round(time.perf_counter() - t0, 3),
                      "n_options": int(len(opts)), "n_rows": int(model.A.shape[0]),
                      "n_vars": int(model.n_vars)})
    return res


def _decode(planner: Planner, park: ParkInput, results: list, m: JointModel, sol: Solution,
            base: Solution, prior: Ledger, limits: Limits, st: ParkSettings) -> ParkResult:
    cn = planner.cn
    circ, opts = m.circuits, m.options
    x = np.round(m.x_of(sol.v)).astype(bool)
    chosen = np.flatnonzero(x)
    by_parcel = np.full(m.n_parcels, -1, np.int64)
    by_parcel[opts.parcel[chosen]] = chosen
    t = park.parcels
    rows = []
    routes: list[dict[str, Any]] = []
    ledger = prior.copy()
    ledger.parks.append(park.park_id)
    reasons = _unserved_reasons(planner, results, m, sol, limits, prior)
    circuits: list[dict[str, Any]] = []
    for p in range(m.n_parcels):
        o = by_parcel[p]
        base_row = {"parcel_id": t["parcel_id"].iloc[p], "kva": float(t["requested_kva"].iloc[p]),
                    "p_kw": float(t["p_kw"].iloc[p]),
                    "planned_year": (None if pd.isna(t["planned_year"].iloc[p])
                                     else int(t["planned_year"].iloc[p])),
                    "tier": t["tier"].iloc[p]}
        if o < 0:
            code, detail = reasons.get(p, ("no_option", "no option"))
            rows.append({**base_row, "status": "unserved", "reason": code,
                         "reason_detail": detail})
            continue
        ks = [int(opts.c1[o])] + ([int(opts.c2[o])] if opts.c2[o] >= 0 else [])
        row = {**base_row, "status": "reserved", "reason": "", "reason_detail": "",
               "score": float(opts.score[o]), "n_circuits": len(ks)}
        cost_u = cost_c = 0.0
        for j, k in enumerate(ks):
            sfx = "" if j == 0 else "_2"
            f, b, s = int(circ.feeder[k]), int(circ.bus_section[k]), int(circ.substation[k])
            row.update({f"kind{sfx}": KIND_NAMES[int(circ.kind[k])],
                        f"point_id{sfx}": str(circ.point_id[k]),
                        f"feeder_id{sfx}": str(cn.feeder_ids[f]) if f >= 0 else "",
                        f"bus_section_id{sfx}": str(cn.bs_ids[b]) if b >= 0 else "",
                        f"substation_id{sfx}": str(cn.ss_ids[s]) if s >= 0 else "",
                        f"conductor{sfx}": str(circ.conductor[k]),
                        f"route_m{sfx}": float(circ.route_m[k]),
                        f"voltage_kv{sfx}": float(circ.vn_kv[k])})
            cost_u += float(circ.cost_utility[k])
            cost_c += float(circ.cost_customer[k])
            coords = _route_coords(results, park, m, k)
            routes.append({"parcel_id": base_row["parcel_id"], "circuit": j + 1,
                           "kind": KIND_NAMES[int(circ.kind[k])], "point_id": str(circ.point_id[k]),
                           "conductor": str(circ.conductor[k]), "route_m": float(circ.route_m[k]),
                           "coords": coords})
            circuits.append(_circuit_row(results, park, m, p, j, k, coords))
        row.update({"cost_utility_cny": cost_u, "cost_customer_cny": cost_c,
                    "cost_cny": cost_u + cost_c})
        rows.append(row)
    _add_to_ledger(cn, ledger, circ, opts, chosen, st)
    new_assets = _assets_out(park, m, sol, ledger, cn)
    parcels = pd.DataFrame(rows)
    reserved = parcels["status"] == "reserved"
    asset_cost = float(sum(a.get("cost_cny", 0.0) for a in new_assets))
    # the objective holds the unserved parcels' penalties; the gap of what is actually built
    # (scores of the reserved options + new assets) is the same absolute gap over that part:
    # no solution is better than the bound, so no plan saves more than the absolute gap
    u = m.blocks["u"]
    penalty = float(m.c[u] @ sol.v[u])
    cost_part = sol.objective - penalty
    abs_gap = max(sol.objective - sol.bound, 0.0) if np.isfinite(sol.bound) else float("inf")
    if abs_gap <= 1e-9 * max(1.0, abs(sol.objective)):  # proven optimal (float noise)
        abs_gap = 0.0
    cost_part = cost_part if abs(cost_part) > 1e-6 else 0.0
    connection_cost = float(parcels.get("cost_cny", pd.Series(dtype=float)).sum())
    stats: dict[str, Any] = {
        **sol.as_dict(), "penalty_part": penalty, "cost_part": cost_part,
        "abs_gap": abs_gap,
        "gap_costs": abs_gap / cost_part if cost_part > 0 else
        (0.0 if abs_gap == 0 else float("inf")),
        "greedy_objective": base.objective,
        "greedy_unserved": int(np.round(base.v[m.blocks["u"]]).sum()),
        "greedy_seconds": round(base.seconds, 3),
        "n_parcels": int(m.n_parcels), "n_reserved": int(reserved.sum()),
        "n_unserved": int((~reserved).sum()), "n_bad": int(len(park.bad)),
        "connection_cost_cny": connection_cost, "new_asset_cost_cny": asset_cost,
        "total_cost_cny": connection_cost + asset_cost}
    return ParkResult(park.park_id, parcels, park.bad, routes, new_assets, stats, ledger, prior,
                      park, m, sol, base, pd.DataFrame(circuits))


def _circuit_row(results: list, park: ParkInput, m: JointModel, p: int, j: int, k: int,
                 coords: np.ndarray) -> dict[str, Any]:
    """What building reserved circuit ``k`` (parcel ``p``'s ``j``-th) into the network needs."""
    circ = m.circuits
    dm = park.demands[p]
    row = {"parcel": p, "parcel_id": park.parcels["parcel_id"].iloc[p], "circuit": j + 1,
           "kind": KIND_NAMES[int(circ.kind[k])], "point_id": str(circ.point_id[k]),
           "node": -1, "seg": -1, "access_x": np.nan, "access_y": np.nan,
           "vn_kv": float(circ.vn_kv[k]), "feeder": int(circ.feeder[k]),
           "bus_section": int(circ.bus_section[k]), "substation": int(circ.substation[k]),
           "site": int(circ.site[k]), "conductor": str(circ.conductor[k]),
           "route_m": float(circ.route_m[k]), "p_mw": float(dm.p_mw),
           "q_mvar": float(dm.q_mvar), "inc_mva": float(circ.inc_mva[k]), "coords": coords}
    if circ.kind[k] == K_PARK:
        a = m.assets
        assert a is not None
        row["access_x"], row["access_y"] = (float(v) for v in a.site_xy[int(circ.site[k])])
    else:
        cand = results[p][1][int(circ.level[k])].cand
        c = int(circ.cand[k])
        row["node"], row["seg"] = int(cand.node[c]), int(cand.seg[c])
        row["access_x"], row["access_y"] = (float(v) for v in cand.xy[c])
    return row


def _route_coords(results: list, park: ParkInput, m: JointModel, k: int) -> np.ndarray:
    circ = m.circuits
    p = int(circ.parcel[k])
    if circ.kind[k] == K_PARK:
        a = m.assets
        assert a is not None
        line = a.circuit_polyline(p, int(circ.site[k]))
        if line is not None:
            return line
        return np.vstack([park.parcels[["x", "y"]].to_numpy(float)[p], a.site_xy[circ.site[k]]])
    _, levels = results[p]
    return np.asarray(levels[int(circ.level[k])].options.routes.coords(int(circ.cand[k])))


def _add_to_ledger(cn, ledger: Ledger, circ: Circuits, opts: OptionSet, chosen: np.ndarray,
                   st: ParkSettings) -> None:
    two = opts.c2[chosen] >= 0
    ks = np.r_[opts.c1[chosen], opts.c2[chosen][two]].astype(np.int64)
    ks = ks[circ.kind[ks] != K_PARK]
    f, b, s = circ.feeder[ks], circ.bus_section[ks], circ.substation[ks]
    inc = circ.inc_mva[ks]
    on_f, on_b, on_s = f >= 0, b >= 0, s >= 0
    np.add.at(ledger.feeder_mva, f[on_f], inc[on_f])
    np.add.at(ledger.feeder_cust, f[on_f], 1.0)
    np.add.at(ledger.ss_mva, s[on_s], inc[on_s])
    np.add.at(ledger.bs_mva, b[on_b], inc[on_b])
    bb = circ.kind[ks] == K_BUSBAR
    np.add.at(ledger.bs_bays, b[bb], 1.0)
    bn = circ.bay_node[ks]
    np.add.at(ledger.node_bays, bn[bn >= 0], 1.0)
    pr, pn = branch_paths(cn, circ.node[ks])
    np.add.at(ledger.branch_ka, pn, circ.i_ka[ks][pr] * st.current_margin_ratio)
    np.add.at(ledger.feeder_path_pu, f[on_f], circ.path_pu[ks][on_f])
    np.add.at(ledger.bs_sag_pu, b[on_b], circ.sag_pu[ks][on_b])
    np.minimum.at(ledger.feeder_vlim, f[on_f], circ.vcap_pu[ks][on_f])
    ded = ~on_f & on_b
    np.minimum.at(ledger.bs_vlim, b[ded], circ.vcap_pu[ks][ded])


def _assets_out(park: ParkInput, m: JointModel, sol: Solution, ledger: Ledger, cn
                ) -> list[dict[str, Any]]:
    a = m.assets
    if a is None:
        return []
    bl = m.blocks
    v = sol.v
    z = np.round(v[bl["z"]]).astype(int)
    y = np.round(v[bl["y"]]).astype(int)
    g = v[bl["g"]]
    out: list[dict[str, Any]] = []
    circ, opts = m.circuits, m.options
    x = np.round(m.x_of(v)).astype(bool)
    park_k = opts.c1[x][circ.kind[opts.c1[x]] == K_PARK]
    used = np.bincount(circ.site[park_k], minlength=a.n_sites)
    for s in np.flatnonzero(z > 0):
        out.append({"asset": "park_rmu", "id": f"{park.park_id}-RMU{s + 1:03d}",
                    "units": int(z[s]), "bays": int(z[s] * a.bays_per_unit),
                    "bays_used": int(used[s]), "cost_cny": float(z[s] * a.rmu_cost),
                    "coords": a.site_xy[s][None, :]})
    built = [int(s) for s in a.ring_order if z[s] > 0]
    if built:
        ring = a.site_xy[built + built[:1]]
        ring_cost = float(np.sum(a.site_link_cost[built]))
        out.append({"asset": "park_ring", "id": f"{park.park_id}-RING",
                    "length_m": float(np.sum(a.site_link_m[built]) * 2 / 2 * 2
                                      if len(built) > 1 else 0.0),
                    "conductor": a.conductor, "cost_cny": ring_cost, "coords": ring})
    for i in np.flatnonzero(y > 0):
        b = int(a.src_bs[i])
        out.append({"asset": "park_feeder", "id": f"{park.park_id}-F{i + 1:02d}",
                    "count": int(y[i]), "bus_section_id": str(cn.bs_ids[b]),
                    "substation_id": str(cn.ss_ids[int(a.src_ss[i])]),
                    "route_m": float(a.src_route_m[i]), "conductor": a.conductor,
                    "load_mva": float(g[i]), "capacity_mva": float(a.feeder_cap_mva * y[i]),
                    "cost_cny": float(a.src_cost[i] * y[i]), "coords": a.src_coords[i]})
        ledger.bs_bays[b] += y[i]
        ledger.bs_mva[b] += g[i]
        ledger.ss_mva[int(a.src_ss[i])] += g[i]
        ledger.bs_sag_pu[b] += a.src_sag_per_mva[i] * g[i]
    if park_k.size:
        vmin = float(np.min(circ.vcap_pu[park_k]))
        for i in np.flatnonzero(y > 0):
            b = int(a.src_bs[i])
            ledger.bs_vlim[b] = min(ledger.bs_vlim[b], vmin)
    return out


def _unserved_reasons(planner: Planner, results: list, m: JointModel, sol: Solution,
                      limits: Limits, prior: Ledger) -> dict[int, tuple[str, str]]:
    """Why each unserved parcel is: no option passes alone (the engine's binding check of its
    nearest candidate), or the shared capacity its best options would over-commit."""
    x = np.round(m.x_of(sol.v)).astype(bool)
    served = np.zeros(m.n_parcels, bool)
    served[m.options.parcel[x]] = True
    out: dict[int, tuple[str, str]] = {}
    from .solve import _Greedy

    g = _Greedy(m)
    g.v = sol.v.copy()
    act = m.A @ sol.v
    has_opt = np.zeros(m.n_parcels, bool)
    has_opt[m.options.parcel] = True
    # plain ints: the parcel is a key of the returned dict
    for p in [int(i) for i in np.flatnonzero(~served)]:
        if not has_opt[p]:
            res = results[p]
            if isinstance(res, Exception):
                out[p] = ("engine_error", str(res)[:300])
                continue
            best = None
            for r in res[1]:
                o = r.options
                if o.feasible.size == 0:
                    continue
                c, tt = np.unravel_index(np.argmin(np.where(o.allowed, o.score, np.inf)),
                                         o.shape)
                name, util = o.checks.binding_at((np.array([c]), np.array([tt])))[0]
                if best is None or util < best[1]:
                    best = (name, util, str(r.cand.point_id[c]))
            if best is None:
                out[p] = ("no_candidate", "no connection point within the search radius")
            else:
                spec = REGISTRY.get(best[0])
                label = f"{spec.label_zh} / {spec.label_en}" if spec else best[0]
                out[p] = (best[0], f"no option passes alone; nearest {best[2]}: {label} at "
                                   f"{best[1]:.0%} of its limit")
            continue
        # the rows its options would break, counted over its options
        worst: dict[str, float] = {}
        refs: dict[str, str] = {}
        for o in np.flatnonzero(m.options.parcel == p):
            cols, d = m.opt_aux[o]
            cols = np.r_[m.blocks["x"].start + o, cols]
            d = np.r_[1.0, d]
            r, dv = g._col(cols, d)
            over = act[r] + dv - m.hi[r]
            for k in np.flatnonzero(over > 1e-9):
                kind = str(m.row_kind[r[k]])
                if kind in ("assign", "P_def", "S_def"):
                    continue
                worst[kind] = worst.get(kind, 0) + 1
                refs.setdefault(kind, _ref_name(planner.cn, kind, int(m.row_ref[r[k]]), m))
        if worst:
            kind = max(worst, key=lambda k: worst[k])
            out[p] = (kind, f"shared capacity taken by other parcels: {kind} {refs[kind]}")
        else:
            out[p] = ("cost", "serving it costs more than leaving it to a grid project")
    return out


def _ref_name(cn, kind: str, ref: int, m: JointModel) -> str:
    if ref < 0:
        return ""
    if kind in ("feeder_load_rate", "customers_on_feeder", "network_voltage", "P_def"):
        return str(cn.feeder_ids[ref])
    if kind in ("transformer_load_rate",):
        return str(cn.ss_ids[ref])
    if kind in ("transformer_unit_loading", "spare_bays_substation", "section_voltage", "S_def"):
        return str(cn.bs_ids[ref])
    if kind in ("spare_bays", "path_headroom"):
        return str(cn.node_ids[ref])
    if kind == "voltage_deviation":
        return str(m.circuits.point_id[ref])
    return str(ref)
