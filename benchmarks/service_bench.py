"""Throughput of the HTTP service: plan requests per second on the demo (S) city.

Starts ``gridscheme serve`` in a fresh data folder (or on ``--database``), then N concurrent
clients POST applications (random points inside the city, mixed kVA and tiers) over keep-alive
connections. Reports requests/s, client latency, the server-side time of each request (``Server-Timing:
app``, from the first byte in to the response start, including waiting for the planner) and the
engine's own planning time (``Server-Timing: plan``), p50/p99. Not part of the tests.

    .venv/bin/python -m benchmarks.service_bench [--requests 2000] [--clients 4] [--workers 1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

TIERS = ("普通", "普通", "普通", "二级", "一级")
INDUSTRIES = ("others", "data_centre", "commercial", "two_shift_manufacturing")


def _applications(n: int, seed: int) -> list[dict]:
    from api.plan_cli import DEMO_NETWORK
    from grid_models.io import read_network

    b = read_network(DEMO_NETWORK).geographic_bounds()
    rng = random.Random(seed)
    w, h = b[2] - b[0], b[3] - b[1]
    out = []
    for i in range(n):
        out.append({"customer_name": f"bench-{i}",
                    "lon": round(b[0] + w * rng.uniform(0.2, 0.8), 6),
                    "lat": round(b[1] + h * rng.uniform(0.2, 0.8), 6),
                    "requested_kva": rng.choice((400, 800, 1250, 2000, 2500, 4000, 6300)),
                    "tier": rng.choice(TIERS), "industry": rng.choice(INDUSTRIES)})
    return out


def _start_server(port: int, data_dir: str, database: str | None, workers: int) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--data-dir", data_dir]
    if database:
        cmd += ["--database", database]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    token = None
    t0 = time.time()
    assert p.stdout is not None
    while time.time() - t0 < 120:
        line = p.stdout.readline()
        if not line:
            break
        if re.fullmatch(r"gs_\S+", line.strip()):
            token = line.strip()
            break
    if token is None:
        p.kill()
        raise SystemExit("the server did not print an admin token")
    threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()  # drain
    url = f"http://127.0.0.1:{port}"
    while time.time() - t0 < 120:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return p, token
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    p.kill()
    raise SystemExit("the server did not become ready")


def run(requests: int, clients: int, workers: int, port: int, database: str | None,
        seed: int, warmup: int) -> dict:
    apps = _applications(requests + warmup, seed)
    with tempfile.TemporaryDirectory() as d:
        server, token = _start_server(port, d, database, workers)
        try:
            url = f"http://127.0.0.1:{port}/v1/applications"
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(headers=headers, timeout=30) as c:
                for a in apps[:warmup]:
                    c.post(url, json=a)
            lock = threading.Lock()
            queue = iter(apps[warmup:])
            lat: list[float] = []
            srv: list[float] = []
            eng: list[float] = []
            status: dict[int, int] = {}

            def client() -> None:
                # the standard library's client: light, so the clients leave the CPU to the server
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                hdrs = {**headers, "Content-Type": "application/json"}
                while True:
                    with lock:
                        a = next(queue, None)
                    if a is None:
                        conn.close()
                        return
                    body = json.dumps(a).encode()
                    t = time.perf_counter()
                    conn.request("POST", "/v1/applications", body=body, headers=hdrs)
                    r = conn.getresponse()
                    r.read()
                    dt = (time.perf_counter() - t) * 1000
                    timing = ",".join(v for k, v in r.getheaders() if k.lower() == "server-timing")
                    m = re.search(r"app;dur=([0-9.]+)", timing)
                    p = re.search(r"plan;dur=([0-9.]+)", timing)
                    with lock:
                        lat.append(dt)
                        if m:
                            srv.append(float(m.group(1)))
                        if p:
                            eng.append(float(p.group(1)))
                        status[r.status] = status.get(r.status, 0) + 1

            threads = [threading.Thread(target=client) for _ in range(clients)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
    la, sv, en = np.array(lat), np.array(srv), np.array(eng)
    return {"requests": len(lat), "clients": clients, "server_workers": workers,
            "database": "postgresql" if database else "sqlite", "wall_s": round(wall, 2),
            "requests_per_s": round(len(lat) / wall, 1), "status": status,
            "client_ms": {"p50": round(float(np.percentile(la, 50)), 2),
                          "p99": round(float(np.percentile(la, 99)), 2)},
            "server_ms": {"p50": round(float(np.percentile(sv, 50)), 2),
                          "p99": round(float(np.percentile(sv, 99)), 2)},
            "engine_plan_ms": {"p50": round(float(np.percentile(en, 50)), 2),
                               "p99": round(float(np.percentile(en, 99)), 2)},
            "cpu_count": os.cpu_count()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", type=int, default=1, help="server processes (gridscheme serve --workers)")
    ap.add_argument("--port", type=int, default=8799)
    ap.add_argument("--database", help="database URL (default: SQLite in a temporary folder)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--out", default="benchmarks/results/service_bench.json")
    a = ap.parse_args()
    res = run(a.requests, a.clients, a.workers, a.port, a.database, a.seed, a.warmup)
    print(json.dumps(res, indent=1))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
