"""The FastAPI application: ``create_app(settings)``.

Routes (all under ``/v1`` except the probes): applications (submit and plan synchronously,
list, get, schemes, compare, exports), jobs, network versions and the capacity heat map,
policy, tokens, ``/v1/me``; ``/healthz`` and ``/readyz``. OpenAPI at ``/openapi.json``, docs at
``/docs``; the web page at ``/app/`` (``routes_web``). Extension points: export formats
(``api.service.exports.register_export``), job kinds (``api.jobs.register_job_kind``), and
``extra_routers`` for more routes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI

from api.store.db import Database

from .context import ServiceContext
from .errors import install_error_handlers
from .middleware import LimitsAndHeaders
from .settings import Settings

log = logging.getLogger("gridscheme.service")

DESCRIPTION = """
Ranked, checked and costed supply schemes (供电方案) for high-voltage connection applications.

Authenticate with `Authorization: Bearer <token>` (`gridscheme token create`). Roles: **admin**
(networks, policy, tokens), **designer** (every application, the network and capacity maps),
**customer** (own applications and jobs; their schemes without the rest of the network).
Every error is a JSON body `{"error": {"status", "code", "message", "field", ...}}`.
"""


def create_app(settings: Settings, *, bootstrap_network: str | Path | None = None,
               extra_routers: Sequence[APIRouter] = ()) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings : Settings
    bootstrap_network : path, optional
        A network file stored and activated at start-up when no network is active (``gridscheme
        serve`` passes the demo network).
    extra_routers : sequence of APIRouter
        More routes.
    """
    from . import routes_admin, routes_applications, routes_jobs, routes_web

    db = Database(settings.database_url)
    context = ServiceContext(settings=settings, db=db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Re-entrant: a test client wrapping the app again (schemathesis does) must neither
        # start a second job worker nor stop the running one when it leaves.
        context.lifespan_depth += 1
        try:
            if context.lifespan_depth == 1:
                db.migrate()
                if bootstrap_network is not None:
                    from .networks import ensure_network

                    ensure_network(db, Path(bootstrap_network), created_by="bootstrap")
                version, policy_name = context.active()
                if version is not None:
                    context.warm(version, policy_name)  # compile before the first request
                context.start_worker()
            yield
        finally:
            context.lifespan_depth -= 1
            if context.lifespan_depth == 0:
                context.stop_worker()
                db.dispose()

    app = FastAPI(title="gridscheme", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.ctx = context
    install_error_handlers(app)
    app.include_router(routes_applications.router)
    app.include_router(routes_jobs.build_router())
    app.include_router(routes_admin.networks)
    app.include_router(routes_admin.capacity)
    app.include_router(routes_admin.policy)
    app.include_router(routes_admin.tokens)
    app.include_router(routes_admin.misc)
    app.include_router(routes_web.router)  # the web page (/, /app/) and /v1/roads
    for r in extra_routers:
        app.include_router(r)
    app.add_middleware(LimitsAndHeaders, default_limit=settings.max_body_bytes, limits=[
        ("POST", r"/v1/networks", settings.max_network_bytes),
        ("POST", r"/v1/jobs", settings.max_job_body_bytes),
    ])
    return app


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` and ``gridscheme serve --workers N``: settings from
    the ``GRIDSCHEME_*`` environment; the job worker runs as the parent's (``worker='off'``)."""
    import os

    worker = os.environ.get("GRIDSCHEME_WORKER", "off")
    if worker not in ("process", "thread", "off"):
        worker = "off"
    return create_app(Settings.from_env(worker=worker))
