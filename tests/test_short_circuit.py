"""Short circuit (issue #9): the engine's IEC 60909 levels against pandapower's ``calc_sc``, and
hand-checked cases of the four short-circuit checks.

Oracle: every circuit of every generated scheme (feasible or not) is rebuilt in the exported
pandapower net exactly as reported (connection point, tap position, conductor, route length:
the helpers of ``tests/test_physics.py``), with the sources stated explicitly (ext_grid
``s_sc_max_mva``, ``s_sc_min_mva``, ``rx_max``, ``rx_min``; transformer ``vk``/``vkr``/rating;
line ``endtemp_degree`` for the minimum case), and ``pandapower.shortcircuit.calc_sc`` solves
the maximum and minimum case. A new line is a dead-end spur without a source, so every circuit
of a network goes into one net and one ``calc_sc`` per case answers them all; taps on one line
split it into a chain at every tap position. SimBench grids carry no short-circuit data, so
explicit values (:data:`SC_SOURCES`) are put on their ext_grid before import (the importer's
path); CIGRE MV has its own; the synthetic city and the hand-made network use the policy
defaults (the export states them on the ext_grid).

The helpers are reused by ``benchmarks/short_circuit_report.py``.
"""

from __future__ import annotations

import copy
import functools
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandapower as pp
import pandas as pd
import pytest

from grid_models.errors import ApplicationError
from grid_models.network import Network
from scheme_engine.short_circuit import protection
from tests.test_physics import (
    END_M,
    SIMBENCH,
    CircuitCheck,
    PhysicsCase,
    _make_check,
    case,
    load_network,
    prepare,
    random_applications,
)

SC_TOL = 0.02  # relative, reported vs pandapower I''k
#: explicit upstream short-circuit data put on each SimBench ext_grid before import:
#: s_sc_max_mva, s_sc_min_mva, rx_max, rx_min (SimBench gives none)
SC_SOURCES = {
    "1-MV-rural--0-sw": (1500.0, 1000.0, 0.10, 0.12),
    "1-MV-semiurb--0-sw": (3000.0, 2000.0, 0.10, 0.12),
    "1-MV-urban--0-sw": (6000.0, 4000.0, 0.08, 0.10),
    "1-MV-comm--0-sw": (4000.0, 2500.0, 0.10, 0.12),
}
ORACLE_NETWORKS = ("small", "synth-S", *SIMBENCH, "cigre-mv")


# ----------------------------------------------------------------------------- networks
@functools.cache
def sc_network(name: str) -> Network:
    """The network of ``name``; SimBench grids with :data:`SC_SOURCES` on their ext_grid."""
    if name not in SC_SOURCES:
        return load_network(name)
    from grid_models.import_pandapower import network_from_pandapower
    from tests.pp_cache import load_net

    net = load_net(name)
    for col, v in zip(("s_sc_max_mva", "s_sc_min_mva", "rx_max", "rx_min"), SC_SOURCES[name],
                      strict=True):
        net.ext_grid[col] = v
    return network_from_pandapower(net)


@functools.cache
def sc_case(name: str) -> PhysicsCase:
    """Planner, pandapower export and maps of ``name`` (shared with test_physics where the
    network is the same)."""
    return prepare(name, network=sc_network(name)) if name in SC_SOURCES else case(name)


def sc_export(c: PhysicsCase) -> pp.pandapowerNet:
    """The exported net with every short-circuit source stated explicitly, as compiled.

    Each substation gets one HV bus and one ext_grid (its transformers share the network
    feeder, as the engine assumes), with ``s_sc_*``/``rx_*`` after the policy's defaults;
    each transformer the substation's ``vk``/``vkr`` and the capacity behind its bus section;
    each line ``endtemp_degree`` by construction (policy ``short_circuit_protection.csv``).
    """
    cn, pol = c.planner.cn, c.planner.policy
    net = copy.deepcopy(c.ppn)
    bs_pos = {str(b): i for i, b in enumerate(cn.bs_ids)}
    t_bs = np.array([bs_pos[str(n)] for n in net.trafo.name])
    t_ss = cn.bs_substation[t_bs]
    net.trafo["vk_percent"] = cn.ss_vk_percent[t_ss]
    net.trafo["vkr_percent"] = cn.ss_vkr_percent[t_ss]
    net.trafo["sn_mva"] = cn.bs_unit_mva[t_bs]
    e_ss = cn.bs_substation[np.array([bs_pos[str(n)] for n in net.ext_grid.name])]
    net.ext_grid["s_sc_max_mva"] = cn.ss_s_sc_max_mva[e_ss]
    net.ext_grid["s_sc_min_mva"] = cn.ss_s_sc_min_mva[e_ss]
    net.ext_grid["rx_max"] = cn.ss_rx_max[e_ss]
    net.ext_grid["rx_min"] = cn.ss_rx_min[e_ss]
    groups = [net.ext_grid.index[e_ss == s] for s in np.unique(e_ss)]
    for egs in groups:
        if len(egs) > 1:
            buses = net.ext_grid.bus.loc[egs].to_numpy()
            pp.toolbox.fuse_buses(net, int(buses[0]), set(int(b) for b in buses[1:]))
    net.ext_grid = net.ext_grid.drop([i for egs in groups for i in egs[1:]])
    segs = c.network.layers["segments"].set_index("id")
    vn = net.bus.vn_kv.loc[net.line.from_bus].to_numpy()
    overhead = (segs["construction"].reindex(net.line.name.astype(str)) == "overhead").to_numpy()
    net.line["endtemp_degree"] = [
        _theta(pol, float(v), bool(o)) for v, o in zip(vn, overhead, strict=True)]
    return net


