"""Background jobs: kinds (``plan_batch``; ``park_plan`` plugs in), state in the database,
and the worker process that computes them."""

from . import park as _park  # noqa: F401,E402  (registers the park_plan kind)
from .kinds import JOB_KINDS, JobContext, JobKind, register_job_kind

__all__ = ["JOB_KINDS", "JobContext", "JobKind", "register_job_kind"]
