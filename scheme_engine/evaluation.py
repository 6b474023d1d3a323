"""Electrical checks, costs and durations of every (candidate, conductor) option, vectorised.

Voltage at the customer is solved per option by a fixed-point iteration on the Thevenin
equivalent seen from the connection point (cumulative feeder impedance from the busbar plus the
main transformer behind it) with the baseline voltage from the network's backward/forward sweep
and a constant-power load, i.e. the exact solution of the radial network with the other loads
held at their baseline currents (not only dU ~ (PR+QX)/U^2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from grid_models.compiled import SQRT3, CompiledNetwork
from grid_models.policy import Policy

from . import rules
from .candidates import K_BUSBAR, K_EXISTING, K_RMU, K_SWST, K_TAP, KINDS, Candidates
from .demand import Demand
from .routing import Routes

# check name -> (unit, zh, en); the order is the order shown to designers
CHECKS = {
    "ampacity": ("kA", "新建线路载流量", "new line ampacity"),
    "path_headroom": ("kA", "电源路径剩余载流量", "headroom along the feeder path"),
    "voltage_deviation": ("%", "供电点电压偏差", "voltage deviation at the point of supply"),
    "network_voltage": ("%", "馈线最低电压偏差", "lowest feeder voltage after connection"),
    "new_line_drop": ("%", "新建线路压降", "voltage drop on the new line"),
    "feeder_load_rate": ("ratio", "馈线负载率(N-1)", "feeder load rate (N-1 limit)"),
    "transformer_load_rate": ("ratio", "主变负载率(N-1)", "main-transformer load rate (N-1)"),
    "transformer_unit_loading": ("ratio", "供电主变负载", "loading of the unit feeding the bus section"),
    "spare_bays": ("count", "备用间隔", "spare bays"),
    "customers_on_feeder": ("count", "馈线用户数", "customers on the feeder"),
    "dedicated_feeder": ("kVA", "专线要求", "dedicated-feeder requirement"),
    "pv_voltage_rise": ("%", "光伏电压抬升", "PV voltage rise"),
    "route_allowed": ("count", "路径禁止穿越区", "route through a forbidden zone"),
}


@dataclass
class Options:
    """Every (candidate, conductor) option: arrays of shape (C, T)."""

    cand: Candidates
    routes: Routes
    conductors: pd.DataFrame
    construction: np.ndarray  # (C,) "cable"/"overhead" of the new line
    allowed: np.ndarray  # (C, T) conductor matches construction
    values: dict[str, np.ndarray]
    limits: dict[str, np.ndarray]
    passed: dict[str, np.ndarray]
    feasible: np.ndarray
    i_ka: np.ndarray
    v_cust_pu: np.ndarray
    drop_pct: np.ndarray
    loss_kw: np.ndarray
    load_rate_before: np.ndarray  # (C,)
    load_rate_after: np.ndarray  # (C, T)
    transformer_rate_after: np.ndarray  # (C,)
    cost_utility: np.ndarray
    cost_customer_line: np.ndarray
    cost_parts: dict[str, np.ndarray]
    works_days: np.ndarray
    score: np.ndarray
    n1_transfer: np.ndarray  # (C,) feeder can transfer load over ties
    flags: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return self.feasible.shape

    def utilisation_at(self, cs: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """value/limit of every check (columns in ``CHECKS`` order) for options (cs[i], ts[i]);
        > 1 fails. Vectorised over the options asked for."""
        cs, ts = np.asarray(cs, np.int64), np.asarray(ts, np.int64)
        out = np.empty((cs.size, len(CHECKS)))
        with np.errstate(divide="ignore", invalid="ignore"):
            for j, k in enumerate(CHECKS):
                v = self.values[k][cs, ts].astype(float)
                lim = self.limits[k][cs, ts].astype(float)
                if k == "spare_bays":
                    u = np.where(v > 0, lim / v, np.where(lim <= 0, 0.0, 1e9))
                else:
                    u = np.where((lim == 0) | ~np.isfinite(lim),
                                 np.where((v == 0) | ~np.isfinite(lim), 0.0, 1e9),
                                 np.abs(v) / np.abs(lim))
                out[:, j] = np.where(np.isfinite(u), u, 1e9)
        return out


def evaluate(cn: CompiledNetwork, cand: Candidates, routes: Routes, demand: Demand,
             policy: Policy, conductors: pd.DataFrame, kva: float, existing_feeder: int = -1,
             pv_export_kw: float = 0.0) -> Options:
    """Checks, costs, durations and scores of every (candidate, conductor) option.

    Parameters
    ----------
    cn, cand, routes
        Compiled network, candidates and their routes.
    demand : Demand
        Design demand of the customer (the circuit carries all of it, N-1 sizing).
    conductors : DataFrame
        Standard conductors at the voltage level with ``price_cny_per_km``.
    kva : float
        Requested kVA (dedicated-feeder rule).
    existing_feeder : int
        Feeder of the present connection for a capacity increase (its load already counts).
    """
    C, T = len(cand), len(conductors)
    U = cand.vn_kv
    s = complex(demand.p_mw, demand.q_mvar)
    k = cand.node
    is_tap = cand.kind == K_TAP
    par = np.where(is_tap, cn.parent[k], k)
    bs = np.maximum(cand.bus_section, 0)
    z_src = cn.bs_z_source_ohm[bs]
    seg = np.maximum(cand.seg, 0)
    frac = cand.frac_from_parent
    z_tap = np.where(is_tap, frac * cn.seg_z_ohm[seg], 0)
    i_child = np.where(is_tap, cn.i_branch0_ka[k], 0)
    z_th = cn.cum_z_ohm[par] + z_tap + z_src
    v0 = cn.v0_kv[par] - SQRT3 * z_tap * i_child
    headroom = np.where(
        is_tap,
        np.minimum(cn.path_headroom_ka[par],
                   cn.seg_max_i_ka[seg] * policy.param("line_loading_limit") - np.abs(i_child)),
        cn.path_headroom_ka[k])
    headroom = np.where(cand.kind == K_BUSBAR, np.inf, headroom)
    rzi = cn.cum_rz_i0[par] + np.where(is_tap, frac * cn.seg_z_ohm[seg].real * i_child, 0)

    # construction of the new line: overhead for taps, else by the route's road classes
    cab_share = np.where(routes.length_m > 0, routes.road_cable_m / np.maximum(routes.length_m, 1e-9), 0)
    construction = np.where(is_tap | (cab_share < 0.5), "overhead", "cable")
    construction = np.where((cand.kind == K_RMU) | (cand.kind == K_SWST), "cable", construction)
    cons_t = conductors["construction"].to_numpy()
    cond_r = conductors["r_ohm_per_km"].to_numpy()
    cond_x = conductors["x_ohm_per_km"].to_numpy()
    cond_i = conductors["max_i_ka"].to_numpy()
    cond_price = conductors["price_cny_per_km"].to_numpy()
    allowed = construction[:, None] == cons_t[None, :]
    km = routes.length_m / 1000.0
    z_line = km[:, None] * (cond_r + 1j * cond_x)[None, :]
    z_tot = z_th[:, None] + z_line
    v = np.broadcast_to(v0[:, None], (C, T)).astype(complex)
    for _ in range(6):  # fixed point; converges in 3-4 steps for drops below 10 %
        i = np.conj(s / (SQRT3 * v))
        v = v0[:, None] - SQRT3 * z_tot * i
    i = np.conj(s / (SQRT3 * v))
    i_abs = np.abs(i)
    v_bb0 = cn.bs_vm_pu[bs] * U
    v_bb = v_bb0[:, None] - SQRT3 * z_src[:, None] * i
    v_pu = np.abs(v) / U
    drop_pct = (np.abs(v_bb) - np.abs(v)) / U * 100
    dev_pct = (v_pu - 1) * 100
    band = rules.voltage_band_pct(policy, U)
    # Lowest voltage anywhere on the feeder / bus section afterwards (conservative bound:
    # every node sees at most the full Thevenin drop of the connection point).
    f = cand.feeder
    fmin = np.where(f >= 0, cn.feeder_min_vm_pu[np.maximum(f, 0)], np.inf)
    sag = np.abs(SQRT3 * z_src[:, None] * i) / U
    path_drop = np.abs(SQRT3 * (z_th - z_src)[:, None] * i) / U
    net_min = np.minimum(fmin[:, None] - sag - path_drop, cn.bs_min_vm_pu[bs][:, None] - sag)
    net_dev = (net_min - 1) * 100
    line_drop = np.abs(SQRT3 * z_line * i) / U * 100

    # feeder load rate (MVA based): the increment is the whole circuit unless it stays put
    s_mva = abs(s)
    inc = np.where((f >= 0) & (f == existing_feeder), abs(complex(demand.increment_p_mw,
                                                                   demand.increment_q_mvar)), s_mva)
    fpk = np.where(f >= 0, cn.feeder_peak_mw[np.maximum(f, 0)] / cn.feeder_pf[np.maximum(f, 0)], 0)
    frat = np.where(f >= 0, cn.feeder_rated_mva[np.maximum(f, 0)], np.nan)
    modes = np.where(f >= 0, cn.feeder_mode[np.maximum(f, 0)], "dedicated")
    lr_limit, n1 = rules.load_rate_limit(policy, modes)
    new_rated = SQRT3 * U * cond_i
    lr_before = np.where(f >= 0, fpk / frat, 0.0)
    lr_after = np.where((f >= 0)[:, None], ((fpk + inc) / frat)[:, None], s_mva / new_rated[None, :])
    # main transformer (N-1 firm capacity by number of units)
    ss = np.maximum(cand.substation, 0)
    ss_peak = cn.ss_peak_mw[ss]
    ss_peak = np.where(np.isnan(ss_peak), _ss_sum(cn)[ss], ss_peak)
    tr_rate = (ss_peak / cn.ss_pf[ss] + inc) / (cn.ss_n_transformers[ss] * cn.ss_transformer_mva[ss])
    tr_limit = rules.transformer_limit(policy, cn.ss_n_transformers[ss])
    # the unit behind the chosen section: its feeders' peaks plus the increment, not only the
    # substation total (a section can be full while its neighbours are light)
    unit_rate = (cn.bs_load_mva[bs] + inc) / cn.bs_unit_mva[bs]
    # bays and customers
    spare = np.where(np.isin(cand.kind, (K_RMU, K_SWST)), cn.node_spare_bays[k],
                     np.where(cand.kind == K_BUSBAR, cn.bs_spare_bays[bs], 99))
    bay_min = np.where(np.isin(cand.kind, (K_RMU, K_SWST)), policy.param("min_spare_bays_rmu"),
                       np.where(cand.kind == K_BUSBAR, 1, 0))
    ncust = np.where(f >= 0, cn.feeder_n_customers[np.maximum(f, 0)] + (f != existing_feeder), 0)
    dedicated_needed = bool(kva >= policy.param("dedicated_feeder_min_kva"))
    dedicated_ok = np.full(C, not dedicated_needed) | (cand.kind == K_BUSBAR)
    # PV export: voltage rise at the point of supply with full export at minimum load
    if pv_export_kw > 0:
        s_exp = -pv_export_kw / 1000.0 * policy.param("pv_midday_coincidence")
        i_exp = np.conj(s_exp / (SQRT3 * v0))[:, None]
        rise = (np.abs(v0[:, None] - SQRT3 * z_tot * i_exp) / U - 1) * 100
    else:
        rise = np.zeros((C, T))
    rise_limit = policy.param("pv_voltage_rise_limit_pct")

    full = (C, T)
    values = {
        "ampacity": np.broadcast_to(i_abs, full),
        "path_headroom": np.broadcast_to(i_abs, full),
        "voltage_deviation": dev_pct,
        "network_voltage": net_dev,
        "new_line_drop": line_drop,
        "feeder_load_rate": lr_after,
        "transformer_load_rate": np.broadcast_to(tr_rate[:, None], full),
        "transformer_unit_loading": np.broadcast_to(unit_rate[:, None], full),
        "spare_bays": np.broadcast_to(spare[:, None].astype(float), full),
        "customers_on_feeder": np.broadcast_to(ncust[:, None].astype(float), full),
        "dedicated_feeder": np.full(full, kva),
        "pv_voltage_rise": rise,
        "route_allowed": np.broadcast_to(routes.forbidden[:, None].astype(float), full),
    }
    load_limit = policy.param("line_loading_limit")
    limits = {
        "ampacity": np.broadcast_to(cond_i[None, :] * load_limit, full),
        "path_headroom": np.broadcast_to(headroom[:, None], full),
        "voltage_deviation": np.full(full, band),
        "network_voltage": np.full(full, band),
        "new_line_drop": np.full(full, policy.param("new_line_voltage_drop_limit_pct")),
        "feeder_load_rate": np.broadcast_to(lr_limit[:, None], full),
        "transformer_load_rate": np.broadcast_to(tr_limit[:, None], full),
        "transformer_unit_loading": np.full(full, policy.param("transformer_unit_loading_limit")),
        "spare_bays": np.broadcast_to(bay_min[:, None].astype(float), full),
        "customers_on_feeder": np.full(full, policy.param("max_customers_per_feeder")),
        "dedicated_feeder": np.full(full, policy.param("dedicated_feeder_min_kva")),
        "pv_voltage_rise": np.full(full, rise_limit),
        "route_allowed": np.zeros(full),
    }
    passed = {
        "ampacity": values["ampacity"] <= limits["ampacity"],
        "path_headroom": values["path_headroom"] <= limits["path_headroom"],
        "voltage_deviation": np.abs(dev_pct) <= band,
        "network_voltage": np.abs(net_dev) <= band,
        "new_line_drop": line_drop <= limits["new_line_drop"],
        "feeder_load_rate": lr_after <= limits["feeder_load_rate"] + 1e-12,
        "transformer_load_rate": values["transformer_load_rate"] <= limits["transformer_load_rate"] + 1e-12,
        "transformer_unit_loading": values["transformer_unit_loading"] <= limits["transformer_unit_loading"] + 1e-12,
        "spare_bays": values["spare_bays"] >= limits["spare_bays"],
        "customers_on_feeder": values["customers_on_feeder"] <= limits["customers_on_feeder"],
        "dedicated_feeder": np.broadcast_to(dedicated_ok[:, None], full),
        "pv_voltage_rise": rise <= rise_limit,
        "route_allowed": np.broadcast_to(~routes.forbidden[:, None], full),
    }
    feasible = allowed.copy()
    for p in passed.values():
        feasible &= p

    # losses: new line + increment on the feeder path (other currents held at baseline)
    r_line = z_line.real
    r_path = (z_th - z_src).real
    loss_kw = 1000 * (3 * i_abs**2 * (r_line + r_path[:, None])
                      + 6 * np.real(np.conj(i) * rzi[:, None]))
    loss_kw = np.maximum(loss_kw, 0)

    # costs (CNY) and works duration (working days)
    price = cond_price[None, :]
    prop_km = min(policy.param("property_boundary_m") / 1000.0, 1e9)
    util_km = np.maximum(km - prop_km, 0)[:, None]
    cust_km = np.minimum(km, prop_km)[:, None]
    civil = np.where(construction == "cable", policy.cost("civil_per_km", "cable"),
                     policy.cost("civil_per_km", "overhead"))[:, None]
    crossing = routes.crossing_cost_cny[:, None]
    bay_key = np.array([_bay_key(kd, U) for kd in cand.kind])
    bay_cost = np.array([policy.cost("bay", b) for b in bay_key])[:, None]
    line_util = util_km * (price + civil)
    line_cust = cust_km * (price + civil)
    cost_utility = line_util + crossing + bay_cost
    cost_parts = {"line": np.broadcast_to(line_util, full), "crossings": np.broadcast_to(crossing, full),
                  "bay": np.broadcast_to(bay_cost, full)}
    rates = {k: float(v) for k, v in policy.mapping("construction_rates", "item", "value").items()}
    km_per_day = np.where(construction == "cable", rates["cable_km_per_workday"],
                          rates["overhead_km_per_workday"])
    bay_days = np.where(cand.kind == K_TAP, rates["tap_workdays"],
                        np.where(cand.kind == K_EXISTING, 0, rates["bay_workdays"]))
    works_days = np.ceil(km / km_per_day + bay_days + rates["fixed_utility_workdays"])
    score = (policy.param("weight_cost") * (cost_utility + line_cust)
             + policy.param("weight_workday_cny") * works_days[:, None]
             + policy.param("weight_loss_cny_per_kw") * loss_kw
             + policy.param("weight_reliability_cny") * (~n1 & (f >= 0))[:, None])
    return Options(cand, routes, conductors, construction, allowed, values, limits, passed,
                   feasible, i_abs, v_pu, drop_pct, loss_kw, lr_before, lr_after, tr_rate,
                   cost_utility, line_cust, cost_parts, works_days, score, n1)


def _bay_key(kind: int, vn_kv: float) -> str:
    name = KINDS[kind]
    if name == "busbar":
        return "substation_35kv" if vn_kv >= 35 else "substation"
    return name


def _ss_sum(cn: CompiledNetwork) -> np.ndarray:
    """Sum of feeder peaks per substation where the substation's own peak is not measured."""
    ok = cn.feeder_substation >= 0
    return np.bincount(cn.feeder_substation[ok], weights=cn.feeder_peak_mw[ok],
                       minlength=len(cn.ss_ids))