def _theta(policy, vn_kv: float, overhead: bool) -> float:
    p = protection(policy, vn_kv)
    return p.theta_end_overhead_c if overhead else p.theta_end_cable_c


# ----------------------------------------------------------------------------- schemes
@dataclass
class ScCircuit:
    """One reported circuit: where it connects (test_physics' mapping) and what it reports."""

    check: CircuitCheck
    construction: str
    reported: dict[str, float]  # conn_max, conn_min, cust_max, cust_min (kA)


@dataclass
class ScPlanned:
    n_apps: int = 0
    n_application_errors: int = 0
    n_schemes: int = 0
    n_circuits: int = 0
    circuits: list[ScCircuit] = field(default_factory=list)
    plan_s: float = 0.0


def plan_schemes(c: PhysicsCase, apps: list[dict]) -> ScPlanned:
    """Plan every application; one :class:`ScCircuit` per distinct circuit of any scheme."""
    out = ScPlanned(n_apps=len(apps))
    seen: set[tuple] = set()
    t0 = time.perf_counter()
    for ai, app in enumerate(apps):
        try:
            res = c.planner.plan(app)
        except ApplicationError:
            out.n_application_errors += 1
            continue
        for s in res.schemes:
            if not s.circuits:
                continue
            out.n_schemes += 1
            for ci, cir in enumerate(s.circuits):
                out.n_circuits += 1
                k = cir.connection
                key = (k.kind, k.point_id, k.bus_section_id, k.distance_from_start_m,
                       cir.conductor.type, cir.route_length_m["total"], s.voltage_kv)
                if key in seen:
                    continue
                seen.add(key)
                sc = cir.short_circuit
                out.circuits.append(ScCircuit(
                    _make_check(c, cir, s.voltage_kv, 0.0, 0.0, (ai, s.rank, ci)),
                    cir.conductor.construction,
                    {"conn_max": sc["connection"]["ikss_max_ka"],
                     "conn_min": sc["connection"]["ikss_min_ka"],
                     "cust_max": sc["customer"]["ikss_max_ka"],
                     "cust_min": sc["customer"]["ikss_min_ka"]}))
    out.plan_s = time.perf_counter() - t0
    return out


