"""``/v1/applications``: submit (synchronous planning), list, get, schemes, compare, exports."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from typing import TYPE_CHECKING, Annotated, Any, cast

import sqlalchemy as sa
from fastapi import APIRouter, Header, Path, Query, Response
from sqlalchemy.exc import IntegrityError

from api.auth import Principal
from api.store.models import Application as AppRow
from api.store.models import Scheme as SchemeRow
from api.store.models import utcnow
from grid_models.errors import GridSchemeError
from scheme_engine.application import Application

from .context import ServiceContext
from .deps import AnyRole, Ctx
from .errors import ApiError, error_responses, not_found
from .exports import EXPORTS, ExportRequest
from .roads import roads_near
from .schemas import (
    ApplicationList,
    ApplicationOut,
    ApplicationSummary,
    CompareOut,
    SchemeList,
    SchemeOut,
)
from .views import compare, for_viewer

if TYPE_CHECKING:
    from viz.labels import Lang

router = APIRouter(prefix="/v1/applications", tags=["applications"])
log = logging.getLogger("gridscheme.service")

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
IDEMPOTENCY_PATTERN = r"^[\x21-\x7e]{1,200}$"
AppId = Annotated[str, Path(pattern=ID_PATTERN, description="application id")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=IDEMPOTENCY_PATTERN,
    description="makes the submission idempotent: the same key with the same body returns the "
                "stored answer (200); with another body it is refused (409)")]


def request_hash(payload: Any) -> str:
    """SHA-256 of a request's canonical JSON (detects a key reused with another body)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")).encode("utf-8")).hexdigest()


def summary_dict(row: AppRow) -> dict[str, Any]:
    return {"id": row.id, "owner": row.owner, "customer_name": row.customer_name,
            "created_at": row.created_at.isoformat().replace("+00:00", "Z"), "network_version": row.network_version,
            "policy_id": row.policy_id, "n_schemes": row.n_schemes,
            "any_feasible": row.any_feasible, "best_cost_cny": row.best_cost_cny}


def application_response(row: AppRow, who: Principal, status: int,
                         headers: dict[str, str] | None = None) -> Response:
    """The stored application as ``who`` may see it (staff: the stored JSON as is)."""
    head = json.dumps(summary_dict(row), ensure_ascii=False)[:-1]
    if who.is_staff:
        result = row.result_json
    else:
        result = json.dumps(for_viewer(json.loads(row.result_json), who), ensure_ascii=False)
    return Response(content=f'{head},"result":{result}}}'.encode(), status_code=status,
                    media_type="application/json", headers=headers)


def visible_application(c: ServiceContext, app_id: str, who: Principal) -> AppRow:
    """The application if ``who`` may see it; 404 otherwise (never saying whose it is)."""
    with c.db.read() as s:
        row = s.get(AppRow, app_id)
    if row is None or (not who.is_staff and row.owner != who.principal):
        raise not_found("application", field="application_id")
    return row


def _find_by_key(c: ServiceContext, owner: str, key: str) -> AppRow | None:
    with c.db.read() as s:
        return s.scalar(sa.select(AppRow).where(AppRow.owner == owner, AppRow.idempotency_key == key))


def _replay(row: AppRow, req_hash: str, who: Principal) -> Response:
    if row.request_sha256 != req_hash:
        raise ApiError(409, "idempotency_key_reused", "this Idempotency-Key was used with a "
                       "different request; use a new key for a new application",
                       field="Idempotency-Key")
    return application_response(row, who, 200, {"Idempotent-Replayed": "true"})


def require_active(c: ServiceContext) -> tuple[str, str]:
    """(active network version, policy name); 409 when no network is active."""
    version, policy = c.active()
    if version is None:
        raise ApiError(409, "no_active_network", "no network version is active; an admin "
                       "uploads one (POST /v1/networks) and activates it", field="network_version")
    return version, policy


@router.post("", status_code=201, response_model=None,
             summary="Submit an application and get its ranked schemes",
             responses={201: {"model": ApplicationOut, "description": "planned and stored"},
                        200: {"model": ApplicationOut,
                              "description": "the stored answer of an earlier submission with "
                                             "this Idempotency-Key"},
                        **error_responses(401, 403, 409, 413, 422)})
