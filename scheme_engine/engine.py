"""The planner: one application in, ranked checked costed schemes out.

A :class:`Planner` holds the compiled view of one network version under one policy (built once)
and answers :meth:`Planner.plan` per application without loops over network elements: spatial
queries, one bounded Dijkstra, vectorised checks over every (candidate, conductor) option, a
small CP-SAT model for the choice of circuits and the top-k alternatives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer

from grid_models.compiled import CompiledNetwork, compile_network
from grid_models.errors import ApplicationError
from grid_models.network import Network
from grid_models.policy import Policy, StandardTypes, load_policy, load_standard_types

from . import rules
from .application import Application, parse_application
from .candidates import KINDS, Candidates, find_candidates
from .demand import Demand
from .evaluation import CHECKS, Options, binding_many, evaluate
from .explain import explain
from .optimise import Selection, select_topk
from .remedies import remedies
from .routing import corridor_conflicts, route_all
from .scheme import Check, Circuit, Conductor, Connection, PlanResult, Scheme

REJECTED_SHOWN = 20  # presentation: how many failing nearby candidates a result lists


@dataclass
class LevelResult:
    """Everything computed at one voltage level (kept for remedies, tests and oracles)."""

    vn_kv: float
    cand: Candidates
    options: Options
    selections: list[Selection]
    corridor_conflict: np.ndarray


class Planner:
    """Plans applications on one network version under one policy.

    Parameters
    ----------
    network : Network
        The network (compiled once here).
    policy : Policy, optional
        Policy profile (default: the bundled ``default``).
    standard_types : StandardTypes, optional
    """

    def __init__(self, network: Network, policy: Policy | None = None,
                 standard_types: StandardTypes | None = None) -> None:
        self.policy = policy or load_policy()
        self.std = standard_types or load_standard_types()
        self.network = network
        self.cn: CompiledNetwork = compile_network(network, self.policy)
        self._to_metric = {c: Transformer.from_crs(c, network.crs, always_xy=True)
                           for c in ("EPSG:4326", "EPSG:4490")}
        self._to_wgs = Transformer.from_crs(network.crs, "EPSG:4326", always_xy=True)
        self.levels = np.unique(np.round(self.cn.node_vn_kv[self.cn.parent >= -1], 3))
        self._conductors = {float(v): rules.conductors_for(self.std, self.policy, float(v))
                            for v in self.levels if _has_conductors(self.std, float(v))}
        self._cond_rec = {v: df.to_dict("records") for v, df in self._conductors.items()}
        self._area = self.cn.area_hull

    # ------------------------------------------------------------------ public
    def plan(self, application: Application | dict, top_k: int | None = None) -> PlanResult:
        """Ranked schemes for one application.

        Raises
        ------
        ApplicationError
            Invalid or impossible application (outside the area, unknown tier/industry or
            customer, kVA out of range), naming the field.
        """
        t0 = time.perf_counter()
        app = application if isinstance(application, Application) else parse_application(application)
        k = int(top_k or self.policy.param("topk_default"))
        if k < 1:
            raise ApplicationError("top_k must be at least 1", field="top_k")
        mode = rules.supply_mode(self.policy, app.tier, app.overrides.supply_mode)
        xy = self._locate(app)
        existing_node = self._existing(app)
        kva = app.requested_kva
        levels = rules.voltage_levels(self.policy, kva, np.array(list(self._conductors)),
                                      app.overrides.voltage_kv)
        demand = self._demand(app)
        excluded = frozenset(app.overrides.excluded_points)
        existing_feeder = int(self.cn.node_feeder[existing_node]) if existing_node is not None else -1
        results = [self._level(xy, lv, app, demand, mode, k, existing_node, existing_feeder, excluded)
                   for lv in levels]
        schemes: list[Scheme] = []
        for r in results:
            if not r.selections:
                continue
            # binding checks of every chosen circuit of the level in one vectorised call
            cs = np.concatenate([s.candidates for s in r.selections])
            ts = np.concatenate([s.conductors for s in r.selections])
            binds = iter(binding_many(r.options, cs, ts))
            schemes += [self._scheme(r, s, app, demand, mode,
                                     binds=[next(binds) for _ in s.candidates])
                        for s in r.selections]
        schemes.sort(key=lambda s: s.score)
        schemes = schemes[:k]
        notes = []
        if not levels:
            allowed = rules.rule_levels(self.policy, kva)
            notes.append(f"no voltage level allowed for {kva:g} kVA ({allowed} kV) exists in this network")
        rejected = [rj for r in results for rj in self._rejected(r)]
        if not schemes:
            schemes = remedies(self, results, app, demand, mode, xy)
        else:
            for i, s in enumerate(schemes):
                nxt = schemes[i + 1].cost_cny["total"] if i + 1 < len(schemes) else None
                s.rank = i + 1
                s.explanation = self._explain(s, nxt)
        return PlanResult(
            network_version=self.cn.version_id, policy_id=self.policy.policy_id,
            application=app.model_dump(mode="json"),
            design_demand={"p_kw": demand.p_mw * 1000, "q_kvar": demand.q_mvar * 1000,
                           "power_factor": demand.power_factor, "basis_zh": demand.basis_zh,
                           "basis_en": demand.basis_en},
            schemes=schemes, rejected=rejected[:REJECTED_SHOWN], notes=notes,
            solve_ms=(time.perf_counter() - t0) * 1000)

    def evaluate_level(self, application: Application | dict, vn_kv: float) -> LevelResult:
        """Candidates and every evaluated option at one level (for oracles and remedies)."""
        app = application if isinstance(application, Application) else parse_application(application)
        mode = rules.supply_mode(self.policy, app.tier, app.overrides.supply_mode)
        en = self._existing(app)
        ef = int(self.cn.node_feeder[en]) if en is not None else -1
        return self._level(self._locate(app), float(vn_kv), app, self._demand(app), mode,
                           int(self.policy.param("topk_default")), en, ef,
                           frozenset(app.overrides.excluded_points))

    # ------------------------------------------------------------------ steps
    def _locate(self, app: Application) -> np.ndarray:
        lon, lat = app.point()
        x, y = self._to_metric[app.crs].transform(lon, lat)
        xy = np.array([x, y])
        if self._area is not None:
            d = float(shapely.distance(self._area, shapely.points(xy)))
            lim = self.policy.param("candidate_search_radius_max_m")
            if not np.isfinite(d) or d > lim:
                b = self.network.geographic_bounds()
                raise ApplicationError(
                    f"lon/lat: ({lon:.6f}, {lat:.6f}) lies {d / 1000:.1f} km outside the network's "
                    f"area (lon {b[0]:.4f}..{b[2]:.4f}, lat {b[1]:.4f}..{b[3]:.4f}); more than "
                    f"{lim / 1000:g} km from any element", field="lon")
        return xy

    def _existing(self, app: Application) -> int | None:
        if app.request_type != "increase":
            return None
        node = self.cn.customer_node.get(str(app.existing_customer_id))
        if node is None:
            known = list(self.cn.customer_node)[:10]
            raise ApplicationError(
                f"existing_customer_id: {app.existing_customer_id!r} is not a customer of this "
                f"network (e.g. {known})", field="existing_customer_id")
        return node

    def _demand(self, app: Application) -> Demand:
        from .demand import design_demand_for

        return design_demand_for(app, self.cn)

    def _level(self, xy, vn, app, demand, mode, k, existing_node, existing_feeder, excluded):
        cand = find_candidates(self.cn, xy, vn, self.policy, existing_node, excluded)
        routes = route_all(self.cn, xy, cand, self.policy)
        opts = evaluate(self.cn, cand, routes, demand, self.policy, self._conductors[vn],
                        app.requested_kva, existing_feeder, app.load.pv_export_kw)
        conflict = np.zeros((len(cand), len(cand)), bool)
        if mode.n_circuits > 1 and len(cand) > 1 and mode.max_shared_corridor_ratio < 1:
            conflict = corridor_conflicts(routes, self.cn.road.edge_length_m,
                                          mode.max_shared_corridor_ratio,
                                          self.policy.param("shared_corridor_allowance_m"))
        sel = select_topk(opts, mode.n_circuits, k, mode.distinct_substations,
                          mode.distinct_bus_sections, conflict,
                          distinct_by_feeder=bool(self.policy.param("alternatives_distinct_by_feeder")))
        return LevelResult(vn, cand, opts, sel, conflict)

    # ------------------------------------------------------------------ output
    def _scheme(self, r: LevelResult, sel: Selection, app: Application, demand: Demand,
                mode: rules.SupplyMode, feasible: bool = True, remedy: dict | None = None,
                binds: list[tuple[str, float]] | None = None) -> Scheme:
        o = r.options
        if binds is None:
            binds = binding_many(o, np.array(sel.candidates), np.array(sel.conductors))
        circuits = [self._circuit(o, c, t, b[0])
                    for c, t, b in zip(sel.candidates, sel.conductors, binds, strict=True)]
        pol = self.policy
        n = len(circuits)
        tr_cost = app.requested_kva * pol.cost("customer_transformer_per_kva", _vkey(r.vn_kv, pol))
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
        equipment = [{"item": "line", "type": c.conductor.type, "length_m": c.route_length_m["total"],
                      "at": c.connection.point_id} for c in circuits]
        equipment += [{"item": "bay", "kind": c.connection.kind, "at": c.connection.point_id}
                      for c in circuits if c.connection.kind != "existing"]
        equipment.append({"item": "customer_transformer", "kva": app.requested_kva,
                          "config": app.transformer_config or ""})
        if mode.emergency_source:
            equipment.append({"item": "emergency_source", "by": "customer"})
        duration = self._duration(circuits, mode)
        flags = self._flags(app, circuits, mode, duration, r, sel)
        bind = max(binds, key=lambda b: b[1], default=("ampacity", 0.0))
        s = Scheme(rank=0, feasible=feasible, score=round(sel.score, 2), voltage_kv=r.vn_kv,
                   supply_mode=mode.mode, tier=mode.tier, design_demand_kw=demand.p_mw * 1000,
                   power_factor=demand.power_factor, circuits=circuits, equipment=equipment,
                   cost_cny={k: round(v, 2) for k, v in cost.items()}, duration_workdays=duration,
                   flags=flags, explanation={}, remedy=remedy)
        s.__dict__["_binding"] = bind
        return s

    def _circuit(self, o: Options, c: int, t: int, bind_name: str) -> Circuit:
        cn, cand, routes = self.cn, o.cand, o.routes
        kind = KINDS[cand.kind[c]]
        f, bs, ss = int(cand.feeder[c]), int(cand.bus_section[c]), int(cand.substation[c])
        lon, lat = self._to_wgs.transform(*cand.xy[c])
        is_tap = kind == "tap"
        node = int(cand.node[c])
        seg = int(cand.seg[c])
        # model_construct: the values are built here from typed arrays; validation would only
        # cost time on the per-request path (the JSON schema test checks the output).
        conn = Connection.model_construct(
            point_id=str(cand.point_id[c]), kind=kind,
            source_ref=str(cn.seg_source_ref[seg] if is_tap else (
                cn.node_source_ref[node] if node >= 0 else "")),
            feeder_id=str(cn.feeder_ids[f]) if f >= 0 else None,
            bus_section_id=str(cn.bs_ids[bs]) if bs >= 0 else None,
            substation_id=str(cn.ss_ids[ss]) if ss >= 0 else None,
            line_id=str(cn.seg_ids[seg]) if is_tap else None,
            line_source_ref=str(cn.seg_source_ref[seg]) if is_tap else None,
            distance_from_start_m=round(float(cand.dist_from_start_m[c]), 2) if is_tap else None,
            lon=round(lon, 7), lat=round(lat, 7))
        coords = routes.coords(c)
        lons, lats = self._to_wgs.transform(coords[:, 0], coords[:, 1])
        route = {"type": "LineString",
                 "coordinates": np.round(np.column_stack([lons, lats]), 7).tolist()}
        cond = self._cond_rec[cand.vn_kv][t]
        checks = [Check.model_construct(name=nm, label_zh=CHECKS[nm][1], label_en=CHECKS[nm][2],
                        value=round(float(o.values[nm][c, t]), 6),
                        limit=round(float(o.limits[nm][c, t]), 6) if np.isfinite(o.limits[nm][c, t]) else 1e9,
                        unit=CHECKS[nm][0], passed=bool(o.passed[nm][c, t]), binding=nm == bind_name)
                  for nm in CHECKS]
        prop = min(self.policy.param("property_boundary_m"), float(routes.length_m[c]))
        return Circuit.model_construct(
            connection=conn, route=route,
            route_length_m={"total": round(float(routes.length_m[c]), 2),
                            "cable": round(float(routes.length_m[c]) if o.construction[c] == "cable" else 0.0, 2),
                            "overhead": round(float(routes.length_m[c]) if o.construction[c] == "overhead" else 0.0, 2),
                            "on_property": round(prop, 2)},
            route_fallback=bool(routes.fallback[c]), obstacle_crossings=int(routes.crossings[c]),
            conductor=Conductor.model_construct(type=str(cond["name"]), construction=str(cond["construction"]),
                                r_ohm_per_km=float(cond["r_ohm_per_km"]),
                                x_ohm_per_km=float(cond["x_ohm_per_km"]), max_i_ka=float(cond["max_i_ka"])),
            current_ka=round(float(o.i_ka[c, t]), 6),
            voltage_at_supply_pu=round(float(o.v_cust_pu[c, t]), 6),
            voltage_drop_pct=round(float(o.drop_pct[c, t]), 4),
            feeder_load_rate_before=round(float(o.load_rate_before[c]), 4),
            feeder_load_rate_after=round(float(o.load_rate_after[c, t]), 4),
            transformer_load_rate_after=round(float(o.transformer_rate_after[c]), 4),
            losses_kw=round(float(o.loss_kw[c, t]), 3), limits=checks,
            cost_cny={"utility": round(float(o.cost_utility[c, t]), 2),
                      "customer_line": round(float(o.cost_customer_line[c, t]), 2),
                      **{k: round(float(v[c, t]), 2) for k, v in o.cost_parts.items()}},
            works_workdays=float(o.works_days[c]))

    def _duration(self, circuits: list[Circuit], mode: rules.SupplyMode) -> dict:
        col = "single_days" if mode.n_circuits == 1 else "dual_days"
        lim = self.policy.mapping("time_limits", "step", col)
        important = rules.is_important(self.policy, mode.tier)
        steps = {}
        for step in ("scheme_reply", "design_review", "mid_check", "completion_check",
                     "metering_energising"):
            if step == "mid_check" and not important:
                continue  # seed §1.4: non-important customers skip the mid-construction check
            steps[step] = {"limit": float(lim[step])}
        works = max(c.works_workdays for c in circuits)
        total_limits = sum(s["limit"] for s in steps.values())
        target = float(lim["whole_process_target"])
        return {"steps": steps, "utility_works": works, "total_with_works": total_limits + works,
                "whole_process_target": target,
                "within_target": bool(works <= target)}

    def _flags(self, app, circuits, mode, duration, r, sel) -> list[str]:
        f = []
        if app.load.impact_load or app.load.harmonic_load:
            f.append("power_quality_assessment_required")
        if app.load.pv_export_kw > 0:
            f.append("distributed_pv_documents_required")
            for fid in (c.connection.feeder_id for c in circuits):
                if fid is None:
                    continue
                fi = int(np.flatnonzero(self.cn.feeder_ids == fid)[0])
                min_load = self.cn.feeder_peak_mw[fi] * self.policy.param("feeder_min_load_ratio")
                if app.load.pv_export_kw / 1000 > min_load * self.policy.param("pv_reverse_flow_flag_ratio"):
                    f.append(f"pv_reverse_flow_on_{fid}")
        if app.load.ev_charging:
            f.append("charging_facility_documents_required")
        if mode.emergency_source:
            f.append("emergency_source_required")
        if rules.is_important(self.policy, mode.tier):
            f.append("important_customer_mid_check")
        if any(c.route_fallback for c in circuits):
            f.append("route_fallback_straight_line")
        if not duration["within_target"]:
            f.append("whole_process_target_exceeded")
        if any(c.feeder_load_rate_after > self.policy.param("feeder_screen_load_rate") for c in circuits):
            f.append("feeder_above_screening_load_rate")
        return f

    def _explain(self, s: Scheme, next_cost: float | None) -> dict[str, str]:
        circ = [{"kind": c.connection.kind, "point_id": c.connection.point_id,
                 "feeder_id": c.connection.feeder_id, "length_m": c.route_length_m["total"],
                 "conductor": c.conductor.type} for c in s.circuits]
        return explain(s.rank, s.cost_cny["total"], next_cost, circ,
                       s.__dict__.get("_binding", ("ampacity", 0.0)), s.supply_mode, s.voltage_kv)

    def _rejected(self, r: LevelResult) -> list[dict]:
        """Nearby candidates with no feasible conductor and what binds each (largest allowed
        conductor), vectorised over the candidates."""
        o = r.options
        # the nearest ones only: the result lists at most REJECTED_SHOWN (candidates are in
        # distance order)
        bad = np.flatnonzero(~o.feasible.any(axis=1) & o.allowed.any(axis=1))[:REJECTED_SHOWN]
        if bad.size == 0:
            return []
        imax = o.conductors["max_i_ka"].to_numpy()
        ts = np.argmax(np.where(o.allowed[bad], imax[None, :], -np.inf), axis=1)
        binds = binding_many(o, bad, ts)
        out = []
        for c, t, (name, util) in zip(bad, ts, binds, strict=True):
            f = r.cand.feeder[c]
            out.append({"point_id": str(r.cand.point_id[c]), "kind": KINDS[r.cand.kind[c]],
                        "voltage_kv": r.vn_kv,
                        "feeder_id": str(self.cn.feeder_ids[f]) if f >= 0 else None,
                        "binding": name, "label_zh": CHECKS[name][1], "label_en": CHECKS[name][2],
                        "value": float(o.values[name][c, t]), "limit": float(o.limits[name][c, t]),
                        "utilisation": util})
        return out


def _has_conductors(std: StandardTypes, vn: float) -> bool:
    return bool(np.isclose(std.conductors["vn_kv"].astype(float), vn).any())


def _vkey(vn: float, policy: Policy) -> str:
    keys = np.array([float(k) for i, k in policy._costs if i == "customer_transformer_per_kva"])
    return f"{keys[np.argmin(np.abs(keys - vn))]:g}"
