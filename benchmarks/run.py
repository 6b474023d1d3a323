"""Benchmark suite: ``python -m benchmarks.run [--sizes S,M,L] [--n-apps 300] [--out DIR]``.

One run reports every goal of issue #11 (Build 2) on the synthetic cities
(:func:`grid_models.synth.synth_city`) and the latency on real MV grids. Each phase runs in a
fresh subprocess so that its peak RSS means something:

1. ``gen``: generate the city once and write it to ``benchmarks/networks/`` (cached by scale +
   seed + generator source hash); generation time is informational.
2. ``bench``: GeoPackage read, validation and :func:`~grid_models.compiled.compile_network`
   ("load + compile"), peak Python allocations (tracemalloc, on a second untimed run) and the
   process's max-RSS growth; warm per-application latency of
   :meth:`scheme_engine.engine.Planner.plan` for single source (普通), dual source (一级) and
   dual circuit (二级); cProfiles of each mode; the routing cost per application (street-edge
   attachment, issue #13); and, on the throughput size, ``Planner.plan_many`` of 2,000 mixed
   applications in one process.
3. ``baseline``: :mod:`benchmarks.baseline_networkx` (networkx Dijkstra per candidate, then a
   pandapower power flow of the whole network and of the affected feeder alone) on the first
   applications of the same single-source sample.
4. ``cli``: the real ``gridscheme plan`` console script as a subprocess (cold, then warm with the
   compiled-view cache), wall time, CPU time and max RSS of each run, and a profile.
5. ``grid`` (after the cities): latency on the SimBench MV grids and pandapower's mv_oberrhein,
   imported with :func:`grid_models.import_pandapower.network_from_pandapower`.

The parent process gathers the phase results and writes ``report.md`` and ``report.json``.
Applications are drawn with a seeded generator (:func:`make_apps`), so every run and every
phase sees the same applications.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import hashlib
import io
import json
import math
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results"
DEFAULT_NETWORKS = HERE / "networks"

#: Tier of each benchmarked supply mode (policy ``supply_modes.csv``).
MODES = {"single": "普通", "dual_source": "一级", "dual_circuit": "二级"}
#: Goals of issue #11 (Build 2), checked on L (latency, load+compile, memory), on the
#: throughput size (M) and on S and L (the CLI); reported pass/fail, never asserted.
GOALS = {"p50_single_ms": 3.0, "p99_single_ms": 10.0, "p50_dual_ms": 8.0, "p99_dual_ms": 20.0,
         "throughput_apps_s": 300.0, "cli_S_s": 0.8, "cli_L_s": 1.5, "load_compile_s": 5.0,
         "load_compile_gb": 2.0}
KVA_RANGE = (200.0, 8000.0)
OFFSET_RANGE_M = (30.0, 300.0)  # applications lie this far from a random existing node
N_WARMUP = 5
N_PROFILE = 50  # single-source plans profiled
N_PROFILE_DUAL = 30  # plans profiled per dual mode
N_PROFILE_BATCH = 200  # applications of the profiled plan_many batch
N_ROUTING = 100  # applications per mode timed with the routing timers on
N_CLI_RUNS = 7  # warm `gridscheme plan` runs per size
PROFILE_TOP = 15
#: engine functions whose time per plan the routing section reports (module, function)
ROUTING_FUNCS = (("scheme_engine/routing.py", "route_all"), ("scheme_engine/routing.py", "_attach"),
                 ("grid_models/road_graph.py", "attach"))


# --------------------------------------------------------------------------- applications
def make_apps(net, n: int, seed: int, tiers: tuple[str, ...] = ("普通",),
              weights: tuple[float, ...] | None = None) -> list[dict]:
    """Seeded random applications near existing nodes of ``net``.

    Each application lies 30-300 m (uniform, random direction) from a node drawn uniformly from
    the non-busbar nodes; ``requested_kva`` is log-uniform in 200-8000 kVA (rounded to 10 kVA).
    Draws are made application by application, so the first ``k`` applications of ``n`` are the
    same for any ``n >= k`` (the baseline reuses the head of the engine's sample).

    Parameters
    ----------
    net : Network
        The network (metric CRS).
    n : int
        Number of applications.
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    tiers : tuple of str
        Importance tiers to draw from.
    weights : tuple of float, optional
        Probabilities of ``tiers`` (uniform when omitted).

    Returns
    -------
    list of dict
        Application mappings (EPSG:4326 ``lon``/``lat``) for :meth:`Planner.plan`.
    """
    import shapely
    from pyproj import Transformer

    nodes = net.layers["nodes"]
    pick = nodes[nodes["kind"] != "busbar"]
    xy = shapely.get_coordinates(pick.geometry.values).reshape(-1, 2)
    if len(xy) == 0:
        raise ValueError("network has no non-busbar nodes to place applications near")
    rng = np.random.default_rng(seed)
    p = None if weights is None else np.asarray(weights, float) / np.sum(weights)
    pts = np.empty((n, 2))
    kva = np.empty(n)
    tier_of = []
    for i in range(n):  # per application (not per element), for prefix-stable draws
        j = rng.integers(len(xy))
        r = rng.uniform(*OFFSET_RANGE_M)
        th = rng.uniform(0.0, 2 * math.pi)
        pts[i] = xy[j] + r * np.array([math.cos(th), math.sin(th)])
        kva[i] = round(math.exp(rng.uniform(math.log(KVA_RANGE[0]), math.log(KVA_RANGE[1]))), -1)
        tier_of.append(tiers[0] if len(tiers) == 1 else str(rng.choice(tiers, p=p)))
    lon, lat = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True).transform(pts[:, 0], pts[:, 1])
    return [{"customer_name": f"bench-{seed}-{i}", "lon": round(float(lon[i]), 7),
             "lat": round(float(lat[i]), 7), "requested_kva": float(kva[i]), "tier": tier_of[i],
             "industry": "others"} for i in range(n)]


def latency_stats(ms: list[float] | np.ndarray) -> dict[str, float | int]:
    """p50/p90/p99/max/mean (ms) and count of a latency sample (NaN when empty)."""
    a = np.asarray(ms, float)
    if a.size == 0:
        return {"n": 0, "p50": math.nan, "p90": math.nan, "p99": math.nan, "max": math.nan,
                "mean": math.nan}
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {"n": int(a.size), "p50": float(p50), "p90": float(p90), "p99": float(p99),
            "max": float(a.max()), "mean": float(a.mean())}


def max_rss_mb() -> float:
    """Peak resident set size of this process so far (MB; Linux reports KiB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


# --------------------------------------------------------------------------- networks
def network_paths(networks_dir: Path, scale: str, seed: int) -> tuple[Path, Path]:
    """GeoPackage and sidecar JSON of one cached synthetic city."""
    stem = f"city_{scale}_seed{seed}"
    return networks_dir / f"{stem}.gpkg", networks_dir / f"{stem}.json"


def _generator_hash() -> str:
    # A cached network is stale when the generator (or the writer) changed since it was made.
    h = hashlib.sha256()
    for f in ("grid_models/synth.py", "grid_models/data/synth_profiles.csv", "grid_models/io.py",
              "grid_models/schema.py"):
        p = ROOT / f
        h.update(p.read_bytes() if p.exists() else b"")
    return h.hexdigest()[:16]


def phase_gen(scale: str, seed: int, networks_dir: Path, regenerate: bool) -> dict:
    """Generate (or reuse) the synthetic city of ``scale``/``seed``; returns its sidecar."""
    gpkg, side = network_paths(networks_dir, scale, seed)
    gh = _generator_hash()
    if gpkg.exists() and side.exists() and not regenerate:
        meta = json.loads(side.read_text())
        if meta.get("generator_hash") == gh:
            meta["cached"] = True
            return meta
    from grid_models.io import write_network
    from grid_models.synth import synth_city

    print(f"[gen {scale}] generating synthetic city (seed {seed}) ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    net = synth_city(scale, seed, progress=True)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_network(net, gpkg)
    write_s = time.perf_counter() - t0
    L = net.layers
    meta = {"scale": scale, "seed": seed, "path": str(gpkg), "generator_hash": gh,
            "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
            "generate_s": gen_s, "write_s": write_s, "file_mb": gpkg.stat().st_size / 2**20,
            "version_id": net.version_id,
            "counts": {k: int(len(v)) for k, v in L.items()}}
    side.write_text(json.dumps(meta, indent=1))
    meta["cached"] = False
    return meta


# --------------------------------------------------------------------------- bench phase
def phase_bench(gpkg: Path, n_apps: int, app_seed: int, n_throughput: int) -> dict:
    """Load+compile time/memory, latency per supply mode, profiles, routing cost, throughput."""
    from grid_models.compiled import compile_network
    from grid_models.io import read_network
    from grid_models.policy import load_policy
    from grid_models.validation import validate
    from scheme_engine.engine import Planner

    out: dict = {}
    policy = load_policy()
    gc.collect()
    rss0 = max_rss_mb()
    # compile_network validates first; validation is timed apart here (and its report handed
    # to compile_network, which then skips it): the sum is what compile_network(net) costs.
    t0, c0 = time.perf_counter(), time.process_time()
    net = read_network(gpkg)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = validate(net, policy=policy)
    validate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cn = compile_network(net, policy, validation=report)
    compile_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    rss1 = max_rss_mb()
    out["load"] = {"read_s": read_s, "validate_s": validate_s, "compile_s": compile_s,
                   "compile_with_validation_s": validate_s + compile_s,
                   "load_compile_s": read_s + validate_s + compile_s,
                   "load_compile_cpu_s": cpu_s,
                   "rss_before_mb": rss0, "rss_after_mb": rss1, "rss_delta_mb": rss1 - rss0}
    out["network"] = {"nodes": int(len(net.layers["nodes"])),
                      "segments": int(len(net.layers["segments"])),
                      "feeders": int(len(net.layers["feeders"])),
                      "substations": int(len(net.layers["substations"])),
                      "roads": int(len(net.layers["roads"])),
                      "road_vertices": int(cn.road.n_vertices), "road_edges": int(cn.road.n_edges),
                      "version_id": net.version_id}
    del cn, net, report
    gc.collect()

    # tracemalloc slows allocation-heavy code down, so the peak comes from a second, untimed
    # read+compile (same work, same allocations).
    tracemalloc.start()
    net2 = read_network(gpkg)
    cn2 = compile_network(net2, policy)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out["load"]["tracemalloc_peak_mb"] = peak / 2**20
    del cn2
    gc.collect()

    # Where load+compile time goes (a third, profiled run; cProfile inflates Python-heavy code).
    prof = cProfile.Profile()
    prof.enable()
    cn3 = compile_network(read_network(gpkg), policy)
    prof.disable()
    out["load_profile"] = _profile_summary(prof, 1)
    del cn3
    gc.collect()

    t0 = time.perf_counter()
    planner = Planner(net2, policy=policy)
    out["load"]["planner_init_s"] = time.perf_counter() - t0

    samples = {mode: make_apps(net2, n_apps, app_seed, (tier,)) for mode, tier in MODES.items()}
    # The first plan on a fresh planner builds what the compiled view makes lazily (e.g. the
    # street-edge index of RoadGraph.attach): once per process, so a cold CLI pays it.
    out["first_plan"] = routing_cost(planner, {"single": samples["single"][:1]})["single"]
    tallies = latency_modes(planner, net2, samples, app_seed)
    out["latency"] = {mode: t.result() for mode, t in tallies.items()}
    # the application of the CLI phase: the first single-source one that planned
    ok = [i for i, v in enumerate(tallies["single"].ms) if math.isfinite(v)]
    out["cli_app"] = samples["single"][ok[0]] if ok else None

    # Where the time goes: cProfile over the head of each mode's sample.
    out["profiles"] = {}
    for mode, n_prof in (("single", N_PROFILE), ("dual_source", N_PROFILE_DUAL),
                         ("dual_circuit", N_PROFILE_DUAL)):
        prof = cProfile.Profile()
        apps = samples[mode][:n_prof]
        prof.enable()
        for app in apps:
            with contextlib.suppress(Exception):
                planner.plan(app)
        prof.disable()
        out["profiles"][mode] = _profile_summary(prof, len(apps))
        out["profiles"][mode]["routing_rows"] = _profile_rows(prof, ROUTING_FUNCS, len(apps))

    # What routing (and the street-edge attachment inside it) costs per application.
    out["routing"] = routing_cost(planner, {m: s[:N_ROUTING] for m, s in samples.items()})

    if n_throughput > 0:
        apps = make_apps(net2, n_throughput, app_seed + 2000, tuple(MODES.values()),
                         (0.7, 0.15, 0.15))
        out["throughput"] = throughput(planner, apps)
        prof = cProfile.Profile()
        batch = apps[:N_PROFILE_BATCH]
        prof.enable()
        with contextlib.suppress(Exception):
            planner.plan_many(batch)
        prof.disable()
        out["profiles"]["throughput"] = _profile_summary(prof, len(batch))
    out["rss_end_mb"] = max_rss_mb()
    return out


def latency_modes(planner, net, samples: dict[str, list[dict]], app_seed: int) -> dict:
    """Warm per-application latency of every supply mode (one :class:`_Tally` per mode).

    The modes plan the same points, interleaved (application *i* in every mode, in a rotating
    order), so that load from other processes on a shared machine hits them alike. Five
    warm-up plans per mode on other applications come first (a dual mode's first plan
    imports the CP-SAT solver, ~60 ms once per process: not a per-application cost).
    """
    from tqdm import tqdm

    from grid_models.errors import GridSchemeError

    for mode in samples:
        for app in make_apps(net, N_WARMUP, app_seed + 1000, (MODES[mode],)):
            with contextlib.suppress(GridSchemeError):
                planner.plan(app)
    tallies = {mode: _Tally() for mode in samples}
    modes = list(samples)
    n = min(len(v) for v in samples.values())
    for i in tqdm(range(n), desc=f"latency ({len(modes)} modes)", file=sys.stderr,
                  mininterval=2.0, leave=False):
        for j in range(len(modes)):
            mode = modes[(i + j) % len(modes)]
            tallies[mode].plan(planner, samples[mode][i])
    return tallies


def throughput(planner, apps: list[dict]) -> dict:
    """``Planner.plan_many(apps)`` in one call: wall and CPU seconds, applications per second.

    The median per application is the engine's own ``PlanResult.solve_ms``. A crash (an
    exception other than :class:`GridSchemeError`) ends the batch; the applications are then
    planned one by one to name the one that crashes.
    """
    from grid_models.errors import GridSchemeError

    mix = {t: sum(a["tier"] == t for a in apps) for t in MODES.values()}
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        results = planner.plan_many(apps)
    except Exception as exc:  # an engine bug: find the application, report both
        crash = f"{type(exc).__name__}: {str(exc)[:200]}"
        tally = _Tally()
        for app in apps:
            tally.plan(planner, app)
        return {"n_apps": len(apps), "mix": mix, "error": crash, "crashes": tally.crashes[:5]}
    total, cpu_total = time.perf_counter() - t0, time.process_time() - c0
    errors = [r for r in results if isinstance(r, GridSchemeError)]
    ok = [r for r in results if not isinstance(r, GridSchemeError)]
    solve = np.array([r.solve_ms for r in ok], float)
    return {"n_apps": len(apps), "total_s": total, "cpu_s": cpu_total,
            "apps_per_s": len(apps) / total, "apps_per_cpu_s": len(apps) / cpu_total,
            "mix": mix, "n_errors": len(errors), "n_crashes": 0,
            "n_no_feasible": sum(not any(sc.feasible for sc in r.schemes) for r in ok),
            "p50_ms": float(np.median(solve)) if solve.size else math.nan,
            "p99_ms": float(np.percentile(solve, 99)) if solve.size else math.nan}


class _Timers:
    """Wall time spent inside wrapped functions (nested calls count in each wrapper)."""

    def __init__(self) -> None:
        self.s: dict[str, float] = {}
        self.n: dict[str, int] = {}

    def reset(self) -> None:
        self.s = dict.fromkeys(self.s, 0.0)
        self.n = dict.fromkeys(self.n, 0)

    def wrap(self, name: str, fn):
        import functools

        self.s[name], self.n[name] = 0.0, 0

        @functools.wraps(fn)
        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.s[name] += time.perf_counter() - t0
                self.n[name] += 1
        return timed


def routing_cost(planner, samples: dict[str, list[dict]]) -> dict:
    """Per application: time in ``route_all``, in ``routing._attach`` and in
    ``RoadGraph.attach`` (the street-edge attachment of the customer and the access points),
    measured with wall-clock wrappers around those three functions while each application is
    planned once more (a separate run, so the latency samples carry no wrapper).

    Returns per mode the p50/p90 of each (ms per plan), calls per plan, and their share of
    the plan time (sum over the applications).
    """
    import scheme_engine.engine as eng
    import scheme_engine.remedies as rem
    import scheme_engine.routing as rt
    from grid_models.road_graph import RoadGraph

    timers = _Timers()
    saved = (eng.route_all, rem.route_all, rt._attach, RoadGraph.attach)
    route = timers.wrap("route_all", rt.route_all)
    eng.route_all = rem.route_all = route
    rt._attach = timers.wrap("_attach", rt._attach)
    RoadGraph.attach = timers.wrap("attach", RoadGraph.attach)
    out: dict = {}
    try:
        for mode, apps in samples.items():
            plan_ms, rows = [], {k: [] for k in timers.s}
            calls = {k: 0 for k in timers.s}
            for app in apps:
                timers.reset()
                t0 = time.perf_counter()
                try:
                    planner.plan(app)
                except Exception:  # errors and crashes are reported by the latency run
                    continue
                plan_ms.append((time.perf_counter() - t0) * 1000)
                for k in timers.s:
                    rows[k].append(timers.s[k] * 1000)
                    calls[k] += timers.n[k]
            n = len(plan_ms)
            tot = float(np.sum(plan_ms)) if n else math.nan
            out[mode] = {"n": n, "plan_p50_ms": float(np.median(plan_ms)) if n else math.nan,
                         "funcs": {k: {"p50_ms": float(np.median(v)) if n else math.nan,
                                       "p90_ms": float(np.percentile(v, 90)) if n else math.nan,
                                       "mean_ms": float(np.mean(v)) if n else math.nan,
                                       "calls_per_plan": calls[k] / n if n else math.nan,
                                       "share": float(np.sum(v)) / tot if n else math.nan}
                                   for k, v in rows.items()}}
    finally:
        eng.route_all, rem.route_all, rt._attach, RoadGraph.attach = saved
    return out


class _Tally:
    """Times plans one by one: wall (perf_counter) and CPU (process_time) milliseconds.

    Input errors and crashes are counted, not timed. CPU time is far less disturbed than wall
    time when other processes share the machine.
    """

    def __init__(self) -> None:
        self.ms: list[float] = []  # aligned with the applications (NaN on failure)
        self.cpu_ms: list[float] = []
        self.errors: dict[str, int] = {}
        self.crashes: list[str] = []
        self.no_feasible = 0

    def plan(self, planner, app: dict) -> None:
        from grid_models.errors import GridSchemeError

        t0, c0 = time.perf_counter(), time.process_time()
        try:
            r = planner.plan(app)
        except GridSchemeError as exc:
            key = f"{type(exc).__name__}: {str(exc)[:80]}"
            self.errors[key] = self.errors.get(key, 0) + 1
            self.ms.append(math.nan)
            self.cpu_ms.append(math.nan)
            return
        except Exception as exc:  # an engine bug: report it (with the application), go on
            self.crashes.append(f"{type(exc).__name__}: {str(exc)[:200]} | application "
                                f"{json.dumps(app, ensure_ascii=False)}")
            self.ms.append(math.nan)
            self.cpu_ms.append(math.nan)
            return
        self.ms.append((time.perf_counter() - t0) * 1000)
        self.cpu_ms.append((time.process_time() - c0) * 1000)
        self.no_feasible += not any(sc.feasible for sc in r.schemes)

    def result(self, keep_samples: bool = True) -> dict:
        ms, cpu = np.asarray(self.ms, float), np.asarray(self.cpu_ms, float)
        out = {"stats": latency_stats(ms[np.isfinite(ms)]),
               "cpu_stats": latency_stats(cpu[np.isfinite(cpu)]),
               "n_errors": sum(self.errors.values()),
               "errors": dict(sorted(self.errors.items(), key=lambda kv: -kv[1])[:5]),
               "n_crashes": len(self.crashes), "crashes": self.crashes[:5],
               "n_no_feasible": self.no_feasible}
        if keep_samples:
            out["samples_ms"] = [round(v, 3) for v in self.ms]
            out["cpu_samples_ms"] = [round(v, 3) for v in self.cpu_ms]
        return out


def _is_import_machinery(f: tuple) -> bool:
    """Frames that only say "importing" (a module's body, importlib, exec/__import__)."""
    file, _, func = f
    return (file.startswith("<frozen") or func == "<module>"
            or (file == "~" and ("exec" in func or "__import__" in func)))


def _profile_summary(prof: cProfile.Profile | str, n_plans: int,
                     no_imports: bool = False) -> dict:
    """Top functions by cumulative and by own time, as text and as records.

    ``prof`` is a profile or the path of a stats file (``Profile.dump_stats``).
    ``no_imports`` adds ``cumulative_no_imports``: the top by cumulative time without the
    import machinery (what a process does besides importing).
    """
    def records(key: str, keep=lambda f: True) -> list[dict]:
        st = pstats.Stats(prof).stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
        rows = sorted((kv for kv in st.items() if keep(kv[0])),
                      key=lambda kv: -kv[1][3 if key == "cumulative" else 2])
        return [{"function": _func_name(f), "ncalls": int(v[1]), "tottime_s": float(v[2]),
                 "cumtime_s": float(v[3]), "cum_ms_per_plan": 1000 * float(v[3]) / n_plans}
                for f, v in rows[:PROFILE_TOP]]

    text = {}
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(PROFILE_TOP)
        text[key] = buf.getvalue()
    out = {"n_plans": n_plans, "cumulative": records("cumulative"),
           "tottime": records("tottime"), "text": text}
    if no_imports:
        out["cumulative_no_imports"] = records("cumulative",
                                               lambda f: not _is_import_machinery(f))
    return out


def _profile_rows(prof: cProfile.Profile, funcs: tuple[tuple[str, str], ...],
                  n_plans: int) -> list[dict]:
    """cProfile records of named functions (``(file suffix, function name)``), in that order."""
    st = pstats.Stats(prof).stats
    out = []
    for suffix, name in funcs:
        hit = [(f, v) for f, v in st.items()
               if f[2] == name and Path(f[0]).as_posix().endswith(suffix)]
        nc = sum(int(v[1]) for _, v in hit)
        tt = sum(float(v[2]) for _, v in hit)
        ct = sum(float(v[3]) for _, v in hit)
        out.append({"function": f"{suffix}({name})", "ncalls": nc, "tottime_s": tt,
                    "cumtime_s": ct, "cum_ms_per_plan": 1000 * ct / n_plans,
                    "calls_per_plan": nc / n_plans})
    return out


def _func_name(f: tuple) -> str:
    file, line, func = f
    if file == "~":
        return func
    p = Path(file)
    with contextlib.suppress(ValueError):
        p = p.relative_to(ROOT)
    parts = p.parts
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1:]
    return f"{'/'.join(parts[-3:])}:{line}({func})"


# --------------------------------------------------------------------------- baseline phase
def phase_baseline(gpkg: Path, n_baseline: int, app_seed: int) -> dict:
    """Run :mod:`benchmarks.baseline_networkx` on the head of the single-source sample."""
    from grid_models.io import read_network

    from .baseline_networkx import Baseline

    net = read_network(gpkg)
    apps = make_apps(net, n_baseline, app_seed, (MODES["single"],))
    bl = Baseline(net)
    res = bl.run(apps, progress=True)
    res["setup"] = bl.setup_times
    return res


# --------------------------------------------------------------------------- orchestration
def _worker(args: argparse.Namespace) -> None:
    networks_dir = Path(args.networks_dir)
    networks_dir.mkdir(parents=True, exist_ok=True)
    if args.worker == "grid":
        from .real_grids import phase_grid

        res = phase_grid(args.size, args.n_grid_apps, args.app_seed)
    elif args.worker == "gen":
        res = phase_gen(args.size, args.seed, networks_dir, args.regenerate)
    else:
        gpkg, _ = network_paths(networks_dir, args.size, args.seed)
        if args.worker == "bench":
            res = phase_bench(gpkg, args.n_apps, args.app_seed, args.n_throughput)
        elif args.worker == "baseline":
            res = phase_baseline(gpkg, args.n_baseline, args.app_seed)
        else:
            raise SystemExit(f"--worker: unknown phase {args.worker!r}; use gen, bench, baseline "
                             "or grid")
    Path(args.result_file).write_text(json.dumps(res, default=_json_default))


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _run_phase(phase: str, size: str, args: argparse.Namespace, extra: list[str]) -> dict:
    """Run one phase in a fresh interpreter; returns its result or an ``error`` record."""
    args.out.mkdir(parents=True, exist_ok=True)
    result_file = args.out / f".{phase}_{size}.json".replace("/", "_")
    result_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "benchmarks.run", "--worker", phase, "--size", size,
           "--seed", str(args.seed), "--app-seed", str(args.app_seed),
           "--networks-dir", str(args.networks_dir), "--result-file", str(result_file), *extra]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not result_file.exists():
        print(f"[{phase} {size}] FAILED (exit {proc.returncode})", file=sys.stderr, flush=True)
        return {"error": f"phase {phase} exited with {proc.returncode}", "wall_s": wall}
    res = json.loads(result_file.read_text())
    result_file.unlink()
    res["wall_s"] = wall
    return res


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.run``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="S,M,L", help="comma-separated synthetic city sizes (S,M,L)")
    ap.add_argument("--n-apps", type=int, default=300, help="applications per supply mode and size")
    ap.add_argument("--n-baseline", type=int, default=20, help="applications for the baseline")
    ap.add_argument("--n-throughput", type=int, default=2000, help="applications of the throughput run")
    ap.add_argument("--throughput-size", default="M", help="size of the throughput run")
    ap.add_argument("--seed", type=int, default=1, help="synthetic city seed")
    ap.add_argument("--app-seed", type=int, default=7, help="application sample seed")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder")
    ap.add_argument("--networks-dir", type=Path, default=DEFAULT_NETWORKS, help="network cache")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--skip-cli", action="store_true", help="do not time the gridscheme CLI")
    ap.add_argument("--grids", default="simbench,mv_oberrhein",
                    help="real grids timed after the cities: 'simbench' (the four SimBench MV "
                         "grids), SimBench codes, 'mv_oberrhein', or 'none'")
    ap.add_argument("--n-grid-apps", type=int, default=200,
                    help="applications per supply mode on each real grid")
    ap.add_argument("--regenerate", action="store_true", help="ignore cached networks")
    # internal: one phase in a subprocess
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--size", help=argparse.SUPPRESS)
    ap.add_argument("--result-file", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    from .cli_phase import phase_cli
    from .real_grids import OTHER_GRIDS, SIMBENCH_GRIDS
    from .report import summarise

    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in ("S", "M", "L")]
    if bad:
        ap.error(f"--sizes: unknown size(s) {bad}; valid: S, M, L")
    grids: list[str] = []
    for g in (x.strip() for x in args.grids.split(",") if x.strip()):
        if g == "none":
            continue
        if g == "simbench":
            grids += [c for c in SIMBENCH_GRIDS if c not in grids]
        elif g in SIMBENCH_GRIDS + OTHER_GRIDS:
            grids += [g] if g not in grids else []
        else:
            ap.error(f"--grids: unknown grid {g!r}; valid: simbench, none, "
                     f"{', '.join(SIMBENCH_GRIDS + OTHER_GRIDS)}")
    args.out = args.out.resolve()
    args.networks_dir = args.networks_dir.resolve()
    report = {"started": dt.datetime.now().isoformat(timespec="seconds"), "machine": _machine(),
              "settings": {"sizes": sizes, "n_apps": args.n_apps, "n_baseline": args.n_baseline,
                           "n_throughput": args.n_throughput, "throughput_size": args.throughput_size,
                           "seed": args.seed, "app_seed": args.app_seed, "modes": MODES,
                           "kva_range": KVA_RANGE, "offset_range_m": OFFSET_RANGE_M,
                           "n_warmup": N_WARMUP, "n_profile": N_PROFILE,
                           "n_profile_dual": N_PROFILE_DUAL, "n_routing": N_ROUTING,
                           "n_cli_runs": N_CLI_RUNS, "grids": grids,
                           "n_grid_apps": args.n_grid_apps},
              "goals": GOALS, "sizes": {}, "grids": {}}
    for size in sizes:
        r: dict = {}
        r["generation"] = _run_phase("gen", size, args, ["--regenerate"] if args.regenerate else [])
        if "error" in r["generation"]:
            report["sizes"][size] = r
            continue
        n_tp = args.n_throughput if size == args.throughput_size.upper() else 0
        r["bench"] = _run_phase("bench", size, args, ["--n-apps", str(args.n_apps),
                                                      "--n-throughput", str(n_tp)])
        if not args.skip_baseline:
            r["baseline"] = _run_phase("baseline", size, args, ["--n-baseline", str(args.n_baseline)])
        if not args.skip_cli and r["bench"].get("cli_app"):
            print(f"[cli {size}] timing gridscheme plan ...", file=sys.stderr, flush=True)
            gpkg, _ = network_paths(args.networks_dir, size, args.seed)
            r["cli"] = phase_cli(gpkg, r["bench"]["cli_app"], args.out / "cli_cache" / size)
        report["sizes"][size] = r
        summarise(report)
        _write(report, args.out)  # after every size, so a late failure keeps earlier sizes
    for code in grids:
        print(f"[grid {code}] latency ...", file=sys.stderr, flush=True)
        report["grids"][code] = _run_phase("grid", code, args,
                                           ["--n-grid-apps", str(args.n_grid_apps)])
        _write(report, args.out)
    report["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    summarise(report)
    md = _write(report, args.out)
    print(md)
    print(f"\nwrote {args.out / 'report.md'} and {args.out / 'report.json'}", file=sys.stderr)
    return 0


def _machine() -> dict:
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "loadavg_at_start": load, "numpy": np.__version__}


def _write(report: dict, out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False,
                                                default=_json_default))
    from .report import render_markdown

    md = render_markdown(report)
    (out / "report.md").write_text(md)
    return md


if __name__ == "__main__":
    raise SystemExit(main())
