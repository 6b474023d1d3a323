"""The optimiser against exhaustive search, and properties of ``Planner.plan`` (hypothesis).

Oracle: from ``Planner.evaluate_level(...).options`` every feasible (candidate, conductor)
option (single supply) or every pair of options at two distinct candidates (dual supply) that
meets the independence rule is enumerated; a scheme's score is the sum of its options'
``score``. The engine's top-1 must equal the exhaustive minimum and its top-k the k best
distinct alternatives. "Distinct" follows the policy flag ``alternatives_distinct_by_feeder``:
1 (default) -> alternatives differ in their set of feeders (a new feeder counts by its bus
section), 0 -> in their set of connection points; the oracle groups admissible point sets by
that key set and keeps the best of each group. CP-SAT works on scores rounded to whole yuan, so
each value may differ by up to 1 CNY per circuit.

Independence rule (written here from the policy, not from the optimiser): 一级 / dual_source ->
different substations; 二级 / dual_circuit -> different bus sections; never two circuits on one
existing feeder; never a pair whose routes share too much corridor
(``LevelResult.corridor_conflict``). Elements without a substation / bus section / feeder
(index -1) constrain nothing.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from grid_models.errors import InputError
from grid_models.policy import Policy, load_policy
from scheme_engine import rules
from scheme_engine.engine import LevelResult, Planner
from scheme_engine.scheme import PlanResult
from tests.test_physics import _available, planner_for, random_applications

N_APPS = 30
# "+relaxed": same network under a policy whose transformer and feeder load-rate limits are
# 1.0, so that dual-source (一级) schemes exist on synth S, whose substations sit at the N-1
# limit already; the optimiser's rules do not depend on those numbers.
OPT_NETWORKS = ["small", "synth-S", "synth-S+relaxed", "1-MV-urban--0-sw"]


@functools.cache
def _relaxed(name: str) -> Planner:
    base = load_policy()
    tables = dict(base.tables)
    for t in ("transformer_load_limits", "load_rate_limits"):
        tables[t] = tables[t].assign(max_load_rate=1.0)
    return Planner(planner_for(name).network, Policy(base.name + "-relaxed", tables))


def _planner(name: str) -> Planner:
    base, _, variant = name.partition("+")
    if not _available(base):
        pytest.skip(f"{base}: generator/importer module not present")
    return _relaxed(base) if variant == "relaxed" else planner_for(base)


def tol(n_circuits: int) -> float:
    """Score tolerance: CP-SAT rounds each option's score to a whole yuan."""
    return 1.0 * n_circuits + 1e-6


def exhaustive(lr: LevelResult, mode: rules.SupplyMode) -> dict[frozenset, float]:
    """Best score of every admissible set of connection points (candidate indices).

    Every feasible (candidate, conductor) option, or every pair of them, is enumerated.
    """
    o = lr.options
    cs, ts = np.nonzero(o.feasible)
    sc = o.score[cs, ts]
    best: dict[frozenset, float] = {}
    if mode.n_circuits == 1:
        for c, s in zip(cs, sc, strict=True):
            key = frozenset([int(c)])
            best[key] = min(best.get(key, np.inf), float(s))
        return best
    cand = lr.cand
    a, b = np.triu_indices(cs.size, 1)
    ca, cb = cs[a], cs[b]

    def same(arr: np.ndarray) -> np.ndarray:
        return (arr[ca] >= 0) & (arr[ca] == arr[cb])

    ok = ca != cb
    ok &= ~same(cand.feeder)
    if mode.distinct_substations:
        ok &= ~same(cand.substation)
    if mode.distinct_bus_sections:
        ok &= ~same(cand.bus_section)
    ok &= ~lr.corridor_conflict[ca, cb]
    tot = sc[a] + sc[b]
    for x, y, s in zip(ca[ok], cb[ok], tot[ok], strict=True):
        key = frozenset([int(x), int(y)])
        best[key] = min(best.get(key, np.inf), float(s))
    return best


