"""Capacity: the customer's transformers and how far each scheme could grow.

1. :func:`recommend_transformers` — from the design demand and the tier, the customer's
   transformer configuration (standard unit ratings, number of units, N-1 for the tiers that
   need it, an economic load-rate band: policy data) and the approved capacity (核定容量); when the
   application's own configuration differs, both and why.
2. :class:`SchemeCapacity` — for every chosen circuit, the largest applied capacity (kVA) its
   connection and line take with every rejecting check still passing, and the check that stops
   it. The search evaluates the same check registry as the plan (so "one kVA more fails the
   named check" holds by construction), vectorised over the options and a grid of demands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grid_models.errors import InputError
from grid_models.policy import Policy
from load_forecast.transformers import parse_config

from . import rules
from .application import Application
from .checks import Line, Load, active_checks, check_inputs
from .checks.base import fill
from .demand import Demand
from .evaluation import Options
from .frame_columns import column
from .short_circuit import scr_minimum

#: the pseudo-check that bounds a scheme's capacity when the rules stop offering its voltage
LEVEL_RANGE = ("voltage_level_range", "电压等级适用容量上限", "capacity range of the voltage level")
#: reasons that make an application's own configuration break a rule (the rest is advice)
VIOLATIONS = frozenset({"no_n1", "n1_overload", "overloaded", "oversized", "non_standard_rating"})
GRID_FIRST = 48  # geometric steps from the requested kVA to the search limit
GRID_REFINE = 48  # linear steps inside a bracket
MAX_INTEGER_STEPS = 64


# ------------------------------------------------------------------ customer transformers
@dataclass(frozen=True)
class _Config:
    n: int
    unit_kva: float

    @property
    def installed(self) -> float:
        return self.n * self.unit_kva

    @property
    def text(self) -> str:
        return f"{self.n}x{self.unit_kva:g}"


def recommend_transformers(policy: Policy, app: Application, demand: Demand,
                           mode: rules.SupplyMode, levels: list[float]) -> dict[str, Any] | None:
    """The recommended customer transformer configuration and the approved capacity.

    The design demand (kVA) must fit the units in normal operation at most at the economic
    band's upper load rate, and, for tiers with ``n1_transformers`` (tiers.csv), with one unit
    out the rest must carry it at most at ``customer_transformer_n1_emergency_loading``
    (GB 50053-2013 cl. 3.3.2). Among the standard ratings of the supply voltage
    (customer_transformers.csv) the fewest units win, then the installed capacity nearest the
    applied one (an application's kVA is the customer's own sizing), then the smallest.
    Single-source configurations loaded below the band's lower rate are used only when
    nothing else fits; N-1 configurations are exempt from the lower rate (their spare unit is
    the point).

    Returns
    -------
    dict or None
        ``None`` when no voltage level applies. Otherwise ``voltage_kv``, ``design_demand_kva``,
        ``n1_required``, ``recommended`` {``config``, ``n_units``, ``unit_kva``,
        ``installed_kva``, ``load_rate``, ``n1_load_rate``}, ``requested`` (same keys, what the
        application asked for), ``approved_kva`` (核定容量: the applied capacity when it keeps
        every rule, else the recommended one), ``differs`` and ``reasons`` [{code, zh, en}].
    """
    if not levels:
        return None
    p = policy.params
    vn = float(levels[0])
    s_kva = math.hypot(demand.p_mw, demand.q_mvar) * 1000
    n1 = rules.needs_n1_transformers(policy, mode.tier)
    ratings = _ratings(policy, vn)
    if ratings.size == 0:
        return None
    lo, hi, emerg = (p.customer_transformer_economic_load_low,
                     p.customer_transformer_economic_load_high,
                     p.customer_transformer_n1_emergency_loading)
    req = _requested(app)
    k_req = req.installed if req else float(app.requested_kva)
    best: tuple[tuple[float, ...], _Config] | None = None
    for n in range(2 if n1 else 1, p.customer_transformer_max_units + 1):
        for u in ratings:
            cfg = _Config(n, float(u))
            if s_kva / cfg.installed > hi + 1e-9:
                continue
            if n1 and s_kva / ((n - 1) * u) > emerg + 1e-9:
                continue
            economic = n1 or s_kva / cfg.installed >= lo - 1e-9
            key = (0.0 if economic else 1.0, float(n), abs(cfg.installed - k_req), cfg.installed)
            if best is None or key < best[0]:
                best = (key, cfg)
    out: dict[str, Any] = {"voltage_kv": vn, "design_demand_kva": round(s_kva, 1),
                           "n1_required": n1,
                           "economic_load_rate": [lo, hi]}
    if best is None:
        out.update(recommended=None, requested=_describe(req, s_kva, n1), approved_kva=None,
                   differs=True, reasons=[_reason(
                       "no_standard_configuration",
                       f"{p.customer_transformer_max_units} 台以内的标准容量变压器无法满足设计需量 "
                       f"{s_kva:.0f} kVA", f"no configuration of at most "
                       f"{p.customer_transformer_max_units} standard units carries the design "
                       f"demand of {s_kva:.0f} kVA")])
        return out
    cfg = best[1]
    rec = _describe(cfg, s_kva, n1)
    if req is None and math.isclose(cfg.installed, k_req):
        reasons = []  # the applied total is the recommended one; only the split is added
    else:
        reasons = _differences(req, cfg, s_kva, n1, lo, hi, emerg, ratings, k_req)
    # 核定容量: the applied capacity when it keeps every rule, else the recommended one
    violations = [r for r in reasons if r["code"] in VIOLATIONS]
    if req is None and reasons:
        # only a total was applied for: it is kept when some split of it into equal standard
        # units keeps every rule (N-1 included)
        compliant = any(_keeps_rules(_Config(n, float(u)), s_kva, n1, lo, hi, emerg)
                        for n in range(1, p.customer_transformer_max_units + 1) for u in ratings
                        if math.isclose(n * u, k_req))
    else:
        compliant = not violations
    approved = k_req if compliant else cfg.installed
    out.update(recommended=rec, requested=_describe(req, s_kva, n1), approved_kva=approved,
               differs=bool(reasons), reasons=reasons)
    return out


def _ratings(policy: Policy, vn: float) -> np.ndarray:
    """Standard unit ratings at a level (customer_transformers.csv), cached per profile."""
    cache = policy.__dict__.setdefault("_customer_ratings", {})
    lv = policy.voltage_level(vn).vn_kv
    if lv not in cache:
        t = policy.table("customer_transformers")
        r = np.sort(t.loc[np.isclose(t["hv_kv"], lv), "kva"].to_numpy(float))
        if r.size:
            r = r[r <= r.max() * policy.params.customer_transformer_max_standard_kva_share]
        cache[lv] = r
    return cache[lv]


def _keeps_rules(cfg: _Config, s_kva: float, n1: bool, lo: float, hi: float,
                 emerg: float) -> bool:
    """Normal load rate within the band (the lower bound waived for N-1) and, where N-1 is
    required, the remaining units carrying the demand."""
    rate = s_kva / cfg.installed
    if rate > hi + 1e-9 or (not n1 and rate < lo - 1e-9):
        return False
    return not n1 or (cfg.n >= 2 and s_kva / ((cfg.n - 1) * cfg.unit_kva) <= emerg + 1e-9)


def _requested(app: Application) -> _Config | None:
    """The application's own configuration (None when it gives only a total)."""
    if app.transformer_config:
        try:
            c = parse_config(app.transformer_config)
        except InputError:
            return None
        units = [u for u in c.units if not u.standby]
        if len({u.kva for u in units}) == 1:
            return _Config(sum(u.count for u in units), units[0].kva)
        return _Config(1, c.in_service_kva)  # mixed sizes: compared by total only
    return None


