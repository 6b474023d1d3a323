"""The job worker: claims jobs from the database and computes them.

Started by the server as a separate process (``python -m api.jobs.worker``), or as a thread
for embedding. The process exits when its parent (the server) goes away, and on SIGTERM it
hands its lease back between two chunks so a restarted server resumes at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from api.store.db import Database

from .runner import claim_job, new_worker_id, process_job

log = logging.getLogger("gridscheme.jobs")


def run_worker(db: Database, data_dir: Path, stop: threading.Event, *, lease_s: float = 30.0,
               chunk: int = 20, poll_s: float = 0.5, planners: object | None = None,
               planner_cache_size: int = 2) -> None:
    """Claim and compute jobs until ``stop`` is set.

    Parameters
    ----------
    planners : api.service.planners.PlannerCache, optional
        Shared warm planners (thread mode); a new cache otherwise.
    """
    from api.service.networks import load_network
    from api.service.planners import PlannerCache

    cache = planners or PlannerCache(lambda v: load_network(db, data_dir, v), planner_cache_size)
    wid = new_worker_id()
    log.info("job worker %s started", wid)
    while not stop.is_set():
        try:
            jid = claim_job(db, wid, lease_s)
        except Exception:
            log.warning("claiming a job failed; retrying", exc_info=True)
            stop.wait(poll_s)
            continue
        if jid is None:
            stop.wait(poll_s)
            continue
        log.info("job %s claimed by %s", jid, wid)
        try:
            status = process_job(db, jid, wid, lease_s=lease_s, chunk=chunk,
                                 get_planner=cache.get,  # type: ignore[attr-defined]
                                 should_stop=stop.is_set)
            log.info("job %s: %s", jid, status)
        except Exception:
            # the lease expires and the job is resumed (by this or another worker)
            log.exception("job %s stopped by an error", jid)
            stop.wait(poll_s)


def start_worker_thread(db: Database, data_dir: Path, *, planners: object | None = None,
                        **kw: float) -> tuple[threading.Thread, threading.Event]:
    """Run :func:`run_worker` in a daemon thread; returns it and its stop event."""
    stop = threading.Event()
    t = threading.Thread(target=run_worker, args=(db, data_dir, stop), kwargs={"planners": planners, **kw},
                         daemon=True, name="gridscheme-jobs")
    t.start()
    return t, stop


def start_worker_process(database_url: str, data_dir: Path, *, lease_s: float, chunk: int,
                         poll_s: float, log_level: str = "warning") -> subprocess.Popen:
    """Start the worker process watching this process; returns its handle."""
    cmd = [sys.executable, "-m", "api.jobs.worker", "--database", database_url,
           "--data-dir", str(data_dir), "--parent-pid", str(os.getpid()),
           "--lease", str(lease_s), "--chunk", str(chunk), "--poll", str(poll_s),
           "--log-level", log_level]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL)


def stop_worker_process(p: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the worker (it hands back its lease), then kill it if it does not exit."""
    if p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m api.jobs.worker``."""
    ap = argparse.ArgumentParser(prog="gridscheme-worker")
    ap.add_argument("--database", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--parent-pid", type=int, default=0)
    ap.add_argument("--lease", type=float, default=30.0)
    ap.add_argument("--chunk", type=int, default=20)
    ap.add_argument("--poll", type=float, default=0.5)
    ap.add_argument("--log-level", default="warning")
    a = ap.parse_args(argv)
    logging.basicConfig(level=getattr(logging, a.log_level.upper(), logging.WARNING),
                        format="%(asctime)s gridscheme-worker %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if a.parent_pid:
        def watch() -> None:
            # the server died without stopping us (kill -9): leave; our lease will expire
            while not stop.wait(0.5):
                if os.getppid() != a.parent_pid:
                    stop.set()

        threading.Thread(target=watch, daemon=True).start()
    db = Database(a.database)
    try:
        run_worker(db, Path(a.data_dir), stop, lease_s=a.lease, chunk=a.chunk, poll_s=a.poll)
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