def distinct_best(planner: Planner, lr: LevelResult, ex: dict[frozenset, float]) -> list[float]:
    """Sorted best score per alternative key set (feeders, or points; see module docstring)."""
    cand = lr.cand
    if planner.policy.param("alternatives_distinct_by_feeder"):
        key = np.where(cand.feeder >= 0, cand.feeder, -2 - cand.bus_section)
    else:
        key = np.arange(len(cand))
    best: dict[frozenset, float] = {}
    for pts, s in ex.items():
        kk = frozenset(int(key[c]) for c in pts)
        best[kk] = min(best.get(kk, np.inf), s)
    return sorted(best.values())


def levels_of(planner: Planner, app: dict) -> list[float]:
    # The planner's levels with standard conductors (what plan() iterates over).
    avail = np.array(list(planner._conductors))
    return rules.voltage_levels(planner.policy, float(app["requested_kva"]), avail)


def check_app(planner: Planner, app: dict) -> dict:
    """Compare engine and exhaustive search for one application; returns counters."""
    mode = rules.supply_mode(planner.policy, app["tier"])
    k = int(planner.policy.param("topk_default"))
    all_best: list[float] = []
    n_level = 0
    for vn in levels_of(planner, app):
        lr = planner.evaluate_level(app, vn)
        ex = exhaustive(lr, mode)
        ranked = distinct_best(planner, lr, ex)
        want = ranked[:k]
        got = [s.score for s in lr.selections]
        sets = [frozenset(s.candidates) for s in lr.selections]
        assert len(set(sets)) == len(sets), f"{app}: repeated point set {sets}"
        for s, key in zip(lr.selections, sets, strict=True):
            assert key in ex, f"{app} @ {vn} kV: engine chose inadmissible set {sorted(key)}"
            assert len(key) == mode.n_circuits
            assert all(lr.options.feasible[c, t] for c, t in zip(s.candidates, s.conductors,
                                                               strict=True))
            # the score the engine reports is the true sum of its options' scores
            assert s.score == pytest.approx(float(lr.options.score[list(s.candidates),
                                                                   list(s.conductors)].sum()))
            assert s.score <= ex[key] + tol(mode.n_circuits)
        assert len(got) == len(want), (f"{app} @ {vn} kV: engine gave {len(got)} schemes, "
                                       f"{len(ranked)} distinct admissible alternatives exist")
        assert np.allclose(got, want, atol=tol(mode.n_circuits), rtol=0), \
            f"{app} @ {vn} kV ({mode.mode}): engine {got} vs exhaustive best {want}"
        all_best += want
        n_level += 1
    res = planner.plan(app)
    # Remedy schemes (remedy set; some are feasible, e.g. a new feeder from a farther
    # substation) come only when the candidates near the customer offer nothing.
    feas = [s for s in res.schemes if s.feasible and s.remedy is None]
    if all_best:
        want = sorted(all_best)[:k]
        assert feas, f"{app}: exhaustive search found {want} but plan() gave no feasible scheme"
        assert feas[0].score == pytest.approx(want[0], abs=tol(mode.n_circuits) + 0.01)
        assert np.allclose([s.score for s in feas], want, atol=tol(mode.n_circuits) + 0.01, rtol=0)
    else:
        assert not feas, f"{app}: plan() feasible scheme where exhaustive search finds none"
        assert all(s.remedy is not None for s in res.schemes)
    return {"levels": n_level, "feasible": bool(all_best)}


