"""Costs (CNY), works duration (working days), losses and the score of every option.

三省 policy: the utility invests up to the property boundary. The new line's piece on the
customer's land is the access from the customer's point to its street (at least
``property_boundary_m``); the customer pays it, the transformers and the incoming switchgear.
Civil works are costed by class: the street part by its construction (cable trench / poles),
the verge access to the connection point and the on-property piece by their own unit costs.
Unit costs and rates are policy data (``unit_costs.csv``, ``construction_rates.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from grid_models.policy import Policy

from .candidates import K_BUSBAR, K_EXISTING, K_TAP, KINDS, Candidates
from .checks.base import fill
from .checks.inputs import Flow, Site
from .frame_columns import column
from .routing import Routes


@dataclass(frozen=True)
class OptionCosts:
    """Arrays (C, T) unless noted."""

    cost_utility: np.ndarray
    cost_customer_line: np.ndarray
    parts: dict[str, np.ndarray]  # line, crossings, bay
    works_days: np.ndarray  # (C,)
    loss_kw: np.ndarray
    score: np.ndarray


def on_property_m(routes: Routes, policy: Policy) -> np.ndarray:
    """Length of the new line on the customer's land: its access to the street, at least
    ``property_boundary_m``, at most the whole route."""
    return np.minimum(np.maximum(routes.access_customer_m, policy.params.property_boundary_m),
                      routes.length_m)


def bay_cost_keys(policy: Policy, kinds: np.ndarray, vn_kv: float) -> np.ndarray:
    """``unit_costs.csv`` key of the bay each connection kind needs (a substation bay by
    voltage level, voltage_levels.csv)."""
    sub = policy.voltage_level(vn_kv).bay_cost_key
    names = np.array([sub if i == K_BUSBAR else n for i, n in enumerate(KINDS)], dtype=object)
    return names[kinds]


def option_costs(cand: Candidates, routes: Routes, site: Site, flow: Flow,
                 conductors: pd.DataFrame, policy: Policy) -> OptionCosts:
    """Costs, works days, losses and scores of every (candidate, conductor) option."""
    p = policy.params
    shape = np.shape(flow.i_abs)
    price = column(conductors, "price_cny_per_km")[None, :]
    km = site.km
    on_prop = on_property_m(routes, policy)[:, None] / 1000.0
    cust_km = np.minimum(km, on_prop)
    util_km = np.maximum(km - cust_km, 0)
    verge_km = np.minimum(routes.access_point_m[:, None] / 1000.0, util_km)
    civil = np.where(site.construction == "cable", policy.cost("civil_per_km", "cable"),
                     policy.cost("civil_per_km", "overhead"))[:, None]
    crossing = routes.crossing_cost_cny[:, None]
    bay = _bay_costs(policy, cand)[:, None]
    line_util = (util_km * price + (util_km - verge_km) * civil
                 + verge_km * policy.cost("civil_per_km", "verge"))
    line_cust = cust_km * (price + policy.cost("civil_per_km", "on_property"))
    cost_utility = line_util + crossing + bay
    parts = {"line": fill(line_util, shape), "crossings": fill(crossing, shape),
             "bay": fill(bay, shape)}
    rates = policy.construction_rates
    km_per_day = np.where(site.construction == "cable", rates["cable_km_per_workday"],
                          rates["overhead_km_per_workday"])
    bay_days = np.where(cand.kind == K_TAP, rates["tap_workdays"],
                        np.where(cand.kind == K_EXISTING, 0, rates["bay_workdays"]))
    works = np.ceil(km[:, 0] / km_per_day + bay_days + rates["fixed_utility_workdays"])
    # losses: the new line plus the increment on the feeder path (other currents at baseline)
    i = flow.i_ka
    r_path = (site.z_th - site.z_src).real
    loss = 1000 * (3 * flow.i_abs**2 * (flow.z_line.real + r_path)
                   + 6 * np.real(np.conj(i) * site.rzi))
    loss = np.maximum(loss, 0)
    radial = (~site.n1_transfer & (site.feeder >= 0))[:, None]
    score = (p.weight_cost * (cost_utility + line_cust) + p.weight_workday_cny * works[:, None]
             + p.weight_loss_cny_per_kw * loss + p.weight_reliability_cny * radial)
    return OptionCosts(cost_utility, fill(line_cust, shape), parts, works, loss, score)


def _bay_costs(policy: Policy, cand: Candidates) -> np.ndarray:
    cache = policy.__dict__.setdefault("_bay_costs", {})
    key = float(cand.vn_kv)
    if key not in cache:
        names = bay_cost_keys(policy, np.arange(len(KINDS)), cand.vn_kv)
        cache[key] = np.array([policy.cost("bay", str(n)) for n in names])
    return cache[key][cand.kind]
