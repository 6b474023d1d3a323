"""The customer's supply-area class (供电区域类别) and the supply radius it allows.

Where the network carries supply areas (a polygon layer, or one class for the whole network in
its metadata ``supply_area_class``) the class at the customer is used; otherwise the policy's
default class (``supply_radius.csv`` ``is_default``), and the result says it was assumed.
"""

from __future__ import annotations

import numpy as np

from grid_models.compiled import CompiledNetwork
from grid_models.errors import PolicyError
from grid_models.policy import Policy


def area_class_at(cn: CompiledNetwork, xy: np.ndarray, policy: Policy) -> tuple[str, str]:
    """``(class, source)`` at ``xy`` (metric); source is ``layer``, ``network`` or ``default``."""
    lookup = getattr(cn, "supply_area_at", None)
    if callable(lookup):
        hit = lookup(np.asarray(xy, float).reshape(1, 2))
        if len(hit) and hit[0]:
            return str(hit[0]), "layer"
    meta = (cn.meta or {}).get("supply_area_class")
    if meta:
        return str(meta), "network"
    return default_class(policy), "default"


def default_class(policy: Policy) -> str:
    """The class ``supply_radius.csv`` marks ``is_default``.

    Raises
    ------
    PolicyError
        No class, or more than one, is marked default.
    """
    cache = policy.__dict__.setdefault("_default_area", {})
    if "v" not in cache:
        t = policy.table("supply_radius")
        d = sorted(set(t.loc[t["is_default"], "area_class"]))
        if len(d) != 1:
            raise PolicyError(f"supply_radius.csv: exactly one area_class must be is_default "
                              f"(found {d or 'none'})", field="supply_radius.is_default")
        cache["v"] = d[0]
    return cache["v"]


def radius_limit_km(policy: Policy, area_class: str, vn_kv: float) -> float:
    """Largest supply radius at ``vn_kv`` in ``area_class``; inf where the table has no row
    (e.g. 35 kV and above, or a class the policy does not list)."""
    m = policy.__dict__.setdefault("_radius", {})
    key = (area_class, round(float(vn_kv), 3))
    if key not in m:
        t = policy.table("supply_radius")
        hit = t[(t["area_class"] == area_class) & np.isclose(t["vn_kv"], vn_kv)]
        m[key] = float(hit["max_radius_km"].iloc[0]) if len(hit) else float("inf")
    return m[key]
