"""The customer's supply-area class (供电区域类别) and the supply radius it allows.

The compiled network knows the class at any point (:meth:`CompiledNetwork.supply_area_at`: the
``supply_areas`` layer, else the network's ``supply_area_class`` metadata, else the policy's
default class of ``supply_area_classes.csv``); the result says which, so an assumed class is
never presented as the utility's.
"""

from __future__ import annotations

import math

import numpy as np

from grid_models.compiled import CompiledNetwork
from grid_models.policy import Policy


def area_class_at(cn: CompiledNetwork, xy: np.ndarray, policy: Policy) -> tuple[str, str]:
    """``(class, source)`` at ``xy`` (metric); source ``layer`` (a supply_areas polygon),
    ``network`` (the network's metadata), ``load_density`` (assumed from the network's average
    load density) or ``default`` (the policy's default class)."""
    cls, ids = cn.supply_area_at(np.asarray(xy, float).reshape(1, 2))
    if ids[0]:
        return str(cls[0]), "layer"
    src = {"network_info": "network", "load_density": "load_density"}.get(
        cn.supply_area_default_source, "default")
    return str(cls[0]), src


def radius_limit_km(policy: Policy, area_class: str, vn_kv: float) -> float:
    """Largest supply radius at ``vn_kv`` in ``area_class`` (``max_radius_<kV>kv_km`` of
    supply_area_classes.csv); inf where the table gives none (e.g. 35 kV and above)."""
    m = policy.__dict__.setdefault("_radius", {})
    key = (area_class, round(float(vn_kv), 3))
    if key not in m:
        t = policy.table("supply_area_classes")
        col = f"max_radius_{policy.voltage_level(vn_kv).vn_kv:g}kv_km"
        hit = t[t["class"] == area_class]
        v = float(hit[col].iloc[0]) if len(hit) and col in t.columns else math.nan
        m[key] = v if math.isfinite(v) else math.inf
    return m[key]