@pytest.mark.slow
@pytest.mark.parametrize("name", OPT_NETWORKS)
def test_topk_equals_exhaustive_search(name: str) -> None:
    planner = _planner(name)
    n_ss = len(planner.network.layers["substations"])
    tiers = ["普通", "二级"] + (["一级"] if n_ss >= 2 else [])
    apps = random_applications(planner.network, N_APPS, seed=11)
    counts = {t: [0, 0] for t in tiers}  # compared, with a feasible scheme
    for app in apps:
        for tier in tiers:
            a = {**app, "tier": tier}
            try:
                out = check_app(planner, a)
            except InputError:
                continue
            counts[tier][0] += 1
            counts[tier][1] += out["feasible"]
    print(f"\n{name}: compared (apps, with feasible scheme) by tier {counts}")
    for tier in tiers:
        assert counts[tier][0] >= N_APPS * 0.8, f"{name}/{tier}: too few applications compared"
    # the comparison must have had something to compare in every mode
    must = tiers if name.endswith("+relaxed") or not name.startswith("synth") else tiers[:2]
    for tier in must:
        assert counts[tier][1] > 0, f"{name}/{tier}: no application with a feasible scheme"


def test_exhaustive_oracle_on_paper_case() -> None:
    """The oracle itself on the small network: dual circuit can never pair BS2's feeders F2/F3
    with each other, so every admissible pair has one circuit on BS1 (F1)."""
    planner = _planner("small")
    x0, y0 = _origin()
    lon, lat = Transformer.from_crs("EPSG:4545", "EPSG:4326", always_xy=True).transform(
        x0 + 150, y0 + 600)
    app = {"lon": lon, "lat": lat, "requested_kva": 1000, "tier": "二级"}
    lr = planner.evaluate_level(app, 10.0)
    ex = exhaustive(lr, rules.supply_mode(planner.policy, "二级"))
    assert ex
    bs = lr.cand.bus_section
    bs1 = int(np.flatnonzero(planner.cn.bs_ids == "BS1")[0])
    assert all(sum(bs[c] == bs1 for c in key) == 1 for key in ex)


@functools.cache
def _origin() -> tuple[float, float]:
    from tests.fixtures_small import origin

    return origin()


# ----------------------------------------------------------------------------- properties
VALID_TIERS = ["普通", "二级", "一级", "特级", "临时", "ordinary", "tier1"]
BAD_TIERS = ["bogus", "", "三级", "一级 "]
VALID_INDUSTRIES = ["others", "data_centre", "商业", "hospital", "continuous_process"]
BAD_INDUSTRIES = ["nonsense", "", "steelworks?"]


@st.composite
def applications(draw) -> dict:
    """Half plausible applications near the small network, half anything in the ranges."""
    x0, y0 = _origin()
    plausible = draw(st.booleans())
    if plausible or draw(st.booleans()):
        dx = draw(st.floats(-4000, 4000, allow_nan=False))
        dy = draw(st.floats(-4000, 4000, allow_nan=False))
        lon, lat = _TO_WGS.transform(x0 + dx, y0 + dy)
    else:
        lon = draw(st.floats(-180, 180, allow_nan=False))
        lat = draw(st.floats(-90, 90, allow_nan=False))
    if plausible:
        kva = draw(st.floats(50, 20000, allow_nan=False))
        tier = draw(st.sampled_from(VALID_TIERS))
        industry = draw(st.sampled_from(VALID_INDUSTRIES))
    else:
        kva = draw(st.floats(-10, 1e7, allow_nan=False))
        tier = draw(st.sampled_from(VALID_TIERS + BAD_TIERS))
        industry = draw(st.sampled_from(VALID_INDUSTRIES + BAD_INDUSTRIES))
    return {"lon": lon, "lat": lat, "requested_kva": kva, "tier": tier, "industry": industry}


_TO_WGS = Transformer.from_crs("EPSG:4545", "EPSG:4326", always_xy=True)


def _ranked(r: PlanResult) -> None:
    """Ranks 1..n; scores non-decreasing (remedies: by remedy order, then score)."""
    assert [s.rank for s in r.schemes] == list(range(1, len(r.schemes) + 1))
    remedy = [s.remedy is not None for s in r.schemes]
    assert all(remedy) or not any(remedy), "schemes mixed with remedies"
    key = [((s.remedy or {}).get("order", 0), s.score) for s in r.schemes]
    assert key == sorted(key), f"ranks not ordered by score: {key}"