def solve_with_pandapower(c: PhysicsCase, circuits: list[ScCircuit]) -> pd.DataFrame:
    """pandapower's I''k max and min at each circuit's connection point and customer end."""
    from pandapower.shortcircuit import calc_sc

    net = sc_export(c)
    pol = c.planner.policy
    # taps: split each tapped line at all its tap positions (a chain of buses)
    tap_bus: dict[tuple[int, float], int] = {}
    by_line: dict[int, set[float]] = {}
    for sc in circuits:
        ch = sc.check
        if ch.line >= 0:
            by_line.setdefault(ch.line, set()).add(round(ch.dist_km, 9))
    for li, ds in by_line.items():
        ln = net.line.loc[li]
        inner = sorted(d for d in ds if END_M / 1000 < d < ln.length_km - END_M / 1000)
        for d in ds:
            if d <= END_M / 1000:
                tap_bus[(li, d)] = int(ln.from_bus)
            elif d >= ln.length_km - END_M / 1000:
                tap_bus[(li, d)] = int(ln.to_bus)
        if not inner:
            continue
        buses = pp.create_buses(net, len(inner), vn_kv=float(net.bus.vn_kv.at[ln.from_bus]))
        chain = [int(ln.from_bus), *map(int, buses), int(ln.to_bus)]
        pos = [0.0, *inner, float(ln.length_km)]
        net.line.at[li, "in_service"] = False
        pp.create_lines_from_parameters(
            net, chain[:-1], chain[1:], np.diff(pos), r_ohm_per_km=ln.r_ohm_per_km,
            x_ohm_per_km=ln.x_ohm_per_km, c_nf_per_km=0.0, max_i_ka=ln.max_i_ka,
            endtemp_degree=ln.endtemp_degree)
        tap_bus.update({(li, d): int(b) for d, b in zip(inner, buses, strict=True)})
    k = len(circuits)
    conn = np.array([tap_bus[(sc.check.line, round(sc.check.dist_km, 9))] if sc.check.line >= 0
                     else sc.check.bus for sc in circuits], dtype=np.int64)
    vn = net.bus.vn_kv.loc[conn].to_numpy()
    cust = pp.create_buses(net, k, vn_kv=vn)
    pp.create_lines_from_parameters(
        net, conn, cust, [max(sc.check.length_km, END_M / 1000) for sc in circuits],
        r_ohm_per_km=[sc.check.r_ohm_per_km for sc in circuits],
        x_ohm_per_km=[sc.check.x_ohm_per_km for sc in circuits], c_nf_per_km=0.0,
        max_i_ka=[sc.check.max_i_ka for sc in circuits],
        endtemp_degree=[_theta(pol, float(v), sc.construction == "overhead")
                        for v, sc in zip(vn, circuits, strict=True)])
    out = {}
    want = sorted(set(conn.tolist()) | set(np.asarray(cust).tolist()))
    for case_ in ("max", "min"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calc_sc(net, bus=want, case=case_, inverse_y=False)
        ik = net.res_bus_sc.ikss_ka
        out[f"pp_conn_{case_}"] = ik.loc[conn].to_numpy()
        out[f"pp_cust_{case_}"] = ik.loc[cust].to_numpy()
    df = pd.DataFrame(out)
    df["kind"] = [sc.check.kind for sc in circuits]
    df["point_id"] = [sc.check.point_id for sc in circuits]
    df["length_km"] = [sc.check.length_km for sc in circuits]
    for q in ("conn_max", "conn_min", "cust_max", "cust_min"):
        df[q] = [sc.reported[q] for sc in circuits]
        df[f"err_{q}"] = df[q] / df[f"pp_{q}"] - 1.0
    return df


def validate_sc(name: str, n_apps: int, seed: int) -> dict:
    """Plan ``n_apps`` random applications on ``name`` and compare every distinct circuit."""
    c = sc_case(name)
    planned = plan_schemes(c, random_applications(c.network, n_apps, seed))
    t0 = time.perf_counter()
    res = solve_with_pandapower(c, planned.circuits)
    errs = np.abs(res[[f"err_{q}" for q in ("conn_max", "conn_min", "cust_max", "cust_min")]]
                  .to_numpy()) if len(res) else np.zeros((0, 4))
    return {"name": name, "planned": planned, "results": res, "errors": errs,
            "sc_s": time.perf_counter() - t0}


def worst(res: pd.DataFrame, n: int = 8) -> str:
    e = res.filter(like="err_").abs().max(axis=1)
    return res.loc[e.sort_values(ascending=False).index[:n]].to_string()


# ----------------------------------------------------------------------------- oracle tests
def test_pandapower_oracle_small_and_cigre() -> None:
    """Fast: I''k at connection point and customer end within 2 % of calc_sc (two networks)."""
    for name in ("small", "cigre-mv"):
        out = validate_sc(name, 25, seed=3)
        res, e = out["results"], out["errors"]
        assert out["planned"].n_schemes >= 25 and len(res) >= 10, name
        assert np.isfinite(res.filter(like="pp_").to_numpy()).all()
        assert e.max() < SC_TOL, f"{name}:\n{worst(res)}"
        # the kinds the oracle rebuilt: taps and bays both present on the small network
        if name == "small":
            assert {"tap", "rmu"} <= set(res["kind"])


def test_oracle_catches_a_wrong_level() -> None:
    """The comparison can fail: a reported level 5 % off is outside the tolerance."""
    c = sc_case("small")
    planned = plan_schemes(c, random_applications(c.network, 5, seed=4))
    sc = planned.circuits[0]
    sc.reported = {k: v * 1.05 for k, v in sc.reported.items()}
    res = solve_with_pandapower(c, planned.circuits[:1])
    assert res.filter(like="err_").abs().to_numpy().min() > SC_TOL


@pytest.mark.slow
@pytest.mark.parametrize("name", ORACLE_NETWORKS)
def test_short_circuit_levels_match_calc_sc(name: str) -> None:
    out = validate_sc(name, 200, seed=11)
    pl, res, e = out["planned"], out["results"], out["errors"]
    print(f"\n{name}: {pl.n_apps} apps, {pl.n_schemes} schemes, {len(res)} distinct circuits; "
          f"|error| max {e.max():.2e} p95 {np.percentile(e, 95):.2e}; plan {pl.plan_s:.1f}s "
          f"sc {out['sc_s']:.1f}s")
    assert pl.n_schemes >= 200, f"{name}: only {pl.n_schemes} schemes"
    assert e.max() < SC_TOL, f"{name}:\n{worst(res)}"


# ----------------------------------------------------------------------------- hand-made cases
def weak_network(span_km: float = 4.0) -> Network:
    """A weak rural 10 kV feeder, every number checkable on paper.

    35/10 kV substation SW: one 6.3 MVA unit, vk 7.5 %, vkr 1.0 %; upstream S''kQ 200 MVA max,
    150 MVA min, R/X 0.1. Bus section BSW (busbar BBW at the origin). Feeder FW, overhead radial
    JKLYJ-120 (0.253 + j0.35 ohm/km, 0.375 kA) north through poles P1, P2, P3 every ``span_km``,
    a 100 m JKLYJ-70 drop to DT (0.2 MW). Road R1 runs beside the line at x = 60 m; side roads
    R2 and R3 cross it 100 m short of P1 and of P3. Supply-area class D (15 km radius).
    """
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    from grid_models.policy import load_standard_types
    from tests.fixtures_small import CRS, origin

    x0, y0 = origin()
    std = load_standard_types().conductors.set_index("name")
    L = span_km * 1000

    def pt(x: float, y: float) -> Point:
        return Point(x0 + x, y0 + y)

    nodes_xy = {"BBW": (0, 0), "P1": (0, L), "P2": (0, 2 * L), "P3": (0, 3 * L),
                "DT": (100, 3 * L)}
    kinds = {"BBW": "busbar", "P1": "pole", "P2": "pole", "P3": "pole", "DT": "dist_transformer"}
    ids = list(nodes_xy)
    nodes = gpd.GeoDataFrame(
        {"id": ids, "kind": [kinds[i] for i in ids],
         "feeder_id": ["" if i == "BBW" else "FW" for i in ids],
         "bus_section_id": ["BSW" if i == "BBW" else "" for i in ids], "vn_kv": 10.0,
         "bays_total": [4 if i == "BBW" else 0 for i in ids],
         "spare_bays": [3 if i == "BBW" else 0 for i in ids],
         "p_mw": [0.2 if i == "DT" else 0.0 for i in ids],
         "q_mvar": [0.06 if i == "DT" else 0.0 for i in ids],
         "rated_kva": [315.0 if i == "DT" else 0.0 for i in ids], "customer_id": "",
         "source_ref": "fixture"}, geometry=[pt(*nodes_xy[i]) for i in ids], crs=CRS)
    rows = []
    for sid, a, b, st in (("S1", "BBW", "P1", "JKLYJ-120"), ("S2", "P1", "P2", "JKLYJ-120"),
                          ("S3", "P2", "P3", "JKLYJ-120"), ("S4", "P3", "DT", "JKLYJ-70")):
        (xa, ya), (xb, yb) = nodes_xy[a], nodes_xy[b]
        c = std.loc[st]
        rows.append({"id": sid, "from_node": a, "to_node": b, "feeder_id": "FW", "std_type": st,
                     "construction": "overhead", "length_km": math.hypot(xb - xa, yb - ya) / 1000,
                     "r_ohm_per_km": float(c["r_ohm_per_km"]),
                     "x_ohm_per_km": float(c["x_ohm_per_km"]),
                     "c_nf_per_km": float(c["c_nf_per_km"]), "max_i_ka": float(c["max_i_ka"]),
                     "in_service": True, "source_ref": "fixture",
                     "geometry": LineString([(x0 + xa, y0 + ya), (x0 + xb, y0 + yb)])})
    layers = {
        "substations": gpd.GeoDataFrame(
            {"id": ["SW"], "name": ["Weak 35 kV"], "hv_kv": [35.0], "n_transformers": [1],
             "transformer_mva": [6.3], "peak_mw": [0.5], "power_factor": [0.95],
             "vk_percent": [7.5], "vkr_percent": [1.0], "s_sc_max_mva": [200.0],
             "s_sc_min_mva": [150.0], "rx_max": [0.1], "rx_min": [0.1],
             "source_ref": ["fixture"]}, geometry=[pt(0, -50)], crs=CRS),
        "bus_sections": gpd.GeoDataFrame(
            {"id": ["BSW"], "substation_id": ["SW"], "vn_kv": [10.0], "bays_total": [4],
             "bays_used": [1], "vm_pu": [1.0], "source_ref": ["fixture"]},
            geometry=[pt(0, 0)], crs=CRS),
        "feeders": pd.DataFrame(
            {"id": ["FW"], "name": ["Weak radial"], "substation_id": ["SW"],
             "bus_section_id": ["BSW"], "vn_kv": [10.0], "conductor_type": ["JKLYJ-120"],
             "rated_i_ka": [float(std.loc["JKLYJ-120", "max_i_ka"])], "peak_mw": [np.nan],
             "power_factor": [0.95], "connection_mode": ["overhead_radial"],
             "n_customers": [1], "source_ref": ["fixture"]}),
        "nodes": nodes,
        "segments": gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS),
        "roads": gpd.GeoDataFrame(
            {"id": ["R1", "R2", "R3"], "road_class": ["secondary", "local", "local"],
             "name": ["Line Rd", "Side 1", "Side 3"], "source_ref": "fixture"},
            geometry=[LineString([(x0 + 60, y0 - 200), (x0 + 60, y0 + L - 100),
                                  (x0 + 60, y0 + 3 * L - 100), (x0 + 60, y0 + 3 * L + 300)]),
                      LineString([(x0 - 300, y0 + L - 100), (x0 + 60, y0 + L - 100),
                                  (x0 + 800, y0 + L - 100)]),
                      LineString([(x0 - 300, y0 + 3 * L - 100), (x0 + 60, y0 + 3 * L - 100),
                                  (x0 + 800, y0 + 3 * L - 100)])], crs=CRS)}
    return Network.from_layers(layers, crs=CRS, meta={"name": "weak", "geometry_source": "surveyed",
                                                      "supply_area_class": "D"})


