"""Remedies when nothing on the existing network passes (domain.md; seed §1.3).

1. Load transfer over a normally-open tie to a neighbour feeder with headroom, then connect.
2. A new feeder from the nearest substation bus section with a spare bay (any distance).
3. A new or expanded 35 kV+ substation project (a grid project, not a connection).
Every remedy scheme carries ``feasible = False`` on today's network and a ``remedy`` object
saying what must happen first; the nearby candidates' binding constraints are in ``rejected``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from grid_models.policy import Policy

from . import rules
from .application import Application
from .builder import LevelResult, SchemeBuilder
from .candidates import K_BUSBAR, Candidates
from .checks import REGISTRY
from .demand import Demand
from .evaluation import evaluate
from .optimise import Selection
from .routing import corridor_conflicts, route_all
from .scheme import Scheme
from .short_circuit import scr_minimum


def remedies(builder: SchemeBuilder, conductors: dict[float, pd.DataFrame],
             results: list[LevelResult], app: Application, demand: Demand,
             mode: rules.SupplyMode, xy: np.ndarray) -> list[Scheme]:
    """Remedy schemes, cheapest first within each kind (see module docstring)."""
    out = []
    if mode.n_circuits == 1:
        out += _load_transfers(builder, results, app, demand, mode)
    out += _new_feeders(builder, conductors, results, app, demand, mode, xy)
    out.append(_new_substation(builder, app, demand, mode))
    out.sort(key=lambda s: (s.remedy["order"], s.score))  # type: ignore[index]
    for i, s in enumerate(out):
        s.rank = i + 1
        rem = s.remedy or {}
        if s.circuits:
            base = builder.explanation(s, None)
            s.explanation = {"zh": rem["zh"] + " " + base["zh"], "en": rem["en"] + " " + base["en"]}
    return out


def _load_transfers(builder: SchemeBuilder, results: list[LevelResult], app: Application,
                    demand: Demand, mode: rules.SupplyMode) -> list[Scheme]:
    cn, pol = builder.cn, builder.policy
    found = []
    for r in results:
        o = r.options
        if "feeder_load_rate" not in o.passed:
            continue
        others = o.allowed.copy()
        for name, p in o.passed.items():
            if name != "feeder_load_rate" and name not in o.checks.flag_only:
                others &= p
        for c in np.flatnonzero(others.any(axis=1) & ~o.feasible.any(axis=1)):
            f = int(r.cand.feeder[c])
            if f < 0:
                continue
            t = int(np.argmin(np.where(others[c], o.score[c], np.inf)))
            need = (o.values["feeder_load_rate"][c, t] - o.limits["feeder_load_rate"][c, t]) \
                * cn.feeder_rated_mva[f]
            nb = np.r_[cn.tie_feeder_b[cn.tie_feeder_a == f], cn.tie_feeder_a[cn.tie_feeder_b == f]]
            if nb.size == 0:
                continue
            lim, _ = rules.load_rate_limit(pol, cn.feeder_mode[nb])
            head = (lim - cn.feeder_peak_mw[nb] / cn.feeder_pf[nb] / cn.feeder_rated_mva[nb]) \
                * cn.feeder_rated_mva[nb]
            okn = np.flatnonzero(head >= need)
            if okn.size == 0:
                continue
            g = int(nb[okn[np.argmax(head[okn])]])
            cost = pol.cost("remedy", "load_transfer")
            sel = Selection((int(c),), (t,), float(o.score[c, t] + cost), "remedy")
            remedy = {"type": "load_transfer", "order": 0,
                      "from_feeder": str(cn.feeder_ids[f]), "to_feeder": str(cn.feeder_ids[g]),
                      "transfer_mva": round(float(need), 4), "cost_cny": cost,
                      "zh": f"先经联络开关将约 {need:.2f} MVA 负荷由馈线 {cn.feeder_ids[f]} 转供至 "
                            f"{cn.feeder_ids[g]}，再接入。",
                      "en": f"Transfer about {need:.2f} MVA from feeder {cn.feeder_ids[f]} to "
                            f"{cn.feeder_ids[g]} over the normally-open tie, then connect."}
            found.append(builder.scheme(r, sel, app, demand, mode, feasible=False, remedy=remedy))
    found.sort(key=lambda s: s.score)
    return found[: pol.params.remedy_load_transfers_shown]


def _new_feeders(builder: SchemeBuilder, conductors: dict[float, pd.DataFrame],
                 results: list[LevelResult], app: Application, demand: Demand,
                 mode: rules.SupplyMode, xy: np.ndarray) -> list[Scheme]:
    cn, pol = builder.cn, builder.policy
    out = []
    for r in results:
        idx = cn.busbar_sections.get(r.vn_kv)
        if idx is None or idx.tree is None:
            continue
        kq = min(mode.n_circuits * pol.params.remedy_bays_searched_per_circuit, idx.element.size)
        d, j = idx.tree.query(xy, k=kq)
        d, j = np.atleast_1d(d), np.atleast_1d(j)
        bsi = idx.element[j]
        keep = ~np.isin(cn.bs_ids[bsi].astype(str), list(app.overrides.excluded_points))
        d, bsi = d[keep], bsi[keep]
        if bsi.size == 0:
            continue
        # The nearest bays are usually among the level's candidates already: reuse their
        # routes and checks instead of routing and evaluating them again.
        main_rows = np.flatnonzero(r.cand.kind == K_BUSBAR)
        in_main = dict(zip(r.cand.bus_section[main_rows].tolist(), main_rows.tolist(), strict=True))
        if all(int(b) in in_main for b in bsi):
            cand, o = r.cand, r.options
            routes = o.routes
            rows = np.array([in_main[int(b)] for b in bsi])
        else:
            node = cn.bs_busbar_node[bsi]
            n = bsi.size
            cand = Candidates(r.vn_kv, np.full(n, K_BUSBAR, np.int8),
                              cn.bs_ids[bsi].astype(object), node.astype(np.int64),
                              np.full(n, -1), np.zeros(n), np.zeros(n), cn.node_xy[node], d,
                              np.full(n, -1), bsi.astype(np.int64),
                              cn.bs_substation[bsi].astype(np.int64), float(d.max()))
            routes = route_all(cn, xy, cand, pol)
            o = evaluate(cn, cand, routes, demand, pol, conductors[r.vn_kv],
                         app.requested_kva, -1, app.load.pv_export_kw,
                         scr_min=scr_minimum(pol, app.load)[0])
            rows = np.arange(n)
        allowed_best = np.where(o.allowed[rows], o.score[rows], np.inf)
        chosen: list[int] = []
        used_ss: set[int] = set()
        for c in rows[np.argsort(allowed_best.min(axis=1), kind="stable")]:
            ss = int(cand.substation[c])
            if mode.distinct_substations and ss in used_ss:
                continue
            chosen.append(int(c))
            used_ss.add(ss)
            if len(chosen) == mode.n_circuits:
                break
        if len(chosen) < mode.n_circuits:
            continue
        # the cheapest feasible conductor, else the cheapest allowed one
        ts = [int(np.argmin(np.where(o.feasible[c], o.score[c],
                                     np.where(o.allowed[c], o.score[c] + 1e12, np.inf))))
              for c in chosen]
        feasible = all(o.feasible[c, t] for c, t in zip(chosen, ts, strict=True))
        corridor = False
        if len(chosen) > 1 and mode.max_shared_corridor_ratio < 1:
            conf = corridor_conflicts(routes, cn.road.edge_length_m, mode.max_shared_corridor_ratio,
                                      pol.params.shared_corridor_allowance_m)
            corridor = bool(conf[chosen[0], chosen[1]])
            feasible &= not corridor
        sel = Selection(tuple(chosen), tuple(ts),
                        float(sum(o.score[c, t] for c, t in zip(chosen, ts, strict=True))), "remedy")
        lr = LevelResult(r.vn_kv, cand, o, [sel], np.zeros((len(cand), len(cand)), bool))
        failing = sorted({nm for c, t in zip(chosen, ts, strict=True)
                          for nm, p in o.passed.items()
                          if not p[c, t] and nm not in o.checks.flag_only})
        zh_fail = [REGISTRY[nm].label_zh for nm in failing]
        en_fail = [REGISTRY[nm].label_en for nm in failing]
        if corridor:
            zh_fail.append("双电源路径共用通道过长")
            en_fail.append("routes share a corridor (dual source independence)")
        remedy: dict[str, Any] = {
            "type": "new_feeder", "order": 1,
            "bus_sections": [str(cn.bs_ids[cand.bus_section[c]]) for c in chosen],
            "still_failing": failing + (["shared_corridor"] if corridor else []),
            "zh": "由最近有备用间隔的变电站新出专线"
                  + ("" if feasible else "（仍有校核不通过：" + "、".join(zh_fail) + "）"),
            "en": "New dedicated feeder from the nearest substation with a spare bay"
                  + ("" if feasible else f" (still failing: {', '.join(en_fail)})")}
        out.append(builder.scheme(lr, sel, app, demand, mode, feasible=feasible, remedy=remedy))
    return out


def _new_substation(builder: SchemeBuilder, app: Application, demand: Demand,
                    mode: rules.SupplyMode) -> Scheme:
    """The smallest substation project of ``remedy_substations.csv`` whose range covers the
    application."""
    projects = _substation_projects(builder.policy)
    fit = [r for r in projects if r[0] >= app.requested_kva]
    _, key, cost, vn = fit[0] if fit else projects[-1]
    return Scheme(rank=0, feasible=False, score=cost, voltage_kv=vn,
                  supply_mode=mode.mode, tier=mode.tier, design_demand_kw=demand.p_mw * 1000,
                  power_factor=demand.power_factor, circuits=[], equipment=[{"item": key}],
                  cost_cny={"total": cost, "utility": cost, "customer": 0.0},
                  duration_workdays={"grid_project": True},
                  flags=["grid_project_required"],
                  explanation={"zh": f"现有电网无可行接入方案，需新建/扩建{vn:g}千伏变电站（电网基建项目，"
                                     "按特殊情形流程由计划部门拟定方案）。",
                               "en": f"No feasible connection on the existing network: a new or "
                                     f"expanded {vn:g} kV substation is needed (a grid project, "
                                     "special-case process)."},
                  remedy={"type": "new_substation", "order": 2, "project": key, "cost_cny": cost})


def _substation_projects(policy: Policy) -> list[tuple[float, str, float, float]]:
    """``remedy_substations.csv`` as (max_kva, project, cost_cny, vn_kv) rows by max_kva,
    read once per policy (a pandas sort and filter per application cost ~1 ms)."""
    cache = policy.__dict__.get("_remedy_substations")
    if cache is None:
        t = policy.table("remedy_substations").sort_values("max_kva", kind="stable")
        cache = [(float(r.max_kva), str(r.project), float(r.cost_cny), float(r.vn_kv))
                 for r in t.itertuples(index=False)]
        policy.__dict__["_remedy_substations"] = cache
    return cache
