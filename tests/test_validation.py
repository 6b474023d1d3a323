"""Tests of grid_models.validation on the hand-made small network and seeded defects."""

from __future__ import annotations

import subprocess
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, Point

from grid_models.io import write_network
from grid_models.network import Network
from grid_models.validation import validate, validate_path
from tests.fixtures_small import CRS, origin, small_network

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"

# Every seeded defect: (code, layer, element id).
EXPECTED_ERRORS = {
    ("duplicate_id", "roads", "R1"),
    ("dangling_segment", "segments", "X-DANGLE"),
    ("unfed", "nodes", "ISO-1"),
    ("feeder_loop", "feeders", "F3"),
    ("unknown_node_kind", "nodes", "F2-P1"),
    ("unknown_connection_mode", "feeders", "F3"),
    ("non_positive_length", "segments", "F2-S3"),
    ("length_mismatch", "segments", "F1-S2"),
    ("feeder_overload", "feeders", "F2"),
    ("bays_overused", "bus_sections", "BS1"),
    ("unknown_bus_section", "feeders", "F1"),
    ("unknown_std_type", "segments", "F3-S2"),
    ("unknown_feeder", "nodes", "F2-DT1"),
    ("busbar_count", "bus_sections", "BS2"),
    ("dangling_switch", "switches", "SW-X"),
    ("busbars_connected", "feeders", "F1"),
    ("missing_geometry", "nodes", "F3-DT1"),
    ("out_of_range", "segments", "F1-S3"),
}


def _layers(net: Network) -> dict[str, pd.DataFrame]:
    return {k: v.copy() for k, v in net.layers.items()}


def _set(t: pd.DataFrame, elem: str, col: str, value: object) -> None:
    t.loc[t["id"] == elem, col] = value


def _add(t: gpd.GeoDataFrame, rows: list[dict]) -> gpd.GeoDataFrame:
    extra = gpd.GeoDataFrame(rows, geometry="geometry", crs=t.crs)
    return gpd.GeoDataFrame(pd.concat([t, extra], ignore_index=True), geometry="geometry",
                            crs=t.crs)


def _line(net: Network, a: str, b: str) -> tuple[LineString, float]:
    nodes = net.nodes.set_index("id").geometry
    g = LineString([nodes[a], nodes[b]])
    return g, g.length / 1000


def defective_network() -> Network:
    """The small network with the defects of ``EXPECTED_ERRORS`` seeded in one copy."""
    good = small_network()
    L = _layers(good)
    x0, y0 = origin()
    seg_proto = good.segments[good.segments["id"] == "F3-S3"].iloc[0].to_dict()

    _set(L["roads"], "R2", "id", "R1")  # duplicate id
    g_loop, len_loop = _line(good, "F3-DT1", "F3-P1")
    p2 = good.nodes.set_index("id").geometry["F3-P2"]
    L["nodes"] = _add(L["nodes"], [
        {**good.nodes.iloc[10].to_dict(), "id": "ISO-1", "feeder_id": "",
         "geometry": Point(x0 + 600, y0 - 600)},
        {**good.nodes.iloc[10].to_dict(), "id": "ISO-2", "feeder_id": "",
         "geometry": Point(x0 + 700, y0 - 600)},
        {**good.nodes.iloc[0].to_dict(), "id": "BB2-X", "bus_section_id": "BS2",
         "geometry": Point(x0 + 20, y0 + 5)},  # second busbar of BS2
    ])
    L["segments"] = _add(L["segments"], [
        {**seg_proto, "id": "X-DANGLE", "from_node": "F3-P2", "to_node": "GHOST",
         "length_km": 0.1, "geometry": LineString([p2, Point(p2.x - 100, p2.y)])},
        {**seg_proto, "id": "ISO-S1", "from_node": "ISO-1", "to_node": "ISO-2", "feeder_id": "",
         "length_km": 0.1, "geometry": LineString([(x0 + 600, y0 - 600), (x0 + 700, y0 - 600)])},
        {**seg_proto, "id": "F3-LOOP", "from_node": "F3-DT1", "to_node": "F3-P1",
         "length_km": len_loop, "geometry": g_loop},
    ])
    L["switches"] = _add(L["switches"], [
        {"id": "SW-X", "node_a": "F3-P1", "node_b": "GHOST2", "segment_id": "",
         "kind": "sectionalizer", "closed": True, "source_ref": "", "geometry": Point(x0, y0)},
    ])
    _set(L["switches"], "SW-T1", "closed", True)  # F1 and F2 no longer separated
    _set(L["nodes"], "F2-P1", "kind", "tower")
    _set(L["nodes"], "F2-DT1", "feeder_id", "F9")
    L["nodes"].loc[L["nodes"]["id"] == "F3-DT1", "geometry"] = None
    _set(L["feeders"], "F3", "connection_mode", "overhead_meshed")
    _set(L["feeders"], "F2", "peak_mw", 50.0)
    _set(L["feeders"], "F1", "bus_section_id", "BS9")
    _set(L["bus_sections"], "BS1", "bays_used", 9)
    _set(L["segments"], "F2-S3", "length_km", 0.0)
    _set(L["segments"], "F1-S2", "length_km", 1.0)  # geometry is 0.5 km
    _set(L["segments"], "F1-S3", "x_ohm_per_km", -0.1)
    _set(L["segments"], "F3-S2", "std_type", "FOO-1")
    _set(L["segments"], "F3-S2", "r_ohm_per_km", np.nan)
    return Network.from_layers(L, crs=CRS, meta=dict(good.meta))


