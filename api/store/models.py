"""Tables of the service database (SQLAlchemy 2 declarative models).

The schema is created and evolved only by the Alembic migrations beside this module
(``api/store/migrations``); a test checks that the migrations and these models agree.

Design notes
------------
- Network versions are immutable and keyed by their content hash (``Network.version_id``); the
  GeoPackage bytes live in their own table so listings never load them.
- An application row holds the whole ``PlanResult`` document as JSON text (what the engine
  returned, byte for byte), and one ``schemes`` row per ranked scheme with the columns a list or
  a filter needs. Both record the network version and policy id they were computed with.
- Job items are the unit of exactly-once work: ``(job_id, idx)`` is unique and an item's result
  is written by a conditional update (``status = 'pending'``) in the same transaction that
  checks the worker still holds the job's lease.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


#: JSON documents: JSONB on PostgreSQL, JSON text elsewhere.
JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of the service tables."""

    metadata = sa.MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


class ApiToken(Base):
    """An API token: only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    principal: Mapped[str] = mapped_column(sa.String(200), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NetworkVersion(Base):
    """An uploaded, validated network: immutable, keyed by its content hash."""

    __tablename__ = "network_versions"
    version_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(sa.String(24))


class NetworkFile(Base):
    """The GeoPackage bytes of a network version (kept apart so listings stay light)."""

    __tablename__ = "network_files"
    version_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("network_versions.version_id"), primary_key=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)


class ServiceState(Base):
    """Key/value settings of the running service (active network version, active policy)."""

    __tablename__ = "service_state"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(sa.String(24), default="")


class Application(Base):
    """One submitted application and the engine's whole answer (``PlanResult`` JSON)."""

    __tablename__ = "applications"
    __table_args__ = (sa.UniqueConstraint("owner", "idempotency_key",
                                          name="uq_applications_owner_idempotency_key"),)
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(200), index=True)
    created_by: Mapped[str] = mapped_column(sa.String(24))
    customer_name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    network_version: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("network_versions.version_id"))
    policy_id: Mapped[str] = mapped_column(sa.String(100))
    top_k: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    request_sha256: Mapped[str] = mapped_column(sa.String(64))
    n_schemes: Mapped[int] = mapped_column(sa.Integer)
    any_feasible: Mapped[bool] = mapped_column(sa.Boolean)
    best_cost_cny: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    result_json: Mapped[str] = mapped_column(sa.Text)


class Scheme(Base):
    """One ranked scheme of an application (its full JSON is inside the application's result)."""

    __tablename__ = "schemes"
    __table_args__ = (sa.UniqueConstraint("application_id", "rank",
                                          name="uq_schemes_application_id_rank"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(sa.Integer)
    feasible: Mapped[bool] = mapped_column(sa.Boolean)
    score: Mapped[float] = mapped_column(sa.Float)
    voltage_kv: Mapped[float] = mapped_column(sa.Float)
    supply_mode: Mapped[str] = mapped_column(sa.String(32))
    cost_total_cny: Mapped[float] = mapped_column(sa.Float)
    cost_customer_cny: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    network_version: Mapped[str] = mapped_column(sa.String(64))
    policy_id: Mapped[str] = mapped_column(sa.String(100))


class Job(Base):
    """A background job; its work is split into :class:`JobItem` rows."""

    __tablename__ = "jobs"
    __table_args__ = (sa.UniqueConstraint("owner", "idempotency_key",
                                          name="uq_jobs_owner_idempotency_key"),)
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    owner: Mapped[str] = mapped_column(sa.String(200), index=True)
    created_by: Mapped[str] = mapped_column(sa.String(24))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    network_version: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("network_versions.version_id"))
    policy_name: Mapped[str] = mapped_column(sa.String(100))
    policy_id: Mapped[str] = mapped_column(sa.String(100))
    total: Mapped[int] = mapped_column(sa.Integer)
    done: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    request_sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=True)


class JobItem(Base):
    """One unit of a job's work; written exactly once (see the module notes)."""

    __tablename__ = "job_items"
    __table_args__ = (sa.UniqueConstraint("job_id", "idx", name="uq_job_items_job_id_idx"),
                      sa.Index("ix_job_items_job_id_status_idx", "job_id", "status", "idx"))
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(16))
    input: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    result_json: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=True)
    network_version: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    policy_id: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
