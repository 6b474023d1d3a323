"""What the checks read: the sites (candidates), the new line, the load and the power flow.

Everything is an array that broadcasts: candidate quantities are columns ``(R, 1)``; conductor
quantities rows ``(1, T)`` when every conductor of every candidate is evaluated, or columns
``(R, 1)`` when one option per row is; the load is a scalar, or ``(R, G)`` when the largest
capacity of R options is searched over G demand steps. The same check functions serve both.

Voltage at the customer solves the Thevenin equivalent seen from the connection point
(cumulative feeder impedance from the busbar plus the main transformer behind it, the baseline
voltage from the network's backward/forward sweep) with a constant-power load, in closed form:
with ``u = |V|^2``, ``V0 = V + Z conj(S) / conj(V)`` gives
``u^2 + (2 Re(Z conj(S)) - |V0|^2) u + |Z|^2 |S|^2 = 0``; the upper root is the operating point
and ``V = (u + conj(Z) S) / conj(V0)``. This is the exact solution of the radial network with
the other loads held at their baseline currents (tests compare it with pandapower's AC power
flow); a load beyond the nose of the PV curve has no solution and gives NaN, which fails every
check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from grid_models.compiled import SQRT3, CompiledNetwork
from grid_models.policy import Policy
from grid_models.policy_schema import Parameters

from .. import rules, short_circuit
from ..candidates import IS_BAY_KIND, K_BUSBAR, K_TAP, Candidates
from ..frame_columns import column
from ..routing import Routes
from ..short_circuit import SiteShortCircuit
from ..supply_area import area_class_at, radius_limit_km


@dataclass(frozen=True)
class Site:
    """Per-candidate quantities, each ``(R, 1)`` unless noted."""

    u_kv: float
    kind: np.ndarray  # (R,) index into candidates.KINDS
    feeder: np.ndarray  # (R,) feeder index, -1 for a new dedicated feeder
    z_src: np.ndarray  # complex ohm behind the busbar (one main transformer)
    z_th: np.ndarray  # complex ohm from the source to the connection point
    v0: np.ndarray  # complex kV at the connection point, baseline
    v_bb0: np.ndarray  # kV magnitude of the busbar, baseline
    headroom_ka: np.ndarray  # min over the path of rating - baseline current
    rzi: np.ndarray  # sum over the path of R * I0 (complex; loss increments)
    feeder_min_pu: np.ndarray  # lowest baseline voltage on the feeder (inf: new feeder)
    section_min_pu: np.ndarray  # lowest baseline voltage fed from the bus section
    same_feeder: np.ndarray  # (R, 1) bool: the present connection's feeder (increase)
    feeder_peak_mva: np.ndarray
    feeder_rated_mva: np.ndarray  # nan for a new feeder
    load_rate_limit: np.ndarray
    n1_transfer: np.ndarray  # (R,) bool
    substation_load_mva: np.ndarray
    substation_firm_mva: np.ndarray  # n units x rating
    transformer_limit: np.ndarray
    unit_load_mva: np.ndarray
    unit_mva: np.ndarray
    spare_bays: np.ndarray
    min_spare_bays: np.ndarray
    customers_after: np.ndarray
    dedicated: np.ndarray  # bool: a new dedicated feeder from a substation bay
    km: np.ndarray  # route length
    supply_path_km: np.ndarray  # line from the source busbar to the connection point
    radius_limit_km: float  # supply radius of the customer's supply-area class
    forbidden: np.ndarray  # float 0/1: the route crosses a forbidden zone
    construction: np.ndarray  # (R,) "cable" / "overhead"
    sc: SiteShortCircuit | None = None  # short-circuit levels at the connection points

    def take(self, rows: np.ndarray) -> Site:
        """The sites of ``rows`` (for searching the capacity of chosen options)."""
        kw: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            kw[name] = (v[rows] if isinstance(v, np.ndarray)
                        else v.take(rows) if isinstance(v, SiteShortCircuit) else v)
        return Site(**kw)


@dataclass(frozen=True)
class Line:
    """The new line's conductor(s): ohm/km and kA, ``(1, T)`` or ``(R, 1)``."""

    r_ohm_per_km: np.ndarray
    x_ohm_per_km: np.ndarray
    max_i_ka: np.ndarray
    # short-circuit data (the checks that need them are not load-dependent, so the capacity
    # search may leave them out): cross-section, thermal constant k, min-case R factor
    cross_section_mm2: np.ndarray | None = None
    k_a_s05_per_mm2: np.ndarray | None = None
    r_min_factor: np.ndarray | None = None