def _policy_with(table: str, df: pd.DataFrame):
    from grid_models.policy import Policy, load_policy

    base = load_policy()
    return Policy(f"test-{table}", {**base.tables, table: df})


def _checks_off(*names: str) -> pd.DataFrame:
    from grid_models.policy import load_policy

    ch = load_policy().table("checks").copy()
    ch.loc[ch["name"].isin(names), "action"] = "off"
    return ch


def _circuit_at(res, point_id: str):
    return next(c for s in res.schemes for c in s.circuits if c.connection.point_id == point_id)


# Hand calculation on the small network (tests/fixtures_small.py), 10 kV, max case:
# SS1 has no source data: policy defaults for 110 kV, S''kQ 5000 MVA, R/X 0.1, c 1.1
#   Z_Q = 1.1 x 10^2 / 5000 = 0.022 ohm -> X 0.021891, R 0.0021891
# transformer 40 MVA, vk 10.5 % (default), vkr 0.4 % (default): Z_T 0.2625, R_T 0.0100,
#   X_T 0.262309; x_T = 0.262309 / 2.5 = 0.104924; K_T = 0.95 x 1.1 / (1 + 0.6 x_T) = 0.983104
# F1 from BB1 to F1-RMU2: 0.9 km YJV22-3x300 (0.0601 + j0.083 per km) = 0.05409 + j0.0747
# Z_k = 0.066110 + j0.354468, |Z_k| = 0.360580 -> I''k,max = 11 / (sqrt3 x 0.360580) = 17.613 kA
SMALL_RMU2_IK_MAX = 17.613


