"""From arrays to the output: schemes, circuits, durations, flags, explanations.

The engine and the remedies both turn chosen options into :class:`~scheme_engine.scheme.Scheme`
objects here (arrays inside, objects only at this boundary).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grid_models.compiled import CompiledNetwork
from grid_models.crs import transformer
from grid_models.policy import Policy

from . import rules, short_circuit
from .application import Application
from .candidates import KINDS, Candidates
from .checks import REGISTRY
from .costs import on_property_m
from .demand import Demand
from .evaluation import Options, binding_many
from .explain import explain
from .frame_columns import column
from .optimise import Selection
from .routing import ROUTE_CLASSES
from .scheme import SCHEMA_VERSION, Check, Circuit, Conductor, Connection, Scheme, trusted

#: JSON has no infinity: an unbounded limit (a new feeder's path headroom) is written as this
UNBOUNDED = 1e9


@dataclass
class LevelResult:
    """Everything computed at one voltage level (kept for remedies, tests and oracles)."""

    vn_kv: float
    cand: Candidates
    options: Options
    selections: list[Selection]
    corridor_conflict: np.ndarray


def customer_transformer_cost_per_kva(policy: Policy, vn_kv: float) -> float:
    """Unit cost of the customer's transformers at a voltage level (unit_costs.csv)."""
    return policy.cost("customer_transformer_per_kva", f"{policy.voltage_level(vn_kv).vn_kv:g}")