def _json(r: PlanResult) -> str:
    d = r.model_dump(mode="json")
    d.pop("solve_ms")
    return json.dumps(d, sort_keys=True, ensure_ascii=False)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(app=applications())
def test_plan_is_total_checked_ranked_and_deterministic(app: dict) -> None:
    planner = _planner("small")
    try:
        r = planner.plan(app)
    except InputError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message for {app}"
        event(f"rejected: {type(exc).__name__} on {getattr(exc, 'field', None)}")
        return
    assert isinstance(r, PlanResult) and r.schemes
    event("planned: " + ("feasible" if r.schemes[0].feasible else "remedy"))
    feas = [s for s in r.schemes if s.feasible]
    for s in feas:
        for c in s.circuits:
            failed = [chk.name for chk in c.limits if not chk.passed]
            assert not failed, f"feasible scheme rank {s.rank} fails {failed} for {app}"
    _ranked(r)
    assert _json(planner.plan(app)) == _json(r), f"plan() not deterministic for {app}"


@pytest.mark.parametrize("name", OPT_NETWORKS)
def test_random_feasible_schemes_pass_every_check(name: str) -> None:
    """Same invariants on the larger networks with the physics test's application mix."""
    planner = _planner(name)
    n_feasible = 0
    for app in random_applications(planner.network, 40, seed=5):
        try:
            r = planner.plan(app)
        except InputError as exc:
            assert str(exc).strip()
            continue
        _ranked(r)
        for s in r.schemes:
            if s.feasible:
                n_feasible += 1
                assert all(chk.passed for c in s.circuits for chk in c.limits), (app, s.rank)
        assert _json(planner.plan(app)) == _json(r)
    assert n_feasible > 0


@pytest.mark.parametrize("name", ["small", "synth-S+relaxed", "1-MV-urban--0-sw"])
@pytest.mark.parametrize("use_by_feeder", [True, False])
def test_enumeration_and_cpsat_choose_the_same(name: str, use_by_feeder: bool) -> None:
    """The engine enumerates pairs (and sorts singles) where CP-SAT would prove the same
    optimum: on the same evaluated options both give the same objective sequence (CP-SAT's:
    whole yuan per option; which of several tied options is taken may differ), only
    admissible, feasible choices, and the enumeration's first is the least exact score among
    CP-SAT's optima."""
    from scheme_engine.optimise import SCORE_UNIT_CNY, select_topk

    planner = _planner(name)
    apps = random_applications(planner.network, 12, seed=23)
    k = int(planner.policy.param("topk_default"))
    compared = {1: 0, 2: 0}
    for app in apps:
        for tier in ("普通", "二级", "一级"):
            a = {**app, "tier": tier}
            mode = rules.supply_mode(planner.policy, tier)
            try:
                levels = levels_of(planner, a)
            except InputError:
                continue
            for vn in levels:
                lr = planner.evaluate_level(a, vn)
                o = lr.options
                args = (o, mode.n_circuits, k, mode.distinct_substations,
                        mode.distinct_bus_sections, lr.corridor_conflict)
                fast = select_topk(*args, distinct_by_feeder=use_by_feeder)
                ref = select_topk(*args, distinct_by_feeder=use_by_feeder, use_cpsat=True)

                def objective(sels: list, o=o) -> list[float]:
                    return [float(sum(np.round(o.score[c, t] / SCORE_UNIT_CNY)
                                      for c, t in zip(s.candidates, s.conductors, strict=True)))
                            for s in sels]

                assert objective(fast) == objective(ref), (a, vn)
                ex = exhaustive(lr, mode)
                for s in fast:
                    assert frozenset(s.candidates) in ex
                    assert all(o.feasible[c, t] for c, t in zip(s.candidates, s.conductors,
                                                                   strict=True))
                if ref:  # among CP-SAT's optima, the enumeration takes the least exact score
                    assert fast[0].score <= ref[0].score + 1e-9
                compared[mode.n_circuits] += bool(ref)
    assert compared[2] > 0, f"{name}: no dual-supply level with a scheme to compare"
    assert compared[1] > 0
