"""Connection checks: bays, customers per feeder, the dedicated-feeder rule, forbidden zones."""

from __future__ import annotations

import numpy as np

from .base import fill, register
from .inputs import CheckInputs


def _shape(x: CheckInputs) -> tuple[int, ...]:
    # the current is computed from every per-option input (the line's length included), so
    # its shape is the options' shape
    return np.shape(x.flow.i_abs)


@register("spare_bays", "count", "备用间隔", "spare bays", "ge", load_dependent=False)
def spare_bays(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """Spare bays at an RMU / switching station / substation bus section against the policy
    minimum (a tap or the present connection needs none: 0 >= 0)."""
    sh = _shape(x)
    return fill(x.site.spare_bays, sh), fill(x.site.min_spare_bays, sh)


@register("customers_on_feeder", "count", "馈线用户数", "customers on the feeder", "le",
          load_dependent=False)
def customers_on_feeder(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """Customers on the feeder after connection (screening set: domain.md)."""
    sh = _shape(x)
    return (fill(x.site.customers_after, sh),
            np.full(sh, float(x.params.max_customers_per_feeder)))


@register("dedicated_feeder", "kVA", "专线要求", "dedicated-feeder requirement", "lt")
def dedicated_feeder(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """kVA connected to a shared feeder must stay below ``dedicated_feeder_min_kva``; a new
    dedicated feeder from a substation bay carries any size (value 0)."""
    sh = _shape(x)
    kva = np.where(x.site.dedicated, 0.0, np.asarray(x.load.kva, float))
    return fill(kva, sh), np.full(sh, x.params.dedicated_feeder_min_kva)


@register("route_allowed", "count", "路径禁止穿越区", "route through a forbidden zone", "le",
          load_dependent=False)
def route_allowed(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """A straight fallback line must not cross a forbidden zone (road routes never do)."""
    sh = _shape(x)
    return fill(x.site.forbidden, sh), np.zeros(sh)


@register("supply_radius", "km", "供电半径", "supply radius", "le", load_dependent=False)
def supply_radius(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """Line length from the substation to the customer (the feeder path plus the new line)
    against the radius of the customer's supply-area class (supply_area_classes.csv); no limit at
    voltages the table does not list."""
    sh = _shape(x)
    return (fill(x.site.supply_path_km + x.site.km, sh),
            np.full(sh, x.site.radius_limit_km))