def _triples(report, severity: str = "error") -> set[tuple[str, str, str]]:
    return {(p.code, p.layer, p.element_id) for p in report.problems if p.severity == severity}


# -- the valid network ------------------------------------------------------------------------

def test_small_network_is_valid():
    net = small_network()
    report = validate(net)
    assert report.ok, report.render()
    assert report.problems == [], report.render()
    # The fixture's contract: lengths equal geometry, as documented.
    geom_km = shapely.length(np.asarray(net.segments.geometry.values)) / 1000
    assert np.allclose(geom_km, net.segments["length_km"])
    assert net.crs.to_epsg() == 4545


def test_geopackage_round_trip_validates_clean(tmp_path):
    net = small_network()
    path = write_network(net, tmp_path / "small.gpkg")
    report = validate_path(path)
    assert report.problems == [], report.render()


# -- seeded defects ---------------------------------------------------------------------------

def test_every_seeded_defect_is_reported_in_one_run():
    report = validate(defective_network())
    got = _triples(report)
    assert got == EXPECTED_ERRORS, (
        f"missing: {sorted(EXPECTED_ERRORS - got)}\nunexpected: {sorted(got - EXPECTED_ERRORS)}")
    assert len({c for c, _, _ in EXPECTED_ERRORS}) >= 10
    # Each message says what is wrong and what would be valid.
    by = {(p.code, p.element_id): p.message for p in report.errors}
    assert "GHOST" in by[("dangling_segment", "X-DANGLE")]
    assert "cable_single_ring" in by[("unknown_connection_mode", "F3")]
    assert "busbar" in by[("unknown_node_kind", "F2-P1")]
    assert "ISO-1, ISO-2" in by[("unfed", "ISO-1")]
    assert "BB1" in by[("busbars_connected", "F1")] and "SW-T1" in by[("busbars_connected", "F1")]
    assert "F2" in by[("busbars_connected", "F1")]
    assert "50 MW" in by[("feeder_overload", "F2")] and "9.05 MW" in by[("feeder_overload", "F2")]
    assert "BB2, BB2-X" in by[("busbar_count", "BS2")]
    assert "JKLYJ-240" in by[("unknown_std_type", "F3-S2")]
    assert "-50 %" in by[("length_mismatch", "F1-S2")]


def test_defective_file_reports_everything_through_validate_path(tmp_path):
    path = write_network(defective_network(), tmp_path / "bad.gpkg")
    report = validate_path(path)
    assert _triples(report) == EXPECTED_ERRORS


def test_unknown_std_type_with_own_values_is_only_a_warning():
    L = _layers(small_network())
    _set(L["segments"], "F3-S2", "std_type", "N2XSY 1x95 RM/16 6/10 kV")  # a foreign (pandapower) name
    report = validate(Network.from_layers(L, crs=CRS))
    assert report.ok, report.render()
    assert _triples(report, "warning") == {("unknown_std_type", "segments", "F3-S2")}


def test_schematic_length_mismatch_is_a_warning():
    L = _layers(small_network())
    _set(L["segments"], "F1-S2", "length_km", 1.0)
    report = validate(Network.from_layers(L, crs=CRS, meta={"geometry_source": "schematic"}))
    assert report.ok
    assert ("length_mismatch", "segments", "F1-S2") in _triples(report, "warning")


