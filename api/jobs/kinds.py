"""Job kinds: how a submission splits into items and how a chunk of items is computed.

A kind declares the body it accepts at ``POST /v1/jobs`` (a pydantic model whose ``kind`` field
is a literal of its name), which roles may submit it, how the body splits into independent
items (each stored as a ``job_items`` row and written exactly once), and how to compute a chunk
of items with a :class:`JobContext` (which hands out the warm planner of the job's network
version and policy). ``plan_batch`` is the first kind; a ``park_plan`` kind plugs in the same
way (one item per park, or one item per park run), with ``register_job_kind(ParkPlan())``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from grid_models.errors import InputError
from scheme_engine.application import Application

from .batch import plan_many

log = logging.getLogger("gridscheme.jobs")


@dataclass
class ItemOutcome:
    """The result of one item: a JSON document, or an error body."""

    result_json: str | None = None
    error: dict[str, Any] | None = None
    network_version: str | None = None
    policy_id: str | None = None


@dataclass
class JobContext:
    """What a kind needs to compute items."""

    params: dict[str, Any]
    network_version: str
    policy_name: str
    get_planner: Callable[[str, str], Any] = field(repr=False)

    @property
    def planner(self) -> Any:
        """The warm planner of the job's network version and policy."""
        return self.get_planner(self.network_version, self.policy_name)


class JobKind:
    """Base class of job kinds (see the module notes)."""

    name: ClassVar[str]
    roles: ClassVar[frozenset[str]] = frozenset({"admin", "designer", "customer"})
    submit_model: ClassVar[type[BaseModel]]
    #: what each item's result is (documentation of ``GET /v1/jobs/{id}/items``)
    result_description: ClassVar[str] = ""

    def split(self, body: BaseModel) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(parameters shared by every item, item inputs)."""
        raise NotImplementedError

    def run(self, ctx: JobContext, inputs: list[dict[str, Any]]) -> list[ItemOutcome]:
        """Compute a chunk of items (one outcome per input, in order)."""
        raise NotImplementedError

    def item_count(self, body: BaseModel) -> int:
        """Items the body makes (checked against the service limit before splitting)."""
        return len(self.split(body)[1])


JOB_KINDS: dict[str, JobKind] = {}


def register_job_kind(kind: JobKind) -> None:
    """Add a job kind (before the app is created: its body joins the OpenAPI schema)."""
    JOB_KINDS[kind.name] = kind


def error_body(exc: Exception) -> dict[str, Any]:
    """An item's error as JSON (input errors name their field; others say nothing internal)."""
    if isinstance(exc, InputError):
        code = "invalid_application" if type(exc).__name__ == "ApplicationError" else "invalid_input"
        return {"code": code, "message": str(exc), "field": exc.field}
    return {"code": "internal_error", "message": "this item could not be computed", "field": None}


class PlanBatchSubmit(BaseModel):
    """A batch of applications planned in the background (each its own result)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["plan_batch"]
    applications: list[Application] = Field(min_length=1, description="applications to plan")
    top_k: int | None = Field(None, ge=1, le=20, description="alternatives per application")


class PlanBatch(JobKind):
    """``plan_batch``: one item per application; each item's result is a ``PlanResult``."""

    name = "plan_batch"
    submit_model = PlanBatchSubmit
    result_description = "PlanResult (docs/scheme_schema.md)"

    def split(self, body: BaseModel) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        assert isinstance(body, PlanBatchSubmit)
        apps = [{"application": a.model_dump(mode="json", exclude_unset=True)}
                for a in body.applications]
        return {"top_k": body.top_k}, apps

    def item_count(self, body: BaseModel) -> int:
        assert isinstance(body, PlanBatchSubmit)
        return len(body.applications)

    def run(self, ctx: JobContext, inputs: list[dict[str, Any]]) -> list[ItemOutcome]:
        wp = ctx.planner
        results = plan_many(wp, [i["application"] for i in inputs], ctx.params.get("top_k"))
        out = []
        for r in results:
            if isinstance(r, Exception):
                out.append(ItemOutcome(error=error_body(r)))
            else:
                out.append(ItemOutcome(result_json=r.model_dump_json(),
                                       network_version=r.network_version, policy_id=r.policy_id))
        return out


register_job_kind(PlanBatch())
