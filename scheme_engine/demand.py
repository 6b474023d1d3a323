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
    """Design demand of an application via :func:`load_forecast.design_demand`.

    The circuit is sized for the full design demand (final ramp-up year); for a capacity
    increase ``requested_kva`` is the *added* capacity (增容容量) and the existing measured
    demand (``existing_kw``, else the present connection node's load) is added to it, while
    the feeder of the present connection gains only the increment.
    """
    existing_kw = None
    if app.request_type == "increase":
        node = cn.customer_node.get(str(app.existing_customer_id))
        existing_kw = (app.existing_kw if app.existing_kw is not None
                       else float(cn.node_s_mva[node].real) * 1000 if node is not None else 0.0)
    from grid_models.errors import ApplicationError, InputError

    try:
        d = _design(app.industry, app.requested_kva, app.transformer_config, existing_kw)
    except InputError as exc:
        # name the application's field, not load_forecast's parameter
        field = {"kva": "requested_kva", "transformer_config": "transformer_config",
                 "industry": "industry", "existing_kw": "existing_kw"}.get(exc.field or "", exc.field)
        raise ApplicationError(f"{field}: {exc}", field=field) from None
    pf = d.peak_kw / d.peak_kva if d.peak_kva > 0 else 1.0
    return Demand(d.peak_kw / 1000, d.peak_kvar / 1000, d.increment_kw / 1000,
                  d.increment_kvar / 1000, pf, d.basis("zh"), d.basis("en"))


@lru_cache(maxsize=1024)
def _design(industry: str, kva: float, config: str | None, existing_kw: float | None):
    """Cached: the industry tables are immutable at run time and applications repeat."""
    from load_forecast.demand import DemandRequest, design_demand

    return design_demand(DemandRequest(industry=industry, kva=kva, transformer_config=config,
                                       existing_kw=existing_kw))
