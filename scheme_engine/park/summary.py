"""What a park plan says: capacity reserved per feeder and substation, shortfall, the park's
need (new feeders, RMUs, a new substation and its size), costs, objective / bound / gap,
greedy-vs-joint, and per planned year when each feeder and transformer fills up.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .ledger import Limits
from .settings import park_settings

if TYPE_CHECKING:
    from ..engine import Planner
    from .plan import ParkResult


def _num(v: float, nd: int = 4) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), nd)


def park_summary(planner: Planner, res: ParkResult) -> dict[str, Any]:
    """The summary document (``summary.json``) of a park plan."""
    cn, pol = planner.cn, planner.policy
    st = park_settings(pol)
    lim = Limits.of(cn, pol)
    t = res.parcels
    reserved = t[t["status"] == "reserved"]
    unserved = t[t["status"] == "unserved"]
    pf = res.park.parcels["power_factor"].to_numpy(float)
    mva = res.park.parcels["p_kw"].to_numpy(float) / np.where(pf > 0, pf, 1) / 1000.0
    mva_by_id = dict(zip(res.park.parcels["parcel_id"], mva, strict=True))
    total_mva = float(mva.sum())
    short_mva = float(sum(mva_by_id[p] for p in unserved["parcel_id"]))
    prior, after = res.prior, res.ledger
    # feeders and substations this park reserved on
    d_f = after.feeder_mva - prior.feeder_mva
    d_s = after.ss_mva - prior.ss_mva
    rated = cn.feeder_rated_mva
    peak = cn.feeder_peak_mw / np.where(cn.feeder_pf > 0, cn.feeder_pf, 1)
    feeders = []
    for f in np.flatnonzero(d_f > 1e-9):
        feeders.append({
            "feeder_id": str(cn.feeder_ids[f]), "substation_id": str(cn.ss_ids[cn.feeder_substation[f]]),
            "reserved_mva": _num(d_f[f]), "reserved_customers": int(after.feeder_cust[f] - prior.feeder_cust[f]),
            "load_rate_before": _num((peak[f] + prior.feeder_mva[f]) / rated[f]),
            "load_rate_after": _num((peak[f] + after.feeder_mva[f]) / rated[f]),
            "n1_load_rate_limit": _num(lim.feeder_limit[f]),
            "headroom_after_mva": _num(lim.feeder_mva[f] - after.feeder_mva[f])})
    firm = cn.ss_n_transformers * cn.ss_transformer_mva
    ss_load = lim.ss_limit * firm - lim.ss_mva
    subs = []
    for s in np.flatnonzero(d_s > 1e-9):
        subs.append({
            "substation_id": str(cn.ss_ids[s]), "reserved_mva": _num(d_s[s]),
            "load_rate_before": _num((ss_load[s] + prior.ss_mva[s]) / firm[s]),
            "load_rate_after": _num((ss_load[s] + after.ss_mva[s]) / firm[s]),
            "n1_load_rate_limit": _num(lim.ss_limit[s]),
            "headroom_after_mva": _num(lim.ss_mva[s] - after.ss_mva[s])})
    need = _need(pol, res, short_mva * st.park_simultaneity)
    years = _years(planner, res, lim, mva_by_id, st.fill_share)
    stats = res.stats
    greedy_cost = _greedy_cost(res)
    return {
        "park_id": res.park_id, "network_version": cn.version_id, "policy_id": pol.policy_id,
        "parcels": {"total": int(len(t) + len(res.bad)), "planned": int(len(t)),
                    "reserved": int(len(reserved)), "unserved": int(len(unserved)),
                    "bad": int(len(res.bad))},
        "demand": {"sum_mva": _num(total_mva), "park_simultaneity": st.park_simultaneity,
                   "park_peak_mva": _num(total_mva * st.park_simultaneity),
                   "reserved_mva": _num(total_mva - short_mva), "shortfall_mva": _num(short_mva)},
        "cost_cny": {"connections": _num(stats["connection_cost_cny"], 0),
                     "new_assets": _num(stats["new_asset_cost_cny"], 0),
                     "total": _num(stats["total_cost_cny"], 0)},
        "optimisation": {
            "solver": stats["solver"], "status": stats["status"],
            "objective": _num(stats["objective"], 2), "bound": _num(stats["bound"], 2),
            "gap": _num(stats["gap"], 6), "seconds": stats["seconds"],
            "penalty_part": _num(stats.get("penalty_part", float("nan")), 2),
            "cost_part": _num(stats.get("cost_part", float("nan")), 2),
            "abs_gap": _num(stats.get("abs_gap", float("nan")), 2),
            "gap_costs": _num(stats.get("gap_costs", float("nan")), 6),
            "gap_meaning": "gap = (objective - bound) / objective, the objective including the "
                           "unserved parcels' penalties; gap_costs = (objective - bound) / "
                           "cost_part, the same absolute gap over the scores of the reserved "
                           "options and the new assets (no plan saves more than abs_gap)",
            "greedy_objective": _num(stats["greedy_objective"], 2),
            "greedy_unserved": stats["greedy_unserved"],
            "greedy_total_cost_cny": _num(greedy_cost, 0),
            "joint_saving_vs_greedy": _num(stats["greedy_objective"] - stats["objective"], 2),
            "objective_meaning": "sum of option scores (CNY-equivalent: cost + weighted works "
                                 "days, losses, N-1) + new assets + penalties of unserved "
                                 "parcels (park_planning.csv)",
            "n_options": stats.get("n_options"), "n_rows": stats.get("n_rows"),
            "n_vars": stats.get("n_vars"), "seconds_options": stats.get("seconds_options"),
            "seconds_total": stats.get("seconds_total")},
        "feeders": feeders, "substations": subs, "need": need, "years": years,
        "new_assets": [{k: v for k, v in a.items() if k != "coords"} for a in res.new_assets],
        "unserved": [{"parcel_id": r.parcel_id, "reason": r.reason, "detail": r.reason_detail,
                      "mva": _num(mva_by_id[r.parcel_id])} for r in unserved.itertuples()],
        "bad": [{k: (None if isinstance(v, float) and math.isnan(v) else v)
                 for k, v in r.items()} for r in res.bad.to_dict("records")],
    }


def _greedy_cost(res: ParkResult) -> float:
    """Capital cost (connections + assets) of the greedy solution, for the comparison."""
    m, g = res.model, res.greedy
    if m is None or g is None:
        return float("nan")
    x = np.round(m.x_of(g.v)).astype(bool)
    o = np.flatnonzero(x)
    c = m.circuits
    ks = np.r_[m.options.c1[o], m.options.c2[o][m.options.c2[o] >= 0]].astype(np.int64)
    cost = float(np.sum(c.cost_utility[ks] + c.cost_customer[ks]))
    a = m.assets
    if a is not None:
        b = m.blocks
        cost += float(np.round(g.v[b["z"]]) @ np.full(a.n_sites, a.rmu_cost))
        cost += float(np.round(g.v[b["w"]]) @ a.site_link_cost)
        cost += float(np.round(g.v[b["y"]]) @ a.src_cost)
    return cost


def _need(policy, res: ParkResult, short_mva: float) -> dict[str, Any]:
    feeders = sum(int(a.get("count", 0)) for a in res.new_assets if a["asset"] == "park_feeder")
    rmus = sum(int(a.get("units", 0)) for a in res.new_assets if a["asset"] == "park_rmu")
    out: dict[str, Any] = {"new_feeders": feeders, "new_rmus": rmus,
                           "new_substation": None}
    if short_mva > 1e-6:
        from .. import rules

        t = policy.table("park_substations").copy()
        t["firm_mva"] = (rules.transformer_limit(policy, t["n_transformers"].to_numpy())
                         * t["n_transformers"] * t["transformer_mva"])
        t = t.sort_values("firm_mva")
        fit = t[t["firm_mva"] >= short_mva]
        row = fit.iloc[0] if len(fit) else t.iloc[-1]
        count = 1 if len(fit) else int(math.ceil(short_mva / float(row["firm_mva"])))
        out["new_substation"] = {
            "project": str(row["project"]), "count": count, "hv_kv": float(row["hv_kv"]),
            "n_transformers": int(row["n_transformers"]),
            "transformer_mva": float(row["transformer_mva"]),
            "firm_mva": round(float(row["firm_mva"]), 2), "for_mva": round(short_mva, 3),
            "cost_cny": float(row["cost_cny"]) * count,
            "basis": "unserved demand x park simultaneity <= N-1 firm capacity "
                     "(park_substations.csv, transformer_load_limits.csv)"}
    return out


def _years(planner: Planner, res: ParkResult, lim: Limits, mva_by_id: dict[str, float],
           fill_share: float) -> dict[str, Any]:
    """Reserved load by planned year on each feeder / substation and the year it fills up
    (reaches ``fill_share`` of its N-1 limit)."""
    t = res.parcels
    r = t[(t["status"] == "reserved") & t["planned_year"].notna()]
    if r.empty:
        return {"by_feeder": [], "by_substation": [], "fill_share": fill_share}
    cn = planner.cn
    rated = cn.feeder_rated_mva
    peak = cn.feeder_peak_mw / np.where(cn.feeder_pf > 0, cn.feeder_pf, 1)
    firm = cn.ss_n_transformers * cn.ss_transformer_mva
    ss_load = lim.ss_limit * firm - lim.ss_mva
    fpos = pd.Index(cn.feeder_ids.astype(str))
    spos = pd.Index(cn.ss_ids.astype(str))
    years = sorted(int(y) for y in r["planned_year"].unique())
    out_f: list[dict[str, Any]] = []
    out_s: list[dict[str, Any]] = []
    for col, pos, kind in (("feeder_id", fpos, "f"), ("substation_id", spos, "s")):
        rows = []
        for c in [col] + ([col + "_2"] if col + "_2" in r.columns else []):
            sub = r[r[c].fillna("").astype(str) != ""]
            rows += [(str(e), int(y), mva_by_id[p]) for e, y, p in
                     zip(sub[c], sub["planned_year"], sub["parcel_id"], strict=True)]
        if not rows:
            continue
        df = pd.DataFrame(rows, columns=["el", "year", "mva"])
        for el, g in df.groupby("el"):
            i = pos.get_loc(el)
            by = g.groupby("year")["mva"].sum().reindex(years, fill_value=0.0).cumsum()
            if kind == "f":
                base = peak[i] + res.prior.feeder_mva[i]
                limit = lim.feeder_limit[i] * rated[i]
                den = rated[i]
            else:
                base = ss_load[i] + res.prior.ss_mva[i]
                limit = lim.ss_limit[i] * firm[i]
                den = firm[i]
            rates = {str(y): round(float((base + v) / den), 4) for y, v in by.items()}
            full = next((int(y) for y, v in by.items() if base + v >= fill_share * limit), None)
            entry = {"id": el, "load_rate_by_year": rates,
                     "n1_limit": round(float(limit / den), 4), "full_in": full}
            (out_f if kind == "f" else out_s).append(entry)
    return {"by_feeder": out_f, "by_substation": out_s, "fill_share": fill_share}


def summary_markdown(doc: dict[str, Any], lang: str = "zh") -> str:
    """A readable ``summary.md`` of :func:`park_summary` (Chinese or English)."""
    zh = lang == "zh"

    def money(v: float | None) -> str:
        if v is None:
            return "–"
        return f"{v / 1e4:,.1f} 万元" if zh else f"CNY {v:,.0f}"

    p, d, c, o, nd = doc["parcels"], doc["demand"], doc["cost_cny"], doc["optimisation"], doc["need"]
    L = []
    L.append(f"# {'园区预规划' if zh else 'Park pre-plan'}: {doc['park_id']}")
    L.append("")
    L.append(f"- {'网络版本' if zh else 'network version'}: `{doc['network_version']}`; "
             f"{'策略' if zh else 'policy'}: `{doc['policy_id']}`")
    L.append(f"- {'地块' if zh else 'parcels'}: {p['total']} ({'已预留' if zh else 'reserved'} "
             f"{p['reserved']}, {'未能供电' if zh else 'unserved'} {p['unserved']}, "
             f"{'数据有误' if zh else 'bad'} {p['bad']})")
    L.append(f"- {'需求合计' if zh else 'demand'}: {d['sum_mva']:.2f} MVA; "
             f"{'园区同时率' if zh else 'park simultaneity'} {d['park_simultaneity']:g} → "
             f"{d['park_peak_mva']:.2f} MVA; {'缺口' if zh else 'shortfall'} {d['shortfall_mva']:.2f} MVA")
    L.append(f"- {'投资' if zh else 'cost'}: {'接入' if zh else 'connections'} {money(c['connections'])}, "
             f"{'新建设施' if zh else 'new assets'} {money(c['new_assets'])}, "
             f"{'合计' if zh else 'total'} {money(c['total'])}")
    L.append("")
    L.append(f"## {'优化' if zh else 'Optimisation'}")
    L.append("")
    def pct(v: float | None) -> str:
        return f"{v:.4%}" if v is not None else "–"

    L.append(f"| {'求解器' if zh else 'solver'} | {'状态' if zh else 'status'} | "
             f"{'目标值' if zh else 'objective'} | {'下界' if zh else 'bound'} | gap | "
             f"{'不含未供罚项的 gap' if zh else 'gap of costs'} | s |")
    L.append("|---|---|---:|---:|---:|---:|---:|")
    L.append(f"| {o['solver']} | {o['status']} | {o['objective']:,.0f} | "
             f"{(o['bound'] if o['bound'] is not None else float('nan')):,.0f} | "
             f"{pct(o['gap'])} | {pct(o.get('gap_costs'))} | {o['seconds']} |")
    L.append("")
    L.append(("目标值含未供电地块的罚项；gap 按目标值计。“不含未供罚项的 gap” = (目标值 − 下界) / "
              "(接入方案得分 + 新建设施费用)：任何方案比当前方案节省的都不超过目标值 − 下界。")
             if zh else
             ("The objective includes the unserved parcels' penalties and gap is measured on it; "
              "the gap of costs = (objective − bound) / (scores of the reserved options + new "
              "assets): no plan saves more than objective − bound."))
    L.append("")
    L.append(f"{'逐个预留（贪心）目标值' if zh else 'Greedy (one parcel at a time) objective'}: "
             f"{o['greedy_objective']:,.0f} ({'未供' if zh else 'unserved'} {o['greedy_unserved']}); "
             f"{'联合优化节省' if zh else 'joint saving'}: {o['joint_saving_vs_greedy']:,.0f}. "
             f"{'目标值含义' if zh else 'Objective'}: {o['objective_meaning']}")
    L.append("")
    L.append(f"## {'园区需求' if zh else 'What the park needs'}")
    L.append("")
    L.append(f"- {'新出馈线' if zh else 'new feeders'}: {nd['new_feeders']}; "
             f"{'新建环网柜' if zh else 'new RMUs'}: {nd['new_rmus']}")
    sub = nd.get("new_substation")
    if sub:
        L.append(f"- {'需新建变电站' if zh else 'new substation needed'}: {sub['count']} × "
                 f"{sub['hv_kv']:g} kV {sub['n_transformers']}×{sub['transformer_mva']:g} MVA "
                 f"({'N-1 可供' if zh else 'firm'} {sub['firm_mva']:g} MVA ≥ {sub['for_mva']:g} MVA), "
                 f"{money(sub['cost_cny'])}")
    else:
        L.append(f"- {'无需新建变电站' if zh else 'no new substation needed'}")
    for title, key, idk in (("馈线预留容量" if zh else "Capacity reserved per feeder", "feeders",
                             "feeder_id"),
                            ("变电站预留容量" if zh else "Capacity reserved per substation",
                             "substations", "substation_id")):
        L.append("")
        L.append(f"## {title}")
        L.append("")
        L.append(f"| id | MVA | {'负载率前' if zh else 'before'} | {'负载率后' if zh else 'after'} | "
                 f"{'N-1 限值' if zh else 'N-1 limit'} | {'剩余' if zh else 'headroom'} MVA |")
        L.append("|---|---:|---:|---:|---:|---:|")
        for r in doc[key]:
            L.append(f"| {r[idk]} | {r['reserved_mva']:.3f} | {r['load_rate_before']:.1%} | "
                     f"{r['load_rate_after']:.1%} | {r['n1_load_rate_limit']:.0%} | "
                     f"{r['headroom_after_mva']:.3f} |")
    yrs = doc.get("years") or {}
    if yrs.get("by_feeder") or yrs.get("by_substation"):
        L.append("")
        L.append(f"## {'逐年负载率（按投产年份）' if zh else 'Load rate by planned year'}")
        L.append("")
        for e in (yrs.get("by_feeder") or []) + (yrs.get("by_substation") or []):
            seq = ", ".join(f"{y}: {v:.0%}" for y, v in e["load_rate_by_year"].items())
            full = e["full_in"] if e["full_in"] is not None else ("未满" if zh else "not full")
            L.append(f"- {e['id']}: {seq} ({'N-1 限值' if zh else 'limit'} {e['n1_limit']:.0%}; "
                     f"{'满载年份' if zh else 'full in'} {full})")
    if doc["unserved"]:
        L.append("")
        L.append(f"## {'未能供电的地块' if zh else 'Parcels that cannot be served'}")
        L.append("")
        for u in doc["unserved"][:200]:
            L.append(f"- {u['parcel_id']}: {u['reason']} — {u['detail']}")
    if doc["bad"]:
        L.append("")
        L.append(f"## {'数据有误的地块' if zh else 'Bad parcels'}")
        L.append("")
        for b in doc["bad"][:200]:
            L.append(f"- {b['parcel_id'] if b['parcel_id'] is not None else '(row ' + str(b['row']) + ')'}"
                     f": {b['reason']} — {b['message']}")
    return "\n".join(L) + "\n"
