"""Policy rules as the engine reads them (scheme_engine/rules.py)."""

from __future__ import annotations

import numpy as np
import pytest

from grid_models.errors import ApplicationError
from grid_models.policy import Policy
from scheme_engine import rules


def test_voltage_levels_overlap_and_network_availability(default_policy: Policy) -> None:
    both = np.array([10.0, 20.0, 35.0])
    assert rules.voltage_levels(default_policy, 2000, both) == [10.0, 20.0]
    assert rules.voltage_levels(default_policy, 8000, both) == [10.0, 20.0, 35.0]
    assert rules.voltage_levels(default_policy, 15000, both) == [20.0, 35.0]
    assert rules.voltage_levels(default_policy, 15000, np.array([10.0])) == []
    assert rules.voltage_levels(default_policy, 2000, both, override_kv=20.0) == [20.0]
    with pytest.raises(ApplicationError, match="overrides.voltage_kv"):
        rules.voltage_levels(default_policy, 2000, both, override_kv=66.0)
    with pytest.raises(ApplicationError, match="low-voltage"):
        rules.voltage_levels(default_policy, 20, both)
    with pytest.raises(ApplicationError, match="implausible"):
        rules.voltage_levels(default_policy, 5e6, both)


@pytest.mark.parametrize("name,tier", [
    ("一级", "一级"), ("first", "一级"), ("Tier 1", "一级"), ("TIER_1", "一级"),
    ("二级负荷", "二级"), ("ordinary", "普通"), ("一般客户", "普通"), ("temp", "临时"),
    ("special", "特级"),
])
def test_tier_aliases(default_policy: Policy, name: str, tier: str) -> None:
    assert rules.canonical_tier(default_policy, name) == tier


def test_unknown_tier_suggests_the_closest(default_policy: Policy) -> None:
    with pytest.raises(ApplicationError) as e:
        rules.canonical_tier(default_policy, "secnd")
    assert "did you mean 二级" in str(e.value) and e.value.field == "tier"
    with pytest.raises(ApplicationError, match="valid: 特级"):
        rules.canonical_tier(default_policy, "platinum")


def test_supply_modes_by_tier_and_override(default_policy: Policy) -> None:
    m1 = rules.supply_mode(default_policy, "一级")
    assert (m1.mode, m1.n_circuits, m1.distinct_substations) == ("dual_source", 2, True)
    m2 = rules.supply_mode(default_policy, "二级")
    assert (m2.mode, m2.distinct_bus_sections, m2.distinct_substations) == \
        ("dual_circuit", True, False)
    assert rules.supply_mode(default_policy, "特级").emergency_source
    o = rules.supply_mode(default_policy, "特级", "single")
    assert o.mode == "single" and not o.emergency_source and o.tier == "特级"
    with pytest.raises(ApplicationError, match="overrides.supply_mode"):
        rules.supply_mode(default_policy, "普通", "triple")


def test_load_rate_and_transformer_limits(default_policy: Policy) -> None:
    lim, n1 = rules.load_rate_limit(default_policy, np.array(["cable_single_ring",
                                                              "overhead_multi_2tie",
                                                              "overhead_radial"]))
    assert lim.tolist() == [0.5, 0.67, 1.0] and n1.tolist() == [True, True, False]
    assert rules.transformer_limit(default_policy, np.array([1, 2, 3, 4, 6])).tolist() == \
        [0.8, 0.65, 0.87, 0.975, 0.975]  # clipped to the table's range


def test_important_and_n1_tiers(default_policy: Policy) -> None:
    assert rules.is_important(default_policy, "二级") and not rules.is_important(default_policy, "普通")
    assert rules.needs_n1_transformers(default_policy, "一级")
    assert not rules.needs_n1_transformers(default_policy, "临时")


def test_conductors_are_priced_and_sorted(default_policy: Policy) -> None:
    from grid_models.policy import load_standard_types

    c = rules.conductors_for(load_standard_types(), default_policy, 10.0)
    assert (c["price_cny_per_km"] > 0).all()
    for _, g in c.groupby("construction"):
        assert g["max_i_ka"].is_monotonic_increasing
    with pytest.raises(ApplicationError, match="no standard conductor"):
        rules.conductors_for(load_standard_types(), default_policy, 6.6)


def test_supply_radius_by_area_class(default_policy: Policy) -> None:
    from scheme_engine.supply_area import radius_limit_km

    t = default_policy.table("supply_area_classes")
    assert list(t.loc[t["is_default"], "class"]) == ["B"]
    assert radius_limit_km(default_policy, "B", 10) == 3
    assert radius_limit_km(default_policy, "C", 20) == 10
    assert radius_limit_km(default_policy, "E", 10) == float("inf")  # none quoted
    assert radius_limit_km(default_policy, "D", 10) == 15
    assert radius_limit_km(default_policy, "C", 35) == float("inf")  # no 35 kV rule


def test_long_new_line_fails_the_supply_radius(small_planner) -> None:
    """A customer 6 km out: the small network's load density (1.6 MW over ~0.4 km2: class C,
    radius 5 km at 10 kV) stops every option."""
    from tests.fixtures_small import at

    res = small_planner.plan(at(6000, 600, requested_kva=800))
    assert res.supply_area == {"class": "C", "source": "load_density"}
    assert not any(s.feasible for s in res.schemes)
    assert any(r["binding"] == "supply_radius" for r in res.rejected)
