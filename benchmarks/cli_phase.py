"""The ``cli`` phase of the benchmark: ``gridscheme plan`` as a user runs it.

The real console script runs as a subprocess (so interpreter start-up, imports, the
compiled-view cache and printing all count), with a private ``GRIDSCHEME_CACHE_DIR``: one cold
run (empty cache), then warm runs; wall time, CPU time and max RSS of each child come from
``os.wait4``. One more warm run under ``python -X importtime`` and one under cProfile say
where the time goes.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .run import N_CLI_RUNS, ROOT, _profile_summary

_CLI_PROFILE = """\
import cProfile, sys
prof = cProfile.Profile()
prof.enable()
from api.cli import main
try:
    rc = main(sys.argv[2:])
finally:
    prof.disable()
    prof.dump_stats(sys.argv[1])
sys.exit(rc)
"""
_CLI_IMPORTTIME = "import sys\nfrom api.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def cli_executable() -> str | None:
    """The ``gridscheme`` console script of this interpreter's environment (else on PATH)."""
    import shutil

    exe = Path(sys.executable).with_name("gridscheme")
    return str(exe) if exe.exists() else shutil.which("gridscheme")


def timed_child(cmd: list[str], env: dict[str, str]) -> dict:
    """Run ``cmd`` to the end: wall seconds, child CPU seconds (user + system), max RSS (MB),
    exit code and (on failure) the end of its error output."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
        res = {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "max_rss_mb": ru.ru_maxrss / 1024,
               "rc": rc}
        out.seek(0)
        res["stdout_bytes"] = len(out.read())
        if rc != 0:
            err.seek(0)
            res["stderr_tail"] = err.read().decode(errors="replace")[-400:]
    return res


def phase_cli(gpkg: Path, app: dict, cache_dir: Path, n_runs: int = N_CLI_RUNS) -> dict:
    """``gridscheme plan --network NET --lon .. --lat .. --kva ..`` as a user runs it.

    The compiled-view cache (:mod:`grid_models.cache`) lives in a private
    ``GRIDSCHEME_CACHE_DIR`` emptied first: the first run is cold (read, validate, compile,
    write the cache), the next ``n_runs`` are warm. Then one warm run under ``-X importtime``
    (import seconds) and one under cProfile (where the time goes).
    """
    import shutil

    exe = cli_executable()
    if exe is None:
        return {"error": "the gridscheme console script is not installed (pip install -e .)"}
    argv = ["plan", "--network", str(gpkg), "--lon", repr(app["lon"]), "--lat", repr(app["lat"]),
            "--kva", f"{app['requested_kva']:g}"]
    shutil.rmtree(cache_dir, ignore_errors=True)
    cache_dir.mkdir(parents=True)
    env = {**os.environ, "GRIDSCHEME_CACHE_DIR": str(cache_dir)}
    # A user's Python keeps the bytecode it compiles (__pycache__); a sandbox or CI that sets
    # PYTHONDONTWRITEBYTECODE would make every warm run compile the project's modules again
    # (~0.1 s) and time what no user sees. The cold run writes it, as a user's first run does.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cold = timed_child([exe, *argv], env)
    warm = [timed_child([exe, *argv], env) for _ in range(n_runs)]
    out = {"command": "gridscheme " + " ".join(argv), "application": app, "cold": cold,
           "warm": warm, "cache_mb": sum(f.stat().st_size for f in cache_dir.rglob("*")
                                         if f.is_file()) / 2**20}
    bad = [r for r in [cold, *warm] if r["rc"] != 0]
    if bad:
        out["error"] = f"gridscheme plan exited with {bad[0]['rc']}: {bad[0].get('stderr_tail', '')}"
    w = np.array([r["wall_s"] for r in warm], float)
    c = np.array([r["cpu_s"] for r in warm], float)
    out["warm_stats"] = {"median_s": float(np.median(w)), "max_s": float(w.max()),
                         "min_s": float(w.min()), "median_cpu_s": float(np.median(c)),
                         "max_rss_mb": max(r["max_rss_mb"] for r in warm)}
    # imports of a warm run (-X importtime writes one line per module to stderr)
    py = sys.executable
    proc = subprocess.run([py, "-X", "importtime", "-c", _CLI_IMPORTTIME, *argv], env=env,
                          cwd=ROOT, capture_output=True, text=True, check=False)
    out["imports"] = parse_importtime(proc.stderr)
    prof_file = cache_dir.parent / f".cli_{gpkg.stem}.prof"
    subprocess.run([py, "-c", _CLI_PROFILE, str(prof_file), *argv], env=env, cwd=ROOT,
                   capture_output=True, check=False)
    if prof_file.exists():
        out["profile"] = _profile_summary(str(prof_file), 1, no_imports=True)
        prof_file.unlink()
    return out


def parse_importtime(stderr: str, top: int = 10) -> dict:
    """Total and top-level modules of ``python -X importtime`` output (seconds).

    Lines read ``import time: <self us> | <cumulative us> | <indent><module>``; the least
    indented modules are the ones imported directly, their cumulative times add up to the
    whole import time.
    """
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3:
            continue
        try:
            self_us, cum_us = int(parts[0]), int(parts[1])
        except ValueError:
            continue
        name = parts[2]
        rows.append((len(name) - len(name.lstrip()), name.strip(), self_us, cum_us))
    if not rows:
        return {"total_s": math.nan, "top": []}
    depth = min(r[0] for r in rows)
    tops = sorted((r for r in rows if r[0] == depth), key=lambda r: -r[3])
    return {"total_s": sum(r[3] for r in tops) / 1e6, "n_modules": len(rows),
            "top": [{"module": r[1], "cumulative_s": r[3] / 1e6} for r in tops[:top]]}
