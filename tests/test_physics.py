"""The engine's electrical checks against pandapower's AC power flow (the independent oracle).

For each network: the engine's baseline sweep must equal pandapower's power flow on the exported
network; then for hundreds of random applications, every circuit of every feasible scheme is
built into the pandapower net exactly as reported (connection point, tap position, conductor,
route length, design demand) and solved. Every feasible circuit must keep the network within
the policy's voltage band and line / transformer ratings (where it was at baseline), and the
reported voltage drop must match pandapower's to 0.3 percentage points (and the reported
voltage at the point of supply must not be higher than pandapower's by more than 0.3).

Speed: one ``runpp`` costs ~0.1-0.2 s of pandas overhead whatever the size, so the what-if
cases are solved in batches. Each bus section is fed by its own transformer and ext_grid in the
export, so bus sections that no closed coupler joins are independent islands
(``split_islands``): a connection changes only its own island, every other one stays exactly
at baseline. ``replicate`` puts many copies of one island, each with its own what-if change, in
one pandapower net and one ``runpp`` solves them all.

The helpers here are reused by ``benchmarks/physics_report.py``.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from pyproj import Transformer

from grid_models.errors import ApplicationError
from grid_models.export_pandapower import HV_SUFFIX, Island, replicate, split_islands, to_pandapower
from grid_models.network import Network
from scheme_engine import rules
from scheme_engine.engine import Planner

DROP_TOL_PP = 0.3  # percentage points, reported vs pandapower drop busbar -> customer
# The engine may report a voltage at the point of supply lower than pandapower (conservative:
# it takes one main transformer behind a section even where a coupler parallels two), but
# never higher by more than this (it holds the other loads at their baseline currents).
V_OPTIMISM_TOL_PP = 0.3
LOADING_TOL_PCT = 0.5  # pandapower loading_percent numerical slack
BATCH_BUSES = 4000  # buses per replicated pandapower net
END_M = 1.0  # a tap closer than this to a line end is connected at that end
TIERS = ("普通", "二级", "一级")
TIER_P = (0.75, 0.15, 0.10)
SIMBENCH = ("1-MV-rural--0-sw", "1-MV-semiurb--0-sw", "1-MV-urban--0-sw", "1-MV-comm--0-sw")


# ----------------------------------------------------------------------------- networks
def load_network(name: str) -> Network:
    """A validation network by name: ``small``, ``synth-S`` / ``synth-M``, or a SimBench code."""
    if name == "small":
        from tests.fixtures_small import small_network

        return small_network()
    if name.startswith("synth-"):
        from grid_models.synth import synth_city

        return synth_city(name.split("-", 1)[1], 1)
    from grid_models.import_pandapower import network_from_pandapower
    from tests.pp_cache import load_net

    return network_from_pandapower(load_net(name))


@dataclass
class PhysicsCase:
    """One network ready for validation: planner, calibrated pandapower export, baseline."""

    name: str
    network: Network
    planner: Planner
    ppn: pp.pandapowerNet
    bus_of_node: dict[str, int]
    line_of_segment: dict[str, int]
    base_vm: np.ndarray  # per pandapower bus
    base_line_loading: np.ndarray
    base_trafo_loading: np.ndarray
    mv_bus: np.ndarray  # bool per pandapower bus: not an exported HV bus
    band_pct: np.ndarray  # voltage band per pandapower bus (policy, by vn_kv)
    busbar_bus: dict[str, int]  # bus section id -> pandapower bus of its busbar
    islands: list[Island]  # independent parts (one per bus section unless coupled)
    island_of: np.ndarray  # island of every pandapower bus
    local: dict[str, np.ndarray]  # table -> index of each full-net element in its island
    build_s: float = 0.0


@functools.cache
def planner_for(name: str) -> Planner:
    """A planner on :func:`load_network` ``(name)``, built once per test session."""
    return Planner(load_network(name))


def prepare(name: str, network: Network | None = None) -> PhysicsCase:
    """Plan-ready network + calibrated pandapower export + baseline results."""
    t0 = time.perf_counter()
    planner = planner_for(name) if network is None else Planner(network)
    net = planner.network
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ppn, bon, los = to_pandapower(net, planner.policy)
        pp.runpp(ppn, numba=False)
    vn = ppn.bus.vn_kv.to_numpy()
    band = np.array([rules.voltage_band_pct(planner.policy, float(v)) for v in vn])
    mv = ~ppn.bus.name.astype(str).str.endswith(HV_SUFFIX).to_numpy()
    cn = planner.cn
    bb = {str(cn.bs_ids[i]): bon[str(cn.node_ids[n])]
          for i, n in enumerate(cn.bs_busbar_node) if n >= 0}
    islands, island_of = split_islands(ppn)
    local = {t: np.full(len(ppn[t]), -1, np.int64) for t in ("bus", "line", "trafo")}
    for isl in islands:
        for t in local:
            local[t][getattr(isl, t)] = np.arange(len(getattr(isl, t)))
    return PhysicsCase(name, net, planner, ppn, bon, los, ppn.res_bus.vm_pu.to_numpy().copy(),
                       ppn.res_line.loading_percent.to_numpy().copy(),
                       ppn.res_trafo.loading_percent.to_numpy().copy(), mv, band, bb, islands,
                       island_of, local, time.perf_counter() - t0)


@functools.cache
def case(name: str) -> PhysicsCase:
    """Cached :func:`prepare` (one per test session)."""
    return prepare(name)


def baseline_error(c: PhysicsCase) -> tuple[float, str]:
    """Largest |engine sweep - pandapower| voltage (pu) over fed nodes, and where."""
    cn = c.planner.cn
    ok = np.isfinite(cn.v0_kv)
    eng = np.abs(cn.v0_kv[ok]) / cn.node_vn_kv[ok]
    idx = np.array([c.bus_of_node[str(n)] for n in cn.node_ids[ok]])
    ppv = c.base_vm[idx]
    d = np.abs(eng - ppv)
    i = int(np.nanargmax(d))
    return float(d[i]), str(cn.node_ids[ok][i])


def baseline_violations(c: PhysicsCase) -> dict[str, list]:
    """Buses outside the band and lines / transformers above 100 % before any connection."""
    dev = np.abs(c.base_vm - 1) * 100
    vb = np.flatnonzero(c.mv_bus & (dev > c.band_pct))
    ln = np.flatnonzero(c.base_line_loading > 100)
    tr = np.flatnonzero(c.base_trafo_loading > 100)
    return {"buses": [(str(c.ppn.bus.name.iat[i]), round(float(c.base_vm[i]), 4)) for i in vb],
            "lines": [(str(c.ppn.line.name.iat[i]), round(float(c.base_line_loading[i]), 1))
                      for i in ln],
            "trafos": [(str(c.ppn.trafo.name.iat[i]), round(float(c.base_trafo_loading[i]), 1))
                       for i in tr]}


# ----------------------------------------------------------------------------- applications
def random_applications(net: Network, n: int, seed: int) -> list[dict]:
    """``n`` applications 50-800 m from random nodes, 200-8000 kVA log-uniform, mixed tiers."""
    from load_forecast.industries import industry_table

    rng = np.random.default_rng(seed)
    nodes = net.layers["nodes"]
    xy = np.column_stack([nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()])
    pick = rng.integers(0, len(xy), n)
    r = rng.uniform(50, 800, n)
    a = rng.uniform(0, 2 * np.pi, n)
    px, py = xy[pick, 0] + r * np.cos(a), xy[pick, 1] + r * np.sin(a)
    lon, lat = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True).transform(px, py)
    kva = np.exp(rng.uniform(np.log(200), np.log(8000), n))
    tiers = rng.choice(len(TIERS), n, p=TIER_P)
    inds = industry_table()["industry"].to_numpy()
    ind = rng.choice(inds, n)
    return [{"customer_name": f"rand-{seed}-{i}", "lon": float(lon[i]), "lat": float(lat[i]),
             "requested_kva": round(float(kva[i]), 1), "tier": TIERS[tiers[i]],
             "industry": str(ind[i])} for i in range(n)]


# ----------------------------------------------------------------------------- checks
@dataclass
class CircuitCheck:
    """One reported circuit to rebuild in pandapower."""

    refs: list[tuple[int, int, int]]  # (application, scheme rank, circuit) reporting it
    kind: str
    point_id: str
    vn_kv: float
    bus: int  # connection bus (busbar / node); -1 for a tap
    line: int  # tapped line; -1 otherwise
    dist_km: float  # tap position from the line's from-bus
    busbar: int  # busbar of the source bus section (drop reference)
    r_ohm_per_km: float
    x_ohm_per_km: float
    max_i_ka: float
    length_km: float
    p_mw: float
    q_mvar: float
    drop_pct: float  # reported
    v_pu: float  # reported voltage at the point of supply
    current_ka: float  # reported


@dataclass
class Planned:
    """Outcome of planning a batch of applications."""

    n_apps: int = 0
    n_application_errors: int = 0
    error_messages: list[str] = field(default_factory=list)
    n_schemes_feasible: int = 0
    n_schemes_infeasible: int = 0
    n_circuits: int = 0
    checks: list[CircuitCheck] = field(default_factory=list)
    plan_s: float = 0.0


def plan_all(c: PhysicsCase, apps: list[dict]) -> Planned:
    """Plan every application; one :class:`CircuitCheck` per distinct feasible circuit."""
    out = Planned(n_apps=len(apps))
    seen: dict[tuple, CircuitCheck] = {}
    t0 = time.perf_counter()
    for ai, app in enumerate(apps):
        try:
            res = c.planner.plan(app)
        except ApplicationError as exc:
            out.n_application_errors += 1
            out.error_messages.append(str(exc))
            continue
        for s in res.schemes:
            if not s.feasible:
                out.n_schemes_infeasible += 1
                continue
            out.n_schemes_feasible += 1
            p = s.design_demand_kw / 1000.0
            q = p * math.tan(math.acos(s.power_factor))
            for ci, cir in enumerate(s.circuits):
                out.n_circuits += 1
                key = _check_key(c, cir, s.voltage_kv, p, q)
                if key in seen:
                    seen[key].refs.append((ai, s.rank, ci))
                    continue
                seen[key] = _make_check(c, cir, s.voltage_kv, p, q, (ai, s.rank, ci))
    out.plan_s = time.perf_counter() - t0
    out.checks = list(seen.values())
    return out


def _check_key(c: PhysicsCase, cir, vn: float, p: float, q: float) -> tuple:
    k = cir.connection
    return (k.kind, k.point_id, k.bus_section_id, k.distance_from_start_m, cir.conductor.type,
            cir.route_length_m["total"], round(p, 9), round(q, 9), vn)


def _make_check(c: PhysicsCase, cir, vn: float, p: float, q: float, ref) -> CircuitCheck:
    k = cir.connection
    bus, line, dist = -1, -1, 0.0
    if k.kind == "tap":
        line = c.line_of_segment[str(k.line_id)]
        dist = float(k.distance_from_start_m) / 1000.0
    elif k.kind == "busbar":
        bus = c.busbar_bus[str(k.bus_section_id)]
    else:  # rmu / switching_station / existing: the node itself
        bus = c.bus_of_node[str(k.point_id)]
    cd = cir.conductor
    return CircuitCheck([ref], k.kind, k.point_id, vn, bus, line, dist,
                        c.busbar_bus[str(k.bus_section_id)], cd.r_ohm_per_km, cd.x_ohm_per_km,
                        cd.max_i_ka, cir.route_length_m["total"] / 1000.0, p, q,
                        cir.voltage_drop_pct, cir.voltage_at_supply_pu, cir.current_ka)


def run_checks(c: PhysicsCase, checks: list[CircuitCheck]) -> pd.DataFrame:
    """Solve every check with pandapower; one row of results per check.

    A check changes only its own island (bus sections are fed independently), so each is
    solved on a copy of its island, many copies per ``runpp``; every other island stays at
    its baseline exactly.
    """
    by_island: dict[int, list[CircuitCheck]] = {}
    for ch in checks:
        at = ch.bus if ch.line < 0 else int(c.ppn.line.from_bus.iat[ch.line])
        isl = int(c.island_of[at])
        if isl < 0 or c.island_of[ch.busbar] != isl:
            raise AssertionError(f"{ch.point_id}: connection point and busbar "
                                 f"{c.ppn.bus.name.iat[ch.busbar]} are not in one fed island")
        by_island.setdefault(isl, []).append(ch)
    rows = []
    for isl, chs in sorted(by_island.items()):
        per = max(1, BATCH_BUSES // max(len(c.islands[isl].bus), 1))
        for s in range(0, len(chs), per):
            rows += _solve(c, isl, chs[s:s + per])
    return pd.DataFrame(rows)


def _solve(c: PhysicsCase, isl: int, batch: list[CircuitCheck]) -> list[dict]:
    """One runpp for the batch; on divergence, split to isolate the case that diverges."""
    try:
        return _solve_once(c, isl, batch)
    except pp.LoadflowNotConverged:
        if len(batch) == 1:
            b = batch[0]
            return [{"converged": False, "kind": b.kind, "point_id": b.point_id,
                     "refs": b.refs, "ok": False}]
        h = len(batch) // 2
        return _solve(c, isl, batch[:h]) + _solve(c, isl, batch[h:])


def _solve_once(c: PhysicsCase, isl: int, batch: list[CircuitCheck]) -> list[dict]:
    island = c.islands[isl]
    lb, ll = c.local["bus"], c.local["line"]
    k = len(batch)
    net, off = replicate(island.net, k)
    bo, lo, to = off["bus"], off["line"], off["trafo"]
    j = np.arange(k)
    vn = np.array([b.vn_kv for b in batch])
    cust = pp.create_buses(net, k, vn_kv=vn, name=[f"cust{i}" for i in j])
    tap_bus = np.full(k, -1)
    half_a, half_b = np.full(k, -1), np.full(k, -1)
    # A tap within END_M of a line end is a connection at that end's bus (no 0-m line).
    is_tap = np.array([b.kind == "tap" for b in batch])
    li = np.where(is_tap, ll[np.maximum([b.line for b in batch], 0)], -1)
    il = island.net.line

    def of_line(col: str) -> np.ndarray:  # column of the tapped line (islands may have none)
        v = il[col].to_numpy()
        return v[np.maximum(li, 0)] if v.size else np.zeros(k, v.dtype)

    L = np.where(is_tap, of_line("length_km"), 0.0)
    d = np.array([b.dist_km for b in batch])
    at_from = is_tap & (d <= END_M / 1000)
    at_to = is_tap & ~at_from & (d >= L - END_M / 1000)
    fb0, tb0 = of_line("from_bus"), of_line("to_bus")
    node = lb[np.maximum([b.bus for b in batch], 0)]
    frm = np.where(at_from, fb0, np.where(at_to, tb0, node)) + j * bo
    tap = np.flatnonzero(is_tap & ~at_from & ~at_to)
    if tap.size:
        tb = pp.create_buses(net, tap.size, vn_kv=vn[tap], name=[f"tap{i}" for i in tap])
        tap_bus[tap] = tb
        orig = li[tap] + tap * lo
        ol = net.line.loc[orig]
        net.line.loc[orig, "in_service"] = False
        par = {p: ol[p].to_numpy() for p in ("r_ohm_per_km", "x_ohm_per_km", "c_nf_per_km",
                                             "max_i_ka")}
        half_a[tap] = pp.create_lines_from_parameters(net, ol.from_bus.to_numpy(), tb, d[tap],
                                                      **par)
        half_b[tap] = pp.create_lines_from_parameters(net, tb, ol.to_bus.to_numpy(),
                                                      L[tap] - d[tap], **par)
        frm[tap] = tb
    newl = pp.create_lines_from_parameters(
        net, frm, cust, np.maximum([b.length_km for b in batch], END_M / 1000),
        r_ohm_per_km=[b.r_ohm_per_km for b in batch], x_ohm_per_km=[b.x_ohm_per_km for b in batch],
        c_nf_per_km=0.0, max_i_ka=[b.max_i_ka for b in batch], name=[f"new{i}" for i in j])
    pp.create_loads(net, cust, p_mw=[b.p_mw for b in batch], q_mvar=[b.q_mvar for b in batch])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, numba=False)

    base_vm = c.base_vm[island.bus]
    band = c.band_pct[island.bus]
    vm = net.res_bus.vm_pu
    vm_copy = vm.to_numpy()[:k * bo].reshape(k, bo)
    watch_bus = c.mv_bus[island.bus] & np.isfinite(base_vm) & (np.abs(base_vm - 1) * 100 <= band)
    dev = np.where(watch_bus[None, :], np.abs(vm_copy - 1) * 100 - band[None, :], -np.inf)
    ld = net.res_line.loading_percent
    lcopy = ld.to_numpy()[:k * lo].reshape(k, lo)
    lim = 100.0 * c.planner.policy.param("line_loading_limit") + LOADING_TOL_PCT
    watch_line = c.base_line_loading[island.line] <= 100.0
    lexc = np.where(watch_line[None, :], np.nan_to_num(lcopy) - lim, -np.inf)
    tr = net.res_trafo.loading_percent.to_numpy()[:k * to].reshape(k, to) if to else np.zeros((k, 0))
    texc = np.where((c.base_trafo_loading[island.trafo] <= 100.0)[None, :],
                    tr - 100.0 - LOADING_TOL_PCT, -np.inf)
    new_load = ld.loc[newl].to_numpy()
    band_new = np.array([rules.voltage_band_pct(c.planner.policy, v) for v in vn])
    vm_cust = vm.loc[cust].to_numpy()
    vm_bb = vm.to_numpy()[lb[[b.busbar for b in batch]] + j * bo]
    vm_tap = np.full(k, np.nan)
    ld_a, ld_b = np.full(k, np.nan), np.full(k, np.nan)
    if tap.size:
        vm_tap[tap] = vm.loc[tap_bus[tap]].to_numpy()
        ld_a[tap] = ld.loc[half_a[tap]].to_numpy()
        ld_b[tap] = ld.loc[half_b[tap]].to_numpy()
    names_b, names_l = island.net.bus.name.astype(str), island.net.line.name.astype(str)
    out = []
    for i, b in enumerate(batch):
        extra_v = [abs(vm_cust[i] - 1) * 100 - band_new[i]]
        extra_l = [new_load[i] - lim]
        if tap_bus[i] >= 0:
            extra_v.append(abs(vm_tap[i] - 1) * 100 - band_new[i])
            if watch_line[li[i]]:
                extra_l += [ld_a[i] - lim, ld_b[i] - lim]
        wb = int(np.argmax(dev[i])) if bo else 0
        wl = int(np.argmax(lexc[i])) if lo else 0
        v_exc = max([dev[i, wb] if bo else -np.inf, *extra_v])
        l_exc = max([lexc[i, wl] if lo else -np.inf, *extra_l])
        t_exc = float(texc[i].max()) if to else -np.inf
        pp_drop = (vm_bb[i] - vm_cust[i]) * 100
        row = {
            "converged": True, "kind": b.kind, "point_id": b.point_id, "refs": b.refs,
            "n_refs": len(b.refs), "p_mw": b.p_mw, "length_km": b.length_km,
            "drop_reported": b.drop_pct, "drop_pp": pp_drop, "drop_err": b.drop_pct - pp_drop,
            "v_reported": b.v_pu, "v_pp": vm_cust[i], "v_err": b.v_pu - vm_cust[i],
            "i_reported": b.current_ka, "new_line_loading": new_load[i],
            "v_excess_pct": v_exc, "worst_bus": names_b.iat[wb] if bo else "",
            "line_excess_pct": l_exc, "worst_line": names_l.iat[wl] if lo else "",
            "trafo_excess_pct": t_exc,
            "ok_voltage": v_exc <= 1e-9, "ok_lines": l_exc <= 0, "ok_trafo": t_exc <= 0,
            "ok_drop": abs(b.drop_pct - pp_drop) <= DROP_TOL_PP,
            "ok_v_supply": (b.v_pu - vm_cust[i]) * 100 <= V_OPTIMISM_TOL_PP}
        row["ok"] = all(row[x] for x in ("ok_voltage", "ok_lines", "ok_trafo", "ok_drop",
                                         "ok_v_supply"))
        out.append(row)
    return out


def summarise(res: pd.DataFrame) -> dict[str, float]:
    """Error distribution of the reported drop and voltage, and pass counts."""
    conv = res[res["converged"]] if len(res) else res
    e = np.abs(conv["drop_err"].to_numpy()) if len(conv) else np.zeros(0)
    v = np.abs(conv["v_err"].to_numpy()) * 100 if len(conv) else np.zeros(0)

    def dist(x: np.ndarray, tag: str) -> dict[str, float]:
        if x.size == 0:
            return {f"{tag}_{k}": float("nan") for k in ("max", "p50", "p95", "mean")}
        return {f"{tag}_max": float(x.max()), f"{tag}_p50": float(np.percentile(x, 50)),
                f"{tag}_p95": float(np.percentile(x, 95)), f"{tag}_mean": float(x.mean())}

    return {"checks": len(res), "passed": int(res["ok"].sum()) if len(res) else 0,
            "not_converged": int((~res["converged"]).sum()) if len(res) else 0,
            **dist(e, "drop_err_pp"), **dist(v, "v_err_pct")}


def validate(name: str, n_apps: int, seed: int, c: PhysicsCase | None = None) -> dict:
    """Plan ``n_apps`` random applications on ``name`` and check every feasible circuit."""
    c = c or case(name)
    apps = random_applications(c.network, n_apps, seed)
    planned = plan_all(c, apps)
    t0 = time.perf_counter()
    res = run_checks(c, planned.checks)
    pf_s = time.perf_counter() - t0
    base_err, base_at = baseline_error(c)
    return {"name": name, "planned": planned, "results": res, "summary": summarise(res),
            "baseline_err_pu": base_err, "baseline_worst_node": base_at,
            "baseline_violations": baseline_violations(c), "powerflow_s": pf_s,
            "build_s": c.build_s}


def failures(res: pd.DataFrame, limit: int = 10) -> str:
    """The failing checks, for assertion messages."""
    cols = ["kind", "point_id", "refs", "p_mw", "length_km", "drop_reported", "drop_pp",
            "v_reported", "v_pp", "v_excess_pct", "worst_bus", "line_excess_pct", "worst_line", "trafo_excess_pct"]
    bad = res[~res["ok"]]
    return bad[[x for x in cols if x in bad.columns]].head(limit).to_string()


# ----------------------------------------------------------------------------- tests
def _available(name: str) -> bool:
    try:
        if name.startswith("synth-"):
            import grid_models.synth  # noqa: F401
        elif name != "small":
            import grid_models.import_pandapower  # noqa: F401
    except ImportError:
        return False
    return True


NETWORKS = ["small", "synth-S", *SIMBENCH]


def _need(name: str) -> PhysicsCase:
    if not _available(name):
        pytest.skip(f"{name}: generator/importer module not present")
    return case(name)


def test_export_small_matches_compiled_source() -> None:
    """Export of the hand-made network: one bus per node, T1 out, source = bs_z_source_ohm."""
    c = _need("small")
    p = c.ppn
    n_nodes = len(c.network.layers["nodes"])
    assert len(p.bus) == n_nodes + 2  # + one HV bus per bus section
    assert len(p.line) == 12 and not bool(p.line.in_service.iat[c.line_of_segment["T1"]])
    assert int(p.line.in_service.sum()) == 11
    assert len(p.trafo) == 2 and len(p.ext_grid) == 2
    # busbars calibrated to the bus sections' vm_pu (1.0)
    assert np.allclose(c.base_vm[[c.busbar_bus["BS1"], c.busbar_bus["BS2"]]], 1.0, atol=1e-8)
    # transformer: vk 10.5 % of 40 MVA at 10 kV = j 0.2625 ohm, the engine's source impedance
    t = p.trafo.iloc[0]
    z = t.vk_percent / 100 * t.vn_lv_kv**2 / t.sn_mva
    assert z == pytest.approx(abs(c.planner.cn.bs_z_source_ohm[0])) == pytest.approx(0.2625)
    assert float(p.load.p_mw.sum()) == pytest.approx(1.6)


def test_replicate_gives_identical_islands() -> None:
    c = _need("small")
    net, off = replicate(c.ppn, 3)
    assert len(net.bus) == 3 * len(c.ppn.bus) and off["bus"] == len(c.ppn.bus)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, numba=False)
    vm = net.res_bus.vm_pu.to_numpy().reshape(3, -1)
    assert np.allclose(vm, c.base_vm[None, :], atol=1e-10)
    assert not bool(net.line.in_service.iat[off["line"] + c.line_of_segment["T1"]])


def test_split_islands_small() -> None:
    """BS1 (F1) and BS2 (F2, F3) are fed separately; the open tie T1 between them is dropped."""
    c = _need("small")
    assert len(c.islands) == 2
    names = [set(i.net.bus.name) for i in c.islands]
    f1 = {"BB1", "F1-RMU1", "F1-RMU2", "F1-DT1", "F1-DT2", "BS1" + HV_SUFFIX}
    assert f1 in names and len(names[0] | names[1]) == len(c.ppn.bus)
    assert sum(len(i.line) for i in c.islands) == 11
    for isl in c.islands:  # each island alone reproduces the full net's baseline
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(isl.net, numba=False)
        assert np.allclose(isl.net.res_bus.vm_pu.to_numpy(), c.base_vm[isl.bus], atol=1e-10)


def _fake_check(c: PhysicsCase, p_mw: float, drop_pct: float) -> CircuitCheck:
    """A circuit at the end of F3 (F3-DT1) through 2 km of JKLYJ-240, with given numbers."""
    return CircuitCheck([(0, 1, 0)], "rmu", "F3-DT1", 10.0, c.bus_of_node["F3-DT1"], -1, 0.0,
                        c.busbar_bus["BS2"], 0.125, 0.33, 0.55, 2.0, p_mw, p_mw * 0.33,
                        drop_pct, 0.98, 0.0)


def test_harness_detects_violations() -> None:
    """The checks can fail: an overload, a voltage collapse and a wrong drop are caught."""
    c = _need("small")
    r = run_checks(c, [_fake_check(c, 2.0, 0.0), _fake_check(c, 9.0, 0.0)])
    ok, big = r.iloc[0], r.iloc[1]
    assert not ok["ok_drop"] and ok["ok_voltage"] and ok["ok_lines"]  # drop reported as 0
    assert ok["drop_pp"] > DROP_TOL_PP
    # 9 MW over JKLYJ-70 (F3-S3, 0.275 kA) and 3.5 km of overhead: out of band and overloaded
    assert not big["ok_lines"] and not big["ok_voltage"] and not big["ok"]
    assert big["worst_line"] == "F3-S3"


def test_one_tap_by_hand_matches_pandapower() -> None:
    """A tap on F2-S1 built by hand in pandapower equals the batched check of the same circuit."""
    c = _need("small")
    from tests.fixtures_small import CRS, origin

    x0, y0 = origin()
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x0 + 200, y0 + 300)
    res = c.planner.plan({"lon": lon, "lat": lat, "requested_kva": 3000})
    s = next(s for s in res.schemes if s.feasible and s.circuits[0].connection.kind == "tap")
    cir = s.circuits[0]
    p = s.design_demand_kw / 1000
    q = p * math.tan(math.acos(s.power_factor))
    chk = _make_check(c, cir, s.voltage_kv, p, q, (0, 1, 0))
    got = run_checks(c, [chk]).iloc[0]
    # by hand, without replicate
    import copy

    net = copy.deepcopy(c.ppn)
    li = c.line_of_segment[cir.connection.line_id]
    ln = net.line.loc[li]
    net.line.at[li, "in_service"] = False
    tb = pp.create_bus(net, vn_kv=10.0)
    d = cir.connection.distance_from_start_m / 1000
    for a, b, length in ((ln.from_bus, tb, d), (tb, ln.to_bus, ln.length_km - d)):
        pp.create_line_from_parameters(net, a, b, length, ln.r_ohm_per_km, ln.x_ohm_per_km,
                                       ln.c_nf_per_km, ln.max_i_ka)
    cb = pp.create_bus(net, vn_kv=10.0)
    pp.create_line_from_parameters(net, tb, cb, cir.route_length_m["total"] / 1000,
                                   cir.conductor.r_ohm_per_km, cir.conductor.x_ohm_per_km, 0.0,
                                   cir.conductor.max_i_ka)
    pp.create_load(net, cb, p_mw=p, q_mvar=q)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, numba=False)
    vm = net.res_bus.vm_pu
    assert got["v_pp"] == pytest.approx(vm.at[cb], abs=1e-9)
    assert got["drop_pp"] == pytest.approx((vm.at[c.busbar_bus["BS2"]] - vm.at[cb]) * 100, abs=1e-7)
    assert abs(cir.voltage_drop_pct - got["drop_pp"]) < DROP_TOL_PP


@pytest.mark.parametrize("name", NETWORKS)
def test_baseline_sweep_matches_pandapower(name: str) -> None:
    c = _need(name)
    err, where = baseline_error(c)
    print(f"\n{name}: baseline |engine - pandapower| max {err:.2e} pu at {where}; "
          f"violations {baseline_violations(c)}")
    assert err < 1e-3, f"{name}: baseline sweep differs from pandapower by {err:.4f} pu at {where}"


@pytest.mark.slow
@pytest.mark.parametrize("name", NETWORKS)
def test_feasible_circuits_hold_in_ac_power_flow(name: str) -> None:
    _need(name)
    t0 = time.perf_counter()
    out = validate(name, 200, seed=7)
    pl, res, sm = out["planned"], out["results"], out["summary"]
    print(f"\n{name}: {pl.n_apps} apps, {pl.n_application_errors} ApplicationError, "
          f"{pl.n_schemes_feasible} feasible / {pl.n_schemes_infeasible} infeasible schemes, "
          f"{pl.n_circuits} circuits -> {sm['checks']} distinct checks, {sm['passed']} passed; "
          f"drop error |pp| max {sm['drop_err_pp_max']:.4f} p50 {sm['drop_err_pp_p50']:.4f} "
          f"p95 {sm['drop_err_pp_p95']:.4f} mean {sm['drop_err_pp_mean']:.4f}; "
          f"|v error| % max {sm['v_err_pct_max']:.4f}; plan {pl.plan_s:.1f}s "
          f"pf {out['powerflow_s']:.1f}s total {time.perf_counter() - t0:.1f}s")
    if pl.error_messages:
        print("  first ApplicationError:", pl.error_messages[0][:200])
    assert pl.n_apps >= 200
    assert sm["checks"] > 0, f"{name}: no feasible circuit among {pl.n_apps} applications"
    assert sm["not_converged"] == 0, failures(res)
    assert res["ok"].all(), f"{name}: physics check failed:\n{failures(res)}"