def test_thermal_withstand_picks_a_larger_conductor_near_a_strong_busbar(small_planner) -> None:
    """1000 kVA at F1-RMU2, 0.9 km from a 40 MVA 10 kV busbar: ampacity takes YJV22-3x70
    (0.24 kA for 0.06 kA), but 17.6 kA for 0.5 s needs 87.1 mm² of Cu/XLPE: YJV22-3x120."""
    from scheme_engine.engine import Planner
    from tests.fixtures_small import at

    app = at(-60, 900, requested_kva=1000)
    cir = _circuit_at(small_planner.plan(app), "F1-RMU2")
    sc = cir.short_circuit
    assert sc["connection"]["ikss_max_ka"] == pytest.approx(SMALL_RMU2_IK_MAX, abs=2e-3)
    s_min = SMALL_RMU2_IK_MAX * 1000 * math.sqrt(0.5) / 143  # 87.09 mm2
    assert sc["thermal"]["min_cross_section_mm2"] == pytest.approx(s_min, abs=0.06)
    assert cir.conductor.type == "YJV22-3x120"
    assert sc["thermal"]["sized_by_thermal_withstand"] is True
    assert sc["thermal"]["smaller_conductor_refused"] == "YJV22-3x70"
    th = next(x for x in cir.limits if x.name == "sc_thermal_withstand")
    assert (th.value, th.passed) == (120.0, True) and th.limit == pytest.approx(s_min, abs=0.01)
    res = small_planner.plan(app)
    s = next(s for s in res.schemes if s.circuits[0].connection.point_id == "F1-RMU2")
    assert "短路热稳定" in s.explanation["zh"] and "YJV22-3x70 不满足" in s.explanation["zh"]
    assert "thermal withstand, not ampacity" in s.explanation["en"]
    # without the check, ampacity alone keeps the small cable
    off = Planner(small_planner.network, _policy_with("checks", _checks_off("sc_thermal_withstand")))
    cir_off = _circuit_at(off.plan(app), "F1-RMU2")
    assert cir_off.conductor.type == "YJV22-3x70"
    assert cir_off.short_circuit["thermal"]["sized_by_thermal_withstand"] is False