@dataclass(frozen=True)
class Load:
    """The customer's demand (scalars, or arrays of the search grid).

    ``s_mva`` is the complex demand each circuit carries (N-1 sizing: all of it); ``inc_same``
    what the present connection's feeder gains (a capacity increase); ``kva`` the applied
    transformer capacity the kVA rules compare.
    """

    s_mva: complex | np.ndarray
    inc_same_mva: complex | np.ndarray
    kva: float | np.ndarray
    pv_export_mw: float = 0.0
    scr_min: float = 0.0  # policy minimum short-circuit ratio (impact/harmonic/EV loads; 0 none)


@dataclass(frozen=True)
class Flow:
    """The load-flow at each option (shapes of the broadcast)."""

    i_ka: np.ndarray  # complex line current
    i_abs: np.ndarray
    v_kv: np.ndarray  # complex customer voltage
    z_line: np.ndarray  # complex ohm of the new line
    inc_mva: np.ndarray  # what the feeder / transformer gains


@dataclass(frozen=True)
class CheckInputs:
    """Everything a check function reads."""

    site: Site
    line: Line
    load: Load
    flow: Flow
    params: Parameters
    band_pct: float  # allowed |deviation| at the point of supply (voltage_levels.csv)


def build_site(cn: CompiledNetwork, cand: Candidates, routes: Routes, policy: Policy,
               existing_feeder: int = -1, area_class: str | None = None) -> Site:
    """Per-candidate arrays for the checks (vectorised over the candidates).

    ``area_class``: the customer's supply-area class (found at the route's start if None).
    """
    p = policy.params
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
                   cn.seg_max_i_ka[seg] * p.line_loading_limit - np.abs(i_child)),
        cn.path_headroom_ka[k])
    headroom = np.where(cand.kind == K_BUSBAR, np.inf, headroom)
    rzi = cn.cum_rz_i0[par] + np.where(is_tap, frac * cn.seg_z_ohm[seg].real * i_child, 0)
    # construction of the new line: overhead for taps, cable into RMUs / switching stations,
    # else by the share of the street part along cable-class streets (no street part: the
    # class of the customer's own street)
    own_cable = 1.0 if routes.customer_construction == "cable" else 0.0
    cab_share = np.where(routes.road_m > 1.0, routes.road_cable_m / np.maximum(routes.road_m, 1e-9),
                         own_cable)
    construction = np.where(is_tap | (cab_share < p.cable_route_share_min), "overhead", "cable")
    is_bay = IS_BAY_KIND[cand.kind]
    construction = np.where(is_bay, "cable", construction)
    f = cand.feeder
    has_f = f >= 0
    fi = np.maximum(f, 0)
    fmin = np.where(has_f, cn.feeder_min_vm_pu[fi], np.inf)
    fpk = np.where(has_f, cn.feeder_peak_mw[fi] / cn.feeder_pf[fi], 0.0)
    frat = np.where(has_f, cn.feeder_rated_mva[fi], np.nan)
    modes = np.where(has_f, cn.feeder_mode[fi], "dedicated")
    lr_limit, n1 = rules.load_rate_limit(policy, modes)
    ss = np.maximum(cand.substation, 0)
    ss_peak = cn.ss_load_mw[ss]
    spare = np.where(is_bay, cn.node_spare_bays[k],
                     np.where(cand.kind == K_BUSBAR, cn.bs_spare_bays[bs], 0))
    bay_min = np.where(is_bay, p.min_spare_bays_rmu,
                       np.where(cand.kind == K_BUSBAR, p.min_spare_bays_substation, 0))
    ncust = np.where(has_f, cn.feeder_n_customers[fi] + (f != existing_feeder), 0)
    path_km = cn.cum_len_km[par] + np.where(is_tap, frac * cn.seg_length_km[seg], 0.0)
    if area_class is None:
        area_class = area_class_at(cn, routes._xy, policy)[0]
    radius = radius_limit_km(policy, area_class, cand.vn_kv)

    def col(a: np.ndarray) -> np.ndarray:
        return np.asarray(a)[:, None]

    return Site(
        u_kv=float(cand.vn_kv), kind=cand.kind, feeder=f, z_src=col(z_src), z_th=col(z_th),
        v0=col(v0), v_bb0=col(cn.bs_vm_pu[bs] * cand.vn_kv), headroom_ka=col(headroom),
        rzi=col(rzi), feeder_min_pu=col(fmin), section_min_pu=col(cn.bs_min_vm_pu[bs]),
        same_feeder=col(has_f & (f == existing_feeder)), feeder_peak_mva=col(fpk),
        feeder_rated_mva=col(frat), load_rate_limit=col(lr_limit), n1_transfer=n1,
        substation_load_mva=col(ss_peak / cn.ss_pf[ss]),
        substation_firm_mva=col(cn.ss_n_transformers[ss] * cn.ss_transformer_mva[ss]),
        transformer_limit=col(rules.transformer_limit(policy, cn.ss_n_transformers[ss])),
        unit_load_mva=col(cn.bs_load_mva[bs]), unit_mva=col(cn.bs_unit_mva[bs]),
        spare_bays=col(spare.astype(float)), min_spare_bays=col(bay_min.astype(float)),
        customers_after=col(ncust.astype(float)), dedicated=col(cand.kind == K_BUSBAR),
        km=col(routes.length_m / 1000.0), supply_path_km=col(path_km), radius_limit_km=radius,
        forbidden=col(routes.forbidden.astype(float)),
        construction=construction, sc=short_circuit.at_sites(cn, cand, policy))


