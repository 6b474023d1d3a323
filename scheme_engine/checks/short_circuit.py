"""Short-circuit checks (IEC 60909-0 levels from :mod:`scheme_engine.short_circuit`).

- ``sc_thermal_withstand``: the new line's cross-section against the minimum one that carries
  I''k max at the connection point for the protection clearing time,
  ``S_min = I''k,max sqrt(t_k) / k`` (adiabatic heating, IEC 60949 / IEC 60364-5-54; the
  thermal-equivalent factors of IEC 60909-0 taken as m = 0, n = 1: far from generators, the
  d.c. component decayed within t_k). Small conductors become infeasible near strong busbars,
  so the conductor choice respects it.
- ``sc_switchgear``: I''k max at the customer end against the largest standard breaking
  current of the level (the output names the smallest one that suffices).
- ``sc_protection_reach``: the minimum fault current at the customer end (I''k min times the
  two-phase factor) against the feeder protection's pick-up times the sensitivity factor.
- ``sc_ratio``: for impact, harmonic and EV loads, I''k min at the connection point (the point
  of common coupling) over the customer's current (S''k / S at nominal voltage) against the
  policy minimum (load-dependent).

All constants are policy data (``short_circuit_protection.csv``, ``short_circuit_conductors.csv``,
``switchgear_ratings.csv``, ``short_circuit_ratio.csv``).
"""

from __future__ import annotations

import numpy as np

from ..short_circuit import SiteShortCircuit
from .base import register
from .inputs import CheckInputs

# The functions return arrays that broadcast to the options' shape (the runner broadcasts);
# this runs for every application, so nothing here allocates more than it must.


def _sc(x: CheckInputs) -> SiteShortCircuit:
    """The sites' short-circuit levels: ``build_site`` always computes them
    (``short_circuit.at_sites``) and ``Site.take`` keeps them."""
    sc = x.site.sc
    assert sc is not None, "the short-circuit checks need Site.sc"
    return sc


def customer_end_ka(x: CheckInputs, case: str) -> np.ndarray:
    """I''k at the customer end of every option (max: line R at 20 °C; min: at the
    end-of-fault temperature of the line's construction)."""
    sc = _sc(x)
    if case == "max":
        return sc.cu_max / np.abs(sc.z_max + x.flow.z_line)
    ln = x.line
    r = ln.r_ohm_per_km * ln.r_min_factor if ln.r_min_factor is not None else ln.r_ohm_per_km
    return sc.cu_min / np.abs(sc.z_min + x.site.km * (r + 1j * ln.x_ohm_per_km))


@register("sc_thermal_withstand", "mm2", "短路热稳定截面", "short-circuit thermal withstand",
          "ge", load_dependent=False)
def sc_thermal_withstand(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """The conductor's cross-section against ``I''k,max(connection) sqrt(t_k) / k``."""
    sc, ln = _sc(x), x.line
    # only the largest-capacity search leaves the conductors' short-circuit data out, and it
    # runs the load-dependent checks only
    assert ln.cross_section_mm2 is not None and ln.k_a_s05_per_mm2 is not None
    s_min = sc.ik_max * (1000.0 * np.sqrt(sc.prot.clearing_time_s)) / ln.k_a_s05_per_mm2
    return ln.cross_section_mm2, s_min


@register("sc_switchgear", "kA", "客户开关设备短路开断能力", "customer switchgear breaking capacity",
          "le", load_dependent=False)
def sc_switchgear(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """I''k max at the customer end against the largest standard breaking current."""
    ratings = _sc(x).ratings_ka
    return customer_end_ka(x, "max"), np.asarray(ratings[-1] if ratings else 0.0)


@register("sc_protection_reach", "kA", "保护灵敏度（末端最小短路电流）",
          "protection reach (minimum fault current at the customer end)", "ge",
          load_dependent=False)
def sc_protection_reach(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """``fault_current_factor x I''k,min(customer end) >= sensitivity x pick-up``; the pick-up
    is a multiple of the feeder outlet's rated current, or of the new line's rating for a new
    dedicated feeder."""
    sc = _sc(x)
    p = sc.prot
    lim = sc.reach_limit_ka
    if sc.any_new_feeder:
        lim = np.where(np.isnan(lim), (p.sensitivity * p.pickup_multiple) * x.line.max_i_ka, lim)
    return p.fault_current_factor * customer_end_ka(x, "min"), lim


@register("sc_ratio", "", "短路比（冲击/谐波/充电负荷）",
          "short-circuit ratio (impact / harmonic / EV load)", "ge")
def sc_ratio(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """I''k min at the point of common coupling over the customer's current (S''k / S at
    nominal voltage), against the policy minimum of the application's load kinds (0: no such
    load, always passes)."""
    return _sc(x).ik_min / x.flow.i_abs, np.asarray(x.load.scr_min, dtype=float)
