"""Warm planners: one compiled :class:`~scheme_engine.engine.Planner` per network version and
policy, built once per process and kept in a small LRU cache.

``Planner.plan`` is called under the warm planner's lock: the engine does not promise thread
safety, and planning is CPU-bound under the GIL anyway, so the lock costs no throughput.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from grid_models.network import Network
from grid_models.policy import Policy, load_policy


@dataclass(eq=False)
class WarmPlanner:
    """A compiled planner with its network, policy and lock."""

    version_id: str
    policy_name: str
    network: Network
    policy: Policy
    planner: Any  # scheme_engine.engine.Planner (imported lazily: heavy)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def policy_id(self) -> str:
        return self.policy.policy_id

    @cached_property
    def capacity_geojson(self) -> bytes:
        """The capacity heat map of this version under this policy (computed once)."""
        from .capacity import model_capacity_geojson_bytes

        return model_capacity_geojson_bytes(self.planner.cn, self.policy)

    def plan(self, application: dict, top_k: int | None = None) -> Any:
        """``Planner.plan`` under the lock; returns the engine's ``PlanResult``."""
        with self.lock:
            return self.planner.plan(application, top_k=top_k)

    def plan_many(self, applications: list[dict], top_k: int | None = None) -> list[Any]:
        """``Planner.plan_many`` under the lock (one PlanResult or GridSchemeError each)."""
        with self.lock:
            return self.planner.plan_many(applications, top_k=top_k)

    def plan_timed(self, application: dict, top_k: int | None = None) -> tuple[Any, float, float]:
        """:meth:`plan` and (milliseconds waiting for the lock, milliseconds planning)."""
        t0 = time.perf_counter()
        with self.lock:
            t1 = time.perf_counter()
            result = self.planner.plan(application, top_k=top_k)
        return result, (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000


class PlannerCache:
    """LRU cache of :class:`WarmPlanner` by (network version, policy name).

    Parameters
    ----------
    loader : callable
        ``loader(version_id) -> Network``.
    maxsize : int
        Planners kept; the least recently used is dropped beyond it.
    """

    def __init__(self, loader: Callable[[str], Network], maxsize: int = 2) -> None:
        self._loader = loader
        self._maxsize = max(1, int(maxsize))
        self._cache: OrderedDict[tuple[str, str], WarmPlanner] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[str, str], threading.Lock] = {}

    def get(self, version_id: str, policy_name: str) -> WarmPlanner:
        """The warm planner, compiling it on first use (other callers wait for that build)."""
        key = (version_id, policy_name)
        with self._lock:
            wp = self._cache.get(key)
            if wp is not None:
                self._cache.move_to_end(key)
                return wp
            build = self._building.setdefault(key, threading.Lock())
        with build:
            with self._lock:
                wp = self._cache.get(key)
            if wp is not None:
                return wp
            from scheme_engine.engine import Planner

            net = self._loader(version_id)
            policy = load_policy(policy_name)
            wp = WarmPlanner(version_id, policy_name, net, policy, Planner(net, policy))
            with self._lock:
                self._cache[key] = wp
                self._building.pop(key, None)
                while len(self._cache) > self._maxsize:
                    self._cache.popitem(last=False)
        return wp

    def cached(self, version_id: str, policy_name: str) -> bool:
        """Whether that planner is warm in this process."""
        with self._lock:
            return (version_id, policy_name) in self._cache