class SchemeBuilder:
    """Builds output objects for one planner (network version x policy).

    Parameters
    ----------
    cn : CompiledNetwork
    policy : Policy
    conductor_records : dict of float to list of dict
        Conductors of each voltage level (rows of ``rules.conductors_for``).
    """

    def __init__(self, cn: CompiledNetwork, policy: Policy,
                 conductor_records: dict[float, list[dict[str, Any]]]) -> None:
        self.cn = cn
        self.policy = policy
        self.cond_rec = conductor_records
        self.to_wgs = transformer(cn.crs, "EPSG:4326")
        self.feeder_pos = {str(f): i for i, f in enumerate(cn.feeder_ids)}

    # ------------------------------------------------------------------ schemes
    def scheme(self, r: LevelResult, sel: Selection, app: Application, demand: Demand,
               mode: rules.SupplyMode, feasible: bool = True, remedy: dict | None = None,
               binds: list[tuple[str, float]] | None = None,
               capacities: list[dict[str, Any]] | None = None) -> Scheme:
        """One scheme from a selection of (candidate, conductor) options at one level.

        ``capacities``: the largest kVA of each circuit (:class:`~scheme_engine.capacity.
        SchemeCapacity`); the scheme's is the smallest (each circuit carries everything).
        """
        o = r.options
        if binds is None:
            binds = binding_many(o, np.array(sel.candidates), np.array(sel.conductors))
        circuits = [self.circuit(o, c, t, b[0])
                    for c, t, b in zip(sel.candidates, sel.conductors, binds, strict=True)]
        if capacities is not None:
            for circ, cap in zip(circuits, capacities, strict=True):
                circ.capacity = cap
        self._power_quality(r, sel, app, demand, circuits)
        pol = self.policy
        n = len(circuits)
        tr_cost = app.requested_kva * customer_transformer_cost_per_kva(pol, r.vn_kv)
        sw_cost = n * pol.cost("customer_switchgear", "per_circuit")
        util = sum(c.cost_cny["utility"] for c in circuits)
        cust_line = sum(c.cost_cny["customer_line"] for c in circuits)
        cost = {"total": util + cust_line + tr_cost + sw_cost, "utility": util,
                "customer": cust_line + tr_cost + sw_cost,
                "line": sum(c.cost_cny["line"] for c in circuits),
                "bays": sum(c.cost_cny["bay"] for c in circuits),
                "crossings": sum(c.cost_cny["crossings"] for c in circuits),
                "customer_line": cust_line, "customer_transformer": tr_cost,
                "customer_switchgear": sw_cost}
        equipment: list[dict[str, Any]] = [
            {"item": "line", "type": c.conductor.type, "construction": c.conductor.construction,
             "length_m": c.route_length_m["total"], "at": c.connection.point_id}
            for c in circuits]
        equipment += [{"item": "bay", "kind": c.connection.kind, "at": c.connection.point_id}
                      for c in circuits if c.connection.kind != "existing"]
        equipment.append({"item": "customer_transformer", "kva": app.requested_kva,
                          "config": app.transformer_config or ""})
        if mode.emergency_source:
            equipment.append({"item": "emergency_source", "by": "customer"})
        duration = self.duration(max(c.works_workdays for c in circuits), mode)
        flags = self.flags(app, circuits, mode, duration, o, sel)
        name, util_b = max(binds, key=lambda b: b[1])
        spec = REGISTRY[name]
        # every field given, from typed values (see `trusted`; the schema tests validate it)
        return trusted(Scheme, dict(
            schema_version=SCHEMA_VERSION, rank=0, feasible=bool(feasible),
            score=round(float(sel.score), 2), voltage_kv=float(r.vn_kv), supply_mode=mode.mode,
            tier=mode.tier, design_demand_kw=float(demand.p_mw * 1000),
            power_factor=float(demand.power_factor), circuits=circuits, equipment=equipment,
            cost_cny={k: round(float(v), 2) for k, v in cost.items()},
            duration_workdays=duration, flags=flags, explanation={}, remedy=remedy,
            binding={"name": name, "label_zh": spec.label_zh, "label_en": spec.label_en,
                     "utilisation": round(float(util_b), 4)},
            capacity=min(capacities, key=lambda c: c["max_kva"]) if capacities else None))

    def circuit(self, o: Options, c: int, t: int, bind_name: str) -> Circuit:
        """One circuit of a scheme: option (candidate ``c``, conductor ``t``)."""
        cn, cand, routes = self.cn, o.cand, o.routes
        kind = KINDS[cand.kind[c]]
        f, bs, ss = int(cand.feeder[c]), int(cand.bus_section[c]), int(cand.substation[c])
        # one transformation for the route and the connection point (the route's last vertex)
        coords = routes.coords(c)
        lons, lats = self.to_wgs.transform(coords[:, 0], coords[:, 1])
        lon, lat = float(lons[-1]), float(lats[-1])
        is_tap = kind == "tap"
        node = int(cand.node[c])
        seg = int(cand.seg[c])
        # model_construct: the values are built here from typed arrays; validation would only
        # cost time on the per-request path (the JSON schema test checks the output).
        conn = trusted(Connection, dict(
            point_id=str(cand.point_id[c]), kind=kind,
            source_ref=str(cn.seg_source_ref[seg] if is_tap else (
                cn.node_source_ref[node] if node >= 0 else "")),
            feeder_id=str(cn.feeder_ids[f]) if f >= 0 else None,
            bus_section_id=str(cn.bs_ids[bs]) if bs >= 0 else None,
            substation_id=str(cn.ss_ids[ss]) if ss >= 0 else None,
            line_id=str(cn.seg_ids[seg]) if is_tap else None,
            line_source_ref=str(cn.seg_source_ref[seg]) if is_tap else None,
            distance_from_start_m=round(float(cand.dist_from_start_m[c]), 2) if is_tap else None,
            lon=round(lon, 7), lat=round(lat, 7)))
        route = {"type": "LineString",
                 "coordinates": np.round(np.column_stack([lons, lats]), 7).tolist()}
        cond = self.cond_rec[cand.vn_kv][t]
        res = o.checks
        values, limits, passed = res.at(c, t)
        checks = [trusted(Check, dict(
            name=sp.name, label_zh=sp.label_zh, label_en=sp.label_en, value=round(v, 6),
            limit=round(lim, 6) if math.isfinite(lim) else UNBOUNDED, unit=sp.unit,
            passed=ok, binding=sp.name == bind_name))
            for sp, v, lim, ok in zip(res.specs, values, limits, passed, strict=True)]
        length = float(routes.length_m[c])
        prop = float(on_property_m(routes, self.policy)[c])
        cable = o.construction[c] == "cable"
        return trusted(Circuit, dict(
            connection=conn, route=route,
            route_length_m={"total": round(length, 2), "cable": round(length if cable else 0.0, 2),
                            "overhead": round(0.0 if cable else length, 2),
                            "on_property": round(prop, 2),
                            "street": round(float(routes.road_m[c]), 2),
                            "access_customer": round(float(routes.access_customer_m[c]), 2),
                            "access_point": round(float(routes.access_point_m[c]), 2)},
            route_class=ROUTE_CLASSES[int(routes.route_class[c])],
            route_fallback=bool(routes.fallback[c]), obstacle_crossings=int(routes.crossings[c]),
            conductor=trusted(Conductor, dict(
                type=str(cond["name"]), construction=str(cond["construction"]),
                r_ohm_per_km=float(cond["r_ohm_per_km"]), x_ohm_per_km=float(cond["x_ohm_per_km"]),
                max_i_ka=float(cond["max_i_ka"]))),
            current_ka=round(float(o.i_ka[c, t]), 6),
            voltage_at_supply_pu=round(float(o.v_cust_pu[c, t]), 6),
            voltage_drop_pct=round(float(o.drop_pct[c, t]), 4),
            feeder_load_rate_before=round(float(o.load_rate_before[c]), 4),
            feeder_load_rate_after=round(float(res.values["feeder_load_rate"][c, t]), 4)
            if "feeder_load_rate" in res.values else 0.0,
            transformer_load_rate_after=round(float(res.values["transformer_load_rate"][c, t]), 4)
            if "transformer_load_rate" in res.values else 0.0,
            losses_kw=round(float(o.loss_kw[c, t]), 3), limits=checks,
            short_circuit=short_circuit.circuit_block(
                o, c, t, cond, short_circuit.network_short_circuit(cn, self.policy)),
            cost_cny={"utility": round(float(o.cost_utility[c, t]), 2),
                      "customer_line": round(float(o.cost_customer_line[c, t]), 2),
                      **{k: round(float(v[c, t]), 2) for k, v in o.cost_parts.items()}},
            works_workdays=float(o.works_days[c]), capacity=None))

    def _power_quality(self, r: LevelResult, sel: Selection, app: Application, demand: Demand,
                       circuits: list[Circuit]) -> None:
        """Impact / harmonic / EV loads: the short-circuit ratio and GB/T 14549 harmonic
        allowance at each circuit's point of common coupling, in its ``short_circuit`` block."""
        scr_min, kinds = short_circuit.scr_minimum(self.policy, app.load)
        sc = r.options.inputs.site.sc
        if not kinds or sc is None:
            return
        s_mva = float(np.hypot(demand.p_mw, demand.q_mvar))
        scr = r.options.checks.values.get("sc_ratio")
        for c, t, circ in zip(sel.candidates, sel.conductors, circuits, strict=True):
            f, bs = int(sc.feeder[c]), int(sc.bs[c])
            supply = float(self.cn.feeder_rated_mva[f] if f >= 0 else self.cn.bs_unit_mva[bs])
            if circ.short_circuit is not None:
                circ.short_circuit["power_quality"] = short_circuit.power_quality_block(
                    self.policy, circ.short_circuit, supply, r.vn_kv, s_mva,
                    app.requested_kva / 1000.0, kinds, scr_min,
                    float(scr[c, t]) if scr is not None else None)

    def duration(self, works_days: float, mode: rules.SupplyMode) -> dict[str, Any]:
        """Process steps with their limits, the planned whole process and the target.

        ``total_with_works`` is the planned days of every applicable step plus the utility's
        works (serially: conservative); ``within_target`` compares that whole process with the
        policy's whole-process target.
        """
        col = 0 if mode.n_circuits == 1 else 1
        important = rules.is_important(self.policy, mode.tier)
        steps: dict[str, dict[str, float]] = {}
        target = None
        for st in self.policy.process_steps:
            if st.kind == "target":
                target = st.limit_days[col]
                continue
            if st.important_only and not important:
                continue  # seed §1.4: non-important customers skip the mid-construction check
            steps[st.step] = {"limit": st.limit_days[col], "planned": st.planned_days[col]}
        planned = sum(s["planned"] for s in steps.values())
        total = planned + works_days
        return {"steps": steps, "utility_works": works_days, "planned_steps": planned,
                "total_with_works": total, "whole_process_target": target,
                "within_target": bool(target is None or total <= target)}

    def flags(self, app: Application, circuits: list[Circuit], mode: rules.SupplyMode,
              duration: dict[str, Any], o: Options, sel: Selection) -> list[str]:
        """What the designer and customer must know beyond the checks (documents, risks)."""
        p = self.policy.params
        f = []
        if app.load.impact_load or app.load.harmonic_load:
            f.append("power_quality_assessment_required")
        if app.load.pv_export_kw > 0:
            f.append("distributed_pv_documents_required")
            for fid in (c.connection.feeder_id for c in circuits):
                if fid is None:
                    continue
                fi = self.feeder_pos[fid]
                min_load = self.cn.feeder_peak_mw[fi] * p.feeder_min_load_ratio
                if app.load.pv_export_kw / 1000 > min_load * p.pv_reverse_flow_flag_ratio:
                    f.append(f"pv_reverse_flow_on_{fid}")
        if app.load.ev_charging:
            f.append("charging_facility_documents_required")
        if mode.emergency_source:
            f.append("emergency_source_required")
        if rules.is_important(self.policy, mode.tier):
            f.append("important_customer_mid_check")
        if any(c.route_fallback for c in circuits):
            f.append("route_fallback_straight_line")
        if any(c.route_class == "shortcut" for c in circuits):
            f.append("route_shortcut_across_open_land")
        if not duration["within_target"]:
            f.append("whole_process_target_exceeded")
        if any(c.feeder_load_rate_after > p.feeder_screen_load_rate for c in circuits):
            f.append("feeder_above_screening_load_rate")
        res = o.checks
        for name in sorted(res.flag_only):
            if name in res.passed and not all(res.passed[name][c, t] for c, t in
                                              zip(sel.candidates, sel.conductors, strict=True)):
                f.append(f"check_failed_{name}")
        return f

    def explanation(self, s: Scheme, next_cost: float | None) -> dict[str, str]:
        """zh/en explanation of a ranked scheme."""
        circ = [{"kind": c.connection.kind, "point_id": c.connection.point_id,
                 "feeder_id": c.connection.feeder_id, "length_m": c.route_length_m["total"],
                 "conductor": c.conductor.type,
                 "thermal": (c.short_circuit or {}).get("thermal")} for c in s.circuits]
        b = s.binding or {"name": "ampacity", "utilisation": 0.0}
        return explain(s.rank, s.cost_cny["total"], next_cost, circ,
                       (str(b["name"]), float(b["utilisation"])), s.supply_mode, s.voltage_kv)

    def rank(self, schemes: list[Scheme]) -> None:
        """Number ranked schemes 1..n and explain each."""
        for i, s in enumerate(schemes):
            nxt = schemes[i + 1].cost_cny["total"] if i + 1 < len(schemes) else None
            s.rank = i + 1
            s.explanation = self.explanation(s, nxt)

    def rejected(self, r: LevelResult) -> list[dict[str, Any]]:
        """Nearby candidates with no feasible conductor and what binds each (largest allowed
        conductor), vectorised over the candidates."""
        o = r.options
        # the nearest ones only (candidates are in distance order)
        bad = np.flatnonzero(~o.feasible.any(axis=1) & o.allowed.any(axis=1))[
            : self.policy.params.rejected_shown]
        if bad.size == 0:
            return []
        imax = column(o.conductors, "max_i_ka")
        ts = np.argmax(np.where(o.allowed[bad], imax[None, :], -np.inf), axis=1)
        binds = binding_many(o, bad, ts)
        out = []
        for c, t, (name, util) in zip(bad, ts, binds, strict=True):
            f = r.cand.feeder[c]
            sp = REGISTRY[name]
            out.append({"point_id": str(r.cand.point_id[c]), "kind": KINDS[r.cand.kind[c]],
                        "voltage_kv": r.vn_kv,
                        "feeder_id": str(self.cn.feeder_ids[f]) if f >= 0 else None,
                        "binding": name, "label_zh": sp.label_zh, "label_en": sp.label_en,
                        "value": float(o.values[name][c, t]),
                        "limit": _finite(float(o.limits[name][c, t])), "utilisation": util})
        return out


def _finite(v: float) -> float:
    return v if np.isfinite(v) else UNBOUNDED
