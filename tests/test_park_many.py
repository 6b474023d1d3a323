"""Many parks through Dask: a run killed part way resumes; every park's result exactly once and
identical to an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

pytest.importorskip("dask.distributed")

DEMO = Path(__file__).resolve().parent.parent / "grid_models" / "demo" / "demo_city_S.gpkg"


def _parks(path: Path) -> None:
    parts = []
    for k, (cx, cy) in enumerate([(397700, 4393900), (398000, 4393600), (399300, 4392300),
                                  (400300, 4395400), (397500, 4392600)]):
        boxes = [(cx + i * 90, cy + j * 90, cx + i * 90 + 80, cy + j * 90 + 80)
                 for i in range(3) for j in range(3)]
        parts.append(gpd.GeoDataFrame(
            {"park_id": f"K{k}", "parcel_id": [f"K{k}-{i}" for i in range(9)],
             "land_use": ["M1", "W", "B"] * 3, "plot_ratio": 1.2},
            geometry=[shapely.box(*b) for b in boxes], crs="EPSG:4545"))
    pd.concat(parts).to_crs("EPSG:4326").to_file(path, driver="GeoJSON")


def _run(out: Path, parks: Path, env: dict, **kw) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "api.cli", "park", "run-many", "--network", str(DEMO),
           "--parks", str(parks), "--out", str(out), "--workers", "1", "--gap", "0",
           "--quiet"]
    return subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)


def _results(out: Path) -> dict[str, dict]:
    docs = {}
    for d in sorted((out / "parks").iterdir()):
        f = d / "done.json"
        if f.exists():
            docs[d.name] = json.loads(f.read_text(encoding="utf-8"))
    return docs


@pytest.mark.slow
def test_killed_multi_park_run_resumes_to_the_same_results(tmp_path):
    parks = tmp_path / "parks.geojson"
    _parks(parks)
    env = {**os.environ, "GRIDSCHEME_CACHE_DIR": str(tmp_path / "cache")}
    # uninterrupted reference
    ref = tmp_path / "ref"
    p = _run(ref, parks, env)
    assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    want = _results(ref)
    assert sorted(want) == [f"K{k}" for k in range(5)]
    # killed as soon as the first park's checkpoint exists, then resumed
    out = tmp_path / "run"
    p = _run(out, parks, env)
    t0 = time.time()
    while time.time() - t0 < 240:
        if out.exists() and (out / "parks").exists() and any(
                (d / "done.json").exists() for d in (out / "parks").iterdir()):
            break
        if p.poll() is not None:
            break
        time.sleep(0.05)
    killed = p.poll() is None
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    partial = _results(out)
    assert 1 <= len(partial) <= 5
    p = _run(out, parks, env)
    assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    got = _results(out)
    assert got == want  # every park once, identical (reservations included)
    idx = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [x["park_id"] for x in idx["parks"]] == sorted(want)
    assert all(x["status"] == "done" for x in idx["parks"])
    if killed and len(partial) < 5:
        # the resumed run did not recompute the finished parks
        for k, doc in partial.items():
            assert (out / "parks" / k / "done.json").stat().st_mtime <= t0 + 1e9
            assert got[k] == doc
