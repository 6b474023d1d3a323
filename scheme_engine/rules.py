"""Policy rules: what the policy tables say for one application (no numbers in code)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from grid_models.errors import ApplicationError, PolicyError
from grid_models.policy import Policy, StandardTypes

from . import short_circuit


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


def _norm(name: object) -> str:
    # "Tier 1", "tier_1" and "TIER1" are one name
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def _tier_aliases(policy: Policy) -> dict[str, str]:
    cache = policy.__dict__.setdefault("_tier_aliases", {})
    if not cache:
        for row in policy.table("tiers").itertuples(index=False):
            for n in (row.tier, row.en, *str(row.aliases).split("|")):
                if _norm(n):
                    cache[_norm(n)] = str(row.tier)
    return cache


def canonical_tier(policy: Policy, tier: str) -> str:
    """Map a tier name or alias (Chinese or English, any case, spaces ignored) to the
    policy's tier key (tiers.csv).

    Raises
    ------
    ApplicationError
        Unknown name, with the closest known names ("did you mean") and the valid tiers.
    """
    aliases = _tier_aliases(policy)
    hit = aliases.get(_norm(tier))
    if hit is not None:
        return hit
    t = policy.table("tiers")
    close = difflib.get_close_matches(_norm(tier), list(aliases), n=3, cutoff=0.6)
    names = list(dict.fromkeys(aliases[c] for c in close))
    hint = f" (did you mean {' or '.join(names)}?)" if names else ""
    raise ApplicationError(f"tier: unknown importance tier {tier!r}{hint}; valid: "
                           + ", ".join(f"{a} ({b})" for a, b in zip(t["tier"], t["en"], strict=True)),
                           field="tier")


def is_important(policy: Policy, tier: str) -> bool:
    """Important customers (重要客户) get the mid-construction check (tiers.csv)."""
    return bool(policy.mapping("tiers", "tier", "important").get(tier, False))


def needs_n1_transformers(policy: Policy, tier: str) -> bool:
    """Whether the customer's own transformers must survive the loss of one unit (tiers.csv,
    GB 50053-2013 cl. 3.3.2)."""
    return bool(policy.mapping("tiers", "tier", "n1_transformers").get(tier, False))


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
                      bool(row["distinct_substations"]), bool(row["distinct_bus_sections"]),
                      bool(row["emergency_source"]) and override is None,
                      float(row["max_shared_corridor_ratio"]), str(row["references"]))
    cache[(key, override)] = mode
    return mode


def voltage_levels(policy: Policy, kva: float, available_kv: np.ndarray,
                   override_kv: float | None = None) -> list[float]:
    """Voltage levels (kV) the rules allow for ``kva`` that the network offers.

    Where two ranges overlap both are returned (the engine proposes schemes at each).
    """
    p = policy.params
    if kva < p.min_hv_kva:
        raise ApplicationError(
            f"requested_kva: {kva:g} kVA is below {p.min_hv_kva:g} kVA, a "
            "low-voltage connection (out of scope of high-voltage schemes)", field="requested_kva")
    if kva > p.max_plausible_kva:
        raise ApplicationError(f"requested_kva: {kva:g} kVA is implausible (> "
                               f"{p.max_plausible_kva:g} kVA)", field="requested_kva")
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
    return [lv.vn_kv for lv in policy.voltage_levels if lv.min_kva <= kva <= lv.max_kva]


def load_rate_limit(policy: Policy, modes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feeder load-rate limit and N-1 transfer capability for each connection mode."""
    lim = policy.mapping("load_rate_limits", "connection_mode", "max_load_rate")
    n1 = policy.mapping("load_rate_limits", "connection_mode", "n1_transfer")
    try:  # a handful of candidates: dict look-ups beat building a pandas index
        return (np.array([lim[m] for m in modes], float),
                np.array([n1[m] for m in modes], bool))
    except KeyError as exc:
        raise PolicyError(f"load_rate_limits.csv: connection_mode {exc.args[0]!r} of the network "
                          f"has no load-rate limit; known: {', '.join(lim)}",
                          field=f"load_rate_limits.{exc.args[0]}") from None


def transformer_limit(policy: Policy, n_transformers: np.ndarray) -> np.ndarray:
    """Main-transformer load-rate limit by number of units (N-1 firm capacity rule)."""
    xs, ys = _transformer_limits(policy)
    return np.interp(np.clip(np.asarray(n_transformers, float), xs[0], xs[-1]), xs, ys)


def _transformer_limits(policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """``transformer_load_limits`` sorted by units, once per policy (read per application)."""
    hit = policy.__dict__.get("_transformer_limits")
    if hit is None:
        m = policy.mapping("transformer_load_limits", "n_transformers", "max_load_rate")
        xs = np.array([float(k) for k in m])
        ys = np.array(list(m.values()), float)
        o = np.argsort(xs)
        hit = policy.__dict__["_transformer_limits"] = (xs[o], ys[o])
    return hit


def voltage_band_pct(policy: Policy, vn_kv: float) -> float:
    """Allowed |deviation| at the point of supply (GB/T 12325; voltage_levels.csv)."""
    return policy.voltage_level(vn_kv).band_pct


def conductors_for(std: StandardTypes, policy: Policy, vn_kv: float) -> pd.DataFrame:
    """Standard conductors at ``vn_kv`` with their unit price, cheapest first within construction."""
    c = std.conductors[np.isclose(std.conductors["vn_kv"].astype(float), vn_kv)].copy()
    if c.empty:
        raise ApplicationError(f"no standard conductor for {vn_kv:g} kV; add one to "
                               "conductors.csv", field="voltage_kv")
    c["price_cny_per_km"] = [policy.cost("line_per_km", n) for n in c["name"]]
    bad = c["max_i_ka"].astype(float) <= 0
    if bad.any():
        raise PolicyError(f"conductors.csv: {c.loc[bad, 'name'].iloc[0]!r} needs max_i_ka > 0",
                          field="conductors.max_i_ka")
    # short-circuit constants (thermal k, min-case resistance factor; short_circuit.py)
    c["k_a_s05_per_mm2"], c["r_min_factor"] = short_circuit.conductor_constants(policy, c, vn_kv)
    return c.sort_values(["construction", "max_i_ka"]).reset_index(drop=True)
