"""Tests of the synthetic city generator (grid_models/synth.py).

S is checked thoroughly, M lightly; L is too slow for the test run (see the benchmarks).
Topology, lengths and voltage drops are re-derived here independently of the generator, with
scipy.sparse.csgraph and plain numpy.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from grid_models import read_network, write_network
from grid_models.errors import InputError, UnknownTypeError
from grid_models.policy import load_policy, load_standard_types
from grid_models.schema import LAYERS, conform
from grid_models.synth import PROFILE_PATH, load_synth_profile, synth_city

DEMO = Path(__file__).resolve().parents[1] / "grid_models" / "demo" / "demo_city_S.gpkg"
TIES_BY_MODE = {"cable_single_ring": 1, "cable_dual_ring": 1, "overhead_radial": 0,
                "overhead_multi_1tie": 1, "overhead_multi_2tie": 2, "overhead_multi_3tie": 3}


@pytest.fixture(scope="module")
def net_s():
    return synth_city("S", seed=1)


@pytest.fixture(scope="module")
def net_m():
    return synth_city("M", seed=1)


# --- helpers (independent of the generator) ---------------------------------------------------
def operating_graph(net):
    """Node index, from/to indices and the mask of segments in the operating topology."""
    nodes, segs, sw = net.nodes, net.segments, net.switches
    idx = pd.Index(nodes["id"])
    fi, ti = idx.get_indexer(segs["from_node"]), idx.get_indexer(segs["to_node"])
    open_ids = set(sw.loc[~sw["closed"] & (sw["segment_id"] != ""), "segment_id"])
    on = segs["in_service"].to_numpy() & ~segs["id"].isin(open_ids).to_numpy()
    return idx, fi, ti, on


def load_rates(net) -> pd.Series:
    f = net.feeders
    return pd.Series(f["peak_mw"].to_numpy() / (math.sqrt(3) * f["vn_kv"] * f["rated_i_ka"]
                                                  * f["power_factor"]).to_numpy(), index=f["id"])


def tie_counts(net) -> pd.Series:
    sw = net.switches
    ties = sw[(sw["kind"] == "tie") & ~sw["closed"]]
    nf = net.nodes.set_index("id")["feeder_id"]
    c = pd.concat([nf.reindex(ties["node_a"]), nf.reindex(ties["node_b"])]).value_counts()
    return c.reindex(net.feeders["id"]).fillna(0).astype(int)


def check_radial_and_fed(net) -> None:
    idx, fi, ti, on = operating_graph(net)
    n = len(idx)
    assert (fi >= 0).all() and (ti >= 0).all(), "dangling segment ends"
    sw = net.switches
    assert sw["segment_id"][sw["segment_id"] != ""].isin(net.segments["id"]).all()
    assert sw["node_a"].isin(idx).all() and sw["node_b"].isin(idx).all()
    # closed switches without a segment would join nodes: there must be none besides none
    assert not (sw["closed"] & (sw["segment_id"] == "")).any()
    g = coo_matrix((np.ones(int(on.sum())), (fi[on], ti[on])), shape=(n, n))
    n_comp, lab = connected_components(g, directed=False)
    busbar = (net.nodes["kind"] == "busbar").to_numpy()
    per_comp_busbars = np.bincount(lab[busbar], minlength=n_comp)
    assert (per_comp_busbars == 1).all(), "every piece must hang off exactly one busbar"
    edges_per_comp = np.bincount(lab[fi[on]], minlength=n_comp)
    nodes_per_comp = np.bincount(lab, minlength=n_comp)
    assert (edges_per_comp == nodes_per_comp - 1).all(), "a loop with the ties open"
    # every feeder's nodes hang off its own bus section's busbar
    nodes = net.nodes
    bb_of_section = pd.Series(np.flatnonzero(busbar), index=nodes.loc[busbar, "bus_section_id"])
    fsec = net.feeders.set_index("id")["bus_section_id"]
    fed = nodes["feeder_id"] != ""
    want = bb_of_section.reindex(fsec.reindex(nodes.loc[fed, "feeder_id"]).to_numpy()).to_numpy()
    assert (lab[np.flatnonzero(fed)] == lab[want]).all()
    assert (~fed == busbar).all(), "only busbar nodes carry no feeder"


# --- S, thoroughly -----------------------------------------------------------------------------
def test_deterministic_by_seed(net_s):
    again = synth_city("S", seed=1, progress=True)
    assert again.version_id == net_s.version_id
    assert synth_city("S", seed=2).version_id != net_s.version_id


def test_meta_crs_and_location(net_s):
    assert net_s.meta["name"] == "synth-S-1"
    assert net_s.meta["geometry_source"] == "surveyed"
    assert net_s.crs.to_epsg() == 4545
    lon0, lat0, lon1, lat1 = net_s.geographic_bounds()
    assert lon0 < 106.82 < lon1 and lat0 < 39.67 < lat1
    assert lon1 - lon0 < 0.2 and lat1 - lat0 < 0.2  # a town, not a province


def test_sizes_s(net_s):
    assert 1500 <= len(net_s.nodes) <= 2600
    roads = net_s.roads
    xy = np.round(shapely.get_coordinates(roads.geometry.values), 1)
    n_vertices = len(np.unique(xy, axis=0))
    assert n_vertices == int(net_s.meta["road_vertices"])
    assert n_vertices > 2000
    assert set(roads["road_class"]) == {"arterial", "secondary", "local", "rural"}
    assert set(roads["road_class"]) <= set(load_policy().table("road_classes")["road_class"])


def test_every_layer_conforms(net_s):
    for name, spec in LAYERS.items():
        t = net_s.layers[name]
        assert len(t), f"layer {name} is empty"
        again = conform(name, t)
        assert list(again.columns)[:len(spec["columns"])] == list(t.columns)[:len(spec["columns"])]
        for col in spec["columns"]:
            assert again[col.name].dtype == t[col.name].dtype, (name, col.name)
            if col.required:
                assert t[col.name].notna().all(), (name, col.name)
        if "id" in t.columns:
            assert t["id"].is_unique, name
        if spec["geometry"]:
            assert t.crs.to_epsg() == 4545
            assert t.geometry.notna().all() and t.geometry.is_valid.all(), name
    pats = {"substations": r"SS\d{2}", "bus_sections": r"SS\d{2}-B\d", "feeders": r"F\d{4}",
            "segments": r"L\d{6}", "switches": r"SW\d{5}", "roads": r"R\d{6}",
            "obstacles": r"OB\d{2}"}
    for layer, pat in pats.items():
        assert net_s.layers[layer]["id"].str.fullmatch(pat).all(), layer
    nodes = net_s.nodes
    bb = nodes["kind"] == "busbar"
    assert nodes.loc[bb, "id"].str.fullmatch(r"SS\d{2}-B\d-BB").all()
    assert nodes.loc[~bb, "id"].str.fullmatch(r"N\d{6}").all()
    assert (nodes.loc[bb, "id"] == nodes.loc[bb, "bus_section_id"] + "-BB").all()


def test_radial_with_ties_open_and_all_fed(net_s):
    check_radial_and_fed(net_s)


def test_geometry_follows_length(net_s):
    segs = net_s.segments
    geo_km = segs.geometry.length.to_numpy() / 1000
    assert np.all(np.abs(geo_km - segs["length_km"]) <= 0.01 * segs["length_km"])
    assert (segs["length_km"] > 0).all()
    idx, fi, ti, _ = operating_graph(net_s)
    nxy = shapely.get_coordinates(net_s.nodes.geometry.values)
    a = shapely.get_coordinates(shapely.get_point(segs.geometry.values, 0))
    b = shapely.get_coordinates(shapely.get_point(segs.geometry.values, -1))
    assert np.hypot(*(a - nxy[fi]).T).max() < 0.01
    assert np.hypot(*(b - nxy[ti]).T).max() < 0.01
    # trunks follow the streets: a long segment has street vertices, not a straight chord
    long_ = segs[segs["length_km"] > 0.3]
    assert (shapely.get_num_coordinates(long_.geometry.values) > 2).mean() > 0.9


def test_conductors_from_standard_types(net_s):
    cond = load_standard_types().conductors.set_index("name")
    segs = net_s.segments
    for col in ("r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km", "max_i_ka", "construction"):
        assert (segs[col].to_numpy() == cond.loc[segs["std_type"], col].to_numpy()).all(), col
    f = net_s.feeders
    assert set(f["conductor_type"]) <= {"YJV22-3x300", "YJV22-3x400", "JKLYJ-240"}
    assert np.allclose(f["rated_i_ka"], cond.loc[f["conductor_type"], "max_i_ka"])
    # the outlet (first segment from the busbar) is the feeder's conductor
    nodes = net_s.nodes.set_index("id")
    first = segs[nodes.loc[segs["from_node"], "kind"].to_numpy() == "busbar"]
    out = first.set_index("feeder_id")["std_type"]
    assert (out.reindex(f["id"]).to_numpy() == f["conductor_type"].to_numpy()).all()
    cable = f["connection_mode"].str.startswith("cable")
    assert cable.any() and (~cable).any()


def test_node_kinds_and_bays(net_s):
    nodes = net_s.nodes
    kinds = set(nodes["kind"])
    assert {"busbar", "rmu", "pole", "dist_transformer"} <= kinds
    rmu = nodes[nodes["kind"] == "rmu"]
    assert rmu["bays_total"].between(4, 6).all() and rmu["spare_bays"].between(0, 3).all()
    # bays in use = cables on the unit (tie cable included)
    segs = net_s.segments
    deg = pd.concat([segs["from_node"], segs["to_node"]]).value_counts()
    for t in (rmu, nodes[nodes["kind"] == "switching_station"]):
        used = deg.reindex(t["id"]).to_numpy()
        assert (t["bays_total"].to_numpy() - t["spare_bays"].to_numpy() == used).all()
    # poles every <= ~50 m along overhead lines (drops to transformers excluded)
    oh = segs[(segs["std_type"].isin(["JKLYJ-240", "JKLYJ-120"])) & (segs["feeder_id"] != "")]
    assert np.median(oh["length_km"]) <= 0.051


def test_substation_bays(net_s):
    bs = net_s.bus_sections
    spare = (bs["bays_total"] - bs["bays_used"]).groupby(bs["substation_id"]).sum()
    assert (spare == 0).any(), "a substation without a spare bay"
    assert (spare > 0).any(), "a substation with spare bays"
    n_feeders = net_s.feeders.groupby("bus_section_id").size()
    ten = bs[bs["vn_kv"] == 10]
    assert (ten["bays_used"].to_numpy() == n_feeders.reindex(ten["id"]).fillna(0).to_numpy()).all()
    sub = net_s.substations.set_index("id")
    hv = sub.loc[bs["substation_id"], "hv_kv"].to_numpy()
    b110 = ten[hv[bs["vn_kv"] == 10] == 110]
    assert b110["bays_total"].between(12, 16).all()
    assert (ten[hv[bs["vn_kv"] == 10] == 35]["bays_total"] == 8).all()
    kv35 = bs[bs["vn_kv"] == 35]
    assert len(kv35) >= 1 and (sub.loc[kv35["substation_id"], "hv_kv"] == 110).all()
    nodes = net_s.nodes
    assert (nodes.loc[nodes["bus_section_id"].isin(kv35["id"]), "vn_kv"] == 35).all()
    assert sub["n_transformers"].between(2, 3).all()
    assert sub["transformer_mva"].isin([10, 20, 40, 50]).all()


def test_ties_match_connection_modes(net_s):
    want = net_s.feeders.set_index("id")["connection_mode"].map(TIES_BY_MODE)
    assert (tie_counts(net_s) == want).all()
    sw = net_s.switches
    ties = sw[sw["kind"] == "tie"]
    assert (~ties["closed"]).all() and (ties["segment_id"] != "").all()
    segs = net_s.segments.set_index("id").loc[ties["segment_id"]]
    assert (segs["from_node"].to_numpy() == ties["node_a"].to_numpy()).all()
    assert (segs["to_node"].to_numpy() == ties["node_b"].to_numpy()).all()
    assert set(net_s.feeders["connection_mode"]) >= {"cable_single_ring", "overhead_multi_1tie"}


def test_load_rates_spread(net_s):
    rate = load_rates(net_s)
    assert (rate > 0.65).any(), "some feeder near or above its N-1 limit"
    assert (rate < 0.6).mean() >= 0.7, "most feeders below 60 %"
    assert rate.between(0.2, 0.6).mean() >= 0.6
    assert (rate < 0.1).any(), "a nearly empty new feeder"
    assert (rate < 1.0).all()


def test_loads_consistent(net_s):
    nodes, f, sub = net_s.nodes, net_s.feeders, net_s.substations
    dt = nodes[nodes["kind"] == "dist_transformer"]
    assert (nodes.loc[nodes["kind"] != "dist_transformer", "p_mw"] == 0).all()
    assert dt["rated_kva"].between(400, 2000).all() and (dt["p_mw"] >= 0).all()
    by_f = dt.groupby("feeder_id")["p_mw"].sum().reindex(f["id"]).fillna(0)
    assert np.allclose(by_f.to_numpy(), f["peak_mw"], atol=1e-6)
    pf = dt["p_mw"] / np.hypot(dt["p_mw"], dt["q_mvar"])
    assert pf[dt["p_mw"] > 0].between(0.899, 0.951).all()
    assert f["power_factor"].between(0.9, 0.95).all()
    assert f["n_customers"].between(5, 60).all()
    coinc = (sub.set_index("id")["peak_mw"]
             / f.groupby("substation_id")["peak_mw"].sum())
    assert coinc.between(0.849, 0.951).all()
    s_rate = sub["peak_mw"] / (sub["power_factor"] * sub["n_transformers"] * sub["transformer_mva"])
    assert s_rate.between(0.3, 0.85).all()
    cust = dt["customer_id"][dt["customer_id"] != ""]
    assert cust.str.fullmatch(r"C\d{6}").all() and cust.is_unique
    assert 0.03 <= len(cust) / len(dt) <= 0.07
    assert (nodes.loc[nodes["kind"] != "dist_transformer", "customer_id"] == "").all()


def test_voltage_drop_below_five_percent(net_s):
    """Linear sweep (P·R + Q·X) / U² down every feeder tree, with the ties open."""
    idx, fi, ti, on = operating_graph(net_s)
    n = len(idx)
    nodes, segs = net_s.nodes, net_s.segments
    busbar = np.flatnonzero((nodes["kind"] == "busbar").to_numpy())
    u = np.concatenate([fi[on], ti[on], np.full(len(busbar), n)])
    v = np.concatenate([ti[on], fi[on], busbar])
    g = coo_matrix((np.ones(len(u)), (u, v)), shape=(n + 1, n + 1)).tocsr()
    order, pred = breadth_first_order(g, n, directed=True, return_predecessors=True)
    r = (segs["r_ohm_per_km"] * segs["length_km"]).to_numpy()[on]
    x = (segs["x_ohm_per_km"] * segs["length_km"]).to_numpy()[on]
    seg_of = {}
    for k, (a, b) in enumerate(zip(fi[on], ti[on], strict=True)):
        seg_of[(a, b)] = seg_of[(b, a)] = k
    p = nodes["p_mw"].to_numpy().copy()
    q = nodes["q_mvar"].to_numpy().copy()
    for c in order[::-1]:  # children before parents
        par = pred[c]
        if c < n and par < n:
            p[par] += p[c]
            q[par] += q[c]
    drop = np.zeros(n + 1)
    for c in order[1:]:
        par = pred[c]
        if par < n:
            k = seg_of[(par, c)]
            drop[c] = drop[par] + (p[c] * r[k] + q[c] * x[k]) / 10.0**2 * 100
    assert drop[:n].max() < 5.0
    assert drop[:n].max() > 0.5  # the loads are not trivially small


def test_obstacles(net_s):
    ob = net_s.obstacles
    assert set(ob["kind"]) == {"river", "rail", "protected"}
    assert (ob.loc[ob["kind"] == "rail", "crossing"] == "costly").all()
    assert (ob.loc[ob["kind"] != "rail", "crossing"] == "forbidden").all()
    assert (ob["kind"] == "river").sum() >= 2, "the river is cut at its bridges"
    forb = shapely.union_all(ob.loc[ob["crossing"] == "forbidden"].geometry.values)
    assert not shapely.intersects(forb, net_s.segments.geometry.values).any()
    assert not shapely.intersects(forb, net_s.nodes.geometry.values).any()
    # roads do not enter a forbidden polygon, yet some cross the river's course (bridges)
    roads = net_s.roads.geometry.values
    assert not shapely.intersects(forb, roads).any()
    river_hull = shapely.convex_hull(shapely.union_all(ob.loc[ob["kind"] == "river"].geometry))
    assert shapely.intersects(river_hull, roads).sum() > 2
    rail = ob.loc[ob["kind"] == "rail"].geometry.iloc[0]
    assert shapely.intersects(rail, roads).any()


def test_road_network_connected(net_s):
    xy = np.round(shapely.get_coordinates(net_s.roads.geometry.values, include_z=False), 1)
    _, inv = np.unique(xy, axis=0, return_inverse=True)
    inv = inv.ravel()
    _, line = shapely.get_coordinates(net_s.roads.geometry.values, return_index=True)
    same = line[1:] == line[:-1]
    a, b = inv[:-1][same], inv[1:][same]
    m = int(inv.max()) + 1
    n_comp, _ = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(m, m)),
                                     directed=False)
    assert n_comp == 1


def test_history_and_curves(net_s):
    h, f, sub = net_s.load_history, net_s.feeders, net_s.substations
    peaks = pd.concat([f.set_index("id")["peak_mw"], sub.set_index("id")["peak_mw"]])
    assert set(h["element_id"]) == set(peaks.index)
    last = h.sort_values("year").groupby("element_id").last()
    assert (last["year"] == 2025).all()
    assert np.allclose(last["peak_mw"], peaks.reindex(last.index))
    span = h.groupby("element_id")["year"].agg(["min", "count"])
    n_years = 2025 - span["min"] + 1
    assert n_years.between(6, 8).all()
    assert (span["count"] < n_years).sum() >= 1, "a gap on purpose"
    ratio = h.sort_values("year").groupby("element_id")["peak_mw"].transform(
        lambda s: s / s.rolling(3, center=True, min_periods=2).median())
    assert (ratio > 1.3).sum() >= 1, "an outlier on purpose"
    c = net_s.load_curves
    per = c.groupby("element_id")
    assert (per.size() == 96).all()
    assert 0.05 <= per.ngroups / len(f) <= 0.2
    assert np.allclose(per["p_mw"].max(), f.set_index("id")["peak_mw"].reindex(per.size().index))
    ts = pd.to_datetime(c["timestamp"])
    assert (ts.dt.date.astype(str) == "2025-07-15").all()
    assert c["timestamp"].iloc[0] == "2025-07-15T00:00:00+08:00"
    # three shapes: the hour of the peak differs between feeders (midday vs evening vs flat)
    peak_hour = c.loc[per["p_mw"].idxmax(), "timestamp"].str.slice(11, 13).astype(int)
    assert peak_hour.nunique() >= 2


def test_geopackage_round_trip_keeps_version(net_s, tmp_path):
    p = write_network(net_s, tmp_path / "s.gpkg")
    back = read_network(p)
    assert back.version_id == net_s.version_id
    assert back.meta["name"] == "synth-S-1"


def test_validation_passes(net_s):
    validation = pytest.importorskip("grid_models.validation")
    report = validation.validate(net_s)
    assert report.ok, report.render(20)


def test_demo_file_is_synth_s_seed_1(net_s):
    assert DEMO.exists() and DEMO.stat().st_size < 3 * 1024 * 1024
    assert read_network(DEMO).version_id == net_s.version_id


# --- M, lightly --------------------------------------------------------------------------------
def test_m_size_topology_and_modes(net_m):
    assert 15000 <= len(net_m.nodes) <= 25000
    assert int(net_m.meta["road_vertices"]) > 30000
    check_radial_and_fed(net_m)
    want = net_m.feeders.set_index("id")["connection_mode"].map(TIES_BY_MODE)
    assert (tie_counts(net_m) == want).all()
    assert set(net_m.feeders["connection_mode"]) == set(TIES_BY_MODE)
    rate = load_rates(net_m)
    assert 0.08 <= (rate > 0.65).mean() <= 0.25
    assert (rate < 0.6).mean() >= 0.7
    assert (net_m.nodes["kind"] == "switching_station").any()
    sw = net_m.nodes[net_m.nodes["kind"] == "switching_station"]
    assert sw["bays_total"].between(8, 12).all()
    segs = net_m.segments
    geo_km = segs.geometry.length.to_numpy() / 1000
    assert np.all(np.abs(geo_km - segs["length_km"]) <= 0.01 * segs["length_km"])


# --- parameters and bad input ------------------------------------------------------------------
def test_profile_table_has_references_and_all_scales():
    t = pd.read_csv(PROFILE_PATH, dtype=str, keep_default_na=False)
    assert {"key", "S", "M", "L", "unit", "description", "references"} <= set(t.columns)
    assert (t["references"].str.strip() != "").all()
    assert t["key"].is_unique
    p = load_synth_profile("L")
    assert p.count("n_substations_110kv") > load_synth_profile("S").count("n_substations_110kv")


@pytest.mark.parametrize("scale", ["XL", "s", "", None])
def test_unknown_scale_is_refused(scale):
    with pytest.raises(UnknownTypeError, match="valid scales: S, M, L"):
        synth_city(scale)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True])
def test_bad_seed_is_refused(seed):
    with pytest.raises(InputError, match="seed"):
        synth_city("S", seed=seed)


def test_city_centred_on_wuhai(net_s):
    t = Transformer.from_crs("EPSG:4326", "EPSG:4545", always_xy=True)
    x0, y0 = t.transform(106.82, 39.67)
    xmin, ymin, xmax, ymax = net_s.roads.total_bounds
    assert abs((xmin + xmax) / 2 - x0) < 500 and abs((ymin + ymax) / 2 - y0) < 500
