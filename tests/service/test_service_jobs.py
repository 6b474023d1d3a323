"""Background jobs: plan_batch over HTTP, progress, item errors, cancellation, idempotency, and
the exactly-once protocol when a lease expires under a live worker."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from .conftest import Service, demo_application, fresh_database

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _wait(svc: Service, jid: str, who: str = "designer", timeout: float = 60) -> dict:
    t0 = time.time()
    while time.time() - t0 < timeout:
        j = svc.client.get(f"/v1/jobs/{jid}", headers=svc.h(who)).json()
        if j["status"] in ("completed", "failed", "cancelled"):
            return j
        time.sleep(0.1)
    raise AssertionError(f"job {jid} still {j['status']}")


def test_plan_batch_results_and_item_errors(service: Service) -> None:
    apps = [demo_application(customer_name=f"批量{i}", requested_kva=400 + 100 * i, tier="普通")
            for i in range(12)]
    apps[4] = demo_application(customer_name="远处", lon=100.0, lat=30.0)  # outside the city
    r = service.client.post("/v1/jobs", json={"kind": "plan_batch", "applications": apps, "top_k": 2},
                            headers=service.h("designer"))
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running") and job["progress"]["total"] == 12
    done = _wait(service, job["id"])
    assert done["status"] == "completed"
    assert done["progress"] == {"total": 12, "done": 12, "failed": 1, "fraction": 1.0}
    items = service.client.get(f"/v1/jobs/{job['id']}/items?limit=50",
                               headers=service.h("designer")).json()
    assert [i["index"] for i in items["items"]] == list(range(12))
    bad = items["items"][4]
    assert bad["status"] == "failed" and bad["result"] is None
    assert bad["error"]["code"] == "invalid_application" and bad["error"]["field"] == "lon"
    good = items["items"][7]
    assert good["status"] == "done" and good["result"]["application"]["customer_name"] == "批量7"
    assert 1 <= len(good["result"]["schemes"]) <= 2
    assert good["network_version"] == done["network_version"] == good["result"]["network_version"]
    assert good["policy_id"] == done["policy_id"]
    failed = service.client.get(f"/v1/jobs/{job['id']}/items?status=failed",
                                headers=service.h("designer")).json()
    assert failed["total"] == 1 and failed["items"][0]["index"] == 4


def test_job_idempotency_and_limits(service: Service) -> None:
    c, h = service.client, service.h("cust_a")
    body = {"kind": "plan_batch", "applications": [demo_application(requested_kva=700)]}
    first = c.post("/v1/jobs", json=body, headers={**h, "Idempotency-Key": "batch-1"})
    again = c.post("/v1/jobs", json=body, headers={**h, "Idempotency-Key": "batch-1"})
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = c.post("/v1/jobs", json={**body, "top_k": 1}, headers={**h, "Idempotency-Key": "batch-1"})
    assert other.status_code == 409 and other.json()["error"]["field"] == "Idempotency-Key"
    too_many = {"kind": "plan_batch", "applications": [demo_application()] * 3}
    limit = service.app.state.ctx.settings.max_job_items
    service.app.state.ctx.settings.max_job_items = 2
    try:
        r = c.post("/v1/jobs", json=too_many, headers=h)
    finally:
        service.app.state.ctx.settings.max_job_items = limit
    assert r.status_code == 422 and r.json()["error"]["field"] == "applications"
    bad = c.post("/v1/jobs", json={"kind": "plan_batch", "applications": [{"lon": 1}]}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "applications.0.requested_kva"


def test_cancel_stops_a_running_job(service: Service) -> None:
    from api.store.models import JobItem

    apps = [demo_application(customer_name=f"c{i}", requested_kva=500 + i) for i in range(400)]
    j = service.client.post("/v1/jobs", json={"kind": "plan_batch", "applications": apps},
                            headers=service.h("designer")).json()
    r = service.client.post(f"/v1/jobs/{j['id']}/cancel", headers=service.h("designer"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    time.sleep(1.0)  # a chunk in flight is rolled back, nothing more is written
    after = service.client.get(f"/v1/jobs/{j['id']}", headers=service.h("designer")).json()
    assert after["status"] == "cancelled" and after["progress"]["done"] < 400
    with service.db.read() as s:
        n_done = s.scalar(sa.select(sa.func.count()).select_from(JobItem)
                          .where(JobItem.job_id == j["id"], JobItem.status != "pending"))
    assert n_done == after["progress"]["done"]
    again = service.client.post(f"/v1/jobs/{j['id']}/cancel", headers=service.h("designer"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_lease_taken_over_writes_each_item_once(backend: str, tmp_path) -> None:
    """Worker A claims a job and computes a chunk, then stalls past its lease; worker B takes the
    job over and finishes it; A's late commit must write nothing."""
    from api.jobs.kinds import ItemOutcome
    from api.jobs.runner import _commit_chunk, _LeaseLost, claim_job, process_job, submit_job
    from api.store import Database
    from api.store.models import Job, JobItem, NetworkVersion, utcnow

    with fresh_database(backend, tmp_path) as url:
        db = Database(url)
        db.migrate()
        with db.write() as s:
            s.add(NetworkVersion(version_id="0" * 16, name="t", summary={}, warnings=[],
                                 file_sha256="x", size_bytes=0, created_by="t", created_at=utcnow()))
        inputs = [{"n": i} for i in range(10)]
        job = submit_job(db, kind="echo", owner="o", created_by="t", network_version="0" * 16,
                         policy_name="default", policy_id="p", params={}, inputs=inputs,
                         idempotency_key=None, request_sha256="h")

        class Echo:
            name = "echo"

            def run(self, ctx, chunk):
                return [ItemOutcome(result_json=f'{{"n": {c["n"]}}}') for c in chunk]

        from api.jobs import kinds

        kinds.JOB_KINDS["echo"] = Echo()  # type: ignore[assignment]
        try:
            # leases long enough that a loaded machine does not expire A's before B asks
            assert claim_job(db, "A", lease_s=2.0) == job.id
            assert claim_job(db, "B", lease_s=2.0) is None  # A holds the lease
            with db.read() as s:
                pend = s.execute(sa.select(JobItem.id, JobItem.input).where(JobItem.job_id == job.id)
                                 .order_by(JobItem.idx).limit(4)).all()
            outs = Echo().run(None, [p.input for p in pend])
            time.sleep(2.2)  # A stalls: its lease expires
            assert claim_job(db, "B", lease_s=30) == job.id
            assert process_job(db, job.id, "B", lease_s=30, chunk=3,
                               get_planner=lambda v, p: None) == "completed"
            with pytest.raises(_LeaseLost):
                _commit_chunk(db, job.id, "A", 2.0, pend, outs)
            with db.read() as s:
                j = s.get(Job, job.id)
                rows = s.execute(sa.select(JobItem.idx, JobItem.status, JobItem.worker)
                                 .where(JobItem.job_id == job.id).order_by(JobItem.idx)).all()
            assert j.status == "completed" and j.done == 10 and j.attempts == 2
            assert [r.idx for r in rows] == list(range(10))
            assert {r.status for r in rows} == {"done"} and {r.worker for r in rows} == {"B"}
        finally:
            kinds.JOB_KINDS.pop("echo", None)
            db.dispose()