# Hand calculation on weak_network(), max case at a tap on S1 3.9 km from the busbar:
#   Z_Q = 1.1 x 100 / 200 = 0.55 -> X 0.547270, R 0.054727
#   Z_T = 0.075 x 100 / 6.3 = 1.190476, R_T = 0.01 x 100 / 6.3 = 0.158730, X_T = 1.179850;
#   x_T = 0.074330, K_T = 1.045 / 1.044598 = 1.000385 -> K_T Z_T = 0.158791 + j1.180304
#   line 3.9 km JKLYJ-120 = 0.98670 + j1.36500
#   Z_k = 1.200218 + j3.092574, |Z_k| = 3.317307 -> I''k,max = 1.9145 kA
#   S_min = 1914.5 x sqrt(0.5) / 94 (Al/XLPE) = 14.40 mm2: JKLYJ-70 is enough
WEAK_P1_IK_MAX = 1.9145


def test_thermal_withstand_keeps_the_small_conductor_far_out_on_a_weak_feeder() -> None:
    from scheme_engine.engine import Planner
    from tests.fixtures_small import at

    pl = Planner(weak_network())
    cir = _circuit_at(pl.plan(at(500, 3900, requested_kva=400)), "S1")
    sc = cir.short_circuit
    assert cir.connection.kind == "tap"
    assert cir.connection.distance_from_start_m == pytest.approx(3900, abs=0.5)
    assert sc["connection"]["ikss_max_ka"] == pytest.approx(WEAK_P1_IK_MAX, abs=2e-4)
    assert sc["thermal"]["min_cross_section_mm2"] == pytest.approx(14.40, abs=0.01)
    assert cir.conductor.type == "JKLYJ-70"
    assert sc["thermal"]["sized_by_thermal_withstand"] is False
    assert sc["assumptions"]["source_defaults_used"] is False  # the substation gives S''kQ
    assert sc["assumptions"]["transformer_correction_k_t"] == pytest.approx(1.0004, abs=1e-4)


# Customer end of the F1-RMU2 scheme: 145 m of YJV22-3x120 (0.153 + j0.09 per km) adds
#   0.022185 + j0.013050 -> |Z| = 0.377975 -> I''k,max = 11 / (sqrt3 x 0.377975) = 16.802 kA
SMALL_RMU2_CUSTOMER_IK_MAX = 16.802


def test_switchgear_rating_is_the_smallest_standard_rating_above_the_fault_level(
        small_planner) -> None:
    from scheme_engine.engine import Planner
    from tests.fixtures_small import at

    app = at(-60, 900, requested_kva=1000)
    cir = _circuit_at(small_planner.plan(app), "F1-RMU2")
    assert cir.route_length_m["total"] == pytest.approx(145.0, abs=0.5)
    sc = cir.short_circuit
    assert sc["customer"]["ikss_max_ka"] == pytest.approx(SMALL_RMU2_CUSTOMER_IK_MAX, abs=2e-3)
    assert sc["switchgear_rating_ka"] == 20.0  # 16 kA < 16.8 kA <= 20 kA
    sw = next(x for x in cir.limits if x.name == "sc_switchgear")
    assert sw.passed and sw.limit == 40.0
    # a utility whose 10 kV customers may only buy 16 kA breakers: F1-RMU2 fails and says why
    ratings = load_policy_table("switchgear_ratings")
    only16 = ratings[~np.isclose(ratings["vn_kv"], 10.0) | (ratings["breaking_ka"] == 16.0)]
    res = Planner(small_planner.network, _policy_with("switchgear_ratings", only16)).plan(app)
    assert all(c.connection.point_id != "F1-RMU2" for s in res.schemes if s.feasible
               for c in s.circuits)
    rej = next(r for r in res.rejected if r["point_id"] == "F1-RMU2")
    assert rej["binding"] == "sc_switchgear" and rej["limit"] == 16.0 and rej["value"] > 16.0