def _describe(cfg: _Config | None, s_kva: float, n1: bool) -> dict[str, Any] | None:
    if cfg is None:
        return None
    return {"config": cfg.text, "n_units": cfg.n, "unit_kva": cfg.unit_kva,
            "installed_kva": cfg.installed, "load_rate": round(s_kva / cfg.installed, 4),
            "n1_load_rate": round(s_kva / ((cfg.n - 1) * cfg.unit_kva), 4) if cfg.n > 1 else None}


def _reason(code: str, zh: str, en: str) -> dict[str, str]:
    return {"code": code, "zh": zh, "en": en}


def _differences(req: _Config | None, rec: _Config, s_kva: float, n1: bool, lo: float,
                 hi: float, emerg: float, ratings: np.ndarray, k_req: float
                 ) -> list[dict[str, str]]:
    if req is None:
        return [_reason("total_differs",
                        f"申请容量 {k_req:g} kVA 未给出台数；按设计需量 {s_kva:.0f} kVA"
                        + ("及N-1要求" if n1 else "") + f"推荐 {rec.text} kVA",
                        f"the application gives {k_req:g} kVA without units; the design demand "
                        f"of {s_kva:.0f} kVA" + (" and N-1" if n1 else "")
                        + f" call for {rec.text} kVA")]
    if req.n == rec.n and math.isclose(req.unit_kva, rec.unit_kva):
        return []
    out = []
    rate = s_kva / req.installed
    if n1 and req.n < 2:
        out.append(_reason("no_n1", "重要客户需两台及以上变压器，一台停运时其余能带全部一、二级负荷",
                           "an important customer needs two or more units so that the rest "
                           "carry the load with one out (GB 50053-2013 cl. 3.3.2)"))
    elif n1 and s_kva / ((req.n - 1) * req.unit_kva) > emerg + 1e-9:
        out.append(_reason("n1_overload", f"一台停运时其余变压器负载率 "
                           f"{s_kva / ((req.n - 1) * req.unit_kva):.0%}，超过 {emerg:.0%}",
                           f"with one unit out the rest would be loaded at "
                           f"{s_kva / ((req.n - 1) * req.unit_kva):.0%}, above {emerg:.0%}"))
    if rate > hi + 1e-9:
        out.append(_reason("overloaded", f"正常运行负载率 {rate:.0%} 高于经济上限 {hi:.0%}",
                           f"normal load rate {rate:.0%} above the economic maximum {hi:.0%}"))
    elif rate < lo - 1e-9 and not n1:
        out.append(_reason("oversized", f"正常运行负载率 {rate:.0%} 低于经济下限 {lo:.0%}（容量偏大）",
                           f"normal load rate {rate:.0%} below the economic minimum {lo:.0%} "
                           "(oversized)"))
    if not np.isclose(ratings, req.unit_kva).any():
        out.append(_reason("non_standard_rating", f"单台 {req.unit_kva:g} kVA 不是标准容量",
                           f"{req.unit_kva:g} kVA is not a standard unit rating"))
    if not out:
        out.append(_reason("smaller_configuration", f"推荐配置 {rec.text} kVA 同样满足要求且装机更小或台数更少",
                           f"the recommended {rec.text} kVA meets the same rules with less "
                           "installed capacity or fewer units"))
    return out


