"""Request and response models of the HTTP API (they make its OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from scheme_engine.scheme import PlanResult, Scheme


class ApplicationSummary(BaseModel):
    """A stored application, without its schemes."""

    id: str
    owner: str = Field(description="principal that owns it (the customer's id for customers)")
    customer_name: str
    created_at: dt.datetime
    network_version: str = Field(description="content hash of the network version used")
    policy_id: str = Field(description="policy profile used (name@hash)")
    n_schemes: int
    any_feasible: bool
    best_cost_cny: float | None


class ApplicationOut(ApplicationSummary):
    """A stored application with the engine's whole answer."""

    result: PlanResult


class ApplicationList(BaseModel):
    items: list[ApplicationSummary]
    total: int
    offset: int
    limit: int


class SchemeOut(BaseModel):
    """One ranked scheme of an application."""

    application_id: str
    network_version: str
    policy_id: str
    scheme: Scheme


class SchemeList(BaseModel):
    application_id: str
    network_version: str
    policy_id: str
    schemes: list[Scheme]


class CompareRow(BaseModel):
    key: str
    label_zh: str
    label_en: str
    unit: str
    values: list[Any] = Field(description="one value per compared scheme, in `ranks` order")


class CompareOut(BaseModel):
    """Schemes side by side: rows are criteria, columns are schemes."""

    application_id: str
    ranks: list[int]
    rows: list[CompareRow]
    explanations: list[dict[str, str]]


class Progress(BaseModel):
    total: int
    done: int = Field(description="items finished (with a result or an error)")
    failed: int = Field(description="items finished with an error")
    fraction: float


class JobOut(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "completed", "failed", "cancelled"]
    owner: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    network_version: str
    policy_id: str
    progress: Progress
    attempts: int = Field(description="times a worker claimed it (>1: resumed after a stop)")
    error: dict[str, Any] | None


class JobList(BaseModel):
    items: list[JobOut]
    total: int
    offset: int
    limit: int


class JobItemOut(BaseModel):
    index: int
    status: Literal["pending", "done", "failed"]
    result: dict[str, Any] | None = Field(description="plan_batch: a PlanResult")
    error: dict[str, Any] | None
    network_version: str | None
    policy_id: str | None


class JobItemList(BaseModel):
    job_id: str
    items: list[JobItemOut]
    total: int
    offset: int
    limit: int


class NetworkOut(BaseModel):
    version_id: str = Field(description="content hash of the element tables (immutable)")
    name: str
    created_at: dt.datetime
    created_by: str
    active: bool
    summary: dict[str, Any]
    warnings: list[dict[str, Any]]
    size_bytes: int
    file_sha256: str


class NetworkList(BaseModel):
    items: list[NetworkOut]
    active_version: str | None


class PolicyOut(BaseModel):
    active: str
    policy_id: str
    available: list[str]


class PolicySet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, description="a bundled policy profile")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "designer", "customer"]
    principal: str | None = Field(None, max_length=200,
                                  description="customer id (required for customer tokens)")
    name: str = Field("", max_length=200)


class TokenOut(BaseModel):
    id: str
    role: str
    principal: str
    name: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the secret, shown only now")


class TokenList(BaseModel):
    items: list[TokenOut]


class MeOut(BaseModel):
    token_id: str
    role: str
    principal: str
    name: str


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready", "not_ready"]
    database: bool
    schema_current: bool
    network_version: str | None
    planner_warm: bool
    worker: bool


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection (EPSG:4326)."""

    model_config = ConfigDict(extra="allow")
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]
