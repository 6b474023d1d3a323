"""Tests of grid_models.import_pandapower: hand-made nets with answers known on paper, and the
SimBench MV grids plus CIGRE MV checked against independent computations (networkx trees,
pandapower's own power flow and load tables)."""

from __future__ import annotations

import copy
import json
import time
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from grid_models.errors import NetworkFormatError
from grid_models.import_pandapower import (
    SPARE_BAYS,
    network_from_pandapower,
    read_pandapower_json,
)
from grid_models.io import read_network, write_network
from grid_models.validation import validate
from tests.pp_cache import ALL_NETS, SIMBENCH_MV, cached_net_path, load_net

pp = pytest.importorskip("pandapower")

LAYERS_WITH_REFS = ("substations", "bus_sections", "feeders", "nodes", "segments", "switches")
CABLE = "NA2XS2Y 1x95 RM/25 12/20 kV"
OVERHEAD = "48-AL1/8-ST1A 10.0"
GEOD = Geod(ellps="WGS84")


# -- helpers (independent of the importer) -------------------------------------------------------

def ref_ids(ref: str) -> list[int]:
    """``"bus:2,4,6"`` -> ``[2, 4, 6]``."""
    return [int(x) for x in ref.split(":", 1)[1].split(",")]


def operating_graph(net) -> nx.MultiGraph:
    """Operating topology from the output tables: in-service segments not cut by an open
    switch, plus closed switches that stand on their own (bus couplers)."""
    seg, sw = net.segments, net.switches
    open_seg = set(sw.loc[~sw["closed"] & (sw["segment_id"] != ""), "segment_id"])
    op = seg[seg["in_service"] & ~seg["id"].isin(open_seg)]
    g = nx.MultiGraph()
    g.add_nodes_from(net.nodes["id"])
    g.add_edges_from(zip(op["from_node"], op["to_node"], strict=True))
    bus_sw = sw[sw["closed"] & (sw["segment_id"] == "")]
    g.add_edges_from(zip(bus_sw["node_a"], bus_sw["node_b"], strict=True))
    return g


def assert_radial(net) -> None:
    """All busbars contracted into one root: the operating graph is then one tree (every node
    fed, no loop, no two busbars joined through feeders); each feeder is a tree off its busbar."""
    g = operating_graph(net)
    nodes = net.nodes
    busbars = set(nodes.loc[nodes["kind"] == "busbar", "id"])
    h = nx.relabel_nodes(g, {b: "ROOT" for b in busbars})
    h.remove_edges_from(list(nx.selfloop_edges(h)))  # bus couplers between busbars
    assert nx.is_connected(h), "some nodes are not fed"
    assert h.number_of_edges() == h.number_of_nodes() - 1, "a loop with ties open"

    seg, sw = net.segments, net.switches
    open_seg = set(sw.loc[~sw["closed"] & (sw["segment_id"] != ""), "segment_id"])
    op = seg[seg["in_service"] & ~seg["id"].isin(open_seg)]
    bb_of_section = nodes[nodes["kind"] == "busbar"].set_index("bus_section_id")["id"]
    for _, f in net.feeders.iterrows():
        s = op[op["feeder_id"] == f["id"]]
        t = nx.Graph(list(zip(s["from_node"], s["to_node"], strict=True)))
        assert nx.is_tree(t) and t.number_of_edges() == len(s), f["id"]
        busbar = bb_of_section[f["bus_section_id"]]
        assert busbar in t, f"feeder {f['id']} does not start at its busbar"
        members = set(nodes.loc[nodes["feeder_id"] == f["id"], "id"])
        assert set(t.nodes) - {busbar} == members


def mv_levels(net) -> np.ndarray:
    lv = net.bus.loc[net.trafo.lv_bus, "vn_kv"]
    return np.unique(lv[lv >= 1.0])


def load_by_bus(net) -> pd.Series:
    ld = net.load[net.load.in_service]
    return (ld.p_mw * ld.scaling).groupby(ld.bus).sum()


