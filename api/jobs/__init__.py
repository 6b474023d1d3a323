"""Background jobs: kinds (``plan_batch``; ``park_plan`` plugs in), state in the database,
and the worker process that computes them."""

from .kinds import JOB_KINDS, JobContext, JobKind, register_job_kind

__all__ = ["JOB_KINDS", "JobContext", "JobKind", "register_job_kind"]