def load_policy_table(name: str) -> pd.DataFrame:
    from grid_models.policy import load_policy

    return load_policy().table(name).copy()


# Minimum case at the customer end of a tap on S3 11.9 km out, 500 m of new line:
#   Z_Q,min = 1.0 x 100 / 150 = 0.666667 -> X 0.663348, R 0.066335 (no K_T in the min case)
#   Z_T = 0.158730 + j1.179850
#   line R at 200 C: 0.253 x (1 + 0.004 x 180) = 0.43516 ohm/km; 11.9 km: 5.17840 + j4.16500
#   new line JKLYJ-240 (the largest offered, what `rejected` reports): 0.125 x 1.72 = 0.215,
#   0.5 km -> 0.10750 + j0.16500
#   Z = 5.510965 + j6.173198, |Z| = 8.275173 -> I''k,min = 10 / (sqrt3 x 8.275173) = 0.69770 kA
#   two-phase 0.866 x 0.69770 = 0.60421 kA < 1.3 x (1.5 x 0.375 kA) = 0.73125 kA: not seen
WEAK_FAR_MIN_FAULT_KA = 0.60421


def test_protection_reach_fails_on_a_long_weak_tap_and_names_the_check() -> None:
    from scheme_engine.engine import Planner
    from tests.fixtures_small import at

    net = weak_network()
    app = at(500, 11900, requested_kva=400)
    res = Planner(net).plan(app)
    rej = next(r for r in res.rejected if r["point_id"] == "S3")
    assert rej["binding"] == "sc_protection_reach"
    assert rej["label_zh"] == "保护灵敏度（末端最小短路电流）"
    assert rej["value"] == pytest.approx(WEAK_FAR_MIN_FAULT_KA, abs=2e-4)
    assert rej["limit"] == pytest.approx(0.73125)
    assert not any(c.connection.point_id == "S3" for s in res.schemes if s.feasible
                   for c in s.circuits)
    # the same tap is fine when the utility does not check protection reach
    off = Planner(net, _policy_with("checks", _checks_off("sc_protection_reach"))).plan(app)
    best = off.schemes[0]
    assert best.feasible and best.circuits[0].connection.point_id in ("S3", "S4")
    assert "sc_protection_reach" not in {x.name for x in best.circuits[0].limits}


def test_coupled_bus_sections_feed_a_fault_together(small_planner) -> None:
    """A closed bus coupler BB1-BB2 puts both 40 MVA units behind either section: the
    busbar level rises from 1/(Z_Q + K_T Z_T) to 1/(Z_Q + K_T Z_T / 2) (common Z_Q)."""
    import geopandas as gpd
    from shapely.geometry import Point

    from grid_models.compiled import compile_network
    from grid_models.policy import load_policy
    from scheme_engine.short_circuit import ikss_ka, network_short_circuit

    pol = load_policy()
    net = small_planner.network
    one = network_short_circuit(small_planner.cn, small_planner.policy)
    layers = dict(net.layers)
    sw = layers["switches"]
    layers["switches"] = gpd.GeoDataFrame(pd.concat([sw, gpd.GeoDataFrame(
        {"id": ["CPL"], "node_a": ["BB1"], "node_b": ["BB2"], "segment_id": [""],
         "kind": ["breaker"], "closed": [True], "source_ref": ["test"]},
        geometry=[Point(sw.geometry.iloc[0].x, sw.geometry.iloc[0].y)], crs=sw.crs)],
        ignore_index=True), crs=sw.crs)
    coupled = Network.from_layers(layers, crs=net.crs, meta=dict(net.meta))
    cn2 = compile_network(coupled, pol)
    assert cn2.bs_coupled_group[0] == cn2.bs_coupled_group[1]
    two = network_short_circuit(cn2, pol)
    zq = complex(cn2.bs_z_q_max_ohm[0])
    zt = complex(cn2.bs_z_trafo_ohm[0]) * float(one.bs_k_t[0])
    assert complex(one.bs_z_max_ohm[0]) == pytest.approx(zq + zt)
    assert complex(two.bs_z_max_ohm[0]) == pytest.approx(zq + zt / 2)
    i1, i2 = ikss_ka(1.1, 10.0, one.bs_z_max_ohm[0]), ikss_ka(1.1, 10.0, two.bs_z_max_ohm[0])
    assert float(i1) == pytest.approx(22.680, abs=0.005)  # 11 / (sqrt3 |0.012020 + j0.279768|)
    assert float(i2) == pytest.approx(42.060, abs=0.005)  # 11 / (sqrt3 |0.007105 + j0.150830|)


