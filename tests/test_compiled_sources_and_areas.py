"""The compiled network's newer views: MV/LV stations as connection points on an imported
real cable grid (issue #13 item 3), short-circuit source data per bus section (issue #9 item 1)
and supply-area classes at a point (issue #13 item 5); and compile refusing what validation
refuses (issue #11 item 5)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from api.cli import main
from grid_models.compiled import compile_network
from grid_models.errors import NetworkValidationError
from grid_models.network import Network
from grid_models.policy import load_policy
from grid_models.synth import synth_city
from grid_models.validation import validate
from scheme_engine.engine import Planner
from tests.fixtures_small import CRS, small_network

# -- stations on a real cable grid -----------------------------------------------------------


@pytest.fixture(scope="module")
def oberrhein_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pp = pytest.importorskip("pandapower")
    import pandapower.networks as pn

    path = tmp_path_factory.mktemp("pp") / "oberrhein.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.to_json(pn.mv_oberrhein(), str(path))
    return path


def test_imported_cable_grid_offers_and_reaches_the_station_next_door(oberrhein_json, tmp_path,
                                                                      capsys):
    out = tmp_path / "ob.gpkg"
    rc = main(["network", "import", "--from", "pandapower", str(oberrhein_json),
               "--assume-station-bays", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    # The import report says exactly what was assumed, and for how many stations.
    line = next(x for x in printed.splitlines() if "stations_assumption" in x)
    assert "assumed 2 spare bay(s) at each of 142 cable-network MV/LV station(s)" in line
    assert "5 station(s) on overhead lines left as dist_transformer" in line
    from grid_models.io import read_network

    net = read_network(out)
    report = validate(net)
    assert report.ok, report.render()
    st = net.nodes[net.nodes["kind"] == "station"]
    assert len(st) == 142 and (st["spare_bays"] == 2).all()
    # Without the option the stations carry no bays and are no connection points.
    rc = main(["network", "import", "--from", "pandapower", str(oberrhein_json),
               "--out", str(tmp_path / "plain.gpkg")])
    assert rc == 0 and "stations_assumption" not in capsys.readouterr().out
    plain = read_network(tmp_path / "plain.gpkg")
    assert (plain.nodes["kind"] != "station").all()

    planner = Planner(net)
    cn = planner.cn
    target = st.iloc[40]
    pos = int(np.flatnonzero(cn.node_ids == target["id"])[0])
    assert pos in set(cn.bay_nodes[20.0].element.tolist())
    # A customer 36 m from that station.
    to_wgs = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(target.geometry.x + 30, target.geometry.y + 20)
    app = {"lon": lon, "lat": lat, "requested_kva": 630, "tier": "普通", "industry": "others"}
    level = planner.evaluate_level(app, 20.0)
    offered = list(level.cand.point_id)
    assert target["id"] in offered
    c = offered.index(target["id"])
    assert np.isfinite(level.options.routes.length_m[c]) and level.options.routes.length_m[c] > 0
    result = planner.plan(app)
    reached = [ci for s in result.schemes for ci in s.circuits
               if ci.connection.point_id == target["id"]]
    assert reached, [ci.connection.point_id for s in result.schemes for ci in s.circuits]
    assert reached[0].route_length_m["total"] < 100
    assert cn.node_kind[pos] == 6  # NODE_KIND_CODES["station"]


def test_spare_bays_column_on_pandapower_buses_is_honoured():
    pp = pytest.importorskip("pandapower")
    from grid_models.import_pandapower import network_from_pandapower

    net = pp.create_empty_network()
    b = [pp.create_bus(net, v, geodata=(106.82 + 0.003 * i, 39.67)) for i, v in
         enumerate([110, 20, 20, 20, 20])]
    pp.create_ext_grid(net, b[0], s_sc_max_mva=3000, s_sc_min_mva=2000, rx_max=0.2, rx_min=0.15)
    pp.create_transformer(net, b[0], b[1], "25 MVA 110/20 kV")
    cable = "NA2XS2Y 1x95 RM/25 12/20 kV"
    for u, v in ((1, 2), (2, 3), (3, 4)):
        pp.create_line(net, b[u], b[v], 0.256, cable)
    pp.create_load(net, b[2], p_mw=0.3)
    pp.create_load(net, b[4], p_mw=0.2)
    net.bus["spare_bays"] = [np.nan, np.nan, 3, 1, np.nan]
    imp = network_from_pandapower(net, power_flow=False)
    nodes = imp.nodes.set_index("source_ref")
    assert nodes.loc["bus:2", "kind"] == "station" and nodes.loc["bus:2", "spare_bays"] == 3
    assert nodes.loc["bus:3", "kind"] == "rmu" and nodes.loc["bus:3", "spare_bays"] == 1
    assert nodes.loc["bus:4", "kind"] == "dist_transformer"  # nothing declared or assumed
    assert nodes.loc["bus:2", "bays_total"] == 2 + 3  # two cables plus the spare ones
    assert "2 node(s) take spare_bays from the bus table" in imp.meta["stations_assumption"]
    # The external grid's short-circuit data land on the substation.
    sub = imp.substations.iloc[0]
    assert (sub["s_sc_max_mva"], sub["s_sc_min_mva"], sub["rx_max"], sub["rx_min"]) == \
        (3000, 2000, 0.2, 0.15)
    assert sub["vkr_percent"] == pytest.approx(net.trafo["vkr_percent"].iat[0])
    assert validate(imp).ok
    cn = compile_network(imp, load_policy())
    assert not cn.ss_sc_default[0]
    # IEC 60909-0 eq. (1): Z_Q = c U^2 / S''kQ at 20 kV, c_max 1.1 for the 110 kV source.
    z = 1.1 * 20.0**2 / 3000
    x = z / np.sqrt(1 + 0.2**2)
    assert cn.bs_z_q_max_ohm[0] == pytest.approx(0.2 * x + 1j * x)
    z_min = 1.0 * 20.0**2 / 2000
    x_min = z_min / np.sqrt(1 + 0.15**2)
    assert cn.bs_z_q_min_ohm[0] == pytest.approx(0.15 * x_min + 1j * x_min)


# -- short-circuit source data --------------------------------------------------------------

def test_short_circuit_defaults_by_voltage_level_are_recorded():
    net = small_network()  # 110/10 kV, 2 x 40 MVA, no source data, vk not given
    pol = load_policy()
    cn = compile_network(net, pol)
    tab = pol.table("short_circuit_sources").set_index("vn_kv")
    assert cn.ss_sc_default.tolist() == [True] and cn.ss_trafo_default.tolist() == [True]
    assert cn.ss_s_sc_max_mva[0] == tab.loc[110, "s_sc_max_mva"]
    assert cn.ss_s_sc_min_mva[0] == tab.loc[110, "s_sc_min_mva"]
    s_max, rx = float(tab.loc[110, "s_sc_max_mva"]), float(tab.loc[110, "rx_max"])
    x = 1.1 * 10.0**2 / s_max / np.sqrt(1 + rx**2)
    assert np.allclose(cn.bs_z_q_max_ohm, rx * x + 1j * x)
    # One 40 MVA unit per bus section: Z_T = vk/100 x 10^2 / 40, R_T = vkr/100 x 10^2 / 40.
    vk, vkr = pol.param("default_transformer_vk_percent"), float(tab.loc[110, "transformer_vkr_percent"])
    zt, rt = vk / 100 * 100 / 40, vkr / 100 * 100 / 40
    assert np.allclose(cn.bs_z_trafo_ohm, rt + 1j * np.sqrt(zt**2 - rt**2))
    assert np.allclose(cn.bs_c_max, 1.1) and np.allclose(cn.bs_c_min, 1.0)

    L = {k: v.copy() for k, v in net.layers.items()}
    L["substations"][["s_sc_max_mva", "s_sc_min_mva", "rx_max", "rx_min", "vk_percent",
                      "vkr_percent"]] = [4000.0, 2500.0, 0.1, 0.1, 12.0, 0.5]
    cn2 = compile_network(Network.from_layers(L, crs=CRS), pol)
    assert not cn2.ss_sc_default[0] and not cn2.ss_trafo_default[0]
    zt, rt = 0.12 * 100 / 40, 0.005 * 100 / 40
    assert np.allclose(cn2.bs_z_trafo_ohm, rt + 1j * np.sqrt(zt**2 - rt**2))


def test_invalid_short_circuit_data_is_refused():
    L = {k: v.copy() for k, v in small_network().layers.items()}
    L["substations"][["s_sc_max_mva", "s_sc_min_mva", "vk_percent", "vkr_percent"]] = \
        [1000.0, 2000.0, 0.0, 1.0]
    report = validate(Network.from_layers(L, crs=CRS))
    got = {(p.code, p.element_id) for p in report.errors}
    assert ("out_of_range", "SS1") in got
    msgs = " | ".join(p.message for p in report.errors)
    assert "s_sc_min_mva = 2000 > s_sc_max_mva = 1000" in msgs and "vk_percent = 0" in msgs


# -- supply areas ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def city() -> Network:
    return synth_city("S", seed=1)


def test_supply_area_class_at_points(city):
    cn = compile_network(city, load_policy())
    sa = city.layers["supply_areas"].set_index("id")
    core = sa.geometry["SA1"]
    inside = shapely.get_coordinates(core.centroid)[0]
    x0, y0, x1, y1 = core.bounds
    ring = np.array([x0 - 300, (y0 + y1) / 2])
    far = np.array([x0 - 50_000, y0])
    cls, ids = cn.supply_area_at(np.array([inside, ring, far]))
    assert cls.tolist() == ["B", "D", "B"] and ids.tolist() == ["SA1", "SA2", ""]
    # outside the polygons: the class whose load-density band holds the city's average
    assert cn.supply_area_default == "B" and cn.supply_area_default_source == "load_density"
    # One point works too; network_info overrides the policy's default class.
    L = {k: v.copy() for k, v in city.layers.items()}
    net2 = Network.from_layers(L, crs=city.crs, meta={**city.meta, "supply_area_class": "C"})
    cn2 = compile_network(net2, load_policy())
    assert cn2.supply_area_at(far)[0].tolist() == ["C"]
    assert cn2.supply_area_default_source == "network_info"


def test_supply_area_at_is_vectorised(city):
    import time

    cn = compile_network(city, load_policy())
    rng = np.random.default_rng(0)
    b = city.layers["supply_areas"].total_bounds
    pts = np.column_stack([rng.uniform(b[0], b[2], 20_000), rng.uniform(b[1], b[3], 20_000)])
    t0 = time.perf_counter()
    cls, _ = cn.supply_area_at(pts)
    dt = time.perf_counter() - t0
    core = city.layers["supply_areas"].set_index("id").geometry["SA1"]
    expect = np.where(shapely.contains_xy(core, pts[:, 0], pts[:, 1]), "B", "D")
    assert (cls == expect).all()
    assert dt < 1.0, f"{dt:.3f} s for 20,000 points"


def test_supply_area_classes_are_validated(city):
    L = {k: v.copy() for k, v in city.layers.items()}
    L["supply_areas"].loc[0, "class"] = "A++"
    net = Network.from_layers(L, crs=city.crs, meta={**city.meta, "supply_area_class": "Z"})
    got = {(p.code, p.layer, p.element_id) for p in validate(net).errors}
    assert got == {("unknown_supply_area_class", "supply_areas", "SA1"),
                   ("unknown_supply_area_class", "network_info", "supply_area_class")}


# -- compile reuses validation ----------------------------------------------------------------

def test_compile_and_planner_refuse_with_validation_codes():
    L = {k: v.copy() for k, v in small_network().layers.items()}
    L["bus_sections"].loc[1, "id"] = "BS1"  # duplicate bus-section id (crashed the planner)
    L["segments"].loc[L["segments"]["id"] == "F2-S3", "max_i_ka"] = np.inf
    net = Network.from_layers(L, crs=CRS)
    want = {(p.code, p.element_id) for p in validate(net).errors}
    assert ("duplicate_id", "BS1") in want and ("non_finite_value", "F2-S3") in want
    with pytest.raises(NetworkValidationError) as e:
        compile_network(net, load_policy())
    assert {(p.code, p.element_id) for p in e.value.report.errors} == want
    with pytest.raises(NetworkValidationError):
        Planner(net)
    # Warnings do not stop it, and stay available.
    L = {k: v.copy() for k, v in small_network().layers.items()}
    L["nodes"].loc[L["nodes"]["id"] == "F1-DT1", "p_mw"] = -0.1
    cn = compile_network(Network.from_layers(L, crs=CRS), load_policy())
    assert [p.code for p in cn.validation.warnings] == ["negative_load"]


# -- foreign-data friction ------------------------------------------------------------------

def test_import_layer_of_a_multi_layer_geopackage(tmp_path, capsys):
    from grid_models.io import write_network

    src = write_network(small_network(), tmp_path / "net.gpkg")
    gpkg = tmp_path / "gis.gpkg"
    roads = gpd.read_file(src, layer="roads").rename(columns={"road_class": "kind_of_road"})
    roads.to_file(gpkg, layer="strassen", driver="GPKG")
    gpd.read_file(src, layer="nodes").to_file(gpkg, layer="punkte", driver="GPKG")
    rc = main(["network", "import", "--from", "geojson", str(gpkg), "--out",
               str(tmp_path / "x.gpkg")])
    assert rc == 2 and "--layer NAME" in capsys.readouterr().err
    rc = main(["network", "import", "--from", "geojson", str(gpkg), "--layer", "strassen",
               "--out", str(tmp_path / "x.gpkg")])
    out = capsys.readouterr().out
    assert rc == 0, out
    # A layer without a class column: one note, not three.
    class_lines = [x for x in out.splitlines() if "class" in x and x.startswith("roads:")
                   and "line(s) read" not in x]
    assert class_lines == ["roads: no road class column (looked for road_class, class, highway, "
                           "fclass, type); every line gets the default class 'local'"]


def test_pandapower_line_types_are_known_at_every_voltage():
    from grid_models.policy import load_standard_types

    std = load_standard_types()
    names = set(std.line_types["name"])
    for name in ("149-AL1/24-ST1A 10.0", "149-AL1/24-ST1A 20.0", "149-AL1/24-ST1A 110.0",
                 "NA2XS2Y 1x185 RM/25 6/10 kV", "NAYY 4x150 SE", "490-AL1/64-ST1A 380.0"):
        assert name in names
    cat = std.line_catalogue.set_index("name")
    assert cat.loc["149-AL1/24-ST1A 10.0", "vn_kv"] == 10.0
    assert cat.loc["NA2XS2Y 1x185 RM/25 6/10 kV", "construction"] == "cable"
    assert cat["references"].str.contains("pandapower").all()
    # Planning offers only the priced conductors, never the catalogue.
    assert "149-AL1/24-ST1A 10.0" not in set(std.conductors["name"])


def test_unknown_types_are_reported_once_per_type_without_the_catalogue():
    L = {k: v.copy() for k, v in small_network().layers.items()}
    seg = L["segments"]
    seg.loc[seg["feeder_id"] == "F2", "std_type"] = "ACME-99"  # own r/x/max_i given
    seg.loc[seg["id"] == "F3-S2", "std_type"] = "149-AL1/24-ST1A 10.0"  # pandapower's
    seg.loc[seg["id"] == "F3-S2", "construction"] = "overhead"
    seg.loc[seg["id"] == "F3-S3", ["std_type", "r_ohm_per_km"]] = ["JKLYJ-24", np.nan]
    report = validate(Network.from_layers(L, crs=CRS))
    unknown = [p for p in report.problems if p.code == "unknown_std_type"]
    assert [(p.severity, p.element_id) for p in unknown] == [("error", "F3-S3"),
                                                             ("warning", "F2-S1")]
    assert "4 segment(s)" in unknown[1].message
    assert "did you mean JKLYJ-240" in unknown[0].message
    for p in unknown:  # a short hint, never the 65-name catalogue
        assert "NAYY" not in p.message and len(p.message) < 600


def test_validate_output_is_grouped(tmp_path, capsys):
    from grid_models.io import write_network

    L = {k: v.copy() for k, v in small_network().layers.items()}
    L["segments"]["x_ohm_per_km"] = -1.0
    path = write_network(Network.from_layers(L, crs=CRS), tmp_path / "neg.gpkg")
    assert main(["network", "validate", str(path)]) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "12 error(s), 0 warning(s)"
    assert len(out) == 2 and out[1].startswith("[error] segments: out_of_range x12 (")
    assert main(["network", "validate", "--all", str(path)]) == 3
    assert len(capsys.readouterr().out.splitlines()) == 13
    assert main(["network", "validate", "--json", str(path)]) == 3
    assert len(json.loads(capsys.readouterr().out)["problems"]) == 12


def test_default_used_and_ignored_bays_are_warnings():
    L = {k: v.copy() for k, v in small_network().layers.items()}
    nodes = L["nodes"]
    nodes["p_mw"] = nodes["p_mw"].astype(object)
    nodes.loc[nodes["id"] == "F2-DT1", "p_mw"] = None
    nodes.loc[nodes["id"] == "F3-DT1", "spare_bays"] = 2
    nodes.loc[nodes["id"] == "F3-DT1", "bays_total"] = 3
    net = Network.from_layers(pd.Series(L).to_dict(), crs=CRS, strict=False)
    report = validate(net)
    assert report.ok, report.render()
    w = {(p.code, p.layer, p.element_id): p.message for p in report.warnings}
    assert "F2-DT1" in w[("default_used", "nodes", "*")]
    assert "kind 'station'" in w[("bays_ignored", "nodes", "F3-DT1")]


def test_assume_station_bays_without_a_number_takes_the_policy_default(tmp_path, capsys):
    pp = pytest.importorskip("pandapower")
    from api.cli import build_parser
    from grid_models.importers import import_network

    args = build_parser().parse_args(["network", "import", "--from", "pandapower", "x.json",
                                      "--assume-station-bays", "--out", "y.gpkg"])
    assert args.assume_station_bays == "default"
    net = pp.create_empty_network()
    b = [pp.create_bus(net, v, geodata=(106.82 + 0.003 * i, 39.67)) for i, v in
         enumerate([110, 20, 20, 20])]
    pp.create_ext_grid(net, b[0])
    pp.create_transformer(net, b[0], b[1], "25 MVA 110/20 kV")
    for u, v in ((1, 2), (2, 3)):
        pp.create_line(net, b[u], b[v], 0.256, "NA2XS2Y 1x95 RM/25 12/20 kV")
    pp.create_load(net, b[2], p_mw=0.3)
    pp.create_load(net, b[3], p_mw=0.2)
    src = tmp_path / "toy.json"
    pp.to_json(net, str(src))
    want = int(load_policy().param("import_assumed_station_spare_bays"))
    imp, notes = import_network(src, "pandapower", station_bays="default")
    assert (imp.nodes.loc[imp.nodes["kind"] == "station", "spare_bays"] == want).all()
    assert (imp.nodes["kind"] == "station").sum() == 2
    assert any(f"assumed {want} spare bay(s) at each of 2 cable-network" in n for n in notes)
    # Only pandapower imports have stations to assume.
    roads = tmp_path / "r.geojson"
    gpd.GeoDataFrame({"highway": ["primary"]},
                     geometry=[shapely.LineString([(106.82, 39.67), (106.83, 39.67)])],
                     crs="EPSG:4326").to_file(roads, driver="GeoJSON")
    rc = main(["network", "import", "--from", "geojson", str(roads), "--assume-station-bays",
               "2", "--out", str(tmp_path / "r.gpkg")])
    assert rc == 2 and "pandapower imports only" in capsys.readouterr().err
