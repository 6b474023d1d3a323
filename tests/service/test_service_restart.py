"""Kill ``gridscheme serve`` (server and job worker, SIGKILL) in the middle of a batch job,
start it again: the job finishes with every item's result present exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from .conftest import demo_application, fresh_database

N_ITEMS = 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str, data_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "GRIDSCHEME_JOB_LEASE_S": "2", "GRIDSCHEME_JOB_CHUNK": "10",
           "GRIDSCHEME_JOB_POLL_S": "0.1"}
    p = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port),
                          "--database", url, "--data-dir", str(data_dir)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                         start_new_session=True)
    token = None
    t0 = time.time()
    while time.time() - t0 < 60 and token is None:
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith("gs_"):
            token = line.strip()
    assert token, "serve printed no admin token"
    while time.time() - t0 < 60:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return p, token
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    os.killpg(p.pid, signal.SIGKILL)
    raise AssertionError("serve did not become ready")


def _job(port: int, token: str, jid: str) -> dict:
    return httpx.get(f"http://127.0.0.1:{port}/v1/jobs/{jid}",
                     headers={"Authorization": f"Bearer {token}"}, timeout=10).json()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_job_survives_a_killed_server(backend: str, tmp_path: Path) -> None:
    from api.store import Database
    from api.store.models import Job, JobItem

    with fresh_database(backend, tmp_path) as url:
        port = _free_port()
        server, token = _serve(url, tmp_path / "data", port)
        try:
            apps = [demo_application(customer_name=f"item-{i}", requested_kva=400 + i, tier="普通")
                    for i in range(N_ITEMS)]
            r = httpx.post(f"http://127.0.0.1:{port}/v1/jobs",
                           json={"kind": "plan_batch", "applications": apps, "top_k": 1},
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert r.status_code == 202, r.text
            jid = r.json()["id"]
            t0 = time.time()
            while time.time() - t0 < 60:
                done = _job(port, token, jid)["progress"]["done"]
                if done >= 10:
                    break
                time.sleep(0.02)
        finally:
            os.killpg(server.pid, signal.SIGKILL)  # the server and its job worker, no clean-up
            server.wait(10)
        db = Database(url)
        with db.read() as s:
            j = s.get(Job, jid)
            stored = s.scalar(sa.select(sa.func.count()).select_from(JobItem)
                              .where(JobItem.job_id == jid, JobItem.status != "pending"))
        assert j.status == "running" and 0 < j.done < N_ITEMS, (j.status, j.done)
        assert stored == j.done
        killed_at = j.done

        server, token = _serve(url, tmp_path / "data", port)
        try:
            t0 = time.time()
            while time.time() - t0 < 120:
                job = _job(port, token, jid)
                if job["status"] != "running" and job["status"] != "queued":
                    break
                time.sleep(0.2)
            assert job["status"] == "completed", job
            assert job["progress"] == {"total": N_ITEMS, "done": N_ITEMS, "failed": 0,
                                       "fraction": 1.0}
            assert job["attempts"] == 2  # claimed again after the first worker died
            items = []
            for off in range(0, N_ITEMS, 200):
                page = httpx.get(f"http://127.0.0.1:{port}/v1/jobs/{jid}/items?offset={off}&limit=200",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
                items += page["items"]
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
        assert [i["index"] for i in items] == list(range(N_ITEMS))
        assert all(i["status"] == "done" for i in items)
        assert [i["result"]["application"]["customer_name"] for i in items] == \
            [f"item-{k}" for k in range(N_ITEMS)]
        with db.read() as s:
            rows = s.execute(sa.select(JobItem.idx, sa.func.count()).where(JobItem.job_id == jid)
                             .group_by(JobItem.idx)).all()
            workers = s.execute(sa.select(JobItem.worker).where(JobItem.job_id == jid)
                                .distinct()).scalars().all()
        db.dispose()
        assert len(rows) == N_ITEMS and {n for _, n in rows} == {1}
        assert len(workers) == 2 and killed_at < N_ITEMS  # both workers wrote part of the job
