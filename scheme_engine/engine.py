"""The planner: applications in, ranked checked costed schemes out.

A :class:`Planner` holds the compiled view of one network version under one policy (built once)
and answers :meth:`Planner.plan` per application without loops over network elements: spatial
queries, one bounded Dijkstra, the vectorised check registry over every (candidate, conductor)
option, a small CP-SAT model for the choice of dual circuits and the top-k alternatives.
:meth:`Planner.plan_many` answers a batch (the park planner and the service use it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import shapely

from grid_models.compiled import CompiledNetwork, compile_network
from grid_models.crs import transformer
from grid_models.errors import ApplicationError, GridSchemeError, ValidationReport
from grid_models.policy import Policy, StandardTypes, load_policy, load_standard_types

from . import rules
from .application import Application, PointUsed, parse_application
from .builder import LevelResult, SchemeBuilder
from .candidates import find_candidates
from .capacity import SchemeCapacity, recommend_transformers
from .demand import Demand, design_demand_for
from .evaluation import binding_many, evaluate
from .optimise import select_topk
from .remedies import remedies
from .routing import corridor_conflicts, route_all
from .scheme import PlanResult, Scheme
from .short_circuit import scr_minimum
from .supply_area import area_class_at

if TYPE_CHECKING:
    from grid_models.network import Network

__all__ = ["LevelResult", "Planner"]


class Planner:
    """Plans applications on one network version under one policy.

    Parameters
    ----------
    network : Network or CompiledNetwork
        The network (validated and compiled once here), or an already validated compiled view
        of it with the same policy (e.g. from :func:`grid_models.cache.load_compiled`).
    policy : Policy, optional
        Policy profile (default: the bundled ``default``).
    standard_types : StandardTypes, optional
    validate : bool
        Refuse a network with validation errors (default). ``False`` only for callers that
        validated it already.

    Raises
    ------
    NetworkValidationError
        The network has validation errors (the report names every element, with the same
        codes as ``gridscheme network validate``): a wrong answer from a broken network is
        worse than none.
    """

    def __init__(self, network: Network | CompiledNetwork, policy: Policy | None = None,
                 standard_types: StandardTypes | None = None, validate: bool = True) -> None:
        self.policy = policy or load_policy()
        self.std = standard_types or load_standard_types()
        if isinstance(network, CompiledNetwork):
            self._network: Network | None = None
            self.cn = network
        else:
            # compile_network validates (the same codes as `gridscheme network validate`) and
            # refuses a network with errors; a caller that validated already may skip it
            self._network = network
            self.cn = compile_network(network, self.policy, standard_types=self.std,
                                      validation=None if validate else ValidationReport())
        self._to_metric = {c: transformer(c, self.cn.crs) for c in ("EPSG:4326", "EPSG:4490")}
        self._to_wgs = transformer(self.cn.crs, "EPSG:4326")
        self.levels = np.unique(np.round(self.cn.node_vn_kv[self.cn.parent >= -1], 3))
        self._conductors = {float(v): rules.conductors_for(self.std, self.policy, float(v))
                            for v in self.levels if _has_conductors(self.std, float(v))}
        self._cond_rec = {v: df.to_dict("records") for v, df in self._conductors.items()}
        self.builder = SchemeBuilder(self.cn, self.policy, self._cond_rec)
        self._area = self.cn.area_hull
        rep = getattr(self.cn, "validation", None)
        warn = rep.warnings if rep is not None else []
        # validation warnings stay warnings, and every answer says they exist
        self._network_notes: tuple[str, ...] = (
            (f"the network has {len(warn)} validation warning(s) (codes: "
             f"{', '.join(sorted({w.code for w in warn}))}); `gridscheme network validate` "
             "lists them",) if warn else ())
        if self._area is not None:
            shapely.prepare(self._area)

    @property
    def network(self) -> Network:
        """The element tables (kept when the planner was built from them)."""
        if self._network is None:
            raise GridSchemeError("this planner was built from a compiled view; its element "
                                  "tables were not loaded")
        return self._network

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
        k = self._top_k(top_k)
        mode = rules.supply_mode(self.policy, app.tier, app.overrides.supply_mode)
        xy, used = self._place(app)
        existing_node = self._existing(app)
        kva = app.requested_kva
        levels = rules.voltage_levels(self.policy, kva, np.array(list(self._conductors)),
                                      app.overrides.voltage_kv)
        demand = design_demand_for(app, self.cn)
        excluded = frozenset(app.overrides.excluded_points)
        existing_feeder = int(self.cn.node_feeder[existing_node]) if existing_node is not None else -1
        capacity = SchemeCapacity(self.policy, app, demand)
        area, area_source = area_class_at(self.cn, xy, self.policy)
        results = [self._level(xy, lv, app, demand, mode, k, existing_node, existing_feeder,
                               excluded, area) for lv in levels]
        # the k best selections over the levels, in the order of the schemes (their score to
        # the cent, then level and rank): only those become schemes
        best = sorted(((r, s) for r in results for s in r.selections),
                      key=lambda rs: round(float(rs[1].score), 2))[:k]
        schemes: list[Scheme] = []
        for r in results:
            sels = [s for rr, s in best if rr is r]
            if not sels:
                continue
            # binding checks and capacities of every chosen circuit of the level in one
            # vectorised call each
            cs = np.concatenate([s.candidates for s in sels])
            ts = np.concatenate([s.conductors for s in sels])
            binds = iter(binding_many(r.options, cs, ts))
            caps = iter(capacity.options(r.options, cs, ts))
            schemes += [self.builder.scheme(r, s, app, demand, mode,
                                            binds=[next(binds) for _ in s.candidates],
                                            capacities=[next(caps) for _ in s.candidates])
                        for s in sels]
        schemes.sort(key=lambda s: s.score)
        notes = list(self._network_notes)
        if not levels:
            allowed = rules.rule_levels(self.policy, kva)
            notes.append(f"no voltage level allowed for {kva:g} kVA ({allowed} kV) exists in this network")
        rejected = [rj for r in results for rj in self.builder.rejected(r)]
        if not schemes:
            schemes = remedies(self.builder, self._conductors, results, app, demand, mode, xy)
        else:
            self.builder.rank(schemes)
        return PlanResult(
            network_version=self.cn.version_id, policy_id=self.policy.policy_id,
            application=app.model_dump(mode="json"),
            design_demand={"p_kw": demand.p_mw * 1000, "q_kvar": demand.q_mvar * 1000,
                           "power_factor": demand.power_factor, "basis_zh": demand.basis_zh,
                           "basis_en": demand.basis_en},
            customer_transformers=recommend_transformers(self.policy, app, demand, mode,
                                                         levels),
            supply_area={"class": area, "source": area_source},
            point_used={"lon": round(used.lon, 7), "lat": round(used.lat, 7), "crs": app.crs,
                        "source": used.source, "notes": list(used.notes)},
            schemes=schemes, rejected=rejected[: self.policy.params.rejected_shown],
            notes=notes, solve_ms=(time.perf_counter() - t0) * 1000)

    def plan_many(self, applications: Iterable[Application | dict], top_k: int | None = None,
                  errors: str = "return") -> list[PlanResult | GridSchemeError]:
        """Plan a batch of applications on this planner (the park planner's and the
        service's entry point: nothing is compiled or rebuilt between applications).

        Parameters
        ----------
        applications : iterable of Application or dict
        top_k : int, optional
        errors : {"return", "raise"}
            ``"return"`` puts an application's :class:`GridSchemeError` (e.g. an
            :class:`ApplicationError` naming its field) in its place in the result list;
            ``"raise"`` raises the first one.

        Returns
        -------
        list
            One :class:`PlanResult` (or error) per application, in order.
        """
        if errors not in ("return", "raise"):
            raise ValueError(f"errors must be 'return' or 'raise', got {errors!r}")
        out: list[PlanResult | GridSchemeError] = []
        for a in applications:
            try:
                out.append(self.plan(a, top_k))
            except GridSchemeError as exc:
                if errors == "raise":
                    raise
                out.append(exc)
        return out

    def evaluate_level(self, application: Application | dict, vn_kv: float) -> LevelResult:
        """Candidates and every evaluated option at one level (for oracles and remedies)."""
        app = application if isinstance(application, Application) else parse_application(application)
        mode = rules.supply_mode(self.policy, app.tier, app.overrides.supply_mode)
        en = self._existing(app)
        ef = int(self.cn.node_feeder[en]) if en is not None else -1
        return self._level(self._locate(app), float(vn_kv), app, design_demand_for(app, self.cn),
                           mode, self.policy.params.topk_default, en, ef,
                           frozenset(app.overrides.excluded_points))

    def evaluate_levels(self, application: Application | dict) -> tuple[Demand, list[LevelResult]]:
        """Every level the rules allow for an application, evaluated (the park planner's
        options: every checked candidate x conductor with its cost and capacity use)."""
        app = application if isinstance(application, Application) else parse_application(application)
        levels = rules.voltage_levels(self.policy, app.requested_kva,
                                      np.array(list(self._conductors)), app.overrides.voltage_kv)
        demand = design_demand_for(app, self.cn)
        return demand, [self.evaluate_level(app, lv) for lv in levels]

    def options_many(self, applications: Iterable[Application | dict],
                     demands: Iterable[Demand | None] | None = None
                     ) -> list[tuple[Demand, list[LevelResult]] | GridSchemeError]:
        """Every checked option of many applications in one call (the park planner's batch).

        Like :meth:`evaluate_levels` per application (candidates, routes, checks, costs of every
        candidate x conductor at every allowed level) but without choosing schemes, and with
        nothing compiled or rebuilt between applications. ``LevelResult.selections`` is empty;
        ``LevelResult.corridor_conflict`` is filled for dual-supply tiers.

        Parameters
        ----------
        applications : iterable of Application or dict
        demands : iterable of Demand or None, optional
            A design demand per application that replaces the one derived from its kVA and
            industry (a park parcel's land-use estimate); None entries keep the derived one.

        Returns
        -------
        list
            ``(Demand, [LevelResult, ...])`` per application, or the application's
            :class:`GridSchemeError` (e.g. outside the network's area) in its place.
        """
        apps = list(applications)
        dem = list(demands) if demands is not None else [None] * len(apps)
        if len(dem) != len(apps):
            raise ValueError(f"options_many: {len(dem)} demands for {len(apps)} applications")
        out: list[tuple[Demand, list[LevelResult]] | GridSchemeError] = []
        for a, d in zip(apps, dem, strict=True):
            try:
                app = a if isinstance(a, Application) else parse_application(a)
                mode = rules.supply_mode(self.policy, app.tier, app.overrides.supply_mode)
                xy = self._locate(app)
                en = self._existing(app)
                ef = int(self.cn.node_feeder[en]) if en is not None else -1
                demand = d if d is not None else design_demand_for(app, self.cn)
                area = area_class_at(self.cn, xy, self.policy)[0]
                levels = rules.voltage_levels(self.policy, app.requested_kva,
                                              np.array(list(self._conductors)),
                                              app.overrides.voltage_kv)
                res = [self._options_at(xy, float(lv), app, demand, mode, en, ef,
                                        frozenset(app.overrides.excluded_points), area)
                       for lv in levels]
                out.append((demand, res))
            except GridSchemeError as exc:
                out.append(exc)
        return out

    # ------------------------------------------------------------------ steps
    def _top_k(self, top_k: int | None) -> int:
        if top_k is None:
            return self.policy.params.topk_default
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= 50:
            raise ApplicationError(f"top_k: {top_k!r} is out of range; valid: a whole number "
                                   "from 1 to 50", field="top_k")
        return int(top_k)

    def _locate(self, app: Application) -> np.ndarray:
        return self._place(app)[0]

    def _place(self, app: Application) -> tuple[np.ndarray, PointUsed]:
        """The customer's point (metric) and how it was found (see Application.location)."""
        used = app.location()
        lon, lat = used.lon, used.lat
        tr = self._to_metric[app.crs]
        x, y = tr.transform(lon, lat)
        xy = np.array([x, y])
        if app.parcel is not None:
            ring = np.asarray(app.parcel[0], float)
            px, py = tr.transform(ring[:, 0], ring[:, 1])
            area = float(shapely.area(shapely.make_valid(shapely.polygons(np.column_stack([px, py])))))
            lim = self.policy.params.max_parcel_area_m2
            if not np.isfinite(area) or area > lim:
                raise ApplicationError(f"parcel: {area / 1e6:.2f} km² is larger than any single "
                                       f"customer's lot this engine accepts ({lim / 1e6:g} km²); "
                                       "give the lot's own outline", field="parcel")
        if self._area is not None and not (np.isfinite(xy).all()
                                           and shapely.contains_xy(self._area, x, y)):
            # (inside the prepared area: a point-in-polygon test; the distance only outside)
            d = float(shapely.distance(self._area, shapely.points(xy))) if np.isfinite(xy).all() \
                else np.inf
            lim = self.policy.params.max_distance_outside_network_m
            if not np.isfinite(d) or d > lim:
                b = self._bounds_wgs84()
                raise ApplicationError(
                    f"lon/lat: ({lon:.6f}, {lat:.6f}) lies "
                    + (f"{d / 1000:.1f} km " if np.isfinite(d) else "")
                    + f"outside the network's area (lon {b[0]:.4f}..{b[2]:.4f}, lat "
                    f"{b[1]:.4f}..{b[3]:.4f}); more than {lim / 1000:g} km from any element",
                    field="lon")
        return xy, used

    def _bounds_wgs84(self) -> tuple[float, float, float, float]:
        xy = self.cn.node_xy[np.isfinite(self.cn.node_xy).all(axis=1)]
        if xy.size == 0:
            return (np.nan,) * 4  # type: ignore[return-value]
        lon, lat = self._to_wgs.transform(xy[:, 0], xy[:, 1])
        return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))

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

    def _options_at(self, xy: np.ndarray, vn: float, app: Application, demand: Demand,
                    mode: rules.SupplyMode, existing_node: int | None, existing_feeder: int,
                    excluded: frozenset[str], area_class: str | None = None) -> LevelResult:
        """Candidates, routes and every checked, costed option at one level (no choice yet):
        the one path that plans and the park planner's batch share."""
        cand = find_candidates(self.cn, xy, vn, self.policy, existing_node, excluded)
        routes = route_all(self.cn, xy, cand, self.policy)
        opts = evaluate(self.cn, cand, routes, demand, self.policy, self._conductors[vn],
                        app.requested_kva, existing_feeder, app.load.pv_export_kw, area_class,
                        scr_minimum(self.policy, app.load)[0])
        conflict = np.zeros((len(cand), len(cand)), bool)
        if mode.n_circuits > 1 and len(cand) > 1 and mode.max_shared_corridor_ratio < 1:
            conflict = corridor_conflicts(routes, self.cn.road.edge_length_m,
                                          mode.max_shared_corridor_ratio,
                                          self.policy.params.shared_corridor_allowance_m)
        return LevelResult(vn, cand, opts, [], conflict)

    def _level(self, xy: np.ndarray, vn: float, app: Application, demand: Demand,
               mode: rules.SupplyMode, k: int, existing_node: int | None, existing_feeder: int,
               excluded: frozenset[str], area_class: str | None = None) -> LevelResult:
        r = self._options_at(xy, vn, app, demand, mode, existing_node, existing_feeder, excluded,
                             area_class)
        p = self.policy.params
        r.selections = select_topk(r.options, mode.n_circuits, k, mode.distinct_substations,
                                   mode.distinct_bus_sections, r.corridor_conflict,
                                   time_limit_s=p.optimiser_time_limit_s,
                                   distinct_by_feeder=p.alternatives_distinct_by_feeder)
        return r


def _has_conductors(std: StandardTypes, vn: float) -> bool:
    return bool(np.isclose(std.conductors["vn_kv"].astype(float), vn).any())
