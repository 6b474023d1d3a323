"""Settings of the HTTP service (command-line flags and ``GRIDSCHEME_*`` environment variables).

These are operating limits of the service, not engineering policy: thresholds of the engine live
in the policy tables (``grid_models/data/policy``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from api.store.db import default_data_dir, resolve_database_url

WorkerMode = Literal["process", "thread", "off"]


def _env_int(name: str, default: int) -> int:
    v = os.environ.get(name)
    return int(v) if v else default


def _env_float(name: str, default: float) -> float:
    v = os.environ.get(name)
    return float(v) if v else default


@dataclass
class Settings:
    """Everything the service needs to start.

    Attributes
    ----------
    database_url : str
        SQLAlchemy URL (``GRIDSCHEME_DATABASE_URL``; default SQLite in ``data_dir``).
    data_dir : Path
        Where the SQLite file and materialised network files live (``GRIDSCHEME_DATA_DIR``).
    max_body_bytes : int
        Largest JSON request body (``GRIDSCHEME_MAX_BODY_BYTES``, default 1 MB).
    max_job_body_bytes : int
        Largest job submission (``GRIDSCHEME_MAX_JOB_BODY_BYTES``, default 32 MB).
    max_network_bytes : int
        Largest network upload (``GRIDSCHEME_MAX_NETWORK_BYTES``, default 512 MB).
    max_job_items : int
        Most applications in one batch job (``GRIDSCHEME_MAX_JOB_ITEMS``).
    planner_cache_size : int
        Warm planners kept per process (one per network version × policy).
    worker : {"process", "thread", "off"}
        How jobs run: a worker process started with the app (default), a thread in the app
        process (embedding, some tests), or not at all (another process runs them).
    job_lease_s : float
        A running job's lease; a worker that dies loses it after this long and another worker
        (or the restarted server) resumes the job (``GRIDSCHEME_JOB_LEASE_S``).
    job_chunk : int
        Items computed between two commits of a job (``GRIDSCHEME_JOB_CHUNK``).
    job_poll_s : float
        How often an idle worker looks for work.
    log_level : str
        Log level of the job worker process.
    """

    database_url: str
    data_dir: Path
    max_body_bytes: int = 1_000_000
    max_job_body_bytes: int = 32_000_000
    max_network_bytes: int = 512 * 2**20
    max_job_items: int = 20_000
    planner_cache_size: int = 2
    worker: WorkerMode = "process"
    job_lease_s: float = 30.0
    job_chunk: int = 20
    job_poll_s: float = 0.5
    log_level: str = "warning"

    @classmethod
    def from_env(cls, database_url: str | None = None, data_dir: str | Path | None = None,
                 **overrides: object) -> Settings:
        """Settings from arguments, then ``GRIDSCHEME_*`` environment variables, then defaults."""
        d = Path(data_dir).expanduser() if data_dir else default_data_dir()
        s = cls(
            database_url=resolve_database_url(database_url, d),
            data_dir=d,
            max_body_bytes=_env_int("GRIDSCHEME_MAX_BODY_BYTES", cls.max_body_bytes),
            max_job_body_bytes=_env_int("GRIDSCHEME_MAX_JOB_BODY_BYTES", cls.max_job_body_bytes),
            max_network_bytes=_env_int("GRIDSCHEME_MAX_NETWORK_BYTES", cls.max_network_bytes),
            max_job_items=_env_int("GRIDSCHEME_MAX_JOB_ITEMS", cls.max_job_items),
            planner_cache_size=_env_int("GRIDSCHEME_PLANNER_CACHE", cls.planner_cache_size),
            job_lease_s=_env_float("GRIDSCHEME_JOB_LEASE_S", cls.job_lease_s),
            job_chunk=_env_int("GRIDSCHEME_JOB_CHUNK", cls.job_chunk),
            job_poll_s=_env_float("GRIDSCHEME_JOB_POLL_S", cls.job_poll_s),
        )
        for k, v in overrides.items():
            if not hasattr(s, k):
                raise TypeError(f"unknown setting {k!r}")
            setattr(s, k, v)
        return s