# ------------------------------------------------------------------ largest capacity
class SchemeCapacity:
    """Largest applied capacity of chosen options (see module docstring).

    Parameters
    ----------
    policy : Policy
    app : Application
        The application (its requested kVA and voltage level range).
    demand : Demand
        Its design demand: the demand per kVA is ``increment / requested_kva`` (the design
        demand is linear in the applied kVA), plus the fixed existing part of an increase.
    """

    def __init__(self, policy: Policy, app: Application, demand: Demand) -> None:
        self.policy = policy
        self.k0 = float(app.requested_kva)
        s_inc = complex(demand.increment_p_mw, demand.increment_q_mvar)
        self.s_per_kva = s_inc / self.k0
        self.s_fixed = complex(demand.p_mw, demand.q_mvar) - s_inc
        self.pv_mw = app.load.pv_export_kw / 1000.0
        self.scr_min = scr_minimum(policy, app.load)[0]

    def options(self, o: Options, cs: np.ndarray, ts: np.ndarray) -> list[dict[str, Any]]:
        """Largest kVA of each option (cs[i], ts[i]) at one level, with the check that stops
        it: ``{"max_kva", "binding", "label_zh", "label_en"}``.

        Three vectorised evaluations of the rejecting load-dependent checks: a geometric grid
        from the requested kVA to the limit brackets the first failure, a linear grid narrows
        the bracket (repeated while it is wider than a few kVA), whole kVA finish it; the first
        failing whole kVA names the check.
        """
        cs, ts = np.asarray(cs, np.int64), np.asarray(ts, np.int64)
        if cs.size == 0:
            return []
        # alternatives share circuits (dual supply): search each distinct option once
        # (one integer key per pair: np.unique along an axis costs ~0.1 ms)
        key = cs * (int(ts.max()) + 1) + ts
        keys, first, back = np.unique(key, return_index=True, return_inverse=True)
        if keys.size < cs.size:
            uniq = self.options(o, cs[first], ts[first])
            return [dict(uniq[int(i)]) for i in np.ravel(back)]
        p = self.policy.params
        specs, flag_only = active_checks(self.policy)
        specs = tuple(sp for sp in specs if sp.load_dependent and sp.name not in flag_only)
        site = o.inputs.site.take(cs)
        cond = o.conductors
        line = Line(column(cond, "r_ohm_per_km")[ts][:, None],
                    column(cond, "x_ohm_per_km")[ts][:, None],
                    column(cond, "max_i_ka")[ts][:, None])
        level_max = self.policy.voltage_level(site.u_kv).max_kva
        k_hi = min(self.k0 * p.capacity_search_max_factor, level_max, p.max_plausible_kva)

        def failing(k: np.ndarray) -> np.ndarray:
            """(rows, steps, checks): which check fails at each demand step."""
            load = Load(self.s_fixed + k * self.s_per_kva, k * self.s_per_kva, k, self.pv_mw,
                        self.scr_min)
            x = check_inputs(site, line, load, self.policy)
            return np.stack([~fill(sp.passed(*sp.compute(x)), k.shape)
                             for sp in specs], axis=-1)

        n = cs.size
        rows = np.arange(n)
        lo = np.full(n, self.k0)  # passes (the option is feasible at the requested kVA)
        hi = np.full(n, np.inf)  # fails
        if k_hi > self.k0:
            grid = self.k0 * (k_hi / self.k0) ** (np.arange(1, GRID_FIRST + 1) / GRID_FIRST)
            lo, hi = _narrow(np.asarray(failing(np.broadcast_to(grid, (n, GRID_FIRST))).any(axis=-1)),
                             np.broadcast_to(grid, (n, GRID_FIRST)), lo, hi)
        while True:
            wide = np.isfinite(hi) & (hi - lo > MAX_INTEGER_STEPS - 2)
            if not wide.any():
                break
            steps = lo[:, None] + (hi - lo)[:, None] * (np.arange(1, GRID_REFINE + 1)
                                                        / (GRID_REFINE + 1))
            steps = np.where(wide[:, None], steps, lo[:, None])
            lo, hi = _narrow(np.asarray(failing(steps).any(axis=-1)), steps, lo, hi)
        fin = np.isfinite(hi)
        ints = np.floor(lo)[:, None] + np.arange(MAX_INTEGER_STEPS)
        ints = np.minimum(ints, np.where(fin, hi, lo)[:, None])
        fails: np.ndarray = failing(ints) & (ints > lo[:, None])[..., None]  # <= lo passes
        bad: np.ndarray = np.asarray(fails.any(axis=-1))
        first = np.where(bad.any(axis=1), np.argmax(bad, axis=1), MAX_INTEGER_STEPS)
        best = np.where(first > 0, ints[rows, np.maximum(first - 1, 0)], lo)
        out = []
        for i in range(n):
            if not fin[i] or first[i] >= MAX_INTEGER_STEPS:
                name, zh, en = LEVEL_RANGE if k_hi >= level_max else (
                    "search_limit", "搜索上限", "search limit")
                kmax = float(np.floor(k_hi))
            else:
                sp = specs[int(np.argmax(fails[i, first[i]]))]
                name, zh, en = sp.name, sp.label_zh, sp.label_en
                kmax = float(np.floor(best[i]))
            out.append({"max_kva": kmax, "binding": name, "label_zh": zh, "label_en": en})
        return out


def _narrow(bad: np.ndarray, grid: np.ndarray, lo: np.ndarray, hi: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """New (lo, hi) per row from failures on an increasing grid inside (lo, hi): hi is the
    first failing step, lo the step before it (or the grid's end when none fails)."""
    n = grid.shape[0]
    any_bad = bad.any(axis=1)
    j = np.argmax(bad, axis=1)
    prev = np.where(j > 0, grid[np.arange(n), np.maximum(j - 1, 0)], lo)
    new_hi = np.where(any_bad, grid[np.arange(n), j], hi)
    new_lo = np.where(any_bad, prev, grid[:, -1])
    return np.maximum(new_lo, lo), new_hi