def best_conductor(opts: Options) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: the lowest-score feasible conductor (index, or -1) and its score."""
    sc = np.where(opts.feasible, opts.score, np.inf)
    t = np.argmin(sc, axis=1) if sc.size else np.zeros(0, np.int64)
    best = sc[np.arange(sc.shape[0]), t] if sc.size else np.zeros(0)
    return np.where(np.isfinite(best), t, -1), best


_NAMES = tuple(CHECKS)
_DEDICATED = _NAMES.index("dedicated_feeder")


def binding_many(opts: Options, cs: np.ndarray, ts: np.ndarray) -> list[tuple[str, float]]:
    """:func:`binding_check` for many options at once."""
    util = opts.utilisation_at(cs, ts)
    failing = np.stack([~opts.passed[k][np.asarray(cs), np.asarray(ts)] for k in _NAMES], 1)
    any_fail = failing.any(axis=1)
    pool = np.where(any_fail[:, None], failing, True)
    pool[~any_fail, _DEDICATED] = False  # the dedicated-feeder rule binds only when it fails
    j = np.argmax(np.where(pool, util, -np.inf), axis=1)
    return [(_NAMES[jj], float(util[i, jj])) for i, jj in enumerate(j)]


def binding_check(opts: Options, c: int, t: int) -> tuple[str, float]:
    """The failing check furthest beyond its limit for option (c, t), or, when all pass, the
    one closest to its limit (the dedicated-feeder rule only binds when it fails)."""
    return binding_many(opts, np.array([c]), np.array([t]))[0]
