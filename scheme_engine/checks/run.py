"""Running the registry: values, limits, pass/fail and utilisation of every option."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from grid_models.errors import PolicyError
from grid_models.policy import Policy
from grid_models.policy_schema import did_you_mean

from .base import REGISTRY, CheckSpec, fill
from .inputs import CheckInputs


def active_checks(policy: Policy) -> tuple[tuple[CheckSpec, ...], frozenset[str]]:
    """The checks the policy runs (``checks.csv`` action not ``off``), in registry order, and
    the names of those whose failure only flags.

    Raises
    ------
    PolicyError
        ``checks.csv`` names a check that does not exist, or leaves one out.
    """
    cache = policy.__dict__.setdefault("_active_checks", {})
    if "v" in cache:
        return cache["v"]
    actions = policy.check_actions
    unknown = [n for n in actions if n not in REGISTRY]
    if unknown:
        raise PolicyError(f"checks.csv: unknown check {unknown[0]!r}"
                          f"{did_you_mean(unknown[0], REGISTRY)}", field=f"checks.{unknown[0]}")
    missing = [n for n in REGISTRY if n not in actions]
    if missing:
        raise PolicyError(f"checks.csv: no action for check(s) {missing} (reject, flag or off)",
                          field=f"checks.{missing[0]}")
    specs = tuple(REGISTRY[n] for n in REGISTRY if actions[n] != "off")
    flag_only = frozenset(n for n in REGISTRY if actions[n] == "flag")
    cache["v"] = (specs, flag_only)
    return specs, flag_only


@dataclass
class CheckResults:
    """Every active check over every option (arrays of the options' shape)."""

    specs: tuple[CheckSpec, ...]
    flag_only: frozenset[str]
    values: dict[str, np.ndarray]
    limits: dict[str, np.ndarray]
    passed: dict[str, np.ndarray]
    ok: np.ndarray  # every rejecting check passes

    @cached_property
    def _stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(values, limits, passed) with the checks on the last axis, and which checks reject:
        one gather per look-up instead of one per check (a plan looks up a few dozen
        options)."""
        names = [sp.name for sp in self.specs]
        return (np.stack([self.values[n] for n in names], axis=-1),
                np.stack([self.limits[n] for n in names], axis=-1),
                np.stack([self.passed[n] for n in names], axis=-1),
                np.array([n not in self.flag_only for n in names]))

    def at(self, c: int, t: int) -> tuple[list[float], list[float], list[bool]]:
        """Values, limits and results of every active check (registry order) of option
        ``(c, t)``, as Python lists (for the JSON ``limits[]`` of a reported circuit)."""
        v, lim, ok, _ = self._stacked
        return v[c, t].tolist(), lim[c, t].tolist(), ok[c, t].tolist()

    def utilisation_at(self, index: tuple[np.ndarray, ...]) -> np.ndarray:
        """Utilisation of every active check (columns, registry order) at ``index``."""
        v, lim, _, _ = self._stacked
        return utilisation_matrix(self.specs, v[index], lim[index])

    def failing_at(self, index: tuple[np.ndarray, ...], rejecting_only: bool = True
                   ) -> np.ndarray:
        """Boolean (n, checks): which checks fail at ``index``."""
        _, _, ok, reject = self._stacked
        return ~ok[index] & reject if rejecting_only else ~ok[index]

    def binding_at(self, index: tuple[np.ndarray, ...]) -> list[tuple[str, float]]:
        """Per option: the rejecting check furthest beyond its limit when any fails, else the
        check nearest its limit: ``(name, utilisation)``."""
        if np.size(index[0]) == 0:
            return []
        util = self.utilisation_at(index)
        failing: np.ndarray = np.asarray(self.failing_at(index), dtype=bool)
        any_fail: np.ndarray = np.asarray(failing.any(axis=1))
        pool = np.where(any_fail[:, None], failing, True)
        j = np.argmax(np.where(pool, util, -np.inf), axis=1)
        return [(self.specs[jj].name, float(util[i, jj])) for i, jj in enumerate(j.tolist())]


@lru_cache(maxsize=16)
def _comparisons(specs: tuple[CheckSpec, ...]) -> tuple[np.ndarray, np.ndarray]:
    cmp = np.array([sp.comparison for sp in specs])
    return cmp == "ge", cmp == "abs_le"


def utilisation_matrix(specs: tuple[CheckSpec, ...], v: np.ndarray, lim: np.ndarray
                       ) -> np.ndarray:
    """:meth:`CheckSpec.utilisation` of columns of checks at once (one pass, not one per
    check: this runs for every chosen and every rejected option)."""
    ge, absolute = _comparisons(specs)
    a = np.where(absolute, np.abs(v), np.maximum(v, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        u_le = np.where(np.isinf(lim) & (lim > 0), 0.0,
                        np.where(lim > 0, a / lim, np.where(a <= 0, 0.0, np.inf)))
        u_ge = np.where(v > 0, lim / v, np.where(lim <= 0, 0.0, np.inf))
    u = np.maximum(np.where(ge, u_ge, u_le), 0.0)
    return np.where(np.isfinite(u), u, 1e9)


def run_checks(x: CheckInputs, policy: Policy, shape: tuple[int, ...]) -> CheckResults:
    """Evaluate every active check of ``policy`` on the options described by ``x``."""
    specs, flag_only = active_checks(policy)
    values, limits, passed = {}, {}, {}
    ok = np.ones(shape, bool)
    for sp in specs:
        v, lim = sp.compute(x)
        v = fill(v, shape)
        lim = fill(lim, shape)
        p = sp.passed(v, lim)
        values[sp.name], limits[sp.name], passed[sp.name] = v, lim, p
        if sp.name not in flag_only:
            ok &= p
    return CheckResults(specs, flag_only, values, limits, passed, ok)