def test_table_and_letter_state_the_level_and_the_rating(small_planner) -> None:
    """The designers' table marks a conductor sized by thermal withstand; the reply letter
    states the short-circuit level and the switchgear rating in the page's language only."""
    import dataclasses
    import json

    from api.plan_cli import render_table
    from tests.fixtures_small import at
    from viz.letter.content import build_letter

    doc = json.loads(small_planner.plan(at(-60, 900, requested_kva=1000)).model_dump_json())
    zh, en = render_table(doc, "zh"), render_table(doc, "en")
    assert "YJV22-3x120†" in zh and "† 导线截面由短路热稳定决定" in zh
    assert "conductor sized by short-circuit thermal withstand" in en
    rank = next(s["rank"] for s in doc["schemes"]
                if s["circuits"][0]["connection"]["point_id"] == "F1-RMU2")
    text_zh = json.dumps(dataclasses.asdict(build_letter(doc, rank, "zh")), ensure_ascii=False)
    text_en = json.dumps(dataclasses.asdict(build_letter(doc, rank, "en")), ensure_ascii=False)
    assert "开关设备额定短路开断电流 20 kA" in text_zh and "客户端 最大 16.8 kA" in text_zh
    assert "switchgear breaking rating 20 kA" in text_en and "customer end max 16.8 kA" in text_en
    assert "notes_zh" not in text_zh and "等效电压源" not in text_en  # one language, no dump


def test_power_quality_numbers_for_a_harmonic_load(small_planner) -> None:
    """A harmonic load gets the short-circuit ratio and the GB/T 14549 allowance, scaled by the
    connection point's minimum short-circuit power and the customer's share."""
    from tests.fixtures_small import at

    res = small_planner.plan(at(-60, 900, requested_kva=1000, load={"harmonic_load": True}))
    s = res.schemes[0]
    assert "power_quality_assessment_required" in s.flags
    cir = s.circuits[0]
    pq = cir.short_circuit["power_quality"]
    ha = pq["harmonic_allowance"]
    assert pq["load_kinds"] == ["harmonic_load"] and pq["short_circuit_ratio_min"] == 20.0
    scr = next(x for x in cir.limits if x.name == "sc_ratio")
    assert scr.limit == 20.0 and pq["short_circuit_ratio"] == pytest.approx(scr.value, rel=1e-4)
    # 5th harmonic at 10 kV: 20 A at 100 MVA, x S''k,min/100 x (1 MVA / S_t)^(1/1.2)
    sk = pq["sk_min_mva"]
    share = 1.0 / ha["supply_capacity_mva"]
    assert ha["table_level_kv"] == 10.0 and ha["ref_sk_mva"] == 100.0
    assert ha["allowed_a"]["5"] == pytest.approx(20.0 * sk / 100.0 * share ** (1 / 1.2), rel=1e-3)
    assert ha["allowed_a"]["2"] == pytest.approx(26.0 * sk / 100.0 * share ** 0.5, rel=1e-3)
    # an ordinary load has no power-quality block and its sc_ratio limit is 0
    plain = small_planner.plan(at(-60, 900, requested_kva=1000)).schemes[0].circuits[0]
    assert "power_quality" not in plain.short_circuit
    assert next(x for x in plain.limits if x.name == "sc_ratio").limit == 0.0


def test_only_the_short_circuit_ratio_is_load_dependent_and_it_bounds_capacity(
        small_planner) -> None:
    """The largest-capacity search runs the load-dependent checks: the short-circuit ratio of a
    harmonic load can stop it (the thermal, switchgear and reach checks do not change with
    the demand and are left out of it)."""
    from scheme_engine.checks import REGISTRY
    from scheme_engine.engine import Planner
    from tests.fixtures_small import at

    assert REGISTRY["sc_ratio"].load_dependent
    assert not any(REGISTRY[n].load_dependent
                   for n in ("sc_thermal_withstand", "sc_switchgear", "sc_protection_reach"))
    t = load_policy_table("short_circuit_ratio")
    t.loc[t["load_kind"] == "harmonic_load", "scr_min"] = 200.0
    pl = Planner(small_planner.network, _policy_with("short_circuit_ratio", t))
    res = pl.plan(at(-60, 900, requested_kva=1000, load={"harmonic_load": True}))
    cir = next(c for s in res.schemes if s.feasible for c in s.circuits
               if c.capacity and c.capacity["binding"] == "sc_ratio")
    scr = next(x for x in cir.limits if x.name == "sc_ratio")
    assert scr.passed and scr.limit == 200.0
    # the ratio falls as 1/demand: the capacity is about requested x ratio / minimum
    assert cir.capacity["max_kva"] == pytest.approx(1000 * scr.value / 200.0, rel=0.02)
