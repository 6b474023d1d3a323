"""Short-circuit validation and cost: the engine's IEC 60909 levels against pandapower's
``calc_sc``, and what the short-circuit work adds per application on the L city.

1. Accuracy (same oracle as ``tests/test_short_circuit.py``, helpers imported from there):
   random applications per network, every circuit of every scheme rebuilt in the exported
   pandapower net with the sources stated explicitly; relative error of I''k max and min at the
   connection point and the customer end (distribution per network and quantity).
2. Speed (``--speed-apps``, 0 to skip): ``grid_models.synth.synth_city("L", seed=1)``, one
   process, the same applications planned by three planners on one compiled view:
   ``none`` (no short-circuit work: the levels stubbed out, the four checks off),
   ``off`` (levels computed and reported, the four checks ``off`` in checks.csv) and ``on``
   (everything); medians of process CPU time per application, interleaved application by
   application in a rotating order so that drift and first-plan memos hit all three alike.

Run::

    .venv/bin/python -m benchmarks.short_circuit_report [--n 200] [--networks ...]
        [--speed-apps 200] [--rounds 3]

and read ``benchmarks/results/short_circuit.md`` (also printed).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.test_short_circuit import ORACLE_NETWORKS, SC_TOL, validate_sc, worst  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "short_circuit.md"
QUANTITIES = ("conn_max", "conn_min", "cust_max", "cust_min")
SC_CHECKS = ("sc_thermal_withstand", "sc_switchgear", "sc_protection_reach", "sc_ratio")


def _table(rows: list[dict]) -> str:
    if not rows:
        return "(none)"
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def accuracy(networks: list[str], n: int, seed: int) -> tuple[list[dict], list[dict], list[str]]:
    """Per network and per quantity: error distribution of the reported I''k."""
    rows, per_q, worst_rows = [], [], []
    for name in networks:
        t0 = time.perf_counter()
        out = validate_sc(name, n, seed)
        pl, res, e = out["planned"], out["results"], out["errors"]
        rows.append({
            "network": name, "apps": pl.n_apps, "app errors": pl.n_application_errors,
            "schemes": pl.n_schemes, "circuits": pl.n_circuits, "distinct": len(res),
            "max |err|": f"{e.max():.2e}", "p50": f"{np.percentile(e, 50):.1e}",
            "p95": f"{np.percentile(e, 95):.1e}", "p99": f"{np.percentile(e, 99):.1e}",
            f"within {SC_TOL:.0%}": f"{int((e.max(axis=1) < SC_TOL).sum())}/{len(res)}",
            "I''k max range kA": f"{res['pp_cust_max'].min():.2f}–{res['pp_conn_max'].max():.2f}",
            "plan s": round(pl.plan_s, 1), "calc_sc s": round(out["sc_s"], 1),
            "total s": round(time.perf_counter() - t0, 1)})
        for j, q in enumerate(QUANTITIES):
            x = e[:, j]
            per_q.append({"network": name, "quantity": q, "max": f"{x.max():.2e}",
                          "p50": f"{np.percentile(x, 50):.1e}",
                          "p95": f"{np.percentile(x, 95):.1e}", "mean": f"{x.mean():.1e}",
                          "signed mean": f"{res[f'err_{q}'].mean():+.1e}"})
        worst_rows.append(f"### {name}\n\n```\n{worst(res, 5)}\n```\n")
        print(f"{name}: {len(res)} circuits, max |err| {e.max():.2e}", flush=True)
    return rows, per_q, worst_rows


def speed(n_apps: int, rounds: int, seed: int) -> tuple[list[dict], list[str]]:
    """Process CPU time per application on L: none / off / on (see module docstring)."""
    from grid_models.policy import Policy, load_policy
    from grid_models.synth import synth_city
    from scheme_engine import short_circuit
    from scheme_engine.engine import Planner
    from tests.test_physics import random_applications

    notes = []
    t0 = time.perf_counter()
    net = synth_city("L", seed=1)
    notes.append(f"- L city generated in {time.perf_counter() - t0:.1f} s: "
                 f"{len(net.layers['nodes'])} grid nodes, {len(net.layers['roads'])} road segments")
    base = load_policy()
    ch = base.table("checks").copy()
    ch.loc[ch["name"].isin(SC_CHECKS), "action"] = "off"
    off_policy = Policy("sc-off", {**base.tables, "checks": ch})
    t0 = time.perf_counter()
    on = Planner(net, base)
    notes.append(f"- compile + validate {time.perf_counter() - t0:.1f} s; short-circuit network "
                 "arrays (per network version, cached): "
                 f"{_time(lambda: short_circuit._build_network(on.cn, base)) * 1000:.1f} ms")
    off = Planner(on.cn, off_policy)
    none = Planner(on.cn, off_policy)
    apps = random_applications(net, n_apps, seed)
    real_at_sites = short_circuit.at_sites

    def run(p: Planner, app: dict) -> float:
        if p is none:
            short_circuit.at_sites = lambda *a, **k: None  # no short-circuit work at all
        try:
            t = time.process_time()
            try:
                p.plan(app)
            except Exception:  # an application outside the area: same for all three
                pass
            return time.process_time() - t
        finally:
            short_circuit.at_sites = real_at_sites

    from scheme_engine.checks import inputs as check_inputs_module

    # build_site calls short_circuit.at_sites through the module attribute
    assert check_inputs_module.short_circuit is short_circuit
    for app in apps[:10]:  # warm-up (caches, first CP-SAT import)
        for p in (none, off, on):
            run(p, app)
    # Per application the three planners take turns in a rotating order: whoever plans an
    # application first also fills memos on the shared compiled view (street attachments),
    # which would otherwise bias against a fixed first variant.
    times: dict[int, list[float]] = {id(none): [], id(off): [], id(on): []}
    orders = ((none, off, on), (off, on, none), (on, none, off))
    for r in range(rounds):
        for i, app in enumerate(apps):
            for p in orders[(i + r) % 3]:
                times[id(p)].append(run(p, app))
    t_none, t_off, t_on = times[id(none)], times[id(off)], times[id(on)]
    a, b, c = (np.array(x) * 1000 for x in (t_none, t_off, t_on))
    parts = _attribute(on, apps)
    rows = [{"variant": v, "median ms": f"{np.median(x):.3f}", "p90 ms": f"{np.percentile(x, 90):.3f}",
             "mean ms": f"{x.mean():.3f}"} for v, x in (("none (no short-circuit work)", a),
                                                       ("off (levels, checks off)", b),
                                                       ("on (levels + 4 checks)", c))]
    rng = np.random.default_rng(0)
    boot = [np.median(rng.choice(c - b, c.size)) for _ in range(400)]
    notes.append(f"- {n_apps} applications x {rounds} rounds. With vs without the checks "
                 f"(checks.csv off): median(on) - median(off) "
                 f"{np.median(c) - np.median(b):.3f} ms; median of per-application differences "
                 f"on - off {np.median(c - b):.3f} ms (bootstrap 90 % interval "
                 f"{np.percentile(boot, 5):.3f}..{np.percentile(boot, 95):.3f}). Against no "
                 f"short-circuit work at all: on - none {np.median(c - a):.3f} ms, off - none "
                 f"{np.median(b - a):.3f} ms (per-application medians)")
    notes.append("- time inside the short-circuit code per application (instrumented run of "
                 "`on`, process CPU time): " + ", ".join(f"{k} {v * 1000:.3f} ms" for k, v in parts.items()))
    return rows, notes


def _attribute(planner, apps: list[dict]) -> dict[str, float]:
    """Mean CPU seconds per application spent in each short-circuit part (wrapped functions;
    the wrappers' own cost, about a microsecond per call, is included)."""
    import dataclasses

    from scheme_engine import builder, short_circuit
    from scheme_engine.checks import REGISTRY

    acc = {"levels at candidates": 0.0, "4 checks": 0.0, "output blocks": 0.0}

    def wrap(fn, key):
        def inner(*a, **k):
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                acc[key] += time.process_time() - t
        return inner

    saved = (short_circuit.at_sites, short_circuit.circuit_block,
             builder.SchemeBuilder._power_quality, dict(REGISTRY))
    short_circuit.at_sites = wrap(saved[0], "levels at candidates")
    short_circuit.circuit_block = wrap(saved[1], "output blocks")
    builder.SchemeBuilder._power_quality = wrap(saved[2], "output blocks")
    for n in SC_CHECKS:
        REGISTRY[n] = dataclasses.replace(REGISTRY[n], compute=wrap(REGISTRY[n].compute, "4 checks"))
    planner.policy.__dict__.pop("_active_checks", None)  # re-read the wrapped specs
    try:
        for app in apps:
            try:
                planner.plan(app)
            except Exception:
                pass
    finally:
        short_circuit.at_sites, short_circuit.circuit_block = saved[0], saved[1]
        builder.SchemeBuilder._power_quality = saved[2]
        REGISTRY.clear()
        REGISTRY.update(saved[3])
        planner.policy.__dict__.pop("_active_checks", None)
    acc["total"] = sum(acc.values())
    return {k: v / len(apps) for k, v in acc.items()}


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="applications per network")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--networks", nargs="*", default=list(ORACLE_NETWORKS) + ["synth-M"],
                    help="networks to validate (none: only the speed part)")
    ap.add_argument("--speed-apps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    rows, per_q, worst_rows = accuracy(a.networks, a.n, a.seed) if a.networks else ([], [], [])
    s_rows, s_notes = speed(a.speed_apps, a.rounds, 7) if a.speed_apps > 0 else ([], [])
    md = [
        "# Short circuit: engine vs pandapower calc_sc (IEC 60909), and its cost",
        "",
        f"Generated by `benchmarks/short_circuit_report.py` (n = {a.n} applications per network, "
        f"seed {a.seed}). Every circuit of every scheme (feasible or not) is rebuilt in the "
        "exported pandapower net as reported, sources stated explicitly on the ext_grid "
        "(`s_sc_max_mva`, `s_sc_min_mva`, `rx_max`, `rx_min`), transformers with `vk`/`vkr`, "
        "lines with `endtemp_degree`; `calc_sc(case='max'|'min')`. Error = reported / "
        "pandapower - 1 for I''k max and min at the connection point and the customer end "
        "(|error| over all four below, per quantity further down).",
        "",
        _table(rows),
        "",
        "## Per quantity",
        "",
        _table(per_q),
        "",
        "## Largest errors per network",
        "",
        *worst_rows,
        "## Cost per application on the L city (process CPU time)",
        "",
        _table(s_rows),
        "",
        *s_notes,
        "",
    ]
    text = "\n".join(md)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
