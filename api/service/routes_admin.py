"""Network versions, capacity heat map, policy, tokens, identity and health."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from api.auth import create_token, list_tokens, revoke_token
from api.store.models import NetworkVersion

from .context import ServiceContext
from .deps import Admin, AnyRole, Ctx, Staff
from .errors import ApiError, error_responses, not_found
from .networks import (
    ACTIVE_NETWORK,
    ACTIVE_POLICY,
    InvalidNetworkError,
    get_version,
    list_versions,
    problem_dict,
    set_state,
    store_network,
)
from .schemas import (
    FeatureCollection,
    Health,
    MeOut,
    NetworkList,
    NetworkOut,
    PolicyOut,
    PolicySet,
    Ready,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
)

VersionId = Annotated[str, Path(pattern=r"^[0-9a-f]{8,64}$", description="network version id")]

networks = APIRouter(prefix="/v1/networks", tags=["networks"])
capacity = APIRouter(prefix="/v1", tags=["networks"])
policy = APIRouter(prefix="/v1/policy", tags=["policy"])
tokens = APIRouter(prefix="/v1/tokens", tags=["tokens"])
misc = APIRouter(tags=["service"])


def network_out(r: NetworkVersion, active_version: str | None) -> NetworkOut:
    return NetworkOut(version_id=r.version_id, name=r.name, created_at=r.created_at,
                      created_by=r.created_by, active=r.version_id == active_version,
                      summary=r.summary, warnings=r.warnings, size_bytes=r.size_bytes,
                      file_sha256=r.file_sha256)


@networks.post("", status_code=201, response_model=NetworkOut,
               summary="Upload a network version (GeoPackage), validated",
               openapi_extra={"requestBody": {"required": True, "content": {
                   "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}},
                   "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
               responses={200: {"model": NetworkOut, "description": "this content is already stored"},
                          **error_responses(401, 403, 413, 422)})
async def upload_network(request: Request, response: Response, c: Ctx, who: Admin,
                         name: Annotated[str, Query(max_length=200)] = "") -> NetworkOut:
    """The body is the GeoPackage file. An invalid network is refused (422) with every
    validation problem in ``error.problems``; a valid one is stored, immutable, under its
    content hash (uploading the same content again returns it with 200). Not activated."""
    tmp_dir = FsPath(c.settings.data_dir) / "uploads"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, suffix=".gpkg")
    try:
        n = 0
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.stream():
                n += len(chunk)
                f.write(chunk)
        if n == 0:
            raise ApiError(422, "empty_body", "send the GeoPackage file as the request body",
                           field="body")
        from starlette.concurrency import run_in_threadpool

        try:
            row, created = await run_in_threadpool(store_network, c.db, FsPath(tmp), name,
                                                   who.token_id)
        except InvalidNetworkError as exc:
            raise ApiError(422, "invalid_network", str(exc), field="body",
                           problems=[problem_dict(p) for p in exc.report.problems[:1000]]) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    if not created:
        response.status_code = 200
    active_version, _ = c.active()
    return network_out(row, active_version)


@networks.get("", response_model=NetworkList, summary="List network versions",
              responses=error_responses(401, 403))
def list_networks(c: Ctx, who: Staff) -> NetworkList:
    active_version, _ = c.active()
    return NetworkList(items=[network_out(r, active_version) for r in list_versions(c.db)],
                       active_version=active_version)


def _version(c: ServiceContext, version_id: str) -> NetworkVersion:
    r = get_version(c.db, version_id)
    if r is None:
        raise not_found(f"network version {version_id}", field="version_id")
    return r


@networks.get("/{version_id}", response_model=NetworkOut, summary="Get a network version",
              responses=error_responses(401, 403, 404, 422))
def get_network(version_id: VersionId, c: Ctx,
                who: Staff) -> NetworkOut:
    return network_out(_version(c, version_id), c.active()[0])


@networks.post("/{version_id}/activate", response_model=NetworkOut,
               summary="Make a network version the one new applications are planned on",
               responses=error_responses(401, 403, 404, 422))
def activate_network(version_id: VersionId, c: Ctx,
                     who: Admin) -> NetworkOut:
    r = _version(c, version_id)
    c.warm(r.version_id, c.active()[1])  # compile before switching: no cold first request
    set_state(c.db, ACTIVE_NETWORK, r.version_id, who.token_id)
    c.forget_active()
    return network_out(r, r.version_id)


@networks.get("/{version_id}/capacity", response_model=FeatureCollection,
              summary="Capacity heat map of a network version (designers/admins)",
              responses={200: {"content": {"application/geo+json": {}}},
                         **error_responses(401, 403, 404, 422)})
def network_capacity(version_id: VersionId, c: Ctx,
                     who: Staff) -> Response:
    r = _version(c, version_id)
    return _capacity(c, r.version_id)


@capacity.get("/capacity", response_model=FeatureCollection,
              summary="Capacity heat map of the active network (designers/admins)",
              responses={200: {"content": {"application/geo+json": {}}},
                         **error_responses(401, 403, 409)})
def active_capacity(c: Ctx, who: Staff) -> Response:
    """One feature per feeder: rated MVA, peak, load rate, the N-1 load-rate limit of its
    connection mode (policy ``load_rate_limits``) and the headroom
    ``limit x rated - peak / pf`` in MVA, with the feeder's lines (EPSG:4326)."""
    version, _ = c.active()
    if version is None:
        raise ApiError(409, "no_active_network", "no network version is active",
                       field="network_version")
    return _capacity(c, version)


