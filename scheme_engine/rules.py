"""Policy rules: what the policy tables say for one application (no numbers in code)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from grid_models.errors import ApplicationError, UnknownTypeError
from grid_models.policy import Policy, StandardTypes


@dataclass(frozen=True)
class SupplyMode:
    """Supply mode required by the importance tier (supply_modes.csv)."""

    tier: str
    mode: str  # single | dual_circuit | dual_source
    n_circuits: int
    distinct_substations: bool
    distinct_bus_sections: bool
    emergency_source: bool
    max_shared_corridor_ratio: float  # share of the shorter route two circuits may share
    reference: str


def canonical_tier(policy: Policy, tier: str) -> str:
    """Map a tier name or alias (Chinese or English) to the policy's tier key."""
    t = policy.table("tiers")
    key = str(tier).strip()
    if key in set(t["tier"]):
        return key
    for _, row in t.iterrows():
        names = {row["tier"], row["en"], *str(row["aliases"]).split("|")}
        if key in names or key.lower() in {n.lower() for n in names}:
            return str(row["tier"])
    raise ApplicationError(f"tier: unknown importance tier {tier!r}; valid: "
                           + ", ".join(f"{a} ({b})" for a, b in zip(t["tier"], t["en"], strict=True)),
                           field="tier")


def is_important(policy: Policy, tier: str) -> bool:
    """Important customers (重要客户) get the mid-construction check (tiers.csv)."""
    return _b(policy.mapping("tiers", "tier", "important").get(tier, "false"))


def supply_mode(policy: Policy, tier: str, override: str | None = None) -> SupplyMode:
    """Supply mode for a tier, or the designer's override (same table row semantics)."""
    key = canonical_tier(policy, tier)
    cache = policy.__dict__.setdefault("_supply_modes", {})
    if (key, override) in cache:
        return cache[(key, override)]
    t = policy.table("supply_modes")
    row = t[t["tier"] == key].iloc[0]
    if override is not None:
        hit = t[t["mode"] == override]
        if hit.empty:
            raise ApplicationError(f"overrides.supply_mode: {override!r} not in "
                                   f"{sorted(set(t['mode']))}", field="overrides.supply_mode")
        row = hit.iloc[0].copy()
        row["tier"] = key
    mode = SupplyMode(key, str(row["mode"]), int(row["n_circuits"]),
                      _b(row["distinct_substations"]), _b(row["distinct_bus_sections"]),
                      _b(row["emergency_source"]) and override is None,
                      float(row["max_shared_corridor_ratio"]), str(row["references"]))
    cache[(key, override)] = mode
    return mode


def _b(v: object) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def voltage_levels(policy: Policy, kva: float, available_kv: np.ndarray,
                   override_kv: float | None = None) -> list[float]:
    """Voltage levels (kV) the rules allow for ``kva`` that the network offers.

    Where two ranges overlap both are returned (the engine proposes schemes at each).
    """
    if kva < policy.param("min_hv_kva"):
        raise ApplicationError(
            f"requested_kva: {kva:g} kVA is below {policy.param('min_hv_kva'):g} kVA, a "
            "low-voltage connection (out of scope of high-voltage schemes)", field="requested_kva")
    if kva > policy.param("max_plausible_kva"):
        raise ApplicationError(f"requested_kva: {kva:g} kVA is implausible (> "
                               f"{policy.param('max_plausible_kva'):g} kVA)", field="requested_kva")
    avail = {float(np.round(v, 3)) for v in np.asarray(available_kv)}
    if override_kv is not None:
        if float(override_kv) not in avail:
            raise ApplicationError(f"overrides.voltage_kv: {override_kv:g} kV is not present in "
                                   f"this network; available: {sorted(avail)}",
                                   field="overrides.voltage_kv")
        return [float(override_kv)]
    return [v for v in rule_levels(policy, kva) if v in avail]


def rule_levels(policy: Policy, kva: float) -> list[float]:
    """Voltage levels the rules allow for ``kva`` regardless of the network."""
    lo = policy.mapping("voltage_levels", "vn_kv", "min_kva")
    hi = policy.mapping("voltage_levels", "vn_kv", "max_kva")
    return sorted(float(v) for v in lo if float(lo[v]) <= kva <= float(hi[v]))


def load_rate_limit(policy: Policy, modes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feeder load-rate limit and N-1 transfer capability for each connection mode."""
    lim = policy.mapping("load_rate_limits", "connection_mode", "max_load_rate")
    n1 = policy.mapping("load_rate_limits", "connection_mode", "n1_transfer")
    try:  # a handful of candidates: dict look-ups beat building a pandas index
        return (np.array([float(lim[m]) for m in modes], float),
                np.array([_b(n1[m]) for m in modes], bool))
    except KeyError as exc:
        raise UnknownTypeError(f"connection_mode {exc.args[0]!r} has no load-rate limit in "
                               f"policy; known: {', '.join(lim)}", field="connection_mode") from None


def transformer_limit(policy: Policy, n_transformers: np.ndarray) -> np.ndarray:
    """Main-transformer load-rate limit by number of units (N-1 firm capacity rule)."""
    m = policy.mapping("transformer_load_limits", "n_transformers", "max_load_rate")
    xs = np.array([float(k) for k in m])
    ys = np.array(list(m.values()), float)
    o = np.argsort(xs)
    n = np.clip(np.asarray(n_transformers, float), xs.min(), xs.max())
    return np.interp(n, xs[o], ys[o])


def voltage_band_pct(policy: Policy, vn_kv: float) -> float:
    """Allowed |deviation| at the point of supply (GB/T 12325)."""
    if vn_kv < 35:
        return policy.param("voltage_deviation_10kv_pct")
    return policy.param("voltage_deviation_35kv_sum_pct") / 2


def conductors_for(std: StandardTypes, policy: Policy, vn_kv: float) -> pd.DataFrame:
    """Standard conductors at ``vn_kv`` with their unit price, cheapest first within construction."""
    c = std.conductors[np.isclose(std.conductors["vn_kv"].astype(float), vn_kv)].copy()
    if c.empty:
        raise ApplicationError(f"no standard conductor for {vn_kv:g} kV; add one to "
                               "conductors.csv", field="voltage_kv")
    c["price_cny_per_km"] = [policy.cost("line_per_km", n) for n in c["name"]]
    return c.sort_values(["construction", "max_i_ka"]).reset_index(drop=True)
