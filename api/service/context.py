"""The service's shared state: settings, database, warm planners, the job worker."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from dataclasses import dataclass, field

from api.store.db import Database

from .networks import active, load_network
from .planners import PlannerCache, WarmPlanner
from .settings import Settings

log = logging.getLogger("gridscheme.service")

#: how long a process trusts its last read of the active network/policy; an activation made by
#: this process applies at once, one made by another process within this time
ACTIVE_TTL_S = 1.0


@dataclass
class ServiceContext:
    """Everything a request handler needs (``app.state.ctx``)."""

    settings: Settings
    db: Database
    planners: PlannerCache = field(init=False)
    worker_process: subprocess.Popen | None = None
    worker_thread: threading.Thread | None = None
    worker_stop: threading.Event | None = None
    lifespan_depth: int = 0
    _active: tuple[str | None, str] | None = None
    _active_at: float = 0.0

    def __post_init__(self) -> None:
        self.planners = PlannerCache(lambda v: load_network(self.db, self.settings.data_dir, v),
                                     self.settings.planner_cache_size)

    def active(self) -> tuple[str | None, str]:
        """(active network version, active policy name), re-read at most every ACTIVE_TTL_S."""
        now = time.monotonic()
        cached = self._active
        if cached is None or now - self._active_at > ACTIVE_TTL_S:
            cached = self._active = active(self.db)
            self._active_at = now
        return cached

    def forget_active(self) -> None:
        """Drop the cached active state (after this process changed it)."""
        self._active = None

    def warm(self, version_id: str, policy_name: str) -> WarmPlanner:
        """The warm planner of that version and policy."""
        return self.planners.get(version_id, policy_name)

    def start_worker(self) -> None:
        """Start job processing as the settings say."""
        s = self.settings
        if s.worker == "process":
            from api.jobs.worker import start_worker_process

            self.worker_process = start_worker_process(
                s.database_url, s.data_dir, lease_s=s.job_lease_s, chunk=s.job_chunk,
                poll_s=s.job_poll_s, log_level=s.log_level)
        elif s.worker == "thread":
            from api.jobs.worker import start_worker_thread

            self.worker_thread, self.worker_stop = start_worker_thread(
                self.db, s.data_dir, planners=self.planners, lease_s=s.job_lease_s,
                chunk=s.job_chunk, poll_s=s.job_poll_s)

    def stop_worker(self) -> None:
        """Stop job processing (the worker hands its lease back)."""
        if self.worker_process is not None:
            from api.jobs.worker import stop_worker_process

            stop_worker_process(self.worker_process)
            self.worker_process = None
        if self.worker_stop is not None and self.worker_thread is not None:
            self.worker_stop.set()
            self.worker_thread.join(30)
            self.worker_thread = self.worker_stop = None

    def worker_alive(self) -> bool:
        """Whether the job worker runs (True when jobs are run elsewhere: ``worker='off'``)."""
        if self.settings.worker == "process":
            return self.worker_process is not None and self.worker_process.poll() is None
        if self.settings.worker == "thread":
            return self.worker_thread is not None and self.worker_thread.is_alive()
        return True
