"""Fixtures of the service tests: the same suite against SQLite and a real PostgreSQL server.

PostgreSQL: ``GRIDSCHEME_TEST_POSTGRES_URL`` names a database on a server where the role may
``CREATE DATABASE`` (``.ci/postgres.sh`` starts one and prints the export line; ``./dev.sh test``
and ``.ci/run`` use it). Each test session creates its own databases and drops them afterwards.
Without the variable the PostgreSQL half is skipped with that reason, except in CI (``CI`` set),
where a missing or unreachable server fails the tests instead of hiding them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")

PG_ENV = "GRIDSCHEME_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def pg_admin_url() -> str:
    """The configured PostgreSQL URL (skip locally / fail in CI when absent)."""
    url = os.environ.get(PG_ENV)
    if not url:
        msg = (f"{PG_ENV} is not set: start PostgreSQL with `eval \"$(.ci/postgres.sh)\"` "
               "(./dev.sh test and .ci/run do this)")
        if in_ci():
            pytest.fail(msg + "; it is required in CI", pytrace=False)
        pytest.skip(msg)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


@contextlib.contextmanager
def fresh_database(backend: str, tmp: Path) -> Iterator[str]:
    """A new, empty database of that backend; its URL. Dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'gridscheme.db'}"
        return
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = pg_admin_url()
    name = "gs_test_" + secrets.token_hex(5)
    try:
        eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # unreachable server, no CREATEDB right ...
        pytest.fail(f"PostgreSQL at {make_url(admin).render_as_string(hide_password=True)} "
                    f"is not usable: {type(exc).__name__}: {exc}", pytrace=False)
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with eng.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()


@dataclass
class Service:
    """A running app (TestClient) with a token per role."""

    backend: str
    client: Any
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)
    principals: dict[str, str] = field(default_factory=dict)

    def h(self, who: str | None) -> dict[str, str]:
        """Headers of ``who`` (admin, designer, cust_a, cust_b, or None: no token)."""
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    @property
    def db(self) -> Any:
        return self.app.state.ctx.db


def demo_application(**kw: Any) -> dict[str, Any]:
    """A feasible application inside the demo city."""
    app = {"customer_name": "示范客户", "lon": 106.8217, "lat": 39.6695, "requested_kva": 2500,
           "tier": "二级", "industry": "data_centre"}
    app.update(kw)
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service on a fresh database of each backend, demo network active, job worker process."""
    from fastapi.testclient import TestClient

    from api.auth import create_token
    from api.plan_cli import DEMO_NETWORK
    from api.service import Settings, create_app

    backend = request.param
    tmp = tmp_path_factory.mktemp(f"svc_{backend}")
    with fresh_database(backend, tmp) as url:
        settings = Settings.from_env(url, tmp / "data", worker="process", job_poll_s=0.1,
                                     job_chunk=10)
        app = create_app(settings, bootstrap_network=DEMO_NETWORK)
        with TestClient(app) as client:
            svc = Service(backend, client, app)
            for who, role, principal in (("admin", "admin", None), ("designer", "designer", None),
                                         ("cust_a", "customer", "cust-A"),
                                         ("cust_b", "customer", "cust-B")):
                tok, info = create_token(app.state.ctx.db, role, principal, name=who)
                svc.tokens[who] = tok
                svc.principals[who] = info.principal
            yield svc