def runpp_vm(net) -> pd.Series:
    work = copy.deepcopy(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(work, numba=False)
    return work.res_bus.vm_pu


# -- the SimBench / CIGRE nets (cached JSON, imported once per session) -------------------------

class _Imported:
    def __init__(self) -> None:
        self.got: dict[str, tuple[object, object, float]] = {}

    def __call__(self, code: str):
        if code not in self.got:
            ppnet = load_net(code)
            t0 = time.perf_counter()
            net = network_from_pandapower(ppnet, name=code)
            self.got[code] = (ppnet, net, time.perf_counter() - t0)
        return self.got[code]


@pytest.fixture(scope="session")
def imported() -> _Imported:
    return _Imported()


@pytest.mark.parametrize("code", ALL_NETS)
def test_feeders_cover_every_mv_line(imported, code):
    ppnet, net, _ = imported(code)
    assert len(net.feeders) > 0
    mv = net_mv_lines(ppnet)
    seg = net.segments.set_index("source_ref")
    refs = [f"line:{i}" for i in mv]
    assert set(refs) <= set(seg.index), "an MV line has no segment"
    sw = net.switches
    open_seg = set(sw.loc[~sw["closed"] & (sw["segment_id"] != ""), "segment_id"])
    unassigned = seg.loc[refs][seg.loc[refs, "feeder_id"] == ""]
    # A line without feeder is a tie (cut by an open switch) or out of service.
    assert (unassigned["id"].isin(open_seg) | ~unassigned["in_service"]).all()
    # Independently: those are exactly the lines pandapower has an open switch on.
    ls = ppnet.switch[(ppnet.switch.et == "l") & ~ppnet.switch.closed]
    assert set(unassigned.index) == {f"line:{i}" for i in ls.element}
    assert set(net.segments["feeder_id"]) - {""} <= set(net.feeders["id"])


def net_mv_lines(ppnet) -> np.ndarray:
    lv = mv_levels(ppnet)
    vn = ppnet.bus.vn_kv
    ok = vn.loc[ppnet.line.from_bus].isin(lv).to_numpy() & vn.loc[ppnet.line.to_bus].isin(lv).to_numpy()
    return ppnet.line.index[ok].to_numpy()


@pytest.mark.parametrize("code", ALL_NETS)
def test_line_lengths_and_electrical_data_kept(imported, code):
    ppnet, net, _ = imported(code)
    seg = net.segments.set_index("source_ref")
    lines = ppnet.line
    refs = [f"line:{i}" for i in lines.index]
    assert np.array_equal(seg.loc[refs, "length_km"].to_numpy(), lines.length_km.to_numpy())
    par = lines.parallel.to_numpy()
    assert np.allclose(seg.loc[refs, "r_ohm_per_km"], lines.r_ohm_per_km / par)
    assert np.allclose(seg.loc[refs, "max_i_ka"], lines.max_i_ka * lines.df * par)
    cable = (lines.type == "cs").to_numpy()
    assert np.array_equal(seg.loc[refs, "construction"].to_numpy() == "cable", cable)
    assert (seg.loc[refs, "std_type"].to_numpy() == lines.std_type.to_numpy()).all()


@pytest.mark.parametrize("code", ALL_NETS)
def test_every_element_has_source_ref(imported, code):
    _, net, _ = imported(code)
    for layer in LAYERS_WITH_REFS:
        t = net.layers[layer]
        assert len(t) == 0 or (t["source_ref"].str.len() > 0).all(), layer
    # Node refs are the pandapower buses; every MV bus appears exactly once.
    ppnet = imported(code)[0]
    buses = [b for r in net.nodes["source_ref"] for b in ref_ids(r)]
    assert len(buses) == len(set(buses))
    mv = ppnet.bus.index[ppnet.bus.vn_kv.isin(mv_levels(ppnet))]
    assert set(buses) == set(mv)


@pytest.mark.parametrize("code", ALL_NETS)
def test_radial_per_feeder_with_ties_open(imported, code):
    _, net, _ = imported(code)
    assert_radial(net)


@pytest.mark.parametrize("code", ALL_NETS)
def test_feeder_peak_is_the_sum_of_its_loads(imported, code):
    ppnet, net, _ = imported(code)
    loads = load_by_bus(ppnet)
    nodes = net.nodes
    for _, f in net.feeders.iterrows():
        buses = [b for r in nodes.loc[nodes["feeder_id"] == f["id"], "source_ref"]
                 for b in ref_ids(r)]
        assert f["peak_mw"] == pytest.approx(loads.reindex(buses).fillna(0).sum(), abs=1e-9)
    assert nodes["p_mw"].sum() == pytest.approx(loads.sum(), rel=1e-12)


@pytest.mark.parametrize("code", ALL_NETS)
def test_busbar_voltage_matches_pandapower_power_flow(imported, code):
    ppnet, net, _ = imported(code)
    vm = runpp_vm(ppnet)
    bs = net.bus_sections
    expected = [vm[ref_ids(r)[0]] for r in bs["source_ref"]]
    assert np.allclose(bs["vm_pu"], expected, atol=1e-9)
    assert not np.allclose(bs["vm_pu"], 1.0)  # the value really comes from the power flow


@pytest.mark.parametrize("code", ALL_NETS)
def test_imported_net_validates(imported, code):
    _, net, seconds = imported(code)
    rep = validate(net)
    assert rep.ok, rep.render(20)
    assert seconds < 10.0, f"import of {code} took {seconds:.2f} s"


@pytest.mark.parametrize("code", SIMBENCH_MV)
def test_simbench_structure(imported, code):
    ppnet, net, _ = imported(code)
    # One 110 kV substation with two transformers (two HV buses joined by a closed coupler).
    assert len(net.substations) == 1
    s = net.substations.iloc[0]
    assert s["n_transformers"] == 2 and s["hv_kv"] == 110.0
    assert s["transformer_mva"] == ppnet.trafo.sn_mva.iloc[0]
    assert net.meta["geometry_source"] == "schematic"
    assert net.meta["crs_source"].startswith("assumed EPSG:4326")
    bs = net.bus_sections
    assert (bs["bays_total"] == bs["bays_used"] + SPARE_BAYS).all()
    assert int(net.meta["ignored_sgen"].split()[0]) == len(ppnet.sgen)
    assert "mesh_ties" not in net.meta  # SimBench MV grids are radial once open switches open


def test_simbench_rural_couplers_and_ties(imported):
    ppnet, net, _ = imported("1-MV-rural--0-sw")
    sw = net.switches
    # Sectionaliser between the two MV busbars (switch 5) is kept as a closed bus coupler.
    coupler = sw[sw["source_ref"] == "switch:5"].iloc[0]
    assert (coupler["kind"], bool(coupler["closed"]), coupler["segment_id"]) == ("breaker", True, "")
    assert {coupler["node_a"], coupler["node_b"]} == {"N2", "N3"}
    # The six open loop switches are the normally-open ties.
    ties = sw[sw["kind"] == "tie"]
    assert sorted(ties["source_ref"]) == sorted(f"switch:{i}" for i in ppnet.switch.index[
        (ppnet.switch.et == "l") & ~ppnet.switch.closed])
    assert (~ties["closed"]).all()


def test_simbench_urban_merges_auxiliary_busbars(imported):
    _, net, _ = imported("1-MV-urban--0-sw")
    bs = net.bus_sections.set_index("id")
    # node1 (aux, trafo LV) + busbar1A + busbar2A joined by closed CBs: one section.
    assert bs.loc["BS2", "source_ref"] == "bus:2,4,6"
    assert bs.loc["BS3", "source_ref"] == "bus:3,5,7"
    sw = net.switches.set_index("source_ref")
    # Open couplers 4-5 and 6-7 are breakers between the sections, open.
    for ref in ("switch:7", "switch:8"):
        assert sw.loc[ref, "kind"] == "breaker" and not sw.loc[ref, "closed"]
    # Open disconnectors at the base station join feeders: ties.
    assert sw.loc["switch:9", "kind"] == "tie" and sw.loc["switch:10", "kind"] == "tie"


def test_geopackage_round_trip_keeps_version_id(imported, tmp_path):
    _, net, _ = imported("1-MV-comm--0-sw")
    path = write_network(net, tmp_path / "comm.gpkg")
    back = read_network(path)
    assert back.version_id == net.version_id
    assert back.meta["geometry_source"] == "schematic"
    assert (back.nodes["load_refs"] == net.nodes["load_refs"]).all()


def test_import_is_deterministic_and_leaves_the_net_alone(imported):
    ppnet, a, _ = imported("cigre-mv")
    fresh = load_net("cigre-mv")
    b = network_from_pandapower(ppnet)
    assert a.version_id == b.version_id
    for table in ("bus", "line", "switch", "load", "trafo"):
        pd.testing.assert_frame_equal(ppnet[table], fresh[table])
    assert ppnet.res_bus.empty  # the power flow ran on a copy


def test_cigre_schematic_coordinates_are_scaled(imported):
    _, net, _ = imported("cigre-mv")
    assert net.crs.to_epsg() == 4545
    assert net.meta["geometry_source"] == "schematic"
    seg = net.segments
    drawn = shapely.length(seg.geometry.values)
    assert np.median(drawn) == pytest.approx(1000 * np.median(seg["length_km"]), rel=1e-6)
    lon0, lat0, lon1, lat1 = net.geographic_bounds()
    assert lon0 < 106.82 < lon1 and lat0 < 39.67 < lat1


def test_cigre_feeders_and_modes(imported):
    ppnet, net, _ = imported("cigre-mv")
    fd = net.feeders.set_index("id")
    # Line 0 (1-2, cable) leaves busbar 1, line 10 (12-13, overhead) leaves busbar 12.
    assert sorted(fd.index) == ["F0", "F10"]
    assert fd.loc["F0", "bus_section_id"] == "BS1" and fd.loc["F10", "bus_section_id"] == "BS12"
    # S1 (line 14, 14-8) ties the two feeders; S2, S3 close rings inside feeder F0.
    assert fd.loc["F0", "connection_mode"] == "cable_single_ring"
    assert fd.loc["F10", "connection_mode"] == "overhead_multi_1tie"
    assert fd.loc["F0", "rated_i_ka"] == ppnet.line.max_i_ka.iloc[0]


# -- hand-made nets -------------------------------------------------------------------------

def toy_net():
    """10 kV toy grid, non-contiguous bus indices, no geodata::

        HV 100 =T0= 101 ─(closed bb sw)─ 102
        101 ─c─ 105 ─d─ 106 (MV/LV trafo → LV 110 ─k─ 111, loads 0.1×0.5 and 0.05)
                 105 ─f─ 107 ─g─ 108 ─h─ 105   (triangle: g closes a mesh)
        102 ─a(cable, parallel 2)─ 103 ─b(overhead 2 km)─ 104 (load 1.0×0.8)
        104 ─e─ 106 with an open switch at 106 (tie);  103 ─i(out)─ 109;  104 ─j(out)─ 108
    """
    net = pp.create_empty_network(name="toy")
    for i, kv in [(100, 110), (101, 10), (102, 10), (103, 10), (104, 10), (105, 10), (106, 10),
                  (107, 10), (108, 10), (109, 10), (110, 0.4), (111, 0.4)]:
        pp.create_bus(net, kv, index=i, name=f"b{i}")
    pp.create_ext_grid(net, 100)
    pp.create_transformer(net, 100, 101, "25 MVA 110/10 kV")
    pp.create_transformer(net, 106, 110, "0.4 MVA 10/0.4 kV")
    pp.create_switch(net, 101, 102, "b", closed=True, type="CB")
    mk = pp.create_line
    mk(net, 102, 103, 1.0, CABLE, parallel=2)        # a 0
    mk(net, 103, 104, 2.0, OVERHEAD)                 # b 1
    mk(net, 101, 105, 1.5, CABLE)                    # c 2
    mk(net, 105, 106, 0.5, CABLE)                    # d 3
    e = mk(net, 104, 106, 0.7, CABLE)                # e 4
    mk(net, 105, 107, 0.3, CABLE)                    # f 5
    mk(net, 107, 108, 0.4, CABLE)                    # g 6
    mk(net, 108, 105, 0.2, CABLE)                    # h 7
    mk(net, 103, 109, 0.9, CABLE, in_service=False)  # i 8
    mk(net, 104, 108, 1.1, CABLE, in_service=False)  # j 9
    mk(net, 110, 111, 0.1, "NAYY 4x50 SE")           # k 10
    pp.create_switch(net, 104, e, "l", closed=True, type="LBS")
    pp.create_switch(net, 106, e, "l", closed=False, type="LBS")
    pp.create_load(net, 104, p_mw=1.0, q_mvar=0.3, scaling=0.8)
    pp.create_load(net, 110, p_mw=0.1, q_mvar=0.02, scaling=0.5)
    pp.create_load(net, 111, p_mw=0.05, q_mvar=0.01)
    pp.create_load(net, 103, p_mw=5.0, in_service=False)
    pp.create_sgen(net, 104, p_mw=0.2)
    return net


@pytest.fixture(scope="module")
def toy():
    ppnet = toy_net()
    return ppnet, network_from_pandapower(ppnet, power_flow=False)


def test_toy_topology_known_on_paper(toy):
    ppnet, net = toy
    nodes = net.nodes.set_index("id")
    assert sorted(nodes.index) == ["N101", "N103", "N104", "N105", "N106", "N107", "N108"]
    assert nodes.loc["N101", "kind"] == "busbar"
    assert nodes.loc["N101", "source_ref"] == "bus:101,102"
    assert nodes.loc["N104", "kind"] == "dist_transformer"
    assert nodes.loc["N106", "kind"] == "dist_transformer"
    assert nodes.loc["N106", "rated_kva"] == 400.0
    assert nodes.loc["N103", "kind"] == "junction"
    assert nodes.loc["N104", "p_mw"] == pytest.approx(0.8)
    assert nodes.loc["N104", "q_mvar"] == pytest.approx(0.24)
    assert nodes.loc["N106", "p_mw"] == pytest.approx(0.1)  # LV loads folded onto the MV bus
    assert nodes.loc["N106", "load_refs"] == "load:1,2"

    fd = net.feeders.set_index("id")
    assert sorted(fd.index) == ["F0", "F2"]
    assert fd.loc["F0", "peak_mw"] == pytest.approx(0.8)
    assert fd.loc["F2", "peak_mw"] == pytest.approx(0.1)
    assert fd.loc["F0", "n_customers"] == 1 and fd.loc["F2", "n_customers"] == 2
    assert fd.loc["F0", "rated_i_ka"] == pytest.approx(2 * ppnet.line.max_i_ka[0])
    # F0: 1 km cable vs 2 km overhead, one tie (e) -> overhead, 1 tie; F2: all cable, tie e.
    assert fd.loc["F0", "connection_mode"] == "overhead_multi_1tie"
    assert fd.loc["F2", "connection_mode"] == "cable_single_ring"

    seg = net.segments.set_index("id")
    assert dict(seg["feeder_id"]) == {"L0": "F0", "L1": "F0", "L2": "F2", "L3": "F2", "L4": "",
                                      "L5": "F2", "L6": "", "L7": "F2", "L9": ""}
    assert (seg.loc["L7", "from_node"], seg.loc["L7", "to_node"]) == ("N105", "N108")
    assert seg.loc["L0", "from_node"] == "N101"  # merged bus 102 is the busbar
    assert not seg.loc["L9", "in_service"]
    assert seg.loc["L0", "r_ohm_per_km"] == pytest.approx(ppnet.line.r_ohm_per_km[0] / 2)
    assert seg.loc["L0", "c_nf_per_km"] == pytest.approx(ppnet.line.c_nf_per_km[0] * 2)
    assert seg.loc["L1", "construction"] == "overhead"

    sw = net.switches.set_index("id")
    assert sorted(sw.index) == ["SW1", "SW2", "TIE-L6"]
    assert (sw.loc["SW2", "kind"], sw.loc["SW2", "closed"]) == ("tie", False)
    assert (sw.loc["SW2", "node_a"], sw.loc["SW2", "segment_id"]) == ("N106", "L4")
    assert (sw.loc["SW1", "kind"], sw.loc["SW1", "closed"]) == ("sectionalizer", True)
    assert (sw.loc["TIE-L6", "kind"], sw.loc["TIE-L6", "source_ref"]) == ("tie", "line:6")

    bs = net.bus_sections.iloc[0]
    assert (bs["bays_used"], bs["bays_total"]) == (2, 2 + SPARE_BAYS)
    m = net.meta
    assert m["mesh_ties"] == "line:6"
    assert (m["dropped_hv_buses"], m["dropped_lv_buses"]) == ("1", "2")
    assert m["dropped_mv_buses_unfed"] == "1" and m["dropped_lines_unfed"] == "1"
    assert m["loads_out_of_service"] == "1"
    assert "1 static generator" in m["ignored_sgen"]
    assert m["geometry_source"] == "schematic" and "geometry_layout" in m
    assert_radial(net)
    assert validate(net).ok, validate(net).render()


def test_toy_layout_is_scaled_to_line_lengths(toy):
    net = toy[1]
    assert net.crs.to_epsg() == 4545
    drawn = shapely.length(net.segments.geometry.values)
    assert np.median(drawn) == pytest.approx(1000 * np.median(net.segments["length_km"]),
                                             rel=1e-6)
    assert (drawn > 0).all()


def geo_net(crs_xy=None):
    """20 kV: busbar at lon 106.82, lat 39.67; bus 2 1.0 km north; bus 3 1.5 km east of bus 2,
    line 2-3 drawn with a midpoint. ``crs_xy`` maps (lon, lat) to other coordinates."""
    net = pp.create_empty_network()
    lon0, lat0 = 106.82, 39.67
    lon2, lat2, _ = GEOD.fwd(lon0, lat0, 0, 1000.0)
    lon3, lat3, _ = GEOD.fwd(lon2, lat2, 90, 1500.0)
    lonm, latm, _ = GEOD.fwd(lon2, lat2, 90, 750.0)
    f = crs_xy or (lambda x, y: (x, y))
    pp.create_bus(net, 110, geodata=f(lon0, lat0))
    pp.create_bus(net, 20, geodata=f(lon0, lat0))
    pp.create_bus(net, 20, geodata=f(lon2, lat2))
    pp.create_bus(net, 20, geodata=f(lon3, lat3))
    pp.create_ext_grid(net, 0)
    pp.create_transformer(net, 0, 1, "25 MVA 110/20 kV")
    pp.create_line(net, 1, 2, 1.0, CABLE)
    pp.create_line(net, 2, 3, 1.5, CABLE,
                   geodata=[f(lon2, lat2), f(lonm, latm), f(lon3, lat3)])
    pp.create_load(net, 3, p_mw=0.5)
    return net


def test_lonlat_coordinates_consistent_with_lengths_are_surveyed():
    net = network_from_pandapower(geo_net(), power_flow=False)
    assert net.meta["geometry_source"] == "surveyed"
    assert net.crs.to_epsg() == 4545  # CGCS2000 GK zone of the area
    seg = net.segments.set_index("source_ref")
    assert len(shapely.get_coordinates(seg.loc["line:1", "geometry"])) == 3
    drawn = shapely.length(seg.geometry.values) / 1000
    assert np.allclose(drawn, seg["length_km"], rtol=0.01)
    assert (net.bus_sections["vm_pu"] == 1.0).all()
    assert net.meta["power_flow"].startswith("not run")


def test_one_line_off_its_drawing_is_marked_approximate_not_the_whole_grid():
    ppnet = geo_net()
    ppnet.line.loc[0, "length_km"] = 1.3  # drawn 1.0 km: -23 %, beyond validation's 20 %
    net = network_from_pandapower(ppnet, power_flow=False)
    assert float(net.meta["geometry_length_ratio_median"]) == pytest.approx(0.885, abs=0.01)
    # One line of two is not "most lines": the grid stays located, that line is approximate.
    assert net.meta["geometry_source"] == "surveyed"
    assert net.meta["geometry_note"].startswith("1 of 2 lines")
    assert "L0 (-23 %)" in net.meta["geometry_note"]
    seg = net.segments.set_index("id")
    assert seg.loc["L0", "geometry_approximate"] and not seg.loc["L1", "geometry_approximate"]
    report = validate(net)
    assert report.ok
    assert [(p.code, p.element_id, p.severity) for p in report.problems] == [
        ("length_mismatch", "L0", "warning")]


def test_most_lines_off_their_drawing_make_the_geometry_schematic():
    ppnet = geo_net()
    ppnet.line["length_km"] *= 0.82  # both lines drawn 22 % long (median ratio 1.22)
    net = network_from_pandapower(ppnet, power_flow=False)
    assert net.meta["geometry_source"] == "schematic"
    assert net.meta["geometry_note"].startswith("2 of 2 lines")
    assert not net.segments["geometry_approximate"].any()
    assert validate(net).ok


def test_given_projected_crs_is_kept():
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:4545", always_xy=True)
    net = network_from_pandapower(geo_net(lambda x, y: tr.transform(x, y)), crs="EPSG:4545",
                                  power_flow=False)
    assert net.crs.to_epsg() == 4545
    assert net.meta["geometry_source"] == "surveyed"
    assert net.meta["crs_source"].startswith("given")


def test_abstract_coordinates_without_crs_are_schematic():
    net = network_from_pandapower(geo_net(lambda x, y: (x * 1e4, y * 1e4)), power_flow=False)
    assert net.meta["geometry_source"] == "schematic"
    assert net.meta["crs_source"].startswith("schematic")


def test_missing_bus_coordinates_are_filled_between_neighbours():
    ppnet = geo_net()
    ppnet.bus.loc[2, "geo"] = None
    net = network_from_pandapower(ppnet, power_flow=False)
    assert net.meta["geometry_filled_nodes"] == "1"
    assert net.meta["geometry_source"] == "schematic"
    nodes = net.nodes.set_index("id")
    p1, p2, p3 = (nodes.loc[k, "geometry"] for k in ("N1", "N2", "N3"))
    mid = shapely.Point((p1.x + p3.x) / 2, (p1.y + p3.y) / 2)
    assert p2.distance(mid) < 1.0  # harmonic fill: the mean of its two neighbours


def test_bus_coupler_between_two_transformer_sections():
    net = pp.create_empty_network()
    for kv in (110, 20, 20, 20, 20):
        pp.create_bus(net, kv)
    pp.create_ext_grid(net, 0)
    pp.create_transformer(net, 0, 1, "25 MVA 110/20 kV")
    pp.create_transformer(net, 0, 2, "25 MVA 110/20 kV")
    pp.create_switch(net, 1, 2, "b", closed=True, type="CB")
    pp.create_line(net, 1, 3, 2.0, CABLE)
    pp.create_line(net, 2, 4, 2.0, "48-AL1/8-ST1A 20.0")
    pp.create_load(net, 3, p_mw=1.0)
    out = network_from_pandapower(net, power_flow=False)
    assert len(out.bus_sections) == 2 and len(out.substations) == 1
    assert out.substations["n_transformers"].iat[0] == 2
    sw = out.switches.iloc[0]
    assert (sw["kind"], bool(sw["closed"]), {sw["node_a"], sw["node_b"]}) == \
        ("breaker", True, {"N1", "N2"})
    assert set(out.feeders["connection_mode"]) == {"overhead_radial"}
    assert_radial(out)
    assert validate(out).ok


def test_external_grid_on_an_mv_bus_is_a_source_of_unknown_capacity():
    net = pp.create_empty_network()
    pp.create_bus(net, 10)
    pp.create_bus(net, 10)
    pp.create_ext_grid(net, 0)
    pp.create_line(net, 0, 1, 1.0, CABLE)
    out = network_from_pandapower(net, power_flow=False)
    s = out.substations.iloc[0]
    assert s["source_ref"] == "ext_grid:0" and np.isnan(s["transformer_mva"])
    assert "unknown capacity" in out.meta["ext_grid_sources"]
    assert len(out.feeders) == 1


def test_net_without_any_source_is_refused():
    net = pp.create_empty_network()
    pp.create_bus(net, 10)
    pp.create_bus(net, 10)
    pp.create_line(net, 0, 1, 1.0, CABLE)
    with pytest.raises(NetworkFormatError, match="nothing feeds"):
        network_from_pandapower(net)


def test_line_switch_at_a_foreign_bus_is_refused():
    net = geo_net()
    pp.create_switch(net, 2, 0, "l")
    net.switch.loc[0, "bus"] = 3  # line 0 runs 1-2, not to bus 3 (pandapower would refuse it)
    with pytest.raises(NetworkFormatError, match="switch 0: bus 3 is not an end of line 0"):
        network_from_pandapower(net)


def test_not_a_pandapower_net_is_refused():
    with pytest.raises(NetworkFormatError, match="expected a pandapower net"):
        network_from_pandapower({"bus": 1})


# -- reading files ----------------------------------------------------------------------------

def test_read_pandapower_json_round_trip(tmp_path):
    net = read_pandapower_json(cached_net_path("cigre-mv"))
    assert len(net.bus) == 15


def test_non_json_file_is_a_format_error(tmp_path):
    p = tmp_path / "net.json"
    p.write_text("this is not json {")
    with pytest.raises(NetworkFormatError, match="not valid JSON") as e:
        read_pandapower_json(p)
    assert str(p) in str(e.value)


def test_truncated_pandapower_file_is_a_format_error(tmp_path):
    p = tmp_path / "cut.json"
    p.write_text(cached_net_path("cigre-mv").read_text()[:3000])
    with pytest.raises(NetworkFormatError, match="truncated or garbled"):
        read_pandapower_json(p)


def test_json_that_is_not_a_pandapower_net_is_a_format_error(tmp_path):
    p = tmp_path / "other.json"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(NetworkFormatError, match="not a pandapower network"):
        read_pandapower_json(p)


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(NetworkFormatError, match="no such file"):
        read_pandapower_json(tmp_path / "absent.json")
