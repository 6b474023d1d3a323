"""``/v1/jobs``: submit background jobs (``plan_batch``; ``park_plan`` plugs in), poll progress,
read item results, cancel.

No ``from __future__ import annotations`` here: the submit body's type is built at run time
from the registered job kinds and FastAPI must see it as an object, not a string.
"""

import json
from typing import Annotated, Any, Union

import sqlalchemy as sa
from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from api.auth import Principal
from api.jobs.kinds import JOB_KINDS
from api.jobs.runner import cancel_job, submit_job
from api.store.models import Job, JobItem

from .context import ServiceContext
from .deps import AnyRole, Ctx
from .errors import DISCRIMINATOR_TAGS, ApiError, error_responses, not_found
from .routes_applications import ID_PATTERN, IdempotencyKey, request_hash, require_active
from .schemas import JobItemList, JobItemOut, JobList, JobOut, Progress
from .views import for_viewer

JobId = Annotated[str, Path(pattern=ID_PATTERN, description="job id")]


def job_out(j: Job) -> JobOut:
    return JobOut(id=j.id, kind=j.kind, status=j.status, owner=j.owner, created_at=j.created_at,
                  started_at=j.started_at, finished_at=j.finished_at,
                  network_version=j.network_version, policy_id=j.policy_id,
                  progress=Progress(total=j.total, done=j.done, failed=j.failed,
                                    fraction=round(j.done / j.total, 4) if j.total else 1.0),
                  attempts=j.attempts, error=j.error)


def visible_job(c: ServiceContext, job_id: str, who: Principal) -> Job:
    with c.db.read() as s:
        j = s.get(Job, job_id)
    if j is None or (not who.is_staff and j.owner != who.principal):
        raise not_found("job", field="job_id")
    return j


def _submit_type() -> Any:
    models = tuple(k.submit_model for k in JOB_KINDS.values())
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="kind")]  # noqa: UP007 - runtime tuple


def build_router() -> APIRouter:
    """The jobs router (built after every job kind is registered: the body is their union)."""
    router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
    DISCRIMINATOR_TAGS.update(JOB_KINDS)
    SubmitBody = _submit_type()

    @router.post("", status_code=202, response_model=JobOut, summary="Submit a background job",
                 responses={200: {"model": JobOut, "description": "the job of an earlier "
                                  "submission with this Idempotency-Key"},
                            **error_responses(401, 403, 409, 413, 422)})
    # the body type is the union of the registered job kinds' models, built at run time for
    # FastAPI to validate and document: mypy cannot see a type in a variable
    def submit(body: Annotated[SubmitBody, Body()], response: Response,  # type: ignore[valid-type]
               c: Ctx, who: AnyRole,
               idempotency_key: IdempotencyKey = None) -> JobOut:
        """Queue a job on the active network version and policy; poll ``GET /v1/jobs/{id}``."""
        assert isinstance(body, BaseModel)
        submitted: BaseModel = body  # one of the kinds' submit models, validated by FastAPI
        kind = JOB_KINDS[body.kind]  # type: ignore[attr-defined]  # every submit model has kind
        if who.role not in kind.roles:
            raise ApiError(403, "forbidden", f"job kind {kind.name!r} needs the role "
                           f"{' or '.join(sorted(kind.roles))}", field="kind")
        n = kind.item_count(body)
        if n > c.settings.max_job_items:
            raise ApiError(422, "too_many_items", f"at most {c.settings.max_job_items} items per "
                           f"job, got {n}; split the job", field="applications")
        req_hash = request_hash(submitted.model_dump(mode="json", exclude_unset=True))
        if idempotency_key:
            prev = _by_key(c, who.principal, idempotency_key)
            if prev is not None:
                return _replay(prev, req_hash, response)
        version, policy_name = require_active(c)
        from grid_models.policy import load_policy

        params, inputs = kind.split(body)
        try:
            job = submit_job(c.db, kind=kind.name, owner=who.principal, created_by=who.token_id,
                             network_version=version, policy_name=policy_name,
                             policy_id=load_policy(policy_name).policy_id, params=params,
                             inputs=inputs, idempotency_key=idempotency_key,
                             request_sha256=req_hash)
        except IntegrityError:
            prev = _by_key(c, who.principal, idempotency_key) if idempotency_key else None
            if prev is None:
                raise
            return _replay(prev, req_hash, response)
        return job_out(job)

    @router.get("", response_model=JobList, summary="List jobs", responses=error_responses(401, 422))
    def list_jobs(c: Ctx, who: AnyRole,
                  status: Annotated[str | None, Query(pattern="^(queued|running|completed|failed|cancelled)$")] = None,
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> JobList:
        """Newest first; customers see their own jobs only."""
        q = sa.select(Job)
        if not who.is_staff:
            q = q.where(Job.owner == who.principal)
        if status:
            q = q.where(Job.status == status)
        with c.db.read() as s:
            total = s.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(Job.created_at.desc(), Job.id).offset(offset).limit(limit)).all()
        return JobList(items=[job_out(j) for j in rows], total=total, offset=offset, limit=limit)

    @router.get("/{job_id}", response_model=JobOut, summary="Job status and progress",
                responses=error_responses(401, 404, 422))
    def get_job(job_id: JobId, c: Ctx,
                who: AnyRole) -> JobOut:
        return job_out(visible_job(c, job_id, who))

    @router.get("/{job_id}/items", response_model=JobItemList, summary="Item results of a job",
                responses=error_responses(401, 404, 422))
    def job_items(job_id: JobId, c: Ctx,
                  who: AnyRole,
                  status: Annotated[str | None, Query(pattern="^(pending|done|failed)$")] = None,
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> JobItemList:
        """In item order; each a result document or an error naming the field."""
        j = visible_job(c, job_id, who)
        q = sa.select(JobItem).where(JobItem.job_id == j.id)
        if status:
            q = q.where(JobItem.status == status)
        with c.db.read() as s:
            total = s.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(JobItem.idx).offset(offset).limit(limit)).all()
        items = []
        for r in rows:
            result = json.loads(r.result_json) if r.result_json else None
            if result is not None and j.kind == "plan_batch":
                result = for_viewer(result, who)
            items.append(JobItemOut(index=r.idx, status=r.status, result=result, error=r.error,
                                    network_version=r.network_version, policy_id=r.policy_id))
        return JobItemList(job_id=j.id, items=items, total=total, offset=offset, limit=limit)

    @router.post("/{job_id}/cancel", response_model=JobOut, summary="Cancel a queued or running job",
                 responses=error_responses(401, 404, 409, 422))
    def cancel(job_id: JobId, c: Ctx,
               who: AnyRole) -> JobOut:
        j = visible_job(c, job_id, who)
        if not cancel_job(c.db, j.id):
            raise ApiError(409, "job_finished", f"job {j.id} is {visible_job(c, job_id, who).status}; "
                           "only queued or running jobs can be cancelled", field="job_id")
        return job_out(visible_job(c, job_id, who))

    return router


def _by_key(c: ServiceContext, owner: str, key: str) -> Job | None:
    with c.db.read() as s:
        return s.scalar(sa.select(Job).where(Job.owner == owner, Job.idempotency_key == key))


def _replay(j: Job, req_hash: str, response: Response) -> JobOut:
    if j.request_sha256 != req_hash:
        raise ApiError(409, "idempotency_key_reused", "this Idempotency-Key was used with a "
                       "different job; use a new key for a new job", field="Idempotency-Key")
    response.status_code = 200
    response.headers["Idempotent-Replayed"] = "true"
    return job_out(j)
