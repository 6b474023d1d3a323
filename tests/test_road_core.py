"""The contracted road core gives exactly the full road graph's shortest distances."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from api.plan_cli import DEMO_NETWORK
from grid_models.compiled import compile_network
from grid_models.io import read_network
from grid_models.policy import load_policy
from grid_models.road_core import build_road_core
from grid_models.road_graph import build_road_graph


def core_distances(core, s: int, targets: np.ndarray) -> np.ndarray:
    s_idx, s_w, _ = core.ends(np.array([s]))
    srcs = np.unique(s_idx[0])
    d = np.atleast_2d(dijkstra(core.csr, indices=srcs))
    t_idx, t_w, _ = core.ends(targets)
    best = np.full(targets.size, np.inf)
    for i in range(2):
        si = int(np.searchsorted(srcs, s_idx[0, i]))
        for j in range(2):
            best = np.minimum(best, s_w[0, i] + d[si, t_idx[:, j]] + t_w[:, j])
    same = (core.v_chain[targets] == core.v_chain[s]) & (core.v_chain[s] >= 0)
    best = np.where(same, np.minimum(best, np.abs(core.v_off_w[targets] - core.v_off_w[s])), best)
    return np.where(targets == s, 0.0, best)


@pytest.fixture(scope="module")
def demo_road():
    cn = compile_network(read_network(DEMO_NETWORK), load_policy())
    return cn.road, cn.road_core


def test_core_is_much_smaller(demo_road) -> None:
    road, core = demo_road
    assert core.n_core < road.n_vertices / 5
    # every road edge sits in exactly one chain
    assert np.array_equal(np.sort(core.chain_edges), np.arange(road.n_edges))


def test_core_distances_equal_full_graph(demo_road) -> None:
    road, core = demo_road
    rng = np.random.default_rng(3)
    for _ in range(15):
        s = int(rng.choice(road.lcc_vertices))
        t = rng.choice(road.lcc_vertices, 60)
        full = dijkstra(road.csr, indices=s)[t]
        assert np.allclose(core_distances(core, s, t), full, rtol=1e-9, atol=1e-6)


def test_pure_cycle_gets_a_core_vertex() -> None:
    # a square ring road with vertices every 10 m and no junction at all
    ring = [(0, 0), (10, 0), (20, 0), (20, 10), (20, 20), (10, 20), (0, 20), (0, 10), (0, 0)]
    roads = gpd.GeoDataFrame({"id": ["R1"], "road_class": ["local"], "name": [""],
                              "source_ref": [""]},
                             geometry=[LineString(ring)], crs="EPSG:4545")
    road = build_road_graph(roads, None, load_policy())
    core = build_road_core(road)
    assert core.n_core == 1
    d = core_distances(core, 3, np.arange(road.n_vertices))
    assert np.allclose(d, dijkstra(road.csr, indices=3))