def test_length_tolerance_comes_from_policy():
    from grid_models.policy import Policy, load_policy

    L = _layers(small_network())
    _set(L["segments"], "F1-S2", "length_km", 0.55)  # geometry 0.5 km: 0.05 km = 9 % off
    net = Network.from_layers(L, crs=CRS)
    assert validate(net).ok
    pol = load_policy()
    t = pol.tables["parameters"].copy()
    t.loc[t["key"] == "validation_length_rel_tolerance", "value"] = 0.05
    strict = Policy("strict", {**pol.tables, "parameters": t})
    assert ("length_mismatch", "segments", "F1-S2") in _triples(validate(net, policy=strict))


def test_negative_load_is_generation_warning_and_ring_through_one_busbar_is_a_loop():
    L = _layers(small_network())
    _set(L["nodes"], "F1-DT1", "p_mw", -0.2)
    # Re-home F2 on BS1's busbar and close the tie: F1 and F2 form a ring through BB1.
    bb1 = L["nodes"].set_index("id").geometry["BB1"]
    _set(L["segments"], "F2-S1", "from_node", "BB1")
    L["segments"].loc[L["segments"]["id"] == "F2-S1", "geometry"] = LineString(
        [bb1, L["nodes"].set_index("id").geometry["F2-P1"]])
    seg = L["segments"]
    seg.loc[seg["id"] == "F2-S1", "length_km"] = seg.loc[seg["id"] == "F2-S1"].length / 1000
    _set(L["feeders"], "F2", "bus_section_id", "BS1")
    _set(L["switches"], "SW-T1", "closed", True)
    report = validate(Network.from_layers(L, crs=CRS))
    assert ("negative_load", "nodes", "F1-DT1") in _triples(report, "warning")
    errors = _triples(report)
    assert errors == {("feeder_loop", "feeders", "F1")}, report.render()
    assert "BB1" in report.errors[0].message


def test_bus_coupler_is_fine_but_cables_and_odd_values_are_not():
    L = _layers(small_network())
    x0, y0 = origin()
    bb = L["nodes"].set_index("id").geometry
    seg_proto = L["segments"].iloc[0].to_dict()
    # A closed bus coupler between the two busbars is part of a normal substation.
    L["switches"] = _add(L["switches"], [
        {"id": "SW-BC", "node_a": "BB1", "node_b": "BB2", "segment_id": "", "kind": "breaker",
         "closed": True, "source_ref": "", "geometry": Point(x0, y0)}])
    assert validate(Network.from_layers(L, crs=CRS)).problems == []
    g = LineString([bb["BB1"], bb["BB2"]])
    L["segments"] = _add(L["segments"], [
        {**seg_proto, "id": "BB-CABLE", "from_node": "BB1", "to_node": "BB2", "feeder_id": "",
         "length_km": g.length / 1000, "geometry": g},
        {**seg_proto, "id": "SELF", "from_node": "F1-RMU1", "to_node": "F1-RMU1",
         "feeder_id": "F1", "length_km": 0.01,
         "geometry": LineString([bb["F1-RMU1"], (bb["F1-RMU1"].x + 10, bb["F1-RMU1"].y)])}])
    L["nodes"] = _add(L["nodes"], [{**L["nodes"].iloc[4].to_dict(), "p_mw": 0.0}])  # dup F1-DT1
    _set(L["nodes"], "F3-DT1", "p_mw", 7.0)  # F3 rating: sqrt(3) x 10 x 0.375 x 0.95 = 6.17 MW
    _set(L["nodes"], "F3-P2", "vn_kv", 20.0)
    _set(L["feeders"], "F3", "substation_id", "SS2")
    _set(L["roads"], "R3", "id", "")
    report = validate(Network.from_layers(L, crs=CRS))
    errors = _triples(report)
    assert errors == {
        ("busbars_connected", "segments", "BB-CABLE"),
        ("self_loop", "segments", "SELF"),
        ("duplicate_id", "nodes", "F1-DT1"),
        ("feeder_overload", "feeders", "F3"),
        ("voltage_mismatch", "segments", "F3-S2"),
        ("voltage_mismatch", "segments", "F3-S3"),
        ("unknown_substation", "feeders", "F3"),
        ("empty_id", "roads", "row 2"),
    }, report.render()
    by = {(p.code, p.element_id): p.message for p in report.errors}
    assert "sum of node p_mw" in by[("feeder_overload", "F3")]
    assert "6.17 MW" in by[("feeder_overload", "F3")]


