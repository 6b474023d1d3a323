"""Job state in the database: submit, claim, compute in chunks, finish, cancel.

Exactly-once results survive any crash:
- a worker *claims* a job with a compare-and-set on its lease (``status``/``lease_until``), so
  two workers never both hold it; a lease not renewed (the worker died) expires and the job is
  claimed again, resuming where it stopped;
- each chunk is committed in one transaction that first renews the lease *only if this worker
  still holds it* (else the whole chunk rolls back), then writes each item with a conditional
  update ``WHERE status = 'pending'`` and adds what it wrote to the job's counters. A crash
  before the commit loses only uncommitted work, which is recomputed; nothing is written twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from api.store.db import Database, rowcount
from api.store.models import Job, JobItem, utcnow

from .kinds import JOB_KINDS, JobContext

log = logging.getLogger("gridscheme.jobs")

ACTIVE = ("queued", "running")
FINAL = ("completed", "failed", "cancelled")


class _LeaseLost(Exception):
    """This worker no longer holds the job (expired, taken over or cancelled)."""


def new_job_id() -> str:
    return "j_" + secrets.token_hex(10)


def new_worker_id() -> str:
    import os
    import socket

    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


def submit_job(db: Database, *, kind: str, owner: str, created_by: str, network_version: str,
               policy_name: str, policy_id: str, params: dict[str, Any],
               inputs: list[dict[str, Any]], idempotency_key: str | None,
               request_sha256: str) -> Job:
    """Store a job and its items (queued) in one transaction."""
    jid = new_job_id()
    job = Job(id=jid, kind=kind, owner=owner, created_by=created_by, status="queued",
              params=params, network_version=network_version, policy_name=policy_name,
              policy_id=policy_id, total=len(inputs), done=0, failed=0, attempts=0,
              idempotency_key=idempotency_key, request_sha256=request_sha256,
              created_at=utcnow())
    with db.write() as s:
        s.add(job)
        s.flush()
        if inputs:
            s.execute(sa.insert(JobItem), [{"job_id": jid, "idx": i, "status": "pending",
                                            "input": inp} for i, inp in enumerate(inputs)])
    return job


def _claimable(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.or_(Job.status == "queued",
                  sa.and_(Job.status == "running",
                          sa.or_(Job.lease_until.is_(None), Job.lease_until < now)))


def claim_job(db: Database, worker_id: str, lease_s: float) -> str | None:
    """Claim the oldest queued job or a running job whose lease expired; its id or None."""
    now = utcnow()
    with db.write() as s:
        jid = s.scalar(sa.select(Job.id).where(_claimable(now)).order_by(Job.created_at)
                       .limit(1).with_for_update(skip_locked=True))
        if jid is None:
            return None
        r = s.execute(sa.update(Job).where(Job.id == jid, _claimable(now)).values(
            status="running", lease_owner=worker_id,
            lease_until=now + dt.timedelta(seconds=lease_s),
            started_at=sa.func.coalesce(Job.started_at, now), attempts=Job.attempts + 1))
        return jid if rowcount(r) == 1 else None


def _renew(s: sa.orm.Session, jid: str, worker_id: str, lease_s: float) -> bool:
    r = s.execute(sa.update(Job).where(Job.id == jid, Job.lease_owner == worker_id,
                                       Job.status == "running")
                  .values(lease_until=utcnow() + dt.timedelta(seconds=lease_s)))
    return rowcount(r) == 1


class _Heartbeat(threading.Thread):
    """Renews the lease while a long chunk is computed."""

    def __init__(self, db: Database, jid: str, worker_id: str, lease_s: float) -> None:
        super().__init__(daemon=True, name=f"lease-{jid}")
        self.db, self.jid, self.worker_id, self.lease_s = db, jid, worker_id, lease_s
        self.stop = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.stop.wait(self.lease_s / 3):
            try:
                with self.db.write() as s:
                    if not _renew(s, self.jid, self.worker_id, self.lease_s):
                        self.lost = True
                        return
            except Exception:  # a transient database error: the next beat retries
                log.warning("lease renewal of %s failed", self.jid, exc_info=True)


def process_job(db: Database, jid: str, worker_id: str, *, lease_s: float, chunk: int,
                get_planner: Callable[[str, str], Any],
                should_stop: Callable[[], bool] = lambda: False) -> str:
    """Compute the pending items of a claimed job, chunk by chunk.

    Returns
    -------
    str
        ``completed``, ``failed``, ``released`` (stopping: the lease was handed back) or
        ``lost`` (the lease was lost: cancelled, or taken over after expiry).
    """
    with db.read() as s:
        job = s.get(Job, jid)
    if job is None:
        return "lost"
    kind = JOB_KINDS.get(job.kind)
    if kind is None:
        return _fail(db, jid, worker_id, {"code": "unknown_kind",
                                           "message": f"no job kind {job.kind!r} in this worker"})
    ctx = JobContext(params=dict(job.params or {}), network_version=job.network_version,
                     policy_name=job.policy_name, get_planner=get_planner)
    try:
        ctx.planner  # noqa: B018 - load once up front: a missing network fails the job clearly
    except Exception as exc:
        log.exception("job %s: cannot load network %s", jid, job.network_version)
        return _fail(db, jid, worker_id, {"code": "network_unavailable",
                                           "message": f"network version {job.network_version} "
                                                      f"cannot be loaded ({type(exc).__name__})"})
    hb = _Heartbeat(db, jid, worker_id, lease_s)
    hb.start()
    try:
        while True:
            if should_stop():
                _release(db, jid, worker_id)
                return "released"
            if hb.lost:
                return "lost"
            with db.read() as s:
                pending = s.execute(sa.select(JobItem.id, JobItem.input)
                                    .where(JobItem.job_id == jid, JobItem.status == "pending")
                                    .order_by(JobItem.idx).limit(chunk)).all()
            if not pending:
                return _complete(db, jid, worker_id)
            outcomes = kind.run(ctx, [p.input for p in pending])
            try:
                _commit_chunk(db, jid, worker_id, lease_s, pending, outcomes)
            except _LeaseLost:
                return "lost"
    finally:
        hb.stop.set()


def _commit_chunk(db: Database, jid: str, worker_id: str, lease_s: float, pending: Sequence[Any],
                  outcomes: list[Any]) -> None:
    now = utcnow()
    with db.write() as s:
        if not _renew(s, jid, worker_id, lease_s):
            raise _LeaseLost(jid)  # rolls the transaction back: nothing of this chunk is kept
        n_done = n_failed = 0
        for p, o in zip(pending, outcomes, strict=True):
            r = s.execute(sa.update(JobItem).where(JobItem.id == p.id, JobItem.status == "pending")
                          .values(status="failed" if o.error else "done",
                                  result_json=o.result_json, error=o.error,
                                  network_version=o.network_version, policy_id=o.policy_id,
                                  finished_at=now, worker=worker_id))
            if rowcount(r) == 1:
                n_done += 1
                n_failed += o.error is not None
        s.execute(sa.update(Job).where(Job.id == jid)
                  .values(done=Job.done + n_done, failed=Job.failed + n_failed))


def _complete(db: Database, jid: str, worker_id: str) -> str:
    with db.write() as s:
        left = s.scalar(sa.select(sa.func.count()).select_from(JobItem)
                        .where(JobItem.job_id == jid, JobItem.status == "pending"))
        if left:
            return "lost"
        r = s.execute(sa.update(Job).where(Job.id == jid, Job.lease_owner == worker_id,
                                           Job.status == "running")
                      .values(status="completed", finished_at=utcnow(), lease_owner=None,
                              lease_until=None))
    return "completed" if rowcount(r) == 1 else "lost"


def _fail(db: Database, jid: str, worker_id: str, error: dict[str, Any]) -> str:
    with db.write() as s:
        s.execute(sa.update(Job).where(Job.id == jid, Job.lease_owner == worker_id,
                                       Job.status == "running")
                  .values(status="failed", error=error, finished_at=utcnow(), lease_owner=None,
                          lease_until=None))
    return "failed"


def _release(db: Database, jid: str, worker_id: str) -> None:
    with db.write() as s:
        s.execute(sa.update(Job).where(Job.id == jid, Job.lease_owner == worker_id)
                  .values(lease_owner=None, lease_until=None))


def cancel_job(db: Database, jid: str) -> bool:
    """Cancel a queued or running job; False when it had already finished."""
    with db.write() as s:
        r = s.execute(sa.update(Job).where(Job.id == jid, Job.status.in_(ACTIVE))
                      .values(status="cancelled", finished_at=utcnow(), lease_owner=None,
                              lease_until=None))
        return rowcount(r) == 1
