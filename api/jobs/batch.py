"""The one place where a batch of applications meets the engine: ``Planner.plan_many``.

An application the engine refuses comes back as its error in its place; an unexpected failure
of one item must not sink the batch, so the chunk is then planned item by item to isolate it.
"""

from __future__ import annotations

import logging
from typing import Any

from grid_models.errors import InputError

log = logging.getLogger("gridscheme.jobs")


def plan_many(planner: Any, applications: list[dict], top_k: int | None = None) -> list[Any]:
    """Plan every application; one entry per input, a ``PlanResult`` or the exception raised.

    Parameters
    ----------
    planner : api.service.planners.WarmPlanner
        The warm planner (its ``plan`` holds the planner's lock).
    applications : list of dict
        Application documents.
    top_k : int, optional
        Alternatives per application.
    """
    try:
        return list(planner.plan_many(applications, top_k=top_k))
    except Exception:  # noqa: BLE001 - isolate the failing item below
        log.warning("a batch chunk failed as a whole; planning its items one by one")
    out: list[Any] = []
    for app in applications:
        try:
            out.append(planner.plan(app, top_k=top_k))
        except InputError as exc:
            out.append(exc)
        except Exception as exc:  # one bad item must not sink the batch; logged, reported
            log.exception("planning a batch item failed")
            out.append(exc)
    return out