def test_missing_column_is_reported_once_not_per_row(tmp_path):
    path = write_network(small_network(), tmp_path / "nocol.gpkg")
    seg = pyogrio.read_dataframe(path, layer="segments").drop(columns=["max_i_ka"])
    pyogrio.write_dataframe(seg, path, layer="segments", driver="GPKG")
    report = validate_path(path)
    assert _triples(report) == {("missing_column", "segments", "*")}
    assert "max_i_ka" in report.errors[0].message


# -- unreadable files -------------------------------------------------------------------------

def test_truncated_geopackage_gives_one_clear_error(tmp_path):
    path = write_network(small_network(), tmp_path / "trunc.gpkg")
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    report = validate_path(path)
    assert len(report.problems) == 1
    p = report.problems[0]
    assert (p.code, p.severity) == ("unreadable", "error")
    assert "truncated" in p.message and str(path) in p.message


def test_layer_without_crs_gives_no_crs(tmp_path):
    path = write_network(small_network(), tmp_path / "nocrs.gpkg")
    nodes = pyogrio.read_dataframe(path, layer="nodes").set_crs(None, allow_override=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyogrio.write_dataframe(nodes, path, layer="nodes", driver="GPKG")
    report = validate_path(path)
    assert _triples(report) == {("no_crs", "nodes", "*")}


def test_missing_file_is_unreadable(tmp_path):
    report = validate_path(tmp_path / "nope.gpkg")
    assert report.codes() == {"unreadable"} and not report.ok


# -- CLI --------------------------------------------------------------------------------------

def _cli_ready() -> bool:
    try:
        from api.cli import build_parser

        build_parser()
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _cli_ready(), reason="api.cli cannot build its parser yet "
                    "(load_forecast.cli / scheme_engine.cli missing)")
