"""Short-circuit currents (IEC 60909-0:2016) at connection points and at the customer end of a
new line, and what the short-circuit checks, the output and the power-quality report read.

Method: the equivalent voltage source ``c U_n / sqrt(3)`` at the fault location, balanced
three-phase fault, far from generators, on the compiled radial forest::

    I''k = c U_n / (sqrt(3) |Z_k|),   Z_k = Z_S(bus section) + Z_path(busbar -> point) [+ Z_line]
    S''k = sqrt(3) U_n I''k

``Z_S`` (per network version and policy, :func:`network_short_circuit`, cached):

- the network feeder ``Z_Q`` of the substation referred to the section's voltage (rated ratio =
  nominal ratio; ``CompiledNetwork.bs_z_q_max_ohm`` / ``bs_z_q_min_ohm``, IEC 60909-0 §6.2);
- the main transformer ``Z_T`` (``bs_z_trafo_ohm``, §6.3) times the correction factor
  ``K_T = 0.95 c_max / (1 + 0.6 x_T)`` (§6.3.3) in the maximum case only, as pandapower's
  ``calc_sc`` applies it (K_T < 1: the maximum current rises; without it the minimum-case
  impedance is the larger one, on the safe side for protection reach);
- bus sections joined by closed bus couplers (``bs_coupled_group``) feed a fault together:
  the transformers of one substation in parallel behind its common ``Z_Q``, several
  substations' branches in parallel.

Maximum case: ``c_max``, ``S''kQmax``, ``(R/X)max``, ``K_T``, line resistances at 20 °C.
Minimum case: ``c_min``, ``S''kQmin``, ``(R/X)min``, no ``K_T``, line resistances at the
end-of-fault temperature ``R_L = (1 + alpha (theta_e - 20 °C)) R_L20`` (``theta_e`` by
construction and voltage level: policy ``short_circuit_protection.csv``), the network's
operating configuration (the same transformers and couplers as the maximum case).
Neglected, and said so in every output: motor contributions, generator and inverter (PV,
storage) contributions, loads and line capacitances (IEC 60909-0 neglects the last for the
positive sequence). Per request only the candidates' rows and the new line are computed
(:func:`at_sites`, :func:`option_levels`); nothing loops over network elements.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from grid_models.compiled import SQRT3, CompiledNetwork
from grid_models.errors import PolicyError
from grid_models.policy import Policy

from .candidates import K_TAP, Candidates

STANDARD = "IEC 60909-0:2016"
HARMONIC_STANDARD = "GB/T 14549-1993"
#: assumed insulation of a conductor type that names none (standard types without the column)
DEFAULT_INSULATION = {"cable": "XLPE", "overhead": "bare"}
NEGLECTED = ("motor_contributions", "generator_and_inverter_contributions",
             "loads_and_line_capacitance")


# ------------------------------------------------------------------ policy look-ups
def _nearest_row(table: pd.DataFrame, vn_kv: float) -> int:
    """Row of a by-voltage table nearest ``vn_kv`` on a log scale (a 10.5 kV network uses 10)."""
    lv = table["vn_kv"].to_numpy(float)
    return int(np.argmin(np.abs(np.log(lv / max(float(vn_kv), 1e-9)))))


@dataclass(frozen=True)
class Protection:
    """One row of ``short_circuit_protection.csv`` (the level nearest the network's)."""

    vn_kv: float
    clearing_time_s: float
    pickup_multiple: float
    sensitivity: float
    fault_current_factor: float
    theta_end_cable_c: float
    theta_end_overhead_c: float
    alpha_per_k: float

    def r_factor(self, overhead: np.ndarray | bool) -> np.ndarray:
        """Resistance factor at the end-of-fault temperature (minimum case) by construction."""
        theta = np.where(overhead, self.theta_end_overhead_c, self.theta_end_cable_c)
        return 1.0 + self.alpha_per_k * (theta - 20.0)


def protection(policy: Policy, vn_kv: float) -> Protection:
    """The protection / thermal-check settings of a voltage level (cached per policy)."""
    cache = policy.__dict__.setdefault("_sc_protection", {})
    hit = cache.get(vn_kv)
    if hit is None:
        t = policy.table("short_circuit_protection")
        r = t.iloc[_nearest_row(t, vn_kv)]
        hit = cache[vn_kv] = Protection(
            float(r["vn_kv"]), float(r["clearing_time_s"]), float(r["pickup_multiple"]),
            float(r["sensitivity"]), float(r["fault_current_factor"]),
            float(r["theta_end_cable_c"]), float(r["theta_end_overhead_c"]),
            float(r["resistance_temp_coeff_per_k"]))
    return hit


def switchgear_ratings(policy: Policy, vn_kv: float) -> tuple[float, ...]:
    """Standard breaking currents (kA, ascending) of the level nearest ``vn_kv``."""
    cache = policy.__dict__.setdefault("_sc_switchgear", {})
    hit = cache.get(vn_kv)
    if hit is None:
        t = policy.table("switchgear_ratings")
        lv = float(t["vn_kv"].iloc[_nearest_row(t, vn_kv)])
        hit = cache[vn_kv] = tuple(sorted(t.loc[np.isclose(t["vn_kv"], lv), "breaking_ka"]
                                          .astype(float)))
    return hit


def switchgear_rating(policy: Policy, vn_kv: float, ikss_max_ka: float) -> float | None:
    """The smallest standard breaking current >= ``ikss_max_ka`` (None: none suffices)."""
    for r in switchgear_ratings(policy, vn_kv):
        if r >= ikss_max_ka:
            return r
    return None


def conductor_constants(policy: Policy, conductors: pd.DataFrame, vn_kv: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Per conductor: the thermal constant k (A s^0.5/mm², by material and insulation,
    ``short_circuit_conductors.csv``) and the resistance factor of the minimum case.

    Raises
    ------
    PolicyError
        A conductor's (material, insulation) has no row in ``short_circuit_conductors.csv``.
    """
    tab = policy.table("short_circuit_conductors")
    known = {(str(m), str(i)): float(k) for m, i, k in
             zip(tab["material"], tab["insulation"], tab["k_a_s05_per_mm2"], strict=True)}
    constr = conductors["construction"].astype(str).to_numpy()
    ins = (conductors["insulation"].astype(str).to_numpy() if "insulation" in conductors
           else np.array([DEFAULT_INSULATION.get(c, "XLPE") for c in constr], dtype=object))
    mat = conductors["material"].astype(str).to_numpy()
    k = np.empty(len(conductors))
    for j, (m, i) in enumerate(zip(mat, ins, strict=True)):
        if (m, i) not in known:
            raise PolicyError(
                f"short_circuit_conductors.csv: no thermal constant for conductor "
                f"{conductors['name'].iloc[j]!r} ({m}, {i}); known (material, insulation): "
                f"{sorted(known)}", field="short_circuit_conductors")
        k[j] = known[(m, i)]
    return k, protection(policy, vn_kv).r_factor(constr == "overhead")


def scr_minimum(policy: Policy, load: Any) -> tuple[float, tuple[str, ...]]:
    """The policy's minimum short-circuit ratio for an application's load kinds (the largest
    of ``short_circuit_ratio.csv`` over impact / harmonic / EV loads; 0 when none applies)."""
    if not (getattr(load, "impact_load", False) or getattr(load, "harmonic_load", False)
            or getattr(load, "ev_charging", False)):
        return 0.0, ()
    kinds = tuple(k for k in ("impact_load", "harmonic_load", "ev_charging")
                  if bool(getattr(load, k, False)))
    table = policy.__dict__.get("_sc_ratio")
    if table is None:
        t = policy.table("short_circuit_ratio")
        table = policy.__dict__["_sc_ratio"] = dict(
            zip(t["load_kind"].astype(str), t["scr_min"].astype(float), strict=True))
    return float(max(table.get(k, 0.0) for k in kinds)), kinds


# ------------------------------------------------------------------ per network version
@dataclass(frozen=True, eq=False)
class NetworkShortCircuit:
    """Source impedances per bus section and minimum-case path impedances per node."""

    bs_z_max_ohm: np.ndarray  # complex: Z_Q,max + K_T Z_T (coupled sections in parallel)
    bs_z_min_ohm: np.ndarray  # complex: Z_Q,min + Z_T
    bs_c_max: np.ndarray
    bs_c_min: np.ndarray
    bs_k_t: np.ndarray  # K_T applied (1 where no transformation)
    bs_default: np.ndarray  # bool: the group's S''kQ or R/X came from policy defaults
    bs_trafo_default: np.ndarray  # bool: vk or vkr came from policy defaults
    node_cum_z_min_ohm: np.ndarray  # complex: busbar -> node, R at the end-of-fault temperature
    seg_z_min_ohm: np.ndarray  # complex per segment, likewise
    # per node: source + path (what a fault at the node sees), and c U_n / sqrt(3) (kV)
    node_z_max_ohm: np.ndarray
    node_z_min_ohm: np.ndarray
    node_cu_max_kv: np.ndarray
    node_cu_min_kv: np.ndarray
    feeder_pickup_limit_ka: np.ndarray  # sensitivity x pick-up multiple x outlet rating


_NETWORK_CACHE = "_short_circuit_networks"


def network_short_circuit(cn: CompiledNetwork, policy: Policy) -> NetworkShortCircuit:
    """:class:`NetworkShortCircuit` of ``cn`` under ``policy``, built once and cached (keyed by
    the compiled view, held weakly: a dropped network frees its arrays)."""
    d = policy.__dict__
    last = d.get("_short_circuit_last")  # (weak ref to cn, arrays): the usual single network
    if last is not None and last[0]() is cn:
        return last[1]
    cache = d.setdefault(_NETWORK_CACHE, weakref.WeakKeyDictionary())
    hit = cache.get(cn)
    if hit is None:
        hit = cache[cn] = _build_network(cn, policy)
    d["_short_circuit_last"] = (weakref.ref(cn), hit)
    return hit


def _build_network(cn: CompiledNetwork, policy: Policy) -> NetworkShortCircuit:
    nb, nss = len(cn.bs_ids), len(cn.ss_ids)
    ss = cn.bs_substation
    ssi = np.maximum(ss, 0)
    vn = cn.bs_vn_kv.astype(float)
    zt = cn.bs_z_trafo_ohm.astype(complex)
    # K_T with x_T relative to the rated values of the unit(s) behind the section and c_max of
    # its LV side (IEC 60909-0 §6.3.3)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_rel = zt.imag * cn.bs_unit_mva / vn**2
    direct = ~(np.abs(zt) > 0)  # no transformation between Q and the busbar (or unknown)
    k_t = np.where(direct, 1.0, 0.95 * cn.bs_c_max / (1.0 + 0.6 * np.nan_to_num(x_rel)))
    group = getattr(cn, "bs_coupled_group", None)
    if group is None or len(group) != nb:
        group = np.arange(nb, dtype=np.int64)

    def combine(zq: np.ndarray, z_tr: np.ndarray) -> np.ndarray:
        """Per section: the source impedance of its coupling group."""
        if nb == 0:
            return np.zeros(0, complex)
        key = group * max(nss, 1) + ssi
        uk, inv = np.unique(key, return_inverse=True)
        d = ~(np.abs(z_tr) > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(d, 0j, 1.0 / z_tr)
        y_t = (np.bincount(inv, weights=y.real, minlength=uk.size)
               + 1j * np.bincount(inv, weights=y.imag, minlength=uk.size))
        any_direct = np.bincount(inv, weights=d.astype(float), minlength=uk.size) > 0
        first = np.full(uk.size, -1, np.int64)
        first[inv[::-1]] = np.arange(nb)[::-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            z_pair = zq[first] + np.where(any_direct, 0j, 1.0 / y_t)
            y_pair = 1.0 / z_pair
        g_of_pair = uk // max(nss, 1)
        ug, ginv = np.unique(g_of_pair, return_inverse=True)
        y_g = (np.bincount(ginv, weights=y_pair.real, minlength=ug.size)
               + 1j * np.bincount(ginv, weights=y_pair.imag, minlength=ug.size))
        with np.errstate(divide="ignore", invalid="ignore"):
            z_g = 1.0 / y_g
        z = z_g[np.searchsorted(ug, group)]
        return np.where(ss >= 0, z, np.nan + 0j)

    z_max = combine(cn.bs_z_q_max_ohm.astype(complex), k_t * zt)
    z_min = combine(cn.bs_z_q_min_ohm.astype(complex), zt)
    dflt = cn.ss_sc_default[ssi] & (ss >= 0) if nss else np.zeros(nb, bool)
    tdflt = cn.ss_trafo_default[ssi] & (ss >= 0) if nss else np.zeros(nb, bool)
    if nb:  # a group is "from defaults" when any of its members is
        gd = np.bincount(group, weights=dflt.astype(float), minlength=group.max() + 1) > 0
        gt = np.bincount(group, weights=tdflt.astype(float), minlength=group.max() + 1) > 0
        dflt, tdflt = gd[group], gt[group]

    # minimum case: line resistances at the end-of-fault temperature, by voltage level and
    # construction of each segment
    seg_vn = np.where(cn.seg_from >= 0, cn.node_vn_kv[np.maximum(cn.seg_from, 0)], np.nan)
    fac = np.ones(len(cn.seg_ids))
    for lv in np.unique(seg_vn[np.isfinite(seg_vn)]):
        m = seg_vn == lv
        fac[m] = protection(policy, float(lv)).r_factor(cn.seg_overhead[m])
    seg_z_min = cn.seg_z_ohm.real * fac + 1j * cn.seg_z_ohm.imag
    has = cn.parent_seg >= 0
    z_up = np.zeros(cn.n_nodes, complex)
    z_up[has] = seg_z_min[cn.parent_seg[has]]
    cum = np.zeros(cn.n_nodes, complex)
    for lv in cn.levels[1:]:
        cum[lv] = cum[cn.parent[lv]] + z_up[lv]
    nbs = np.maximum(cn.node_bus_section, 0)
    fed = (cn.node_bus_section >= 0) & (nb > 0)
    nan_c = np.full(cn.n_nodes, np.nan + 0j)
    node_z_max = np.where(fed, z_max[nbs] + cn.cum_z_ohm, nan_c) if nb else nan_c
    node_z_min = np.where(fed, z_min[nbs] + cum, nan_c) if nb else nan_c
    cu = cn.node_vn_kv / SQRT3
    node_cu_max = np.where(fed, cn.bs_c_max[nbs] * cu, np.nan) if nb else cu * np.nan
    node_cu_min = np.where(fed, cn.bs_c_min[nbs] * cu, np.nan) if nb else cu * np.nan
    f_lim = np.array([protection(policy, float(v)).sensitivity
                      * protection(policy, float(v)).pickup_multiple
                      for v in cn.feeder_vn_kv]) * cn.feeder_rated_i_ka \
        if len(cn.feeder_ids) else np.zeros(0)
    return NetworkShortCircuit(z_max, z_min, cn.bs_c_max.astype(float), cn.bs_c_min.astype(float),
                               k_t, dflt, tdflt, cum, seg_z_min, node_z_max, node_z_min,
                               node_cu_max, node_cu_min, f_lim)


# ------------------------------------------------------------------ per request
@dataclass(frozen=True)
class SiteShortCircuit:
    """Short-circuit quantities of each candidate connection point, ``(R, 1)`` unless noted.

    ``cu_*`` are ``c U_n / sqrt(3)`` (kV): ``I''k = cu / |Z|``.
    """

    u_kv: float
    bs: np.ndarray  # (R,) bus section (for the output's assumptions)
    feeder: np.ndarray  # (R,) feeder, -1 for a new feeder from a substation bay
    z_max: np.ndarray  # complex ohm source -> connection point, maximum case
    z_min: np.ndarray  # minimum case
    cu_max: np.ndarray
    cu_min: np.ndarray
    ik_max: np.ndarray  # I''k max at the connection point (kA)
    ik_min: np.ndarray
    reach_limit_ka: np.ndarray  # sensitivity x feeder pick-up; NaN for a new feeder
    any_new_feeder: bool  # some reach limit is set by the new line's rating
    prot: Protection
    ratings_ka: tuple[float, ...]  # standard switchgear breaking currents of the level

    def take(self, rows: np.ndarray) -> SiteShortCircuit:
        """The rows ``rows`` (the capacity search takes chosen options)."""
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            kw[f.name] = v[rows] if isinstance(v, np.ndarray) else v
        return SiteShortCircuit(**kw)


def ikss_ka(c: np.ndarray | float, u_kv: float, z_ohm: np.ndarray | complex) -> np.ndarray:
    """IEC 60909-0 initial symmetrical three-phase short-circuit current (kA)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(c) * u_kv / (SQRT3 * np.abs(z_ohm))


def at_sites(cn: CompiledNetwork, cand: Candidates, policy: Policy) -> SiteShortCircuit:
    """Connection-point impedances and levels (max and min case) of every candidate,
    vectorised: the per-node source + path impedances are precomputed per network version, a
    tap adds its share of the tapped segment."""
    net = network_short_circuit(cn, policy)
    k = cand.node
    par = np.where(cand.kind == K_TAP, cn.parent[k], k)
    seg = np.maximum(cand.seg, 0)
    frac = cand.frac_from_parent  # 0 except for taps
    z_max = (net.node_z_max_ohm[par] + frac * cn.seg_z_ohm[seg])[:, None]
    z_min = (net.node_z_min_ohm[par] + frac * net.seg_z_min_ohm[seg])[:, None]
    cu_max = net.node_cu_max_kv[par][:, None]
    cu_min = net.node_cu_min_kv[par][:, None]
    f = cand.feeder
    reach = (np.where(f >= 0, net.feeder_pickup_limit_ka[np.maximum(f, 0)], np.nan)[:, None]
             if len(net.feeder_pickup_limit_ka) else np.full((len(cand), 1), np.nan))
    return SiteShortCircuit(
        u_kv=float(cand.vn_kv), bs=cand.bus_section, feeder=f, z_max=z_max, z_min=z_min,
        cu_max=cu_max, cu_min=cu_min, ik_max=cu_max / np.abs(z_max),
        ik_min=cu_min / np.abs(z_min), reach_limit_ka=reach, any_new_feeder=bool((f < 0).any()),
        prot=protection(policy, cand.vn_kv),
        ratings_ka=switchgear_ratings(policy, cand.vn_kv))


# ------------------------------------------------------------------ one option, for the output
def option_levels(sc: SiteShortCircuit, row: int, km: float, r_ohm_per_km: float,
                  x_ohm_per_km: float, r_min_factor: float) -> dict[str, dict[str, float]]:
    """I''k max/min and S''k at the connection point and the customer end of one option
    (plain floats: this runs for every reported circuit)."""
    s3u = math.sqrt(3) * sc.u_kv
    zc_max = complex(sc.z_max[row, 0])
    zc_min = complex(sc.z_min[row, 0])
    zl_max = km * complex(r_ohm_per_km, x_ohm_per_km)
    zl_min = km * complex(r_ohm_per_km * r_min_factor, x_ohm_per_km)
    cu_max, cu_min = float(sc.cu_max[row, 0]), float(sc.cu_min[row, 0])

    def point(z_max: complex, z_min: complex) -> dict[str, float]:
        i_max = cu_max / abs(z_max) if abs(z_max) > 0 else math.inf
        i_min = cu_min / abs(z_min) if abs(z_min) > 0 else math.inf
        return {"ikss_max_ka": round(i_max, 4), "ikss_min_ka": round(i_min, 4),
                "sk_max_mva": round(s3u * i_max, 2), "sk_min_mva": round(s3u * i_min, 2)}

    return {"connection": point(zc_max, zc_min),
            "customer": point(zc_max + zl_max, zc_min + zl_min)}


def assumptions(net: NetworkShortCircuit, bs: int, prot: Protection) -> dict[str, Any]:
    """What the numbers assume (voltage factors, K_T, temperatures, neglected contributions,
    policy defaults used), in data and in words. Cached per bus section: the returned dict is
    shared between circuits and must not be modified."""
    cache = net.__dict__.setdefault("_assumptions", {})
    key = (bs, prot.vn_kv)
    hit = cache.get(key)
    if hit is not None:
        return hit
    p = prot
    dflt = bool(net.bs_default[bs])
    tdflt = bool(net.bs_trafo_default[bs])
    zh = ["等效电压源法（IEC 60909-0:2016），三相短路，远离发电机",
          "忽略电动机、发电机及逆变型电源（光伏、储能）的短路电流贡献，忽略负荷和线路电容",
          f"最小方式线路电阻按短路结束温度（电缆 {p.theta_end_cable_c:g} °C，架空 "
          f"{p.theta_end_overhead_c:g} °C）"]
    en = ["equivalent voltage source at the fault location (IEC 60909-0:2016), three-phase, "
          "far from generators",
          "motor, generator and inverter (PV, storage) contributions neglected; loads and line "
          "capacitance neglected",
          f"minimum case: line resistance at the end-of-fault temperature (cable "
          f"{p.theta_end_cable_c:g} °C, overhead {p.theta_end_overhead_c:g} °C)"]
    if dflt:
        zh.append("电网缺少上级系统短路容量或R/X，采用政策默认值（short_circuit_sources.csv）")
        en.append("the network gives no upstream short-circuit power or R/X here: policy "
                  "defaults by voltage level used (short_circuit_sources.csv)")
    if tdflt:
        zh.append("主变短路电压或电阻分量采用政策默认值")
        en.append("main-transformer vk or vkr from policy defaults")
    hit = cache[key] = {
        "method": "equivalent_voltage_source", "fault": "three_phase",
        "c_max": float(net.bs_c_max[bs]), "c_min": float(net.bs_c_min[bs]),
        "transformer_correction_k_t": round(float(net.bs_k_t[bs]), 4), "k_t_case": "max",
        "line_temperature_min_case_c": {"cable": p.theta_end_cable_c,
                                        "overhead": p.theta_end_overhead_c},
        "neglected": list(NEGLECTED), "source_defaults_used": dflt,
        "transformer_defaults_used": tdflt, "notes_zh": zh, "notes_en": en}
    return hit


def harmonic_allowance(policy: Policy, vn_kv: float, sk_min_mva: float, agreed_mva: float,
                       supply_mva: float) -> dict[str, Any]:
    """GB/T 14549-1993 harmonic currents the customer may inject at the PCC.

    ``I_h = I_hp S_k1 / S_k2`` (Appendix B: the table's value at the reference short-circuit
    capacity scaled by the PCC's minimum short-circuit capacity) and the customer's share
    ``I_hi = I_h (S_i / S_t)^(1/alpha)`` (Appendix C: agreed capacity over the PCC's supply
    capacity, at most 1).
    """
    cache = policy.__dict__.setdefault("_sc_harmonics", {})
    hit = cache.get(vn_kv)
    if hit is None:
        t = policy.table("harmonic_current_allowance")
        lv = float(t["vn_kv"].iloc[_nearest_row(t, vn_kv)])
        rows = t[np.isclose(t["vn_kv"], lv)].sort_values("order")
        hit = cache[vn_kv] = (lv, float(rows["ref_sk_mva"].iloc[0]), tuple(zip(
            rows["order"].astype(int), rows["allowed_a"].astype(float),
            rows["alpha"].astype(float), strict=True)))
    lv, ref, orders = hit
    share = min(max(agreed_mva / supply_mva, 0.0), 1.0) if supply_mva > 0 else 1.0
    scale = sk_min_mva / ref
    allowed = {str(h): round(a * scale * share ** (1.0 / al), 3) for h, a, al in orders}
    return {"standard": HARMONIC_STANDARD, "table_level_kv": lv, "ref_sk_mva": ref,
            "sk_min_mva": round(sk_min_mva, 2), "agreed_capacity_mva": round(agreed_mva, 4),
            "supply_capacity_mva": round(supply_mva, 3), "allowed_a": allowed}


# ------------------------------------------------------------------ output blocks
THERMAL = "sc_thermal_withstand"


def sized_by_thermal_withstand(o: Any, c: int, t: int) -> int:
    """The conductor the option would have without the thermal-withstand check, when that
    check (not ampacity, drop or cost) made the choice a larger one; else -1.

    Only conductors scoring better than the chosen one can be that conductor (the choice is the
    best-scoring feasible one), and each of them must pass every other rejecting check.
    """
    res = o.checks
    passed = res.passed
    if THERMAL not in passed or THERMAL in res.flag_only:
        return -1
    score = o.score[c]
    better = np.flatnonzero(o.allowed[c] & (score < score[t]) & ~passed[THERMAL][c])
    if better.size == 0:
        return -1
    others = [passed[sp.name][c] for sp in res.specs
              if sp.name != THERMAL and sp.name not in res.flag_only]
    ok = [tp for tp in better.tolist() if all(bool(p[tp]) for p in others)]
    return min(ok, key=lambda tp: score[tp]) if ok else -1


def _names(o: Any) -> list[str]:
    """Conductor names of an Options object (kept on it: pandas look-ups cost microseconds)."""
    names = o.__dict__.get("_sc_names")
    if names is None:
        names = o.__dict__["_sc_names"] = [str(n) for n in o.conductors["name"]]
    return names


def circuit_block(o: Any, c: int, t: int, cond: dict[str, Any], net: NetworkShortCircuit
                  ) -> dict[str, Any] | None:
    """The ``short_circuit`` block of one reported circuit (option ``(c, t)`` of ``o``, an
    :class:`~scheme_engine.evaluation.Options`; ``cond`` the conductor's record from
    ``rules.conductors_for``; ``net`` :func:`network_short_circuit` of the planner): levels at
    the connection point and the customer end, the switchgear rating, the thermal minimum
    cross-section, protection reach numbers and the assumptions."""
    site = o.inputs.site
    sc = site.sc
    if sc is None:
        return None
    km = float(site.km[c, 0])
    r_fac = float(cond.get("r_min_factor", 1.0))
    lv = option_levels(sc, c, km, float(cond["r_ohm_per_km"]), float(cond["x_ohm_per_km"]),
                       r_fac)
    p = sc.prot
    i_conn = lv["connection"]["ikss_max_ka"]
    k = float(cond.get("k_a_s05_per_mm2", math.nan))
    s_min = i_conn * 1000.0 * math.sqrt(p.clearing_time_s) / k
    i_cust = lv["customer"]["ikss_max_ka"]
    rating = next((r for r in sc.ratings_ka if r >= i_cust), None)
    reach = float(sc.reach_limit_ka[c, 0])
    pickup = (reach / p.sensitivity if math.isfinite(reach)
              else p.pickup_multiple * float(cond["max_i_ka"]))
    t0 = sized_by_thermal_withstand(o, c, t)
    return {
        "standard": STANDARD,
        **lv,
        "switchgear_rating_ka": rating,
        "switchgear_ratings_ka": list(sc.ratings_ka),
        "thermal": {"min_cross_section_mm2": round(s_min, 1),
                    "cross_section_mm2": float(cond["cross_section_mm2"]),
                    "clearing_time_s": p.clearing_time_s, "k_a_s05_per_mm2": k,
                    "sized_by_thermal_withstand": t0 >= 0,
                    "smaller_conductor_refused": _names(o)[t0] if t0 >= 0 else None},
        "protection": {"pickup_ka": round(pickup, 4), "sensitivity": p.sensitivity,
                       "fault_current_factor": p.fault_current_factor,
                       "min_fault_ka": round(p.fault_current_factor
                                             * lv["customer"]["ikss_min_ka"], 4)},
        "assumptions": assumptions(net, int(sc.bs[c]), p),
    }


def power_quality_block(policy: Policy, block: dict[str, Any], supply_mva: float,
                        vn_kv: float, s_design_mva: float, agreed_mva: float,
                        kinds: tuple[str, ...], scr_min: float,
                        scr: float | None = None) -> dict[str, Any]:
    """Numbers behind the power-quality flag of impact / harmonic / EV loads: the
    short-circuit ratio at the point of common coupling (the connection point; ``scr`` the
    ``sc_ratio`` check's value when it ran, else S''k min over the design demand) and the
    GB/T 14549 harmonic current allowance scaled by its minimum short-circuit power;
    ``supply_mva`` is the PCC's supply capacity: the feeder's rating, or the transformer
    capacity behind the section for a new feeder)."""
    sk_min = float(block["connection"]["sk_min_mva"])
    if scr is None or not math.isfinite(scr):
        scr = sk_min / s_design_mva if s_design_mva > 0 else math.inf
    return {"pcc": "connection_point", "load_kinds": list(kinds),
            "sk_min_mva": sk_min, "design_demand_mva": round(s_design_mva, 4),
            "short_circuit_ratio": round(scr, 2), "short_circuit_ratio_min": scr_min,
            "short_circuit_ratio_ok": bool(scr >= scr_min),
            "harmonic_allowance": harmonic_allowance(policy, vn_kv, sk_min, agreed_mva,
                                                     supply_mva)}