def submit_application(
    application: Application,
    c: Ctx,
    who: AnyRole,
    top_k: Annotated[int | None, Query(ge=1, le=20, description="alternatives (policy default 3)")] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Plan the application on the active network version under the active policy, store it
    with both, and return the ranked schemes (customers see their redacted view)."""
    app_doc = application.model_dump(mode="json", exclude_unset=True)
    req_hash = request_hash({"application": app_doc, "top_k": top_k})
    if idempotency_key:
        prev = _find_by_key(c, who.principal, idempotency_key)
        if prev is not None:
            return _replay(prev, req_hash, who)
    version, policy_name = require_active(c)
    wp = c.warm(version, policy_name)
    try:
        result, wait_ms, plan_ms = wp.plan_timed(app_doc, top_k=top_k)
    except GridSchemeError:
        raise  # the engine's own input errors: 422 naming the field (errors.py)
    except Exception as exc:
        # An engine failure on this particular input: logged for the engine's maintainers, and
        # answered as unprocessable input rather than a server error.
        ref = secrets.token_hex(6)
        log.error("planning failed (reference %s) for %s", ref, json.dumps(app_doc)[:2000],
                  exc_info=exc)
        raise ApiError(422, "cannot_plan", f"the engine could not plan this application "
                       f"(reference {ref}); the error is logged", field=None) from None
    result_json = result.model_dump_json()
    schemes = result.schemes
    costs = [s.cost_cny.get("total") for s in schemes if s.feasible]
    row = AppRow(id="a_" + secrets.token_hex(10), owner=who.principal, created_by=who.token_id,
                 customer_name=application.customer_name[:200], created_at=utcnow(),
                 network_version=result.network_version, policy_id=result.policy_id, top_k=top_k,
                 idempotency_key=idempotency_key, request_sha256=req_hash,
                 n_schemes=len(schemes), any_feasible=any(s.feasible for s in schemes),
                 best_cost_cny=min(costs) if costs else None, result_json=result_json)
    scheme_rows = [{"application_id": row.id, "rank": s.rank, "feasible": s.feasible,
                    "score": s.score, "voltage_kv": s.voltage_kv, "supply_mode": s.supply_mode,
                    "cost_total_cny": s.cost_cny.get("total", 0.0),
                    "cost_customer_cny": s.cost_cny.get("customer"),
                    "network_version": result.network_version, "policy_id": result.policy_id}
                   for s in schemes]
    app_row = {c_.key: getattr(row, c_.key) for c_ in AppRow.__table__.columns}
    try:
        with c.db.write() as s:  # one transaction: the application and its schemes, or nothing
            # Core inserts into the mapped tables (declarative classes map a Table)
            s.execute(sa.insert(cast(sa.Table, AppRow.__table__)), [app_row])
            if scheme_rows:
                s.execute(sa.insert(cast(sa.Table, SchemeRow.__table__)), scheme_rows)
    except IntegrityError:
        # the same Idempotency-Key raced us: answer with the stored one
        prev = _find_by_key(c, who.principal, idempotency_key) if idempotency_key else None
        if prev is None:
            raise
        return _replay(prev, req_hash, who)
    return application_response(row, who, 201, {
        "Server-Timing": f"queue;dur={wait_ms:.2f}, plan;dur={plan_ms:.2f}"})


@router.get("", response_model=ApplicationList, summary="List applications",
            responses=error_responses(401, 422))
def list_applications(
    c: Ctx, who: AnyRole,
    owner: Annotated[str | None, Query(max_length=200,
                                       description="staff: only this owner's")] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ApplicationList:
    """Newest first. Customers list only their own applications."""
    q = sa.select(AppRow)
    if not who.is_staff:
        q = q.where(AppRow.owner == who.principal)
    if owner is not None:
        q = q.where(AppRow.owner == owner)
    with c.db.read() as s:
        total = s.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
        rows = s.scalars(q.order_by(AppRow.created_at.desc(), AppRow.id).offset(offset).limit(limit)).all()
    return ApplicationList(items=[ApplicationSummary(**summary_dict(r)) for r in rows],
                           total=total, offset=offset, limit=limit)


@router.get("/{application_id}", response_model=None, summary="Get an application and its schemes",
            responses={200: {"model": ApplicationOut, "description": "the application"},
                       **error_responses(401, 404, 422)})
def get_application(application_id: AppId, c: Ctx,
                    who: AnyRole) -> Response:
    return application_response(visible_application(c, application_id, who), who, 200)


def _doc(c: ServiceContext, application_id: str, who: Principal) -> tuple[AppRow, dict[str, Any]]:
    row = visible_application(c, application_id, who)
    return row, for_viewer(json.loads(row.result_json), who)


@router.get("/{application_id}/schemes", response_model=SchemeList, summary="List the ranked schemes",
            responses=error_responses(401, 404, 422))
def list_schemes(application_id: AppId, c: Ctx,
                 who: AnyRole) -> SchemeList:
    row, doc = _doc(c, application_id, who)
    return SchemeList(application_id=row.id, network_version=row.network_version,
                      policy_id=row.policy_id, schemes=doc["schemes"])


@router.get("/{application_id}/schemes/{rank}", response_model=SchemeOut, summary="Get one scheme",
            responses=error_responses(401, 404, 422))
def get_scheme(application_id: AppId, rank: Annotated[int, Path(ge=0, le=1000)],
               c: Ctx, who: AnyRole) -> SchemeOut:
    row, doc = _doc(c, application_id, who)
    for s in doc["schemes"]:
        if s["rank"] == rank:
            return SchemeOut(application_id=row.id, network_version=row.network_version,
                             policy_id=row.policy_id, scheme=s)
    raise not_found(f"scheme rank {rank}", field="rank")


@router.get("/{application_id}/compare", response_model=CompareOut,
            summary="Compare schemes side by side", responses=error_responses(401, 404, 422))
def compare_schemes(
    application_id: AppId, c: Ctx, who: AnyRole,
    ranks: Annotated[list[int] | None, Query(max_length=20, description="ranks to compare (default all)")] = None,
) -> CompareOut:
    row, doc = _doc(c, application_id, who)
    known = {s["rank"] for s in doc["schemes"]}
    if ranks:
        missing = sorted(set(ranks) - known)
        if missing:
            raise not_found(f"scheme rank(s) {missing}", field="ranks")
    table = compare(doc, sorted(set(ranks)) if ranks else None)
    return CompareOut(application_id=row.id, **table)


def _export_responses() -> dict[int | str, dict[str, Any]]:
    content = {f.media_type: {"schema": {"type": "string"} if not f.media_type.endswith("json")
                              else {"type": "object"}} for f in EXPORTS.values()}
    return {200: {"description": "the export; formats: " + ", ".join(
                  f"`{f.name}` ({f.media_type}: {f.description})" for f in EXPORTS.values()),
                  "content": content},
            **error_responses(401, 404, 422)}


@router.get("/{application_id}/exports/{fmt}", response_model=None,
            summary="Export the schemes (GeoJSON, map, 3D preview, reply letter, ...)", responses=_export_responses())
def export(
    application_id: AppId,
    fmt: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,32}$", description="export format")],
    c: Ctx, who: AnyRole,
    scheme: Annotated[list[int] | None, Query(max_length=20, description="ranks (default all)")] = None,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> Response:
    """Customers' exports carry their own site, routes and connection points only."""
    f = EXPORTS.get(fmt)
    if f is None:
        raise ApiError(404, "not_found", f"no export format {fmt!r}; available: "
                       f"{', '.join(sorted(EXPORTS))}", field="fmt")
    row, doc = _doc(c, application_id, who)
    if scheme:
        missing = sorted(set(scheme) - {s["rank"] for s in doc["schemes"]})
        if missing:
            raise not_found(f"scheme rank(s) {missing}", field="scheme")
    ranks = sorted(set(scheme)) if scheme else None
    version = row.network_version
    body = f.render(doc, ExportRequest(ranks=ranks, lang=cast("Lang", lang),  # Query pattern
                                       staff=who.is_staff,
                                       application_id=row.id,
                                       roads=lambda box: roads_near(c, version, box)))
    stem = row.id + (f"-scheme{'-'.join(map(str, ranks))}" if ranks else "")
    headers = {"Content-Disposition": f'{f.disposition}; filename="{stem}.{f.extension}"'}
    if f.media_type == "text/html":
        # The page runs in an opaque origin: whatever it shows can never act on this API.
        headers["Content-Security-Policy"] = "sandbox allow-scripts allow-popups"
    return Response(content=body, media_type=f.media_type, headers=headers)
