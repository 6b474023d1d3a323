"""Benchmark suite: ``python -m benchmarks.run [--sizes S,M,L] [--n-apps 300] [--out DIR]``.

For each synthetic city size (:func:`grid_models.synth.synth_city`) the suite measures, each
phase in a fresh subprocess so that the process's peak RSS means something:

1. ``gen``: generate the network once and write it to ``benchmarks/networks/`` (cached by
   scale + seed + generator source hash); generation time is informational.
2. ``bench``: GeoPackage read and :func:`~grid_models.compiled.compile_network` time ("load +
   compile"), peak Python allocations (tracemalloc, measured on a second read+compile so the
   timed one is not slowed by tracing) and the process's max-RSS growth; warm per-application
   latency of :meth:`scheme_engine.engine.Planner.plan` for single source (普通), dual source
   (一级) and dual circuit (二级); a cProfile of 50 single-source plans; and, on the throughput
   size, the total time of 2,000 mixed applications in one process.
3. ``baseline``: :mod:`benchmarks.baseline_networkx` (networkx Dijkstra per candidate +
   pandapower power flow) on the first applications of the same single-source sample.

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
#: Goals checked on the largest size run (reported pass/fail, never asserted).
GOALS = {"load_compile_s": 5.0, "load_compile_gb": 2.0, "p50_single_ms": 10.0, "p50_dual_ms": 25.0}
KVA_RANGE = (200.0, 8000.0)
OFFSET_RANGE_M = (30.0, 300.0)  # applications lie this far from a random existing node
N_WARMUP = 5
N_PROFILE = 50
PROFILE_TOP = 15


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
    """Load+compile time/memory, latency per supply mode, profile, optional throughput."""
    from tqdm import tqdm

    from grid_models.compiled import compile_network
    from grid_models.errors import GridSchemeError
    from grid_models.io import read_network
    from grid_models.policy import load_policy
    from scheme_engine.engine import Planner

    out: dict = {}
    policy = load_policy()
    gc.collect()
    rss0 = max_rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    net = read_network(gpkg)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cn = compile_network(net, policy)
    compile_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    rss1 = max_rss_mb()
    out["load"] = {"read_s": read_s, "compile_s": compile_s, "load_compile_s": read_s + compile_s,
                   "load_compile_cpu_s": cpu_s,
                   "rss_before_mb": rss0, "rss_after_mb": rss1, "rss_delta_mb": rss1 - rss0}
    out["network"] = {"nodes": int(len(net.layers["nodes"])),
                      "segments": int(len(net.layers["segments"])),
                      "feeders": int(len(net.layers["feeders"])),
                      "substations": int(len(net.layers["substations"])),
                      "roads": int(len(net.layers["roads"])),
                      "road_vertices": int(cn.road.n_vertices), "road_edges": int(cn.road.n_edges),
                      "version_id": net.version_id}
    del cn, net
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

    for app in make_apps(net2, N_WARMUP, app_seed + 1000):
        with contextlib.suppress(GridSchemeError):
            planner.plan(app)

    # The three modes plan the same points, interleaved (application i in every mode, in a
    # rotating order) so that load from other processes on a shared machine hits them alike.
    samples = {mode: make_apps(net2, n_apps, app_seed, (tier,)) for mode, tier in MODES.items()}
    tallies = {mode: _Tally() for mode in MODES}
    modes = list(MODES)
    for i in tqdm(range(n_apps), desc="latency (3 modes)", file=sys.stderr, mininterval=2.0,
                  leave=False):
        for j in range(len(modes)):
            mode = modes[(i + j) % len(modes)]
            tallies[mode].plan(planner, samples[mode][i])
    out["latency"] = {mode: t.result() for mode, t in tallies.items()}

    # Where the time goes (single source): cProfile over the head of the same sample.
    apps = make_apps(net2, N_PROFILE, app_seed, (MODES["single"],))
    prof = cProfile.Profile()
    prof.enable()
    for app in apps:
        with contextlib.suppress(Exception):
            planner.plan(app)
    prof.disable()
    out["profile"] = _profile_summary(prof, N_PROFILE)

    if n_throughput > 0:
        apps = make_apps(net2, n_throughput, app_seed + 2000, tuple(MODES.values()),
                         (0.7, 0.15, 0.15))
        tally = _Tally()
        t0, c0 = time.perf_counter(), time.process_time()
        for app in tqdm(apps, desc="throughput", file=sys.stderr, mininterval=2.0, leave=False):
            tally.plan(planner, app)
        total, cpu_total = time.perf_counter() - t0, time.process_time() - c0
        res = tally.result(keep_samples=False)
        mix = {t: sum(a["tier"] == t for a in apps) for t in MODES.values()}
        out["throughput"] = {"n_apps": n_throughput, "total_s": total, "cpu_s": cpu_total,
                             "apps_per_s": n_throughput / total, "mix": mix,
                             "n_errors": res["n_errors"], "n_crashes": res["n_crashes"],
                             "p50_ms": res["stats"]["p50"]}
    out["rss_end_mb"] = max_rss_mb()
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
        except Exception as exc:  # an engine bug: report it, keep benchmarking the rest
            self.crashes.append(f"{type(exc).__name__}: {str(exc)[:200]}")
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


def _profile_summary(prof: cProfile.Profile, n_plans: int) -> dict:
    """Top functions by cumulative and by own time, as text and as records."""
    def records(key: str) -> list[dict]:
        st = pstats.Stats(prof).stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
        rows = sorted(st.items(), key=lambda kv: -kv[1][3 if key == "cumulative" else 2])
        return [{"function": _func_name(f), "ncalls": int(v[1]), "tottime_s": float(v[2]),
                 "cumtime_s": float(v[3]), "cum_ms_per_plan": 1000 * float(v[3]) / n_plans}
                for f, v in rows[:PROFILE_TOP]]

    text = {}
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(PROFILE_TOP)
        text[key] = buf.getvalue()
    return {"n_plans": n_plans, "cumulative": records("cumulative"),
            "tottime": records("tottime"), "text": text}


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
    if args.worker == "gen":
        res = phase_gen(args.size, args.seed, networks_dir, args.regenerate)
    else:
        gpkg, _ = network_paths(networks_dir, args.size, args.seed)
        if args.worker == "bench":
            res = phase_bench(gpkg, args.n_apps, args.app_seed, args.n_throughput)
        elif args.worker == "baseline":
            res = phase_baseline(gpkg, args.n_baseline, args.app_seed)
        else:
            raise SystemExit(f"--worker: unknown phase {args.worker!r}; use gen, bench or baseline")
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
    result_file = args.out / f".{phase}_{size}.json"
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
    ap.add_argument("--regenerate", action="store_true", help="ignore cached networks")
    # internal: one phase in a subprocess
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--size", help=argparse.SUPPRESS)
    ap.add_argument("--result-file", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0

    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in ("S", "M", "L")]
    if bad:
        ap.error(f"--sizes: unknown size(s) {bad}; valid: S, M, L")
    args.out = args.out.resolve()
    args.networks_dir = args.networks_dir.resolve()
    report = {"started": dt.datetime.now().isoformat(timespec="seconds"), "machine": _machine(),
              "settings": {"sizes": sizes, "n_apps": args.n_apps, "n_baseline": args.n_baseline,
                           "n_throughput": args.n_throughput, "throughput_size": args.throughput_size,
                           "seed": args.seed, "app_seed": args.app_seed, "modes": MODES,
                           "kva_range": KVA_RANGE, "offset_range_m": OFFSET_RANGE_M,
                           "n_warmup": N_WARMUP, "n_profile": N_PROFILE},
              "goals": GOALS, "sizes": {}}
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
        report["sizes"][size] = r
        _summarise(report)
        _write(report, args.out)  # after every size, so a late failure keeps earlier sizes
    report["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    _summarise(report)
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


# --------------------------------------------------------------------------- summary + report
def _summarise(report: dict) -> None:
    """Baseline ratios and goal pass/fail from the raw phase results."""
    for r in report["sizes"].values():
        b, bl = r.get("bench", {}), r.get("baseline", {})
        if "latency" in b and bl and "error" not in bl:
            eng = np.asarray(b["latency"]["single"].get("samples_ms", []), float)
            head = eng[: bl["n_apps"]]
            head = head[np.isfinite(head)]
            eng_same = float(np.median(head)) if head.size else math.nan
            r["comparison"] = {
                "baseline_median_ms": bl["stats"]["p50"],
                "engine_median_same_apps_ms": eng_same,
                "ratio_same_apps": bl["stats"]["p50"] / eng_same if eng_same else math.nan,
                "ratio_vs_engine_p50": bl["stats"]["p50"] / b["latency"]["single"]["stats"]["p50"],
            }
            ecpu = np.asarray(b["latency"]["single"].get("cpu_samples_ms", []), float)[: bl["n_apps"]]
            ecpu = ecpu[np.isfinite(ecpu)]
            if ecpu.size and "cpu_stats" in bl:
                e = float(np.median(ecpu))
                r["comparison"].update({"baseline_median_cpu_ms": bl["cpu_stats"]["p50"],
                                        "engine_median_same_apps_cpu_ms": e,
                                        "ratio_same_apps_cpu": bl["cpu_stats"]["p50"] / e})
    done = [s for s in ("L", "M", "S") if "load" in report["sizes"].get(s, {}).get("bench", {})]
    if not done:
        return
    size = done[0]
    b = report["sizes"][size]["bench"]
    lat = b["latency"]
    mem_gb = max(b["load"]["rss_delta_mb"], b["load"]["tracemalloc_peak_mb"]) / 1024
    cpu = {mo: lat[mo].get("cpu_stats", {}).get("p50", math.nan) for mo in MODES}
    lc_cpu = b["load"].get("load_compile_cpu_s", math.nan)
    cpu_pass = [lc_cpu <= GOALS["load_compile_s"], None, cpu["single"] <= GOALS["p50_single_ms"],
                cpu["dual_source"] <= GOALS["p50_dual_ms"], cpu["dual_circuit"] <= GOALS["p50_dual_ms"]]
    checks = [
        ("load+compile time", f"{b['load']['load_compile_s']:.2f} s (CPU "
         f"{b['load'].get('load_compile_cpu_s', math.nan):.2f})",
         f"≤ {GOALS['load_compile_s']:g} s", b["load"]["load_compile_s"] <= GOALS["load_compile_s"]),
        ("load+compile memory (max of RSS growth, tracemalloc peak)", f"{mem_gb:.2f} GB",
         f"≤ {GOALS['load_compile_gb']:g} GB", mem_gb <= GOALS["load_compile_gb"]),
        ("p50 single source", f"{lat['single']['stats']['p50']:.1f} ms (CPU {lat['single'].get('cpu_stats', {}).get('p50', math.nan):.1f})",
         f"≤ {GOALS['p50_single_ms']:g} ms", lat["single"]["stats"]["p50"] <= GOALS["p50_single_ms"]),
        ("p50 dual source (一级)", f"{lat['dual_source']['stats']['p50']:.1f} ms (CPU {lat['dual_source'].get('cpu_stats', {}).get('p50', math.nan):.1f})",
         f"≤ {GOALS['p50_dual_ms']:g} ms", lat["dual_source"]["stats"]["p50"] <= GOALS["p50_dual_ms"]),
        ("p50 dual circuit (二级)", f"{lat['dual_circuit']['stats']['p50']:.1f} ms (CPU {lat['dual_circuit'].get('cpu_stats', {}).get('p50', math.nan):.1f})",
         f"≤ {GOALS['p50_dual_ms']:g} ms", lat["dual_circuit"]["stats"]["p50"] <= GOALS["p50_dual_ms"]),
    ]
    report["goal_checks"] = {"size": size, "note": "" if size == "L" else
                             "goals are set for L; L was not run, so they are checked on " + size,
                             "checks": [{"goal": g, "measured": m, "target": t, "pass": bool(p),
                                         "pass_cpu": None if pc is None else bool(pc)}
                                        for (g, m, t, p), pc in zip(checks, cpu_pass, strict=True)]}


def _f(v: object, fmt: str = "{:.1f}") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return fmt.format(v)


def _write(report: dict, out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False,
                                                default=_json_default))
    md = render_markdown(report)
    (out / "report.md").write_text(md)
    return md


def render_markdown(report: dict) -> str:
    """The Markdown report of a :func:`main` run (tables per size, goals, profile)."""
    sizes = list(report["sizes"])
    S = report["sizes"]
    m = report["machine"]
    lines = ["# gridscheme benchmark report", "",
             f"Run {report['started']} → {report.get('finished', '(running)')}; Python "
             f"{m['python']}, {m['cpus']} CPUs, load average at start {m['loadavg_at_start']}. "
             "The machine is shared and noisy: compare ratios, not absolute times.", "",
             f"Settings: {report['settings']['n_apps']} applications per supply mode, "
             f"{report['settings']['n_baseline']} for the baseline, network seed "
             f"{report['settings']['seed']}, application seed {report['settings']['app_seed']}.", ""]

    def row(label: str, get, fmt: str = "{:.1f}") -> str:
        vals = []
        for s in sizes:
            try:
                vals.append(_f(get(S[s]), fmt))
            except (KeyError, TypeError, IndexError):
                vals.append("–")
        return f"| {label} | " + " | ".join(vals) + " |"

    hdr = "| | " + " | ".join(sizes) + " |"
    sep = "|---|" + "---:|" * len(sizes)
    lines += ["## Network and load+compile", "", hdr, sep,
              row("grid nodes", lambda r: r["bench"]["network"]["nodes"], "{:,}"),
              row("segments", lambda r: r["bench"]["network"]["segments"], "{:,}"),
              row("feeders", lambda r: r["bench"]["network"]["feeders"], "{:,}"),
              row("road vertices", lambda r: r["bench"]["network"]["road_vertices"], "{:,}"),
              row("road edges", lambda r: r["bench"]["network"]["road_edges"], "{:,}"),
              row("GeoPackage size (MB)", lambda r: r["generation"]["file_mb"]),
              row("generation (s, once, informational)", lambda r: r["generation"]["generate_s"], "{:.2f}"),
              row("GeoPackage read (s)", lambda r: r["bench"]["load"]["read_s"], "{:.2f}"),
              row("compile_network (s)", lambda r: r["bench"]["load"]["compile_s"], "{:.2f}"),
              row("**load+compile (s)**", lambda r: r["bench"]["load"]["load_compile_s"], "**{:.2f}**"),
              row("load+compile CPU time (s)", lambda r: r["bench"]["load"]["load_compile_cpu_s"], "{:.2f}"),
              row("tracemalloc peak, load+compile (MB)", lambda r: r["bench"]["load"]["tracemalloc_peak_mb"], "{:,.0f}"),
              row("max-RSS growth, load+compile (MB)", lambda r: r["bench"]["load"]["rss_delta_mb"], "{:,.0f}"),
              row("Planner(network) init (s)", lambda r: r["bench"]["load"]["planner_init_s"], "{:.2f}"),
              row("process max RSS at end (MB)", lambda r: r["bench"]["rss_end_mb"], "{:,.0f}"), ""]

    lines += ["## Per-application latency, warm (ms)", "", hdr, sep]
    for mode, tier in MODES.items():
        for q in ("p50", "p90", "p99", "max"):
            lines.append(row(f"{mode} ({tier}) {q}", lambda r, mo=mode, q=q:
                             r["bench"]["latency"][mo]["stats"][q]))
        lines.append(row(f"{mode} ({tier}) p50 CPU time", lambda r, mo=mode:
                         r["bench"]["latency"][mo]["cpu_stats"]["p50"]))
        lines.append(row(f"{mode}: input errors / crashes / no feasible scheme",
                         lambda r, mo=mode: "{} / {} / {}".format(
                             r["bench"]["latency"][mo]["n_errors"], r["bench"]["latency"][mo]["n_crashes"],
                             r["bench"]["latency"][mo]["n_no_feasible"]), "{}"))
    lines.append("")

    lines += ["## Baseline (networkx Dijkstra per candidate + pandapower runpp)", "", hdr, sep,
              row("applications", lambda r: r["baseline"]["n_apps"], "{}"),
              row("road graph build, once (s)", lambda r: r["baseline"]["setup"]["graph_s"], "{:.2f}"),
              row("pandapower net build, once (s)", lambda r: r["baseline"]["setup"]["pandapower_s"], "{:.2f}"),
              row("baseline median per application (ms)", lambda r: r["baseline"]["stats"]["p50"], "{:,.1f}"),
              row("… nearest 10 nodes (ms)", lambda r: r["baseline"]["stage_median_ms"]["nearest"], "{:,.1f}"),
              row("… 10× shortest_path_length (ms)", lambda r: r["baseline"]["stage_median_ms"]["dijkstra"], "{:,.1f}"),
              row("… runpp (ms)", lambda r: r["baseline"]["stage_median_ms"]["powerflow"], "{:,.1f}"),
              row("engine median, same applications (ms)", lambda r: r["comparison"]["engine_median_same_apps_ms"]),
              row("**ratio baseline / engine (same apps)**", lambda r: r["comparison"]["ratio_same_apps"], "**{:.1f}×**"),
              row("baseline median CPU time (ms)", lambda r: r["comparison"]["baseline_median_cpu_ms"], "{:,.1f}"),
              row("engine median CPU time, same applications (ms)", lambda r: r["comparison"]["engine_median_same_apps_cpu_ms"]),
              row("**ratio baseline / engine, CPU time**", lambda r: r["comparison"]["ratio_same_apps_cpu"], "**{:.1f}×**"),
              row("power flows converged", lambda r: "{}/{}".format(r["baseline"]["n_converged"], r["baseline"]["n_apps"]), "{}"),
              ""]

    tp = [(s, S[s]["bench"]["throughput"]) for s in sizes if "throughput" in S[s].get("bench", {})]
    if tp:
        lines += ["## Throughput", ""]
        for s, t in tp:
            lines.append(f"{t['n_apps']:,} applications on {s} in one process (mix {t['mix']}): "
                         f"**{t['total_s']:.1f} s** wall, {t.get('cpu_s', math.nan):.1f} s CPU "
                         f"({t['apps_per_s']:.1f} applications/s, median "
                         f"{t['p50_ms']:.1f} ms; {t['n_errors']} input errors, {t['n_crashes']} crashes).")
        lines.append("")

    gc_ = report.get("goal_checks")
    if gc_:
        lines += [f"## Goals (checked on {gc_['size']})", ""]
        if gc_["note"]:
            lines += [f"Note: {gc_['note']}.", ""]
        lines += ["Result is judged on wall time (the goal); \"on CPU time\" says whether the same "
                  "goal is met by the process's CPU time, i.e. on an unloaded machine.", "",
                  "| goal | measured | target | result | on CPU time |", "|---|---:|---:|---|---|"]
        lines += [f"| {c['goal']} | {c['measured']} | {c['target']} | {'PASS' if c['pass'] else 'FAIL'} | "
                  f"{'' if c.get('pass_cpu') is None else ('PASS' if c['pass_cpu'] else 'FAIL')} |"
                  for c in gc_["checks"]]
        lines.append("")

    crashes = [(s, mo, c) for s in sizes for mo, v in S[s].get("bench", {}).get("latency", {}).items()
               for c in v.get("crashes", [])]
    errs = [(s, mo, e, k) for s in sizes for mo, v in S[s].get("bench", {}).get("latency", {}).items()
            for e, k in v.get("errors", {}).items()]
    failed = [(s, ph, S[s][ph]["error"]) for s in sizes for ph in ("generation", "bench", "baseline")
              if isinstance(S[s].get(ph), dict) and "error" in S[s][ph]]
    if crashes or errs or failed:
        lines += ["## Failures", ""]
        lines += [f"- {s} {ph}: {e}" for s, ph, e in failed]
        lines += [f"- {s} {mo}: engine crash `{c}`" for s, mo, c in crashes]
        lines += [f"- {s} {mo}: {k}× input error `{e}`" for s, mo, e, k in errs]
        lines.append("")

    prof_size = next((s for s in ("L", "M", "S") if "profile" in S.get(s, {}).get("bench", {})), None)
    if prof_size:
        p = S[prof_size]["bench"]["profile"]
        lines += [f"## Where the time goes: single source on {prof_size} "
                  f"(cProfile, {p['n_plans']} plans)", "",
                  "Top by cumulative time (ms per plan includes callees; cProfile overhead "
                  "inflates Python-heavy code):", "",
                  "| function | calls | cum ms / plan | own s |", "|---|---:|---:|---:|"]
        lines += [f"| `{x['function']}` | {x['ncalls']:,} | {x['cum_ms_per_plan']:.2f} | "
                  f"{x['tottime_s']:.3f} |" for x in p["cumulative"]]
        lines += ["", "Top by own time:", "", "| function | calls | own ms / plan |", "|---|---:|---:|"]
        lines += [f"| `{x['function']}` | {x['ncalls']:,} | {1000 * x['tottime_s'] / p['n_plans']:.2f} |"
                  for x in p["tottime"]]
        lines.append("")
    lp_size = next((s for s in ("L", "M", "S") if "load_profile" in S.get(s, {}).get("bench", {})), None)
    if lp_size:
        p = S[lp_size]["bench"]["load_profile"]
        lines += [f"## Where load+compile time goes on {lp_size} (cProfile, one read+compile)", "",
                  "| function | calls | cum s | own s |", "|---|---:|---:|---:|"]
        lines += [f"| `{x['function']}` | {x['ncalls']:,} | {x['cumtime_s']:.2f} | {x['tottime_s']:.2f} |"
                  for x in p["cumulative"]]
        lines.append("")
    lines += ["See `benchmarks/README.md` for what each number means.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