def _capacity(c: ServiceContext, version: str) -> Response:
    wp = c.warm(version, c.active()[1])
    return Response(content=wp.capacity_geojson, media_type="application/geo+json")


@policy.get("", response_model=PolicyOut, summary="The active policy profile",
            responses=error_responses(401, 403))
def get_policy(c: Ctx, who: Staff) -> PolicyOut:
    from grid_models.policy import list_policies, load_policy

    name = c.active()[1]
    return PolicyOut(active=name, policy_id=load_policy(name).policy_id, available=list_policies())


@policy.put("", response_model=PolicyOut, summary="Choose the active policy profile",
            responses=error_responses(401, 403, 422))
def set_policy(body: PolicySet, c: Ctx,
               who: Admin) -> PolicyOut:
    from grid_models.policy import list_policies, load_policy

    if body.name not in list_policies():
        raise ApiError(422, "unknown_policy", f"no bundled policy profile {body.name!r}; "
                       f"available: {', '.join(list_policies())}", field="name")
    set_state(c.db, ACTIVE_POLICY, body.name, who.token_id)
    c.forget_active()
    return PolicyOut(active=body.name, policy_id=load_policy(body.name).policy_id,
                     available=list_policies())


@tokens.post("", status_code=201, response_model=TokenCreated, summary="Create an API token",
             responses=error_responses(401, 403, 422))
def new_token(body: TokenCreate, c: Ctx,
              who: Admin) -> TokenCreated:
    """The secret is in the answer once; only its hash is stored."""
    secret, info = create_token(c.db, body.role, body.principal, body.name)
    return TokenCreated(token=secret, **info.__dict__)


@tokens.get("", response_model=TokenList, summary="List API tokens (never their secrets)",
            responses=error_responses(401, 403))
def get_tokens(c: Ctx, who: Admin) -> TokenList:
    return TokenList(items=[TokenOut(**t.__dict__) for t in list_tokens(c.db)])


@tokens.delete("/{token_id}", response_model=TokenOut, summary="Revoke an API token",
               responses=error_responses(401, 403, 404, 422))
def delete_token(token_id: Annotated[str, Path(pattern=r"^t_[0-9a-f]{1,32}$")],
                 c: Ctx, who: Admin) -> TokenOut:
    if not revoke_token(c.db, token_id):
        raise not_found(f"active token {token_id}", field="token_id")
    info = next(t for t in list_tokens(c.db) if t.id == token_id)
    return TokenOut(**info.__dict__)


@misc.get("/v1/me", response_model=MeOut, summary="Who the token belongs to", tags=["service"],
          responses=error_responses(401))
def me(who: AnyRole) -> MeOut:
    return MeOut(token_id=who.token_id, role=who.role, principal=who.principal, name=who.name)


@misc.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    return Health(status="ok")


@misc.get("/readyz", response_model=Ready, summary="Readiness",
          responses={503: {"model": Ready, "description": "not ready (deliberate 503 for load "
                                                          "balancers)"}})
def readyz(response: Response, c: Ctx) -> Ready:
    """Ready when the database answers with the current schema, a network is active, its
    planner is warm in this process and the job worker runs."""
    db_ok = schema_ok = warm = False
    version = None
    try:
        c.db.ping()
        db_ok = True
        current, head = c.db.schema_revision()
        schema_ok = current == head
        version, pol = c.active()
        warm = version is not None and c.planners.cached(version, pol)
    except Exception:  # readiness reports, never raises
        pass
    worker = c.worker_alive()
    ok = db_ok and schema_ok and warm and worker
    if not ok:
        response.status_code = 503
    return Ready(status="ready" if ok else "not_ready", database=db_ok, schema_current=schema_ok,
                 network_version=version, planner_warm=warm, worker=worker)
