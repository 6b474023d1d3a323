"""The customer's design demand as the engine uses it (from :mod:`load_forecast`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Demand:
    """Design demand of one application.

    Attributes
    ----------
    p_mw, q_mvar : float
        Demand each circuit must carry (the whole customer: N-1 sizing).
    increment_p_mw, increment_q_mvar : float
        What the feeder of the present connection gains (capacity increase); equals p/q for a
        new connection.
    power_factor : float
    basis_zh, basis_en : str
        How the number was obtained (demand factor, ramp-up, existing demand).
    """

    p_mw: float
    q_mvar: float
    increment_p_mw: float
    increment_q_mvar: float
    power_factor: float
    basis_zh: str = ""
    basis_en: str = ""


def design_demand_for(app, cn) -> Demand:
    """Design demand of an application, from the industry table of :mod:`load_forecast`.

    The circuit is sized for the full requested capacity times the industry's demand factor
    (ramp-up is reported by ``gridscheme forecast`` but the connection is sized for the final
    year). For a capacity increase, the feeder of the present connection gains only the
    difference to the existing measured demand (``existing_kw`` or the node's load).
    """
    ind = _industry(app.industry)
    p_mw = app.requested_kva * ind.demand_factor / 1000.0
    pf = ind.power_factor
    q_mvar = p_mw * (1 / pf**2 - 1) ** 0.5
    inc_p, inc_q = p_mw, q_mvar
    basis_zh = (f"{app.requested_kva:g} kVA × 需用系数 {ind.demand_factor:g}（{ind.name_zh}）"
                f" = {p_mw * 1000:.0f} kW，功率因数 {pf:g}")
    basis_en = (f"{app.requested_kva:g} kVA x demand factor {ind.demand_factor:g} ({ind.name_en})"
                f" = {p_mw * 1000:.0f} kW, power factor {pf:g}")
    if app.request_type == "increase":
        node = cn.customer_node.get(str(app.existing_customer_id))
        existing_mw = (app.existing_kw / 1000.0 if app.existing_kw is not None
                       else float(cn.node_s_mva[node].real) if node is not None else 0.0)
        inc_p = max(p_mw - existing_mw, 0.0)
        inc_q = inc_p * (1 / pf**2 - 1) ** 0.5
        basis_zh += f"；现有实测负荷 {existing_mw * 1000:.0f} kW，增量 {inc_p * 1000:.0f} kW"
        basis_en += f"; existing measured {existing_mw * 1000:.0f} kW, increment {inc_p * 1000:.0f} kW"
    return Demand(p_mw, q_mvar, inc_p, inc_q, pf, basis_zh, basis_en)


@lru_cache(maxsize=256)
def _industry(name: str):
    """Industry row by name or alias (the bundled table is immutable at run time)."""
    from load_forecast.industries import get_industry

    return get_industry(name)
