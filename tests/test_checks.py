"""One test per registered check, against numbers worked out on paper.

The engine solves the constant-power load behind a Thevenin impedance in closed form; the
oracle here is the plain fixed-point iteration ``V = V0 - sqrt3 Z conj(S / (sqrt3 V))`` run to
convergence (line-to-line kV, three-phase MVA, ohm).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from grid_models.policy import Policy, load_policy
from scheme_engine.checks import REGISTRY, Line, Load, Site, check_inputs
from scheme_engine.checks.base import CheckSpec
from scheme_engine.short_circuit import Protection, SiteShortCircuit

U = 10.0
Z_SRC = 0.2625j  # 10.5 % x 10^2 / 40 MVA
Z_PATH = 0.30 + 0.20j  # feeder from the busbar to the connection point
R_KM, X_KM, KM, IMAX = 0.2, 0.1, 1.5, 0.30
S = complex(3.0, 1.0)  # MVA
# short circuit at the connection point (source + feeder path, ohm) and the line's constants
ZSC_MAX, ZSC_MIN = 0.03 + 0.30j, 0.05 + 0.35j
MM2, K_CU_XLPE, R_MIN_FAC = 70.0, 143.0, 1.92  # 1 + 0.004 (250 - 20)
PROT = Protection(10.0, 0.5, 1.5, 1.3, 0.866, 250.0, 200.0, 0.004)


def sc_site(z_max: complex = ZSC_MAX, z_min: complex = ZSC_MIN, pickup_ka: float = 0.6,
            **kw) -> SiteShortCircuit:
    """I''k = c U / (sqrt3 |Z|) with c 1.1 / 1.0 at 10 kV; reach limit = 1.3 x pick-up."""
    cu_max, cu_min = 1.1 * U / math.sqrt(3), 1.0 * U / math.sqrt(3)
    base = dict(u_kv=U, bs=np.array([0]), feeder=np.array([0]), z_max=np.array([[z_max]]),
                z_min=np.array([[z_min]]), cu_max=np.array([[cu_max]]),
                cu_min=np.array([[cu_min]]), ik_max=np.array([[cu_max / abs(z_max)]]),
                ik_min=np.array([[cu_min / abs(z_min)]]),
                reach_limit_ka=np.array([[1.3 * pickup_ka]]),
                any_new_feeder=bool(np.isnan(pickup_ka)), prot=PROT,
                ratings_ka=(16.0, 20.0, 25.0, 31.5, 40.0))
    base.update(kw)
    return SiteShortCircuit(**base)


def site(**kw) -> Site:
    base = dict(
        u_kv=U, kind=np.array([1]), feeder=np.array([0]), z_src=np.array([[Z_SRC]]),
        z_th=np.array([[Z_SRC + Z_PATH]]), v0=np.array([[10.2 + 0j]]),
        v_bb0=np.array([[10.3]]), headroom_ka=np.array([[0.25]]), rzi=np.array([[0j]]),
        feeder_min_pu=np.array([[0.98]]), section_min_pu=np.array([[0.99]]),
        same_feeder=np.array([[False]]), feeder_peak_mva=np.array([[2.0]]),
        feeder_rated_mva=np.array([[9.0]]), load_rate_limit=np.array([[0.5]]),
        n1_transfer=np.array([True]), substation_load_mva=np.array([[40.0]]),
        substation_firm_mva=np.array([[80.0]]), transformer_limit=np.array([[0.65]]),
        unit_load_mva=np.array([[20.0]]), unit_mva=np.array([[40.0]]),
        spare_bays=np.array([[2.0]]), min_spare_bays=np.array([[1.0]]),
        customers_after=np.array([[12.0]]), dedicated=np.array([[False]]),
        km=np.array([[KM]]), supply_path_km=np.array([[2.0]]), radius_limit_km=5.0,
        forbidden=np.array([[0.0]]), construction=np.array(["cable"]), sc=sc_site())
    base.update(kw)
    return Site(**base)


def inputs(pol: Policy | None = None, s: complex = S, kva: float = 5000.0, pv_mw: float = 0.0,
           mm2: float = MM2, scr_min: float = 0.0, **kw):
    pol = pol or load_policy()
    line = Line(np.array([[R_KM]]), np.array([[X_KM]]), np.array([[IMAX]]), np.array([[mm2]]),
                np.array([[K_CU_XLPE]]), np.array([[R_MIN_FAC]]))
    return check_inputs(site(**kw), line, Load(s, s, kva, pv_mw, scr_min), pol)


def closed_form_v(v0: float, z: complex, s: complex) -> float:
    v = complex(v0)
    for _ in range(200):
        v = v0 - math.sqrt(3) * z * (s / (math.sqrt(3) * v)).conjugate()
    return abs(v)


Z_TOT = Z_SRC + Z_PATH + KM * complex(R_KM, X_KM)
V = closed_form_v(10.2, Z_TOT, S)
I_ABS = abs(S) / (math.sqrt(3) * V)


def value_limit(name: str, **kw) -> tuple[float, float, bool]:
    spec = REGISTRY[name]
    v, lim = spec.compute(inputs(**kw))
    v, lim = float(np.asarray(v).ravel()[0]), float(np.asarray(lim).ravel()[0])
    return v, lim, bool(spec.passed(v, lim))


def test_flow_matches_the_fixed_point() -> None:
    x = inputs()
    assert abs(x.flow.v_kv[0, 0]) == pytest.approx(V, rel=1e-12)
    assert x.flow.i_abs[0, 0] == pytest.approx(I_ABS, rel=1e-12)
    # beyond the nose of the PV curve there is no operating point: every check fails
    far = inputs(s=complex(300.0, 100.0))
    assert np.isnan(far.flow.i_abs[0, 0])
    assert not any(bool(np.asarray(sp.passed(*sp.compute(far))).ravel()[0])
                   for sp in REGISTRY.values()
               if sp.load_dependent and sp.name not in ("pv_voltage_rise", "dedicated_feeder"))


def test_ampacity() -> None:
    v, lim, ok = value_limit("ampacity")
    assert v == pytest.approx(I_ABS, rel=1e-9) and lim == pytest.approx(IMAX * 1.0)
    assert ok  # 0.18 kA < 0.30 kA
    v, lim, ok = value_limit("ampacity", s=complex(6.0, 2.0))
    assert not ok and v > lim


def test_path_headroom() -> None:
    v, lim, ok = value_limit("path_headroom")
    assert (v, lim) == (pytest.approx(I_ABS), 0.25) and ok
    _, _, ok = value_limit("path_headroom", headroom_ka=np.array([[0.1]]))
    assert not ok


def test_voltage_deviation() -> None:
    v, lim, ok = value_limit("voltage_deviation")
    assert v == pytest.approx((V / U - 1) * 100, abs=1e-6) and lim == 7.0 and ok
    _, _, ok = value_limit("voltage_deviation", v0=np.array([[9.4 + 0j]]))
    assert not ok  # below -7 %


def test_network_voltage() -> None:
    sag = math.sqrt(3) * abs(Z_SRC) * I_ABS / U
    path = math.sqrt(3) * abs(Z_PATH) * I_ABS / U
    low = min(0.98 - sag - path, 0.99 - sag)
    v, lim, ok = value_limit("network_voltage")
    # |Z I| uses the complex current: equal to |Z| |I|
    assert v == pytest.approx((low - 1) * 100, abs=1e-6) and lim == 7.0 and ok
    _, _, ok = value_limit("network_voltage", feeder_min_pu=np.array([[0.935]]))
    assert not ok


def test_new_line_drop() -> None:
    drop = math.sqrt(3) * abs(KM * complex(R_KM, X_KM)) * I_ABS / U * 100
    v, lim, ok = value_limit("new_line_drop")
    assert v == pytest.approx(drop, abs=1e-6) and lim == 5.0 and ok
    _, _, ok = value_limit("new_line_drop", km=np.array([[30.0]]))
    assert not ok


def test_pv_voltage_rise() -> None:
    v, _, ok = value_limit("pv_voltage_rise")
    assert v == 0.0 and ok  # no PV
    # 2 MW export through Z_TOT from 10.2 kV: V = V0 - sqrt3 Z conj(S/(sqrt3 V0)), S = -2
    i = np.conj(-2.0 / (math.sqrt(3) * 10.2))
    rise = (abs(10.2 - math.sqrt(3) * Z_TOT * i) / U - 1) * 100
    v, lim, ok = value_limit("pv_voltage_rise", pv_mw=2.0)
    assert v == pytest.approx(rise, rel=1e-9) and lim == 7.0 and ok


def test_feeder_load_rate_shared_and_dedicated() -> None:
    v, lim, ok = value_limit("feeder_load_rate")
    assert v == pytest.approx((2.0 + abs(S)) / 9.0) and lim == 0.5 and not ok  # 0.57 > 0.5
    v, _, ok = value_limit("feeder_load_rate", dedicated=np.array([[True]]))
    assert v == pytest.approx(abs(S) / (math.sqrt(3) * U * IMAX)) and not ok  # 0.61 > 0.5
    # a capacity increase on the present feeder adds only the increment
    x = check_inputs(site(same_feeder=np.array([[True]])),
                     Line(np.array([[R_KM]]), np.array([[X_KM]]), np.array([[IMAX]])),
                     Load(S, complex(0.5, 0.1), 1000.0), load_policy())
    v2, _ = REGISTRY["feeder_load_rate"].compute(x)
    assert float(v2[0, 0]) == pytest.approx((2.0 + abs(complex(0.5, 0.1))) / 9.0)


def test_transformer_load_rate() -> None:
    v, lim, ok = value_limit("transformer_load_rate")
    assert v == pytest.approx((40 + abs(S)) / 80) and lim == 0.65 and ok


def test_transformer_unit_loading() -> None:
    v, lim, ok = value_limit("transformer_unit_loading")
    assert v == pytest.approx((20 + abs(S)) / 40) and lim == 1.0 and ok
    _, _, ok = value_limit("transformer_unit_loading", unit_load_mva=np.array([[38.0]]))
    assert not ok


def test_spare_bays() -> None:
    assert value_limit("spare_bays") == (2.0, 1.0, True)
    assert value_limit("spare_bays", spare_bays=np.array([[0.0]]))[2] is False
    # a tap needs no bay: 0 >= 0
    assert value_limit("spare_bays", spare_bays=np.array([[0.0]]),
                       min_spare_bays=np.array([[0.0]]))[2] is True


def test_customers_on_feeder() -> None:
    assert value_limit("customers_on_feeder") == (12.0, 50.0, True)
    assert value_limit("customers_on_feeder", customers_after=np.array([[51.0]]))[2] is False


def test_dedicated_feeder_threshold_is_exclusive() -> None:
    assert value_limit("dedicated_feeder", kva=5000.0) == (5000.0, 8000.0, True)
    # "at or above 8000 kVA a customer gets a dedicated feeder": 8000 on a shared feeder fails
    assert value_limit("dedicated_feeder", kva=8000.0)[2] is False
    assert value_limit("dedicated_feeder", kva=9000.0, dedicated=np.array([[True]])) == \
        (0.0, 8000.0, True)


def test_route_allowed() -> None:
    assert value_limit("route_allowed") == (0.0, 0.0, True)
    assert value_limit("route_allowed", forbidden=np.array([[1.0]]))[2] is False


def test_supply_radius() -> None:
    # 2.0 km of feeder to the connection point + 1.5 km of new line against class C's 5 km
    assert value_limit("supply_radius") == (3.5, 5.0, True)
    assert value_limit("supply_radius", km=np.array([[3.5]]))[2] is False  # 5.5 km
    assert value_limit("supply_radius", radius_limit_km=float("inf"))[2] is True


# -- short circuit (numbers on paper: I''k = c U / (sqrt3 |Z|), U = 10 kV) -----------------
IK_CONN_MAX = 1.1 * 10 / (math.sqrt(3) * abs(ZSC_MAX))  # 21.06 kA
Z_LINE = KM * complex(R_KM, X_KM)  # 0.3 + 0.15j
IK_CUST_MAX = 1.1 * 10 / (math.sqrt(3) * abs(ZSC_MAX + Z_LINE))  # 11.38 kA
IK_CUST_MIN = 1.0 * 10 / (math.sqrt(3) * abs(ZSC_MIN + KM * complex(R_KM * R_MIN_FAC, X_KM)))


def test_sc_thermal_withstand() -> None:
    assert IK_CONN_MAX == pytest.approx(21.064, abs=1e-3)
    s_min = IK_CONN_MAX * 1000 * math.sqrt(0.5) / 143  # 104.2 mm2
    v, lim, ok = value_limit("sc_thermal_withstand")
    assert (v, lim) == (70.0, pytest.approx(s_min)) and lim == pytest.approx(104.16, abs=0.01)
    assert not ok  # 70 mm2 Cu/XLPE melts in 0.5 s at 21 kA
    assert value_limit("sc_thermal_withstand", mm2=120.0)[2] is True
    # far out on a weak feeder (|Z| 1.50 ohm: 4.245 kA) the small conductor is fine
    _, lim, ok = value_limit("sc_thermal_withstand", sc=sc_site(z_max=0.5 + 1.41j))
    assert lim == pytest.approx(4.245 * 1000 * math.sqrt(0.5) / 143, rel=1e-3) and ok


def test_sc_switchgear() -> None:
    v, lim, ok = value_limit("sc_switchgear")
    assert v == pytest.approx(IK_CUST_MAX) and v == pytest.approx(11.38, abs=0.01)
    assert lim == 40.0 and ok
    # a 0.12 ohm source: 52.9 kA at the connection point, beyond any standard breaker
    _, _, ok = value_limit("sc_switchgear", km=np.array([[0.0]]),
                           sc=sc_site(z_max=0.12j))
    assert not ok


def test_sc_protection_reach() -> None:
    v, lim, ok = value_limit("sc_protection_reach")
    assert IK_CUST_MIN == pytest.approx(7.206, abs=1e-3)
    assert v == pytest.approx(0.866 * IK_CUST_MIN) and lim == pytest.approx(1.3 * 0.6) and ok
    # 30 km of line: two-phase minimum 0.69 kA < 0.78 kA -> the feeder relay does not see it
    v, lim, ok = value_limit("sc_protection_reach", km=np.array([[30.0]]))
    assert v == pytest.approx(0.866 * 10 / (math.sqrt(3) * abs(
        ZSC_MIN + 30 * complex(R_KM * R_MIN_FAC, X_KM)))) and not ok
    # a new dedicated feeder: pick-up from the new line's rating (1.5 x 0.30 kA)
    _, lim, _ = value_limit("sc_protection_reach", sc=sc_site(pickup_ka=np.nan))
    assert lim == pytest.approx(1.3 * 1.5 * IMAX)


def test_sc_ratio() -> None:
    ik_min = 1.0 * 10 / (math.sqrt(3) * abs(ZSC_MIN))
    v, lim, ok = value_limit("sc_ratio")
    assert v == pytest.approx(ik_min / I_ABS) and lim == 0.0 and ok  # no such load: passes
    assert v == pytest.approx(16.330 / 0.18336, rel=1e-3)  # I''k min 16.33 kA / 0.183 kA
    assert value_limit("sc_ratio", scr_min=50.0)[2] is True
    assert value_limit("sc_ratio", scr_min=100.0)[2] is False


def test_every_registered_check_has_a_test_here() -> None:
    tested = {n[len("test_"):] for n in globals() if n.startswith("test_")}
    for name in REGISTRY:
        assert any(t.startswith(name) for t in tested), f"check {name!r} has no unit test"


@pytest.mark.parametrize("comparison,value,limit,passed,util", [
    ("le", 0.5, 1.0, True, 0.5), ("le", 1.0, 1.0, True, 1.0), ("le", 2.0, 1.0, False, 2.0),
    ("le", 1.0, 0.0, False, 1e9), ("le", 0.0, 0.0, True, 0.0), ("le", 5.0, np.inf, True, 0.0),
    ("lt", 1.0, 1.0, False, 1.0), ("lt", 0.0, 8000.0, True, 0.0),
    ("ge", 2.0, 1.0, True, 0.5), ("ge", 0.0, 1.0, False, 1e9), ("ge", 0.0, 0.0, True, 0.0),
    ("abs_le", -8.0, 7.0, False, 8 / 7), ("abs_le", 3.5, 7.0, True, 0.5),
])
def test_comparisons_and_utilisation(comparison, value, limit, passed, util) -> None:
    spec = CheckSpec("x", "", "", "", comparison, lambda x: (0, 0))
    assert bool(spec.passed(value, limit)) is passed
    assert float(spec.utilisation(value, limit)) == pytest.approx(util)


def test_policy_decides_what_a_failing_check_does(small_planner) -> None:
    """checks.csv: 'flag' keeps an option feasible and flags it; 'off' drops the check."""
    from scheme_engine.engine import Planner
    from tests.fixtures_small import at

    base = load_policy()
    app = at(-60, 900, requested_kva=1000)
    r0 = small_planner.plan(app)
    assert r0.schemes[0].feasible
    tables = dict(base.tables)
    # nobody may connect to a feeder with more than 0 customers: every shared feeder fails
    params = tables["parameters"].copy()
    params.loc[params["key"] == "max_customers_per_feeder", "value"] = "0"
    tables["parameters"] = params
    strict = Planner(small_planner.network, Policy("strict", tables))
    shared = [s for s in strict.plan(app).schemes
              if s.feasible and any(c.connection.feeder_id for c in s.circuits)]
    assert not shared
    checks = tables["checks"].copy()
    checks.loc[checks["name"] == "customers_on_feeder", "action"] = "flag"
    flagged = Planner(small_planner.network, Policy("flag", {**tables, "checks": checks}))
    r = flagged.plan(app)
    on_feeder = [s for s in r.schemes if any(c.connection.feeder_id for c in s.circuits)]
    assert on_feeder and all(s.feasible for s in on_feeder)
    assert all("check_failed_customers_on_feeder" in s.flags for s in on_feeder)
    checks.loc[checks["name"] == "customers_on_feeder", "action"] = "off"
    off = Planner(small_planner.network, Policy("off", {**tables, "checks": checks}))
    s = off.plan(app).schemes[0]
    assert "customers_on_feeder" not in {c.name for c in s.circuits[0].limits}
