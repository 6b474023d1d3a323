"""The benchmark suite's own logic: goal checks, report, baselines, timers, CLI timing.

The suite itself is run by hand (``python -m benchmarks.run``); these tests keep the parts
that decide what the report says honest, on the small network and made-up phase results.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from benchmarks.cli_phase import parse_importtime, timed_child
from benchmarks.report import render_markdown, summarise
from benchmarks.run import GOALS, MODES, make_apps, routing_cost
from tests.fixtures_small import small_network


def _lat(p50: float, p99: float) -> dict:
    st = {"n": 10, "p50": p50, "p90": p99, "p99": p99, "max": p99, "mean": p50}
    return {"stats": st, "cpu_stats": dict(st), "n_errors": 0, "errors": {}, "n_crashes": 0,
            "crashes": [], "n_no_feasible": 0, "samples_ms": [p50] * 10,
            "cpu_samples_ms": [p50] * 10}


def _report(p50_single: float, apps_per_s: float, cli_s: float) -> dict:
    bench = {"load": {"read_s": 1.0, "validate_s": 0.4, "compile_s": 1.0,
                      "compile_with_validation_s": 1.4, "load_compile_s": 2.4,
                      "load_compile_cpu_s": 2.3, "rss_delta_mb": 400.0,
                      "tracemalloc_peak_mb": 250.0, "planner_init_s": 1.0},
             "latency": {"single": _lat(p50_single, 9.0), "dual_source": _lat(7.0, 19.0),
                         "dual_circuit": _lat(7.5, 19.5)}}
    tp = {"n_apps": 2000, "total_s": 2000 / apps_per_s, "cpu_s": 2000 / apps_per_s,
          "apps_per_s": apps_per_s, "apps_per_cpu_s": apps_per_s, "mix": {}, "n_errors": 0,
          "n_crashes": 0, "n_no_feasible": 0, "p50_ms": 3.0, "p99_ms": 9.0}
    cli = {"command": "gridscheme plan ...", "cold": {"wall_s": 2.0, "cpu_s": 2.0},
           "warm": [{"wall_s": cli_s, "cpu_s": cli_s, "max_rss_mb": 200.0}] * 7,
           "warm_stats": {"median_s": cli_s, "max_s": cli_s, "min_s": cli_s,
                          "median_cpu_s": cli_s, "max_rss_mb": 200.0}, "cache_mb": 1.0}
    return {"started": "t0", "machine": {"python": "3", "cpus": 2, "loadavg_at_start": None},
            "settings": {"n_apps": 10, "n_baseline": 2, "seed": 1, "app_seed": 7},
            "goals": GOALS, "grids": {},
            "sizes": {"S": {"cli": cli}, "M": {"bench": {"throughput": tp}},
                      "L": {"bench": bench, "cli": cli}}}


def test_goal_checks_follow_issue_11_targets():
    rep = _report(p50_single=2.9, apps_per_s=310.0, cli_s=0.7)
    summarise(rep)
    checks = {(c["goal"], c["size"]): c for c in rep["goal_checks"]["checks"]}
    assert all(c["pass"] for c in checks.values()), checks
    # latency on L (6 rows), load, memory, throughput on M, CLI on S and L
    assert {s for _, s in checks} == {"S", "M", "L"} and len(checks) == 11

    rep = _report(p50_single=3.1, apps_per_s=290.0, cli_s=1.6)
    summarise(rep)
    failed = {(c["goal"].split(" (")[0].split(",")[0], c["size"]): c["profile"]
              for c in rep["goal_checks"]["checks"] if not c["pass"]}
    assert failed == {("p50 single source", "L"): "Where the time goes: single source",
                      ("Planner.plan_many throughput", "M"): "Where the time goes: plan_many",
                      ("`gridscheme plan` wall time", "S"): "Where `gridscheme plan` spends its time",
                      ("`gridscheme plan` wall time", "L"): "Where `gridscheme plan` spends its time"}
    md = render_markdown(rep)
    missed = next(line for line in md.splitlines() if line.startswith("Missed:"))
    assert "p50 single source (普通) on L" in missed and "plan_many throughput" in missed
    assert "| p99 single source (普通) | L | 9.0 ms (CPU 9.0) | ≤ 10 ms | PASS |" in md


def test_parse_importtime_sums_top_level_modules():
    err = ("import time: self [us] | cumulative | imported package\n"
           "import time:       100 |        100 |     _io\n"
           "import time:       200 |        300 |   numpy._core\n"
           "import time:      1000 |       1300 | numpy\n"
           "import time:       500 |        500 | api.cli\n"
           "not an import line\n")
    got = parse_importtime(err)
    assert got["total_s"] == pytest.approx(1800e-6)
    assert [x["module"] for x in got["top"]] == ["numpy", "api.cli"]
    assert got["n_modules"] == 4


def test_timed_child_reports_wall_cpu_rss_and_exit_code():
    ok = timed_child([sys.executable, "-c", "sum(range(10**6))"], {})
    assert ok["rc"] == 0 and ok["wall_s"] > 0 and ok["cpu_s"] > 0 and ok["max_rss_mb"] > 1
    bad = timed_child([sys.executable, "-c", "import sys; sys.exit('boom')"], {})
    assert bad["rc"] == 1 and "boom" in bad["stderr_tail"]


def test_routing_timers_nest_and_are_removed(small_planner):
    import scheme_engine.engine as eng
    import scheme_engine.routing as rt
    from grid_models.road_graph import RoadGraph

    before = (eng.route_all, rt._attach, RoadGraph.attach)
    apps = make_apps(small_planner.network, 6, 3, ("普通",))
    res = routing_cost(small_planner, {"single": apps})["single"]
    assert (eng.route_all, rt._attach, RoadGraph.attach) == before
    assert res["n"] == 6
    f = res["funcs"]
    assert f["route_all"]["calls_per_plan"] >= 1
    # nested wrappers: route_all holds _attach, which holds RoadGraph.attach
    assert f["route_all"]["share"] >= f["_attach"]["share"] >= f["attach"]["share"] > 0
    assert f["route_all"]["share"] < 1


def test_per_feeder_baseline_runs_on_the_affected_feeder_only():
    pytest.importorskip("pandapower")
    from benchmarks.baseline_networkx import Baseline

    net = small_network()
    bl = Baseline(net)
    nodes = net.layers["nodes"]
    # every feeder's bus list holds its nodes and its bus section's busbar
    for fid, (buses, bs) in bl.feeder_buses.items():
        mine = np.flatnonzero((nodes["feeder_id"] == fid).to_numpy())
        assert set(bl.bus_of_node[mine]) <= set(buses)
        assert bl.busbar_of_bs[bs] in set(buses)
    apps = make_apps(net, 4, 5, (MODES["single"],))
    res = bl.run(apps)
    assert res["n_converged"] == 4 and res["feeder"]["n_converged"] == 4
    assert res["feeder"]["buses_max"] < len(bl.pnet.bus)
    st = res["stage_median_ms"]
    assert set(st) == {"nearest", "dijkstra", "powerflow", "extract", "powerflow_feeder"}
    assert all(math.isfinite(v) and v >= 0 for v in st.values())
    # an application's total is the sum of its stages, so its median is at least each stage's
    assert res["stats"]["p50"] >= st["powerflow"] and res["stats"]["p50"] >= st["dijkstra"]
    assert res["feeder"]["stats"]["p50"] >= max(st["extract"], st["powerflow_feeder"])
