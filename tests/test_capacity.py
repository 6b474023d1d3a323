"""Capacity: the customer's transformers (worked on paper) and each scheme's largest kVA."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grid_models.compiled import SQRT3
from scheme_engine.engine import Planner
from tests.fixtures_small import at


def _tx(planner: Planner, **app) -> dict:
    return planner.plan(at(-60, 900, industry="data_centre", **app)).customer_transformers


def test_recommended_transformers_single_source(small_planner: Planner) -> None:
    # data centre: demand factor 0.7 -> 2000 kVA applied = 1400 kVA design demand. One unit
    # (fewest) loaded <= 85 %: >= 1647 kVA -> 2000 kVA (load rate 0.70, economic): as applied.
    t = _tx(small_planner, requested_kva=2000)
    assert t["design_demand_kva"] == pytest.approx(1400)
    assert t["recommended"]["config"] == "1x2000" and t["recommended"]["load_rate"] == 0.7
    assert t["approved_kva"] == 2000 and not t["differs"] and not t["n1_required"]


def test_recommended_transformers_n1_for_important_customers(small_planner: Planner) -> None:
    # 二级: with one unit out the other carries 1400 kVA at <= 100 %: 2 x 1600 kVA
    t = _tx(small_planner, requested_kva=2000, tier="二级")
    assert t["n1_required"] and t["recommended"]["config"] == "2x1600"
    assert t["recommended"]["n1_load_rate"] == pytest.approx(1400 / 1600, abs=1e-4)
    # 2000 kVA without units: 1400 / 2000 = 0.70 is within the band: approved as applied
    assert t["approved_kva"] == 2000 and t["differs"]
    # one 2000 kVA unit cannot survive its own loss: refused, the recommendation approved
    t = _tx(small_planner, requested_kva=2000, tier="二级", transformer_config="1x2000")
    assert {r["code"] for r in t["reasons"]} == {"no_n1"}
    assert t["approved_kva"] == 3200 and t["requested"]["config"] == "1x2000"
    # 2 x 1000: one unit out leaves 1400 on 1000 kVA (140 %)
    t = _tx(small_planner, requested_kva=2000, tier="二级", transformer_config="2x1000")
    assert "n1_overload" in {r["code"] for r in t["reasons"]}


def test_oversized_and_non_standard_configurations(small_planner: Planner) -> None:
    # 3 x 700 kVA: 700 is no standard rating; 2100 x 0.7 = 1470 kVA fits one 2000 kVA unit
    # (0.735) closer to the applied 2100 than 2500 (0.588)
    t = _tx(small_planner, requested_kva=2100, transformer_config="3x700")
    assert {r["code"] for r in t["reasons"]} == {"non_standard_rating"}
    assert t["recommended"]["config"] == "1x2000" and t["approved_kva"] == 2000
    # one-shift plant: demand factor 0.45 loads 1 x 2000 kVA at 45 % (< 50 %): oversized;
    # 900 kVA needs >= 1059 kVA at 85 % and <= 1800 kVA at 50 %: 1250 (0.72) or 1600 (0.56);
    # 1600 is nearer the applied 2000
    t = small_planner.plan(at(-60, 900, industry="one_shift_manufacturing", requested_kva=2000,
                              transformer_config="1x2000")).customer_transformers
    assert {r["code"] for r in t["reasons"]} == {"oversized"}
    assert t["recommended"]["config"] == "1x1600" and t["approved_kva"] == 1600


def _find(lr, circuit) -> tuple[int, int]:
    c = int(np.flatnonzero(lr.cand.point_id.astype(str) == circuit.connection.point_id)[0])
    t = int(np.flatnonzero(lr.options.conductors["name"].to_numpy() == circuit.conductor.type)[0])
    return c, t


def _check_largest(planner: Planner, app: dict) -> int:
    """For every circuit of every scheme: feasible at max_kva, the named check fails at +1."""
    res = planner.plan(app)
    n = 0
    for s in res.schemes:
        if not s.feasible:
            continue
        assert s.capacity["max_kva"] == min(c.capacity["max_kva"] for c in s.circuits)
        for circ in s.circuits:
            cap = circ.capacity
            kmax = cap["max_kva"]
            assert kmax >= app["requested_kva"]
            at_max = planner.evaluate_level({**app, "requested_kva": kmax}, s.voltage_kv)
            c, t = _find(at_max, circ)
            assert at_max.options.feasible[c, t], (cap, app)
            if cap["binding"] in ("voltage_level_range", "search_limit"):
                continue
            over = planner.evaluate_level({**app, "requested_kva": kmax + 1}, s.voltage_kv)
            c, t = _find(over, circ)
            assert not over.options.passed[cap["binding"]][c, t], (cap, app)
            n += 1
    return n


def test_largest_capacity_on_paper_feeder_load_rate(small_planner: Planner) -> None:
    """A tap on F2 (overhead, 1 tie: N-1 limit 50 %). F2 carries 1.1 MW at pf 0.95 on
    JKLYJ-240 (0.55 kA): rated 9.526 MVA, so the customer may add 0.5 x 9.526 - 1.158 =
    3.605 MVA; 'others' has demand factor 0.5: 7,210 kVA applied."""
    app = at(380, 650, requested_kva=800, industry="others")
    res = small_planner.plan(app)
    tap = next(s for s in res.schemes if s.circuits[0].connection.feeder_id == "F2")
    cap = tap.capacity
    rated = SQRT3 * 10 * 0.55
    head_mva = 0.5 * rated - 1.1 / 0.95
    assert cap["binding"] == "feeder_load_rate"
    assert cap["max_kva"] == math.floor(head_mva * 1000 / 0.5)
    assert _check_largest(small_planner, app) >= 1


@pytest.mark.parametrize("tier", ["普通", "二级"])
def test_largest_capacity_one_more_kva_fails_the_named_check(demo_planner: Planner,
                                                            tier: str) -> None:
    from benchmarks.run import make_apps

    checked = 0
    for app in make_apps(demo_planner.network, 12, seed=3):
        app["tier"] = tier
        try:
            checked += _check_largest(demo_planner, app)
        except Exception as exc:  # an input error is not what this test is about
            from grid_models.errors import ApplicationError

            if not isinstance(exc, ApplicationError):
                raise
    assert checked >= 5


def test_applied_total_without_units_must_survive_n1(small_planner: Planner) -> None:
    # 二级 data centre, 2500 kVA applied, no units: 1750 kVA design demand. Equal standard
    # splits of 2500 within 4 units: 2 x 1250 (one out: 1750 / 1250 = 140 %) only, so the
    # applied total cannot keep N-1 and the recommended 2 x 2000 kVA is approved.
    t = _tx(small_planner, requested_kva=2500, tier="二级")
    assert t["recommended"]["config"] == "2x2000"
    assert t["approved_kva"] == 4000 and t["differs"]
