"""Every network case of issue #10's list, named: the crashes, the networks that were planned
although ``validate`` rejected them, and the defects ``validate`` let through. Each is written
to a GeoPackage as a user would have it, then run through ``gridscheme network validate`` and
``gridscheme plan`` in-process (an uncaught exception fails the test, as a traceback would)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from api.cli import main
from grid_models.io import read_network, write_network
from tests.fixtures_small import small_network
from tests.network_corruptions import read_layers, write_layers

APP = ["--lon", "106.8203", "--lat", "39.6712", "--kva", "800", "--json"]
Edit = Callable[[dict[str, pd.DataFrame]], None]


def _set(layers: dict, layer: str, elem: str, col: str, value: object) -> None:
    t = layers[layer]
    if isinstance(value, str) and pd.api.types.is_numeric_dtype(t[col]):
        t[col] = t[col].astype(object)
    t.loc[t["id"] == elem, col] = value


def _geom(layers: dict, layer: str, elem: str, geom: object) -> None:
    t = layers[layer]
    g = np.asarray(t.geometry.values, dtype=object).copy()
    g[np.flatnonzero(t["id"] == elem)[0]] = geom
    layers[layer] = t.set_geometry(gpd.GeoSeries(g, crs=t.crs, index=t.index))


def _no_segments(layers: dict) -> None:
    layers["segments"] = layers["segments"].iloc[:0]


def _all_open(layers: dict) -> None:
    seg, sw = layers["segments"], layers["switches"]
    first = seg[seg["from_node"].isin(["BB1", "BB2"])]
    extra = gpd.GeoDataFrame({
        "id": "OPEN-" + first["id"], "node_a": first["from_node"], "node_b": first["to_node"],
        "segment_id": first["id"], "kind": "breaker", "closed": False, "source_ref": ""},
        geometry=shapely.get_point(first.geometry.values, 0), crs=sw.crs)
    sw["closed"] = False
    layers["switches"] = gpd.GeoDataFrame(pd.concat([sw, extra], ignore_index=True), crs=sw.crs)


def _metres_as_degrees(layers: dict) -> None:
    t = layers["nodes"].to_crs("EPSG:4545")
    layers["nodes"] = gpd.GeoDataFrame(pd.DataFrame(t.drop(columns="geometry")),
                                       geometry=np.asarray(t.geometry.values, dtype=object),
                                       crs="EPSG:4326")


def _degrees_as_metres(layers: dict) -> None:
    layers["segments"] = layers["segments"].set_crs("EPSG:4545", allow_override=True)


# (case, edit, (code, layer, element) that must be reported)
CASES: list[tuple[str, Edit, tuple[str, str, str]]] = [
    # crashed with a traceback
    ("no segments", _no_segments, ("nothing_to_plan", "feeders", "*")),
    ("all switches open", _all_open, ("nothing_to_plan", "feeders", "*")),
    ("zero transformer rating", lambda L: _set(L, "substations", "SS1", "transformer_mva", 0.0),
     ("out_of_range", "substations", "SS1")),
    ("zero busbar voltage", lambda L: _set(L, "bus_sections", "BS2", "vn_kv", 0.0),
     ("out_of_range", "bus_sections", "BS2")),
    ("null impedance", lambda L: (_set(L, "segments", "F2-S2", "r_ohm_per_km", np.nan),
                                  _set(L, "segments", "F2-S2", "std_type", "")),
     ("missing_value", "segments", "F2-S2")),
    ("node at 1e30", lambda L: _geom(L, "nodes", "F3-P1", shapely.Point(1e30, 1e30)),
     ("bad_coordinates", "nodes", "F3-P1")),
    # planned although validate rejected them
    ("duplicate segment id", lambda L: _set(L, "segments", "F3-S3", "id", "F3-S2"),
     ("duplicate_id", "segments", "F3-S2")),
    ("negative length", lambda L: _set(L, "segments", "F2-S4", "length_km", -0.1),
     ("non_positive_length", "segments", "F2-S4")),
    ("unknown node kind", lambda L: _set(L, "nodes", "F2-P2", "kind", "tower"),
     ("unknown_node_kind", "nodes", "F2-P2")),
    ("text in a numeric column", lambda L: _set(L, "segments", "F1-S2", "max_i_ka", "0,52"),
     ("bad_value", "segments", "F1-S2")),
    ("null geometry", lambda L: _geom(L, "segments", "F2-S1", None),
     ("missing_geometry", "segments", "F2-S1")),
    ("feeder to a missing bus section", lambda L: _set(L, "feeders", "F3", "bus_section_id", "BS9"),
     ("unknown_bus_section", "feeders", "F3")),
    ("more bays used than exist", lambda L: _set(L, "bus_sections", "BS1", "bays_used", 12),
     ("bays_overused", "bus_sections", "BS1")),
    # passed validate
    # A GeoPackage stores an empty point as NaN coordinates: read back, it has no geometry.
    ("NaN coordinate", lambda L: _geom(L, "nodes", "F1-DT2", shapely.Point(np.nan, np.nan)),
     ("missing_geometry", "nodes", "F1-DT2")),
    ("inf coordinate", lambda L: _geom(L, "nodes", "F1-DT2", shapely.Point(np.inf, 39.67)),
     ("bad_coordinates", "nodes", "F1-DT2")),
    ("max_i_ka = inf", lambda L: _set(L, "segments", "F3-S1", "max_i_ka", np.inf),
     ("non_finite_value", "segments", "F3-S1")),
    ("metres declared as EPSG:4326", _metres_as_degrees, ("crs_mismatch", "nodes", "*")),
    ("degrees declared in a projected CRS", _degrees_as_metres, ("crs_mismatch", "segments", "*")),
]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_network(small_network(), tmp_path_factory.mktemp("h") / "good.gpkg")


@pytest.mark.parametrize("case,edit,expect", CASES, ids=[c[0] for c in CASES])
def test_case_is_refused_and_never_planned(good, tmp_path, capsys, case, edit, expect):
    layers = read_layers(good)
    edit(layers)
    path = tmp_path / "bad.gpkg"
    write_layers(layers, path)
    rc = main(["network", "validate", "--json", str(path)])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 3
    got = {(p["code"], p["layer"], p["element_id"]) for p in doc["problems"]
           if p["severity"] == "error"}
    assert expect in got, sorted(got)
    rc = main(["plan", "--network", str(path), *APP])
    cap = capsys.readouterr()
    assert rc == 3, cap.out + cap.err
    assert cap.out == "" and "network is invalid" in cap.err and expect[0] in cap.err


def test_undefined_layer_crs_and_unknown_metric_crs(good, tmp_path, capsys):
    for srs in (0, -1):
        path = tmp_path / f"srs{srs}.gpkg"
        path.write_bytes(good.read_bytes())
        with sqlite3.connect(path) as con:
            con.execute("UPDATE gpkg_geometry_columns SET srs_id = ? WHERE table_name = 'nodes'",
                        (srs,))
        assert main(["network", "validate", str(path)]) == 3
        out = capsys.readouterr().out
        assert "nodes:* no_crs" in out and "undefined" in out
        assert main(["plan", "--network", str(path), *APP]) == 2
        assert "layer 'nodes' declares an undefined coordinate reference system" in \
            capsys.readouterr().err
    path = tmp_path / "metric.gpkg"
    path.write_bytes(good.read_bytes())
    with sqlite3.connect(path) as con:
        con.execute("UPDATE network_info SET value = 'EPSG:999999' WHERE key = 'metric_crs'")
    assert main(["network", "validate", str(path)]) == 3
    assert "network_info:metric_crs bad_crs" in capsys.readouterr().out
    assert main(["plan", "--network", str(path), *APP]) == 2
    assert "network_info.metric_crs" in capsys.readouterr().err


def test_a_layer_far_from_the_grid_is_a_crs_mismatch():
    net = small_network()
    L = {k: v.copy() for k, v in net.layers.items()}
    L["roads"] = L["roads"].set_geometry(L["roads"].translate(xoff=0, yoff=-300_000))
    from grid_models.network import Network
    from grid_models.validation import validate

    report = validate(Network.from_layers(L, crs=net.crs))
    assert [(p.code, p.layer) for p in report.errors] == [("crs_mismatch", "roads")]
    assert "298 km from the grid's nodes" in report.errors[0].message


def test_strict_reading_refuses_bad_cells_by_element(good, tmp_path):
    layers = read_layers(good)
    _set(layers, "segments", "F1-S2", "max_i_ka", "abc")
    _set(layers, "segments", "F2-S2", "max_i_ka", "n/a")
    path = tmp_path / "cells.gpkg"
    write_layers(layers, path)
    from grid_models.errors import NetworkValidationError

    with pytest.raises(NetworkValidationError) as e:
        read_network(path)
    got = [(p.code, p.element_id) for p in e.value.report.problems]
    assert got == [("bad_value", "F1-S2"), ("bad_value", "F2-S2")]
    # Non-strict reading keeps going; validation does not repeat them as missing values.
    from grid_models.validation import validate_path

    rep = validate_path(path)
    assert sorted((p.code, p.element_id) for p in rep.errors) == got


def test_non_finite_coordinates_in_memory_are_bad_coordinates():
    from grid_models.network import Network
    from grid_models.validation import validate

    net = small_network()
    L = {k: v.copy() for k, v in net.layers.items()}
    _geom(L, "nodes", "F1-DT2", shapely.Point(np.nan, np.nan))
    _geom(L, "nodes", "F2-DT1", shapely.Point(1e30, 4e6))
    report = validate(Network.from_layers(L, crs=net.crs, strict=False))
    got = {(p.code, p.element_id) for p in report.errors}
    assert {("bad_coordinates", "F1-DT2"), ("bad_coordinates", "F2-DT1")} <= got
    assert not {c for c, e in got if e in ("F1-DT2", "F2-DT1")} - {"bad_coordinates"}


def test_a_metric_crs_of_another_area_is_one_problem_per_layer():
    from grid_models.network import Network
    from grid_models.validation import validate

    net = small_network()
    L = {}
    for k, v in net.layers.items():
        if isinstance(v, gpd.GeoDataFrame) and len(v):
            v = v.to_crs("EPSG:4326")
            v = v.set_geometry(v.translate(xoff=-98, yoff=10))  # to lon 8.8, lat 49.7
        L[k] = v
    report = validate(Network.from_layers(L, crs="EPSG:4545", strict=False))
    mism = [p for p in report.errors if p.code == "crs_mismatch"]
    assert {p.layer for p in mism} >= {"nodes", "segments", "substations"}
    assert all(p.element_id == "*" and "metric CRS EPSG:4545" in p.message for p in mism)
    assert not [p for p in report.errors if p.code == "bad_coordinates"]
    # Left to choose, the network gets the UTM zone of the area and is fine.
    assert validate(Network.from_layers(L, strict=False)).ok
