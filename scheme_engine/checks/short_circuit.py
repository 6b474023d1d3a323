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

from ..short_circuit import ikss_ka
from .base import register
from .inputs import CheckInputs


def _shape(x: CheckInputs) -> tuple[int, ...]:
    return np.broadcast_shapes(np.shape(x.flow.i_abs), np.shape(x.site.km))


def customer_end_ka(x: CheckInputs, case: str) -> np.ndarray:
    """I''k at the customer end of every option (max: line R at 20 °C; min: at the
    end-of-fault temperature of the line's construction)."""
    sc = x.site.sc
    z_line = x.flow.z_line
    if case == "max":
        return ikss_ka(sc.c_max, sc.u_kv, sc.z_max + z_line)
    fac = x.line.r_min_factor if x.line.r_min_factor is not None else 1.0
    z_line_min = x.site.km * (x.line.r_ohm_per_km * fac + 1j * x.line.x_ohm_per_km)
    return ikss_ka(sc.c_min, sc.u_kv, sc.z_min + z_line_min)


@register("sc_thermal_withstand", "mm2", "短路热稳定截面", "short-circuit thermal withstand",
          "ge", load_dependent=False)
def sc_thermal_withstand(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """The conductor's cross-section against ``I''k,max(connection) sqrt(t_k) / k``."""
    sh = _shape(x)
    sc = x.site.sc
    s_min = sc.ikss_max_ka * 1000.0 * np.sqrt(sc.prot.clearing_time_s) / x.line.k_a_s05_per_mm2
    return np.broadcast_to(x.line.cross_section_mm2, sh), np.broadcast_to(s_min, sh)


@register("sc_switchgear", "kA", "客户开关设备短路开断能力", "customer switchgear breaking capacity",
          "le", load_dependent=False)
def sc_switchgear(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """I''k max at the customer end against the largest standard breaking current."""
    sh = _shape(x)
    largest = max(x.site.sc.ratings_ka) if x.site.sc.ratings_ka else 0.0
    return np.broadcast_to(customer_end_ka(x, "max"), sh), np.full(sh, largest)


@register("sc_protection_reach", "kA", "保护灵敏度（末端最小短路电流）",
          "protection reach (minimum fault current at the customer end)", "ge",
          load_dependent=False)
def sc_protection_reach(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """``fault_current_factor x I''k,min(customer end) >= sensitivity x pick-up``; the pick-up
    is a multiple of the feeder outlet's rated current, or of the new line's rating for a new
    dedicated feeder."""
    sh = _shape(x)
    sc = x.site.sc
    p = sc.prot
    pickup = np.where(np.isnan(sc.pickup_ka), p.pickup_multiple * x.line.max_i_ka, sc.pickup_ka)
    return (np.broadcast_to(p.fault_current_factor * customer_end_ka(x, "min"), sh),
            np.broadcast_to(p.sensitivity * pickup, sh))


@register("sc_ratio", "", "短路比（冲击/谐波/充电负荷）",
          "short-circuit ratio (impact / harmonic / EV load)", "ge")
def sc_ratio(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """I''k min at the point of common coupling over the customer's current, against the
    policy minimum of the application's load kinds (0: no such load, always passes)."""
    sh = _shape(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        scr = x.site.sc.ikss_min_ka / x.flow.i_abs
    return np.broadcast_to(scr, sh), np.full(sh, float(x.load.scr_min))
