"""Scheme engine on the hand-made small network: every rule, both dual modes, every remedy.

Layout and numbers: tests/fixtures_small.py (one 110 kV substation SS1, bus sections BS1/BS2,
F1 cable ring with RMUs, F2 overhead multi-section with a tie to F1, F3 overhead radial).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pyproj import Transformer

from grid_models.errors import ApplicationError, InputError
from grid_models.network import Network
from scheme_engine.engine import Planner
from tests.fixtures_small import CRS, at, small_network


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(small_network())


def modified(**changes) -> Planner:
    """A planner on a copy of the small network with some columns changed.

    ``changes``: layer -> {element_id: {column: value}}.
    """
    net = small_network()
    layers = {k: v.copy() for k, v in net.layers.items()}
    for layer, rows in changes.items():
        t = layers[layer]
        for eid, cols in rows.items():
            for col, val in cols.items():
                t.loc[t["id"] == eid, col] = val
    return Planner(Network.from_layers(layers, crs=net.crs, meta=net.meta))


def kinds(scheme) -> list[str]:
    return [c.connection.kind for c in scheme.circuits]


def test_single_source_near_f1_ring(planner: Planner) -> None:
    r = planner.plan(at(-60, 900))
    assert r.schemes and all(s.feasible for s in r.schemes)
    best = r.schemes[0]
    assert best.supply_mode == "single" and len(best.circuits) == 1
    assert [s.rank for s in r.schemes] == list(range(1, len(r.schemes) + 1))
    assert all(a.score <= b.score for a, b in zip(r.schemes, r.schemes[1:], strict=False))
    # distinct connection points across alternatives
    pts = [tuple(c.connection.point_id for c in s.circuits) for s in r.schemes]
    assert len(set(pts)) == len(pts)
    for s in r.schemes:
        for c in s.circuits:
            assert all(ch.passed for ch in c.limits)
            assert c.feeder_load_rate_after > c.feeder_load_rate_before


def test_voltage_drop_matches_linear_estimate_for_small_load(planner: Planner) -> None:
    """For a light load the exact drop ~ (PR + QX)/U^2 along busbar->customer (paper check)."""
    r = planner.plan(at(-60, 900, requested_kva=200))
    c = r.schemes[0].circuits[0]
    cn = planner.cn
    p = r.schemes[0].design_demand_kw / 1000
    q = p * math.tan(math.acos(r.schemes[0].power_factor))
    line = c.route_length_m["total"] / 1000
    r_line = c.conductor.r_ohm_per_km * line
    x_line = c.conductor.x_ohm_per_km * line
    conn = c.connection
    if conn.kind == "tap":
        seg = int(np.flatnonzero(cn.seg_ids == conn.line_id)[0])
        par = cn.parent[cn.seg_child[seg]]
        z_path = cn.cum_z_ohm[par]  # plus part of the tapped span: bounds below
    else:
        node = int(np.flatnonzero(cn.node_ids == conn.point_id)[0])
        z_path = cn.cum_z_ohm[node]
    base_drop = (1 - abs(cn.v0_kv[par if conn.kind == "tap" else node]) / 10) * 100
    lin_new = (p * (r_line + z_path.real) + q * (x_line + z_path.imag)) / 10**2 * 100
    # the new load's own drop over line + path, plus the baseline drop already there
    assert c.voltage_drop_pct == pytest.approx(base_drop + lin_new, abs=0.05)


def test_dedicated_feeder_above_threshold_uses_substation_bays(planner: Planner) -> None:
    r = planner.plan(at(100, -200, requested_kva=9000))
    feas = [s for s in r.schemes if s.feasible]
    assert feas and all(kinds(s) == ["busbar"] for s in feas)
    assert any(rj["binding"] == "dedicated_feeder" or rj["binding"] == "feeder_load_rate"
               for rj in r.rejected)


def test_dual_circuit_uses_two_bus_sections(planner: Planner) -> None:
    r = planner.plan(at(100, 600, requested_kva=2000, tier="二级"))
    s = r.schemes[0]
    assert s.feasible and s.supply_mode == "dual_circuit" and len(s.circuits) == 2
    bss = {c.connection.bus_section_id for c in s.circuits}
    assert len(bss) == 2, "dual circuit must come from different bus sections"
    feeders = [c.connection.feeder_id for c in s.circuits if c.connection.feeder_id]
    assert len(feeders) == len(set(feeders))


def test_dual_source_needs_two_substations_else_remedy(planner: Planner) -> None:
    r = planner.plan(at(100, 600, requested_kva=2000, tier="一级"))
    assert not any(s.feasible for s in r.schemes)
    assert r.schemes[-1].remedy["type"] == "new_substation"
    assert "emergency_source_required" not in r.schemes[0].flags


def test_special_tier_flags_emergency_source() -> None:
    # two substations: give BS2 its own substation so that dual source is possible
    net = small_network()
    layers = {k: v.copy() for k, v in net.layers.items()}
    ss = layers["substations"]
    ss2 = ss.copy()
    ss2["id"] = "SS2"
    layers["substations"] = ss.__class__(
        __import__("pandas").concat([ss, ss2], ignore_index=True), crs=ss.crs)
    layers["bus_sections"].loc[layers["bus_sections"]["id"] == "BS2", "substation_id"] = "SS2"
    layers["feeders"].loc[layers["feeders"]["bus_section_id"] == "BS2", "substation_id"] = "SS2"
    pl = Planner(Network.from_layers(layers, crs=net.crs, meta=net.meta))
    r = pl.plan(at(100, 600, requested_kva=2000, tier="特级"))
    s = r.schemes[0]
    assert s.feasible and s.supply_mode == "dual_source"
    assert {c.connection.substation_id for c in s.circuits} == {"SS1", "SS2"}
    assert "emergency_source_required" in s.flags
    assert any(e["item"] == "emergency_source" for e in s.equipment)


def test_feeder_load_rate_limit_binds() -> None:
    # F1 (cable single ring, limit 50 %) loaded to 48 % of 0.52 kA at 10 kV
    rated = math.sqrt(3) * 10 * 0.52
    pl = modified(feeders={"F1": {"peak_mw": 0.48 * rated * 0.95}})
    r = pl.plan(at(-60, 900, requested_kva=1500))
    f1 = [rj for rj in r.rejected if rj["feeder_id"] == "F1"]
    assert f1 and all(rj["binding"] == "feeder_load_rate" for rj in f1)
    assert all(c.connection.feeder_id != "F1" for s in r.schemes if s.feasible for c in s.circuits)


def test_spare_bays_rule() -> None:
    # RMU2 with no spare bay is no candidate; with the policy's minimum it is
    pl = modified(nodes={"F1-RMU2": {"spare_bays": 0}, "F1-RMU1": {"spare_bays": 0}})
    r = pl.plan(at(-60, 900))
    assert all(c.connection.point_id not in ("F1-RMU1", "F1-RMU2")
               for s in r.schemes for c in s.circuits)


def test_customers_per_feeder_rule() -> None:
    pl = modified(feeders={"F2": {"n_customers": 50}})
    r = pl.plan(at(360, 700))
    assert any(rj["feeder_id"] == "F2" and rj["binding"] == "customers_on_feeder" for rj in r.rejected)


def test_transformer_n1_rule_and_new_substation_remedy() -> None:
    # 2 x 40 MVA: N-1 limit 65 % -> 52 MVA; load it to 51.5 MW / 0.95
    pl = modified(substations={"SS1": {"peak_mw": 49.5}})
    r = pl.plan(at(-60, 900, requested_kva=3000))
    assert not any(s.feasible for s in r.schemes)
    assert {rj["binding"] for rj in r.rejected} == {"transformer_load_rate"}
    types = [s.remedy["type"] for s in r.schemes]
    assert types[-1] == "new_substation"
    assert "new_feeder" in types  # offered, but still failing the transformer check
    nf = next(s for s in r.schemes if s.remedy["type"] == "new_feeder")
    assert not nf.feasible and nf.remedy["still_failing"]


def test_load_transfer_remedy_over_tie() -> None:
    # F1 nearly at its 50 % limit; only F1 candidates allowed: transfer to F2 over the tie T1
    rated = math.sqrt(3) * 10 * 0.52
    pl = modified(feeders={"F1": {"peak_mw": 0.45 * rated * 0.95}})
    excl = ["F2-S1", "F2-S2", "F2-S3", "F2-S4", "F3-S1", "F3-S2", "F3-S3", "BS1", "BS2"]
    r = pl.plan(at(-60, 900, requested_kva=2500, overrides={"excluded_points": excl}))
    assert not any(s.feasible for s in r.schemes)
    lt = [s for s in r.schemes if s.remedy and s.remedy["type"] == "load_transfer"]
    assert lt and lt[0].remedy["from_feeder"] == "F1" and lt[0].remedy["to_feeder"] == "F2"
    assert lt[0].remedy["transfer_mva"] > 0
    assert [s.remedy["type"] for s in r.schemes][0] == "load_transfer"


def test_voltage_deviation_rule_far_customer() -> None:
    # a big load 9 km away on a 10 kV dedicated feeder: deviation beyond 7 %
    r = Planner(small_network()).plan(at(200, 9000, requested_kva=9500))
    assert not any(s.feasible for s in r.schemes)
    nf = [s for s in r.schemes if s.remedy["type"] == "new_feeder"]
    assert nf and any("voltage" in f for f in nf[0].remedy["still_failing"])


def test_capacity_increase_keeps_present_connection() -> None:
    pl = modified(nodes={"F1-DT2": {"customer_id": "C1"}})
    r = pl.plan(at(-115, 930, request_type="increase", existing_customer_id="C1",
                   requested_kva=900, existing_kw=300))
    pts = [c.connection.kind for s in r.schemes for c in s.circuits]
    assert "existing" in pts
    assert r.design_demand["p_kw"] > 300


def test_json_contract_fields(planner: Planner) -> None:
    doc = json.loads(planner.plan(at(-60, 900)).model_dump_json())
    s = doc["schemes"][0]
    for key in ("rank", "feasible", "score", "voltage_kv", "supply_mode", "circuits", "cost_cny",
                "duration_workdays", "flags", "explanation", "design_demand_kw", "power_factor"):
        assert key in s
    assert set(s["explanation"]) == {"zh", "en"}
    c = s["circuits"][0]
    for key in ("connection", "route", "route_length_m", "conductor", "voltage_drop_pct",
                "feeder_load_rate_before", "feeder_load_rate_after", "limits"):
        assert key in c
    for key in ("point_id", "kind", "source_ref", "feeder_id", "bus_section_id", "substation_id"):
        assert key in c["connection"]
    assert set(c["conductor"]) >= {"type", "r_ohm_per_km", "x_ohm_per_km", "max_i_ka"}
    assert c["route"]["type"] == "LineString"
    lon, lat = c["route"]["coordinates"][0]
    assert 106 < lon < 108 and 39 < lat < 41  # EPSG:4326
    assert s["cost_cny"]["total"] == pytest.approx(s["cost_cny"]["utility"] + s["cost_cny"]["customer"])
    if c["connection"]["kind"] == "tap":
        assert c["connection"]["line_source_ref"] is not None
        assert c["connection"]["distance_from_start_m"] >= 0


def test_deterministic(planner: Planner) -> None:
    a = planner.plan(at(-60, 900, tier="二级", requested_kva=1600)).model_dump()
    b = planner.plan(at(-60, 900, tier="二级", requested_kva=1600)).model_dump()
    a.pop("solve_ms"), b.pop("solve_ms")
    assert a == b


@pytest.mark.parametrize("app, field", [
    (at(0, 0, requested_kva=-5), "requested_kva"),
    (at(0, 0, requested_kva=20), "requested_kva"),
    (at(0, 0, requested_kva=5e9), "requested_kva"),
    (at(0, 0, tier="VIP"), "tier"),
    (at(0, 0, industry="spaceport"), "industry"),
    (at(90000, 0), "lon"),
    ({"lon": "abc", "lat": 39.6, "requested_kva": 100}, "lon"),
    ({"lat": 39.6, "requested_kva": 100}, None),
    (at(0, 0, request_type="increase", existing_customer_id="NOPE"), "existing_customer_id"),
])
def test_bad_applications_get_clear_errors(planner: Planner, app: dict, field: str | None) -> None:
    with pytest.raises(InputError) as ei:
        planner.plan(app)
    msg = str(ei.value)
    assert len(msg) > 20
    if field:
        assert field in msg or ei.value.field == field


def test_application_error_is_value_error(planner: Planner) -> None:
    with pytest.raises(ValueError):
        planner.plan(at(0, 0, tier="nonsense"))
    with pytest.raises(ApplicationError):
        planner.plan(at(0, 0, tier="nonsense"))


def test_output_validates_against_its_schema(planner: Planner) -> None:
    """The engine builds its output without validation (speed); re-validate it here."""
    from scheme_engine.scheme import PlanResult

    for tier in ("普通", "二级", "一级"):
        doc = json.loads(planner.plan(at(-60, 900, tier=tier)).model_dump_json())
        again = PlanResult.model_validate(doc)
        assert json.loads(again.model_dump_json()) == doc


def test_published_json_schema_is_current() -> None:
    from pathlib import Path

    from scheme_engine.scheme import json_schema

    published = json.loads((Path(__file__).parents[1] / "docs" / "scheme.schema.json").read_text())
    assert published == json_schema(), "regenerate: python -m scheme_engine.scheme > docs/scheme.schema.json"


def test_route_geometry_matches_reported_length(planner: Planner) -> None:
    """The GeoJSON route (EPSG:4326) measured in metres equals route_length_m['total']."""
    to_metric = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    r = planner.plan(at(-60, 900, tier="二级"))
    n_road = 0
    for s in r.schemes:
        for c in s.circuits:
            lon, lat = np.array(c.route["coordinates"]).T
            x, y = to_metric.transform(lon, lat)
            length = float(np.hypot(np.diff(x), np.diff(y)).sum())
            if c.route_fallback:
                assert length * planner.policy.param("route_detour_factor") == pytest.approx(
                    c.route_length_m["total"], rel=1e-3)
            else:
                n_road += 1
                assert length == pytest.approx(c.route_length_m["total"], rel=1e-4)
    assert n_road > 0, "the small network's roads are connected: some route follows them"


def test_load_characteristics_raise_flags_and_pv_rise_check(planner: Planner) -> None:
    r = planner.plan(at(-60, 900, requested_kva=800,
                        load={"impact_load": True, "pv_export_kw": 2000, "ev_charging": True}))
    s = r.schemes[0]
    assert "power_quality_assessment_required" in s.flags
    assert "distributed_pv_documents_required" in s.flags
    assert "charging_facility_documents_required" in s.flags
    # 2 MW of export on F1 (min load 0.3 x ~0.95 MW) reverses the flow
    assert any(f.startswith("pv_reverse_flow_on_") for f in s.flags)
    rise = next(ch for ch in s.circuits[0].limits if ch.name == "pv_voltage_rise")
    assert rise.value > 0 and rise.passed
    # a huge export far out on a weak radial line breaks the voltage-rise limit
    r2 = planner.plan(at(400, -1300, requested_kva=800, load={"pv_export_kw": 60000}))
    assert not any(s.feasible for s in r2.schemes)
    assert r2.rejected and all(rj["binding"] == "pv_voltage_rise" for rj in r2.rejected)


def test_important_tier_gets_mid_check_step(planner: Planner) -> None:
    s = planner.plan(at(100, 600, requested_kva=2000, tier="二级")).schemes[0]
    assert "mid_check" in s.duration_workdays["steps"]
    assert "important_customer_mid_check" in s.flags
    s1 = planner.plan(at(100, 600, requested_kva=800)).schemes[0]
    assert "mid_check" not in s1.duration_workdays["steps"]
    # seed §4.1: the current national limits are 10 (single) / 20 (dual) working days
    assert s1.duration_workdays["steps"]["scheme_reply"]["limit"] == 10  # single source
    assert s.duration_workdays["steps"]["scheme_reply"]["limit"] == 20  # dual
