"""Every (candidate, conductor) option of one application at one voltage level: the checks of
the registry (:mod:`scheme_engine.checks`), costs, works days and scores, vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from grid_models.compiled import CompiledNetwork
from grid_models.policy import Policy

from .candidates import Candidates
from .checks import CheckInputs, CheckResults, Load, build_site, check_inputs, line_of, run_checks
from .checks.base import fill
from .costs import option_costs
from .demand import Demand
from .frame_columns import column
from .routing import Routes


@dataclass
class Options:
    """Every (candidate, conductor) option: arrays of shape (C, T)."""

    cand: Candidates
    routes: Routes
    conductors: pd.DataFrame
    construction: np.ndarray  # (C,) "cable"/"overhead" of the new line
    allowed: np.ndarray  # (C, T) conductor matches construction
    checks: CheckResults
    feasible: np.ndarray
    inputs: CheckInputs
    v_cust_pu: np.ndarray
    drop_pct: np.ndarray
    load_rate_before: np.ndarray  # (C,)
    cost_utility: np.ndarray
    cost_customer_line: np.ndarray
    cost_parts: dict[str, np.ndarray]
    works_days: np.ndarray
    loss_kw: np.ndarray
    score: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.feasible.shape  # type: ignore[return-value]

    @property
    def values(self) -> dict[str, np.ndarray]:
        return self.checks.values

    @property
    def limits(self) -> dict[str, np.ndarray]:
        return self.checks.limits

    @property
    def passed(self) -> dict[str, np.ndarray]:
        return self.checks.passed

    @property
    def i_ka(self) -> np.ndarray:
        return self.inputs.flow.i_abs

    @property
    def n1_transfer(self) -> np.ndarray:
        return self.inputs.site.n1_transfer

    def utilisation_at(self, cs: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """value/limit of every active check (columns in registry order) at (cs[i], ts[i])."""
        return self.checks.utilisation_at((np.asarray(cs, np.int64), np.asarray(ts, np.int64)))


def evaluate(cn: CompiledNetwork, cand: Candidates, routes: Routes, demand: Demand,
             policy: Policy, conductors: pd.DataFrame, kva: float, existing_feeder: int = -1,
             pv_export_kw: float = 0.0, area_class: str | None = None,
             scr_min: float = 0.0) -> Options:
    """Checks, costs, durations and scores of every (candidate, conductor) option.

    Parameters
    ----------
    cn, cand, routes
        Compiled network, candidates and their routes.
    demand : Demand
        Design demand of the customer (each circuit carries all of it: N-1 sizing).
    conductors : DataFrame
        Standard conductors at the voltage level with ``price_cny_per_km``.
    kva : float
        Requested kVA (the kVA rules, e.g. the dedicated-feeder threshold).
    existing_feeder : int
        Feeder of the present connection for a capacity increase (its load already counts).
    area_class : str, optional
        The customer's supply-area class (supply radius); found at the customer when None.
    scr_min : float
        Minimum short-circuit ratio for the application's load kinds
        (:func:`scheme_engine.short_circuit.scr_minimum`; 0: none).
    """
    site = build_site(cn, cand, routes, policy, existing_feeder, area_class)
    line = line_of(conductors)
    load = Load(complex(demand.p_mw, demand.q_mvar),
                complex(demand.increment_p_mw, demand.increment_q_mvar), float(kva),
                pv_export_kw / 1000.0, scr_min)
    x = check_inputs(site, line, load, policy)
    shape = (len(cand), len(conductors))
    res = run_checks(x, policy, shape)
    allowed = site.construction[:, None] == column(conductors, "construction", None)[None, :]
    feasible = allowed & res.ok
    c = option_costs(cand, routes, site, x.flow, conductors, policy)
    v_pu = np.abs(x.flow.v_kv) / site.u_kv
    v_bb = site.v_bb0 - np.sqrt(3.0) * site.z_src * x.flow.i_ka
    drop = (np.abs(v_bb) - np.abs(x.flow.v_kv)) / site.u_kv * 100
    before = np.where(cand.feeder >= 0, (site.feeder_peak_mva / site.feeder_rated_mva)[:, 0], 0.0)
    return Options(cand, routes, conductors, site.construction, allowed, res, feasible, x,
                   fill(v_pu, shape), fill(drop, shape), before,
                   c.cost_utility, c.cost_customer_line, c.parts, c.works_days, c.loss_kw,
                   c.score)


def best_conductor(opts: Options) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: the lowest-score feasible conductor (index, or -1) and its score."""
    sc = np.where(opts.feasible, opts.score, np.inf)
    t = np.argmin(sc, axis=1) if sc.size else np.zeros(0, np.int64)
    best = sc[np.arange(sc.shape[0]), t] if sc.size else np.zeros(0)
    return np.where(np.isfinite(best), t, -1), best


def binding_many(opts: Options, cs: np.ndarray, ts: np.ndarray) -> list[tuple[str, float]]:
    """Per option (cs[i], ts[i]): the rejecting check furthest beyond its limit when any
    fails, else the check nearest its limit, as ``(name, utilisation)``."""
    return opts.checks.binding_at((np.asarray(cs, np.int64), np.asarray(ts, np.int64)))


def binding_check(opts: Options, c: int, t: int) -> tuple[str, float]:
    """:func:`binding_many` for one option."""
    return binding_many(opts, np.array([c]), np.array([t]))[0]
