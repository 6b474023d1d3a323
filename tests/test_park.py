"""Park pre-planning: the joint model against one-at-a-time reservation, bad parcels, outputs."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from grid_models.errors import BadParcelsError
from grid_models.io import read_network
from grid_models.policy import load_policy
from scheme_engine.engine import Planner
from scheme_engine.park import check_parcels, park_settings, plan_park
from scheme_engine.park.options import network_circuits
from scheme_engine.park.solve import violation
from tests.fixtures_small import origin, small_network

DEMO = "grid_models/demo/demo_city_S.gpkg"


@pytest.fixture(scope="module")
def small() -> Planner:
    return Planner(small_network(), load_policy())


@pytest.fixture(scope="module")
def demo() -> Planner:
    return Planner(read_network(DEMO), load_policy())


def _parcels(crs, boxes, **cols) -> gpd.GeoDataFrame:
    n = len(boxes)
    data = {"parcel_id": [f"P{i:03d}" for i in range(n)]}
    data.update({k: (v if isinstance(v, list) else [v] * n) for k, v in cols.items()})
    return gpd.GeoDataFrame(data, geometry=[shapely.box(*b) for b in boxes], crs=crs)


def _no_park(planner: Planner):
    """Settings without park assets (existing network only) and an exact solve."""
    return park_settings(planner.policy).replace(rmu_options_per_parcel=0, mip_gap=0.0,
                                                 time_limit_s=30.0)


def test_joint_model_does_not_overcommit_the_feeder_each_parcel_would_take(small):
    # two parcels beside overhead feeder F2: alone, each takes a tap on F2; together they
    # exceed F2's N-1 headroom
    x0, y0 = origin()
    boxes = [(x0 + 230, y0 + 870, x0 + 270, y0 + 910), (x0 + 230, y0 + 640, x0 + 270, y0 + 680)]
    park = check_parcels(_parcels(small.cn.crs, boxes, planned_kva=5000, industry="others"),
                         small, on_bad="fail")
    st = _no_park(small)
    res = plan_park(small, park, settings=st)
    # the case is real: each parcel's best option alone is on F2 and both exceed its room
    from scheme_engine.park.ledger import Limits

    results = small.options_many([{"lon": float(a), "lat": float(b), "requested_kva": 5000.0}
                                  for a, b in park.parcels[["lon", "lat"]].to_numpy()],
                                 park.demands)
    circ = network_circuits(results, np.array([1, 1]), st, st.voltage_margin_pct)
    best = [int(np.flatnonzero(circ.parcel == p)[np.argmin(circ.score[circ.parcel == p])])
            for p in (0, 1)]
    f2 = int(np.flatnonzero(small.cn.feeder_ids == "F2")[0])
    assert all(circ.feeder[k] == f2 for k in best)
    room = Limits.of(small.cn, small.policy).feeder_mva[f2]
    assert circ.inc_mva[best].sum() > room
    # the joint plan serves both and keeps F2 within its N-1 limit
    assert (res.parcels["status"] == "reserved").all()
    assert res.ledger.feeder_mva[f2] <= room + 1e-9
    assert (res.parcels["feeder_id"] == "F2").sum() == 1
    # objective, bound and gap agree; the joint objective is not above the greedy one
    s = res.stats
    m, sol = res.model, res.solution
    assert s["objective"] == pytest.approx(float(m.c @ sol.v))
    assert s["bound"] <= s["objective"] + 1e-6
    assert s["gap"] == pytest.approx((s["objective"] - s["bound"]) / abs(s["objective"]), abs=1e-9)
    assert s["gap"] <= st.mip_gap + 1e-9
    assert s["objective"] <= s["greedy_objective"] + 1e-6
    assert violation(m, sol.v) <= 1e-6 and violation(m, res.greedy.v) <= 1e-6
    # the gap of what is built: the same absolute gap over the part without penalties
    assert s["penalty_part"] + s["cost_part"] == pytest.approx(s["objective"])
    assert s["abs_gap"] == pytest.approx(s["objective"] - s["bound"], abs=1e-6)
    assert s["gap_costs"] == pytest.approx(s["abs_gap"] / s["cost_part"])
    assert s["cost_part"] == pytest.approx(res.parcels["score"].sum())


def test_one_parcel_park_reserves_the_engines_best_scheme(small):
    x0, y0 = origin()
    park = check_parcels(_parcels(small.cn.crs, [(x0 + 230, y0 + 870, x0 + 270, y0 + 910)],
                                  planned_kva=1000), small)
    res = plan_park(small, park, settings=_no_park(small))
    plan = small.plan({"lon": float(park.parcels.lon[0]), "lat": float(park.parcels.lat[0]),
                       "requested_kva": 1000.0})
    top = plan.schemes[0].circuits[0]
    assert res.parcels["point_id"][0] == top.connection.point_id
    assert res.parcels["score"][0] == pytest.approx(plan.schemes[0].score, abs=0.01)


@pytest.fixture(scope="module")
def demo_park(demo):
    cx, cy = 397700.0, 4393900.0
    boxes = [(cx - 300 + i * 90, cy - 250 + j * 90, cx - 220 + i * 90, cy - 170 + j * 90)
             for i in range(7) for j in range(6)]
    g = _parcels(demo.cn.crs, boxes, land_use=["M1", "M2", "W", "B"] * 10 + ["M1", "M2"],
                 plot_ratio=1.5, planned_year=[2026 + (i % 3) for i in range(42)])
    park = check_parcels(g, demo, park_id="demo")
    return park, plan_park(demo, park)


@pytest.fixture(scope="module")
def roomy_park():
    """42 parcels in the demo city's dense street grid, with room at the substations: the
    park ring is cheaper than the existing feeders for many of them."""
    from tests.park_fixtures import DENSE_XY, roomy_demo_network

    planner = Planner(roomy_demo_network(), load_policy())
    cx, cy = DENSE_XY
    boxes = [(cx - 300 + i * 90, cy - 250 + j * 90, cx - 220 + i * 90, cy - 170 + j * 90)
             for i in range(7) for j in range(6)]
    g = _parcels(planner.cn.crs, boxes, land_use=["M1", "M2", "W", "B"] * 10 + ["M1", "M2"],
                 plot_ratio=1.5)
    park = check_parcels(g, planner, park_id="roomy")
    return park, plan_park(planner, park)


def test_shared_new_assets_are_paid_once(roomy_park):
    park, res = roomy_park
    assert res.model.assets is not None
    park_rows = res.parcels[res.parcels["kind"] == "park_rmu"]
    feeders = [a for a in res.new_assets if a["asset"] == "park_feeder"]
    rmus = [a for a in res.new_assets if a["asset"] == "park_rmu"]
    assert len(park_rows) >= 3 and feeders and rmus  # several parcels share them
    assert sum(a["count"] for a in feeders) >= 2  # a ring has two feeders
    assert sum(a["bays_used"] for a in rmus) == len(park_rows)
    # objective = each option's score once + each asset's cost once + penalties
    unserved = res.parcels["status"] == "unserved"
    st = park_settings(load_policy())
    pen = (st.unserved_penalty_cny + st.unserved_penalty_cny_per_kva
           * res.parcels.loc[unserved, "kva"]).sum()
    assets = sum(a["cost_cny"] for a in res.new_assets)
    assert res.stats["objective"] == pytest.approx(res.parcels["score"].sum() + assets + pen,
                                                   rel=1e-9)
    assert res.stats["objective"] <= res.stats["greedy_objective"] + 1e-6
    assert res.stats["gap"] <= st.mip_gap + 1e-9


def test_summary_and_files(demo, demo_park, tmp_path):
    from scheme_engine.park.output import write_park_outputs

    park, res = demo_park
    paths = write_park_outputs(demo, res, tmp_path)
    doc = json.loads(paths["summary_json"].read_text(encoding="utf-8"))
    o = doc["optimisation"]
    assert o["gap"] == pytest.approx((o["objective"] - o["bound"]) / abs(o["objective"]), abs=1e-6)
    assert doc["parcels"]["reserved"] + doc["parcels"]["unserved"] == len(park)
    if doc["parcels"]["unserved"]:
        assert doc["need"]["new_substation"]["firm_mva"] >= doc["need"]["new_substation"]["for_mva"]
        assert all(u["reason"] for u in doc["unserved"])
    assert doc["years"]["by_substation"]  # planned years given
    for f in doc["feeders"]:
        assert f["load_rate_after"] <= f["n1_load_rate_limit"] + 1e-6
    layers = {n: gpd.read_file(paths["gpkg"], layer=n) for n in ("parcels", "routes", "new_assets")}
    assert set(layers["parcels"]["parcel_id"]) == set(park.parcels["parcel_id"])
    assert len(layers["routes"]) == int((res.parcels["status"] == "reserved").sum())
    heat = json.loads(paths["heatmap"].read_text(encoding="utf-8"))
    kinds = {f["properties"]["kind"] for f in heat["features"]}
    assert kinds == {"feeder", "access_point"}
    by_id = {f["id"]: f["properties"] for f in heat["features"] if f["properties"]["kind"] == "feeder"}
    for f in doc["feeders"]:
        assert by_id[f["feeder_id"]]["headroom_mva"] == pytest.approx(f["headroom_after_mva"], abs=1e-3)
    assert "园区预规划" in paths["summary_md"].read_text(encoding="utf-8")


# ------------------------------------------------------------------ bad parcels
def _one_bad(planner: Planner, geom, **cols) -> gpd.GeoDataFrame:
    x0, y0 = origin()
    good = shapely.box(x0 + 230, y0 + 870, x0 + 270, y0 + 910)
    d = {"parcel_id": ["OK1", "BAD"], "land_use": ["M1", "M1"]}
    for k, v in cols.items():
        d[k] = v
    return gpd.GeoDataFrame(d, geometry=[good, geom], crs=planner.cn.crs)


def _bad_reason(planner: Planner, g: gpd.GeoDataFrame) -> str:
    park = check_parcels(g, planner, on_bad="skip")
    assert list(park.parcels["parcel_id"]) == ["OK1"]  # the good one is kept
    assert len(park.bad) == 1
    with pytest.raises(BadParcelsError) as ei:
        check_parcels(g, planner, on_bad="fail")
    assert ei.value.bad[0]["reason"] == park.bad["reason"][0]
    assert "BAD" in str(ei.value) or "row 1" in str(ei.value)
    return str(park.bad["reason"][0])


def test_bad_parcel_invalid_geometry(small):
    x0, y0 = origin()
    bowtie = shapely.Polygon([(x0, y0), (x0 + 50, y0 + 50), (x0 + 50, y0), (x0, y0 + 50)])
    assert _bad_reason(small, _one_bad(small, bowtie)) == "invalid_geometry"


def test_bad_parcel_zero_area(small):
    x0, y0 = origin()
    tiny = shapely.box(x0 + 100, y0 + 100, x0 + 100.1, y0 + 100.1)
    assert _bad_reason(small, _one_bad(small, tiny)) == "zero_area"


def test_bad_parcel_outside_the_network(small):
    x0, y0 = origin()
    far = shapely.box(x0 + 90_000, y0, x0 + 90_100, y0 + 100)
    assert _bad_reason(small, _one_bad(small, far)) == "outside_network"


def test_bad_parcel_unknown_land_use(small):
    x0, y0 = origin()
    g = _one_bad(small, shapely.box(x0 + 230, y0 + 640, x0 + 270, y0 + 680),
                 land_use=["M1", "spaceport"])
    assert _bad_reason(small, g) == "unknown_land_use"


def test_bad_parcel_duplicate_ids(small):
    x0, y0 = origin()
    g = _one_bad(small, shapely.box(x0 + 230, y0 + 640, x0 + 270, y0 + 680))
    g = gpd.GeoDataFrame(
        {"parcel_id": ["OK1", "DUP", "DUP"], "land_use": ["M1"] * 3},
        geometry=[g.geometry[0], g.geometry[1], g.geometry[1].buffer(-5)], crs=g.crs)
    park = check_parcels(g, small, on_bad="skip")
    assert list(park.parcels["parcel_id"]) == ["OK1"]
    assert list(park.bad["reason"]) == ["duplicate_id", "duplicate_id"]
    with pytest.raises(BadParcelsError):
        check_parcels(g, small, on_bad="fail")


def test_cli_park_plan_on_bad_fail_exits_2(tmp_path, small):
    from api.cli import main
    from grid_models.io import write_network

    net = tmp_path / "small.gpkg"
    write_network(small_network(), net)
    x0, y0 = origin()
    g = _one_bad(small, shapely.box(x0 + 230, y0 + 640, x0 + 270, y0 + 680),
                 land_use=["M1", "spaceport"])
    f = tmp_path / "p.geojson"
    g.to_crs("EPSG:4326").to_file(f, driver="GeoJSON")
    assert main(["park", "plan", "--network", str(net), "--parcels", str(f), "--out",
                 str(tmp_path / "o"), "--on-bad", "fail", "--quiet", "--no-map"]) == 2
    assert main(["park", "plan", "--network", str(net), "--parcels", str(f), "--out",
                 str(tmp_path / "o"), "--quiet", "--no-map"]) == 0
    doc = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert [b["reason"] for b in doc["bad"]] == ["unknown_land_use"]


def test_park_map_fills_the_page_with_its_summary_beside_it(demo, demo_park, tmp_path):
    # the shared map layout keeps a right-hand panel: the park map puts its numbers and the
    # colour legend there (no empty band); text from the input is escaped
    from api.park_cli import write_map

    park, res = demo_park
    res.park_id = "<b>P&1</b>"
    try:
        html = write_map(demo, res, tmp_path / "m.html", "en").read_text(encoding="utf-8")
    finally:
        res.park_id = park.park_id
    assert '<aside class="gs-side">' in html
    assert "&lt;b&gt;P&amp;1&lt;/b&gt;" in html and "<b>P&1</b>" not in html
    assert "new park RMU" in html and "unserved" in html
    s = res.stats
    assert f"gap {s['gap']:.2%}" in html and f"of costs {s['gap_costs']:.2%}" in html