def line_of(conductors: pd.DataFrame) -> Line:
    """Every conductor of the level as rows ``(1, T)``."""
    def row(name: str) -> np.ndarray | None:
        return column(conductors, name)[None, :] if name in conductors else None

    return Line(column(conductors, "r_ohm_per_km")[None, :],
                column(conductors, "x_ohm_per_km")[None, :],
                column(conductors, "max_i_ka")[None, :],
                row("cross_section_mm2"), row("k_a_s05_per_mm2"), row("r_min_factor"))


def solve_flow(site: Site, line: Line, load: Load) -> Flow:
    """Current and voltage of every option (closed form, see the module docstring)."""
    z_line = site.km * (line.r_ohm_per_km + 1j * line.x_ohm_per_km)
    z_tot = site.z_th + z_line
    s = np.asarray(load.s_mva)
    zs = z_tot * np.conj(s)
    v0sq = site.v0.real ** 2 + site.v0.imag ** 2
    b = v0sq - 2 * zs.real
    with np.errstate(invalid="ignore"):
        u = 0.5 * (b + np.sqrt(b * b - 4 * (zs.real ** 2 + zs.imag ** 2)))
        v = (u + np.conj(zs)) / np.conj(site.v0)
        i = np.conj(s / (SQRT3 * v))
    inc = np.where(site.same_feeder, np.abs(np.asarray(load.inc_same_mva)), np.abs(s))
    return Flow(i, np.abs(i), v, z_line, inc)


def check_inputs(site: Site, line: Line, load: Load, policy: Policy) -> CheckInputs:
    """Solve the flow and bundle what the checks read."""
    return CheckInputs(site, line, load, solve_flow(site, line, load), policy.params,
                       policy.voltage_level(site.u_kv).band_pct)