def test_cli_exit_codes(tmp_path):
    good = write_network(small_network(), tmp_path / "good.gpkg")
    bad = write_network(defective_network(), tmp_path / "bad.gpkg")
    run = [str(PYTHON), "-m", "api.cli", "network", "validate"]
    r_good = subprocess.run([*run, str(good)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    r_bad = subprocess.run([*run, str(bad)], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert r_good.returncode == 0, r_good.stderr
    assert r_bad.returncode == 3, r_bad.stderr
    for r in (r_good, r_bad):
        assert "Traceback" not in r.stdout + r.stderr
    assert "0 error(s)" in r_good.stdout
    assert f"{len(EXPECTED_ERRORS)} error(s)" in r_bad.stdout
    assert "dangling_segment" in r_bad.stdout


def test_cli_validate_command_exit_codes_in_process(tmp_path, capsys):
    """The command function itself, independent of the rest of the CLI's parser."""
    import argparse

    from api.cli import EXIT_INVALID, _cmd_network_validate

    good = write_network(small_network(), tmp_path / "good.gpkg")
    bad = write_network(defective_network(), tmp_path / "bad.gpkg")
    trunc = tmp_path / "trunc.gpkg"
    trunc.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    ns = argparse.Namespace(json=False, all=False)
    assert _cmd_network_validate(argparse.Namespace(**vars(ns), path=str(good))) == 0
    assert _cmd_network_validate(argparse.Namespace(**vars(ns), path=str(bad))) == EXIT_INVALID
    assert _cmd_network_validate(argparse.Namespace(**vars(ns), path=str(trunc))) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "unreadable" in out and "Traceback" not in out


# -- scale ------------------------------------------------------------------------------------

def random_radial_forest(n_nodes: int = 100_000, n_feeders: int = 100, seed: int = 7) -> Network:
    """A random radial forest: ``n_feeders`` feeders on 20 bus sections of 10 substations."""
    rng = np.random.default_rng(seed)
    x0, y0 = origin()
    n_bs, n_sub = 20, 10
    sub_ids = np.array([f"S{i}" for i in range(n_sub)], dtype=object)
    bs_ids = np.array([f"B{i}" for i in range(n_bs)], dtype=object)
    bus_xy = rng.uniform(0, 20_000, (n_bs, 2)) + (x0, y0)
    substations = gpd.GeoDataFrame(
        {"id": sub_ids, "hv_kv": 110.0, "n_transformers": 2, "transformer_mva": 50.0},
        geometry=shapely.points(bus_xy[::2]), crs=CRS)
    bus_sections = gpd.GeoDataFrame(
        {"id": bs_ids, "substation_id": np.repeat(sub_ids, 2), "vn_kv": 10.0,
         "bays_total": 12, "bays_used": 6}, geometry=shapely.points(bus_xy), crs=CRS)
    f_ids = np.array([f"F{i}" for i in range(n_feeders)], dtype=object)
    f_bs = np.arange(n_feeders) % n_bs
    feeders = pd.DataFrame({
        "id": f_ids, "substation_id": np.repeat(sub_ids, 2)[f_bs], "bus_section_id": bs_ids[f_bs],
        "vn_kv": 10.0, "rated_i_ka": 0.6, "connection_mode": "overhead_radial"})
    # Non-busbar node j belongs to feeder j % n_feeders as its k-th node (k = j // n_feeders);
    # its parent is a random earlier node of the same feeder, or the busbar for k = 0.
    m = n_nodes - n_bs
    j = np.arange(m)
    f, k = j % n_feeders, j // n_feeders
    parent_k = np.floor(rng.random(m) * k).astype(np.int64)
    parent = np.where(k == 0, -1, parent_k * n_feeders + f)
    xy = bus_xy[f_bs[f]] + rng.normal(0, 1500, (m, 2))
    node_ids = np.concatenate([np.array([f"BB{i}" for i in range(n_bs)], dtype=object),
                               np.char.add("N", j.astype(str)).astype(object)])
    all_xy = np.vstack([bus_xy, xy])
    nodes = gpd.GeoDataFrame({
        "id": node_ids,
        "kind": np.concatenate([np.full(n_bs, "busbar", dtype=object),
                                np.full(m, "pole", dtype=object)]),
        "feeder_id": np.concatenate([np.full(n_bs, "", dtype=object), f_ids[f]]),
        "bus_section_id": np.concatenate([bs_ids, np.full(m, "", dtype=object)]),
        "vn_kv": 10.0, "p_mw": np.concatenate([np.zeros(n_bs), rng.uniform(0, 0.005, m)]),
    }, geometry=shapely.points(all_xy), crs=CRS)
    from_v = np.where(parent < 0, f_bs[f], parent + n_bs)
    to_v = j + n_bs
    a, b = all_xy[from_v], all_xy[to_v]
    geoms = shapely.linestrings(np.stack([a, b], axis=1))
    segments = gpd.GeoDataFrame({
        "id": np.char.add("L", j.astype(str)).astype(object), "from_node": node_ids[from_v],
        "to_node": node_ids[to_v], "feeder_id": f_ids[f], "std_type": "JKLYJ-240",
        "construction": "overhead", "length_km": np.hypot(*(b - a).T) / 1000,
        "r_ohm_per_km": 0.125, "x_ohm_per_km": 0.33, "max_i_ka": 0.55,
    }, geometry=geoms, crs=CRS)
    return Network.from_layers({"substations": substations, "bus_sections": bus_sections,
                                "feeders": feeders, "nodes": nodes, "segments": segments},
                               crs=CRS)


def test_validate_100k_node_forest_timing():
    net = random_radial_forest()
    assert len(net.nodes) == 100_000
    t0 = time.perf_counter()
    report = validate(net)
    dt = time.perf_counter() - t0
    print(f"\nvalidate() on {len(net.nodes):,} nodes / {len(net.segments):,} segments: {dt:.2f} s")
    assert report.ok, report.render(20)
    # One defect in 100k is still found, with its id (tables are already conformed, so the
    # copy is built directly rather than through from_layers).
    seg = net.segments.copy()
    seg.loc[5000, "to_node"] = "GHOST"
    bad = validate(Network({**net.layers, "segments": seg}, net.crs, dict(net.meta)))
    assert ("dangling_segment", "segments", "L5000") in _triples(bad)
    # The subtree cut off there is unfed, named by its first node.
    assert ("unfed", "nodes", "N5000") in _triples(bad)


def test_geojson_folder_round_trip_and_corrupt_metadata(tmp_path):
    folder = write_network(small_network(), tmp_path / "net")
    assert validate_path(folder).problems == []
    (folder / "network_info.json").write_text("{not json")
    report = validate_path(folder)
    assert report.codes() == {"unreadable"} and len(report.problems) == 1


def test_feeder_id_disagreeing_with_the_tree_is_a_warning():
    L = _layers(small_network())
    _set(L["segments"], "F3-S2", "feeder_id", "F2")
    _set(L["nodes"], "F3-P1", "feeder_id", "F1")
    report = validate(Network.from_layers(L, crs=CRS))
    assert report.ok, report.render()
    assert _triples(report, "warning") == {("feeder_mismatch", "segments", "F3-S2"),
                                           ("feeder_mismatch", "nodes", "F3-P1")}
    assert "tree of feeder 'F3'" in report.warnings[0].message
