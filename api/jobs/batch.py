"""The one place where a batch of applications meets the engine.

``Planner.plan_many(applications)`` is coming to the engine; until it exists this adapter loops
``Planner.plan``. Switch here (and only here) when it lands.
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
