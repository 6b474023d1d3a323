"""``Network.to_networkx()``: the grid as a networkx graph, and networkx as an independent
cross-check of validation's topology (unfed parts, loops) on the synthetic city."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from grid_models.network import Network
from grid_models.synth import synth_city
from grid_models.validation import validate
from tests.fixtures_small import small_network


def test_nodes_edges_and_attributes():
    net = small_network()
    g = net.to_networkx()
    assert isinstance(g, nx.MultiGraph)
    assert set(g.nodes) == set(net.nodes["id"])
    # 12 segments, the tie cable T1 cut by its open switch SW-T1; SW-S1 is on F2-S2 (closed)
    assert g.number_of_edges() == 11
    assert not g.has_edge("F1-RMU2", "F2-P3")
    assert g.nodes["F1-DT1"]["kind"] == "dist_transformer"
    assert g.nodes["F1-DT1"]["p_mw"] == pytest.approx(0.55)
    d = g.edges["BB1", "F1-RMU1", "F1-S1"]
    # YJV22-3x300: 0.0601 + j0.083 ohm/km over 0.4 km
    assert d["z_ohm"] == pytest.approx(0.4 * (0.0601 + 0.083j))
    assert d["construction"] == "cable" and d["element"] == "segment" and not d["open"]
    assert nx.shortest_path_length(g, "BB1", "F1-DT2", weight="length_km") == pytest.approx(1.0)
    assert g.graph["version_id"] == net.version_id


def test_switch_options():
    net = small_network()
    with_open = net.to_networkx(include_open=True)
    assert with_open.edges["F1-RMU2", "F2-P3", "T1"]["open"] is True
    closed_all = net.to_networkx(respect_switches=False)
    assert closed_all.edges["F1-RMU2", "F2-P3", "T1"]["open"] is False
    # With the tie closed, F1 and F2 form a path between the two busbars.
    assert nx.has_path(closed_all, "F1-DT2", "F2-DT1")
    assert not nx.has_path(net.to_networkx(), "F1-DT2", "F2-DT1")


def test_out_of_service_and_bare_switches():
    net = small_network()
    L = {k: v.copy() for k, v in net.layers.items()}
    L["segments"].loc[L["segments"]["id"] == "F3-S3", "in_service"] = False
    sw = L["switches"]
    coupler = sw.iloc[[0]].copy()
    coupler[["id", "node_a", "node_b", "segment_id", "kind", "closed"]] = \
        ["SW-BC", "BB1", "BB2", "", "breaker", True]
    import pandas as pd

    L["switches"] = type(sw)(pd.concat([sw, coupler], ignore_index=True), crs=sw.crs)
    net2 = Network.from_layers(L, crs=net.crs)
    g = net2.to_networkx()
    assert not g.has_edge("F3-P2", "F3-DT1")
    assert g.edges["BB1", "BB2", "SW-BC"]["element"] == "switch"
    assert g.edges["BB1", "BB2", "SW-BC"]["z_ohm"] == 0
    assert net2.to_networkx(include_out_of_service=True).has_edge("F3-P2", "F3-DT1")


@pytest.fixture(scope="module")
def city() -> Network:
    return synth_city("S", seed=1)


def _unfed_by_networkx(g: nx.MultiGraph) -> set[str]:
    out: set[str] = set()
    for comp in nx.connected_components(g):
        if not any(g.nodes[n]["kind"] == "busbar" for n in comp):
            out |= comp
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_validation_topology_agrees_with_networkx(city, seed):
    """Cut random segments (unfed parts) and close random ties (loops): validation's unfed
    nodes and loop codes must match what networkx finds on ``to_networkx()``."""
    rng = np.random.default_rng(seed)
    L = {k: v.copy() for k, v in city.layers.items()}
    seg = L["segments"]
    cut = rng.choice(np.flatnonzero(seg["feeder_id"].to_numpy() != ""), 3, replace=False)
    seg.loc[seg.index[cut], "in_service"] = False
    sw = L["switches"]
    ties = np.flatnonzero((sw["kind"] == "tie").to_numpy() & ~sw["closed"].to_numpy())
    close = rng.choice(ties, 2, replace=False)
    sw.loc[sw.index[close], "closed"] = True
    net = Network.from_layers(L, crs=city.crs, meta=city.meta)
    report = validate(net)
    g = net.to_networkx()

    unfed_nx = _unfed_by_networkx(g)
    unfed = [p for p in report.errors if p.code == "unfed"]
    n_reported = sum(int(p.message.split(" node(s)")[0]) for p in unfed)
    assert n_reported == len(unfed_nx)
    assert {p.element_id for p in unfed} <= unfed_nx
    # A closed tie joins two feeders: of two bus sections (two busbars in one component) or
    # of one (a ring through its busbar, a cycle).
    codes = {p.code for p in report.errors}
    joined = any(sum(g.nodes[n]["kind"] == "busbar" for n in c) >= 2
                 for c in nx.connected_components(g))
    assert ("busbars_connected" in codes) == joined
    if not joined:
        assert ("feeder_loop" in codes) == (not nx.is_forest(nx.Graph(g)))
    assert codes & {"busbars_connected", "feeder_loop"}  # two closed ties always do one


@pytest.mark.parametrize("seed", [1, 2])
def test_loop_inside_a_feeder_agrees_with_networkx(city, seed):
    """A chord between two nodes of one feeder (a triangle): validation's feeder_loop is the
    cycle networkx finds, and nothing else is wrong."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    rng = np.random.default_rng(seed)
    g0 = city.to_networkx()
    seg = city.segments
    inner = seg[(seg["feeder_id"] != "") & seg["in_service"]]
    for _ in range(100):
        a, b = inner.sample(1, random_state=int(rng.integers(1 << 31)))[["from_node", "to_node"]].iloc[0]
        others = [c for c in g0.neighbors(b) if c != a and g0.nodes[c]["kind"] != "busbar"]
        if others and g0.nodes[a]["kind"] != "busbar":
            c = others[0]
            break
    pa, pc = city.nodes.set_index("id").geometry[[a, c]]
    chord = inner.iloc[[0]].copy()
    geom = shapely.LineString([pa, pc])
    chord[["id", "from_node", "to_node", "length_km"]] = ["CHORD", a, c, geom.length / 1000]
    chord = chord.set_geometry(gpd.GeoSeries([geom], index=chord.index, crs=city.crs))
    L = {**city.layers, "segments": gpd.GeoDataFrame(pd.concat([seg, chord], ignore_index=True),
                                                     crs=city.crs)}
    net = Network.from_layers(L, crs=city.crs, meta=city.meta)
    report = validate(net)
    g = net.to_networkx()
    cycles = nx.cycle_basis(nx.Graph(g))
    assert len(cycles) == 1 and {a, c} <= set(cycles[0])
    assert {p.code for p in report.errors} == {"feeder_loop"}
    # The segment validation names as closing the loop is an edge of networkx's cycle.
    closing = report.errors[0].message.split("closed by ")[1].split(";")[0]
    ends = net.segments.set_index("id").loc[closing, ["from_node", "to_node"]]
    assert set(ends) <= set(cycles[0])
