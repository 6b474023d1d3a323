"""The check registry: one entry per rule, with its unit, labels, comparison and formula.

A check is a function of :class:`~scheme_engine.checks.inputs.CheckInputs` returning
``(value, limit)`` arrays that broadcast to the options' shape (candidates x conductors, or
options x demand steps when the largest capacity is searched). Everything else (pass/fail,
utilisation, the binding check, the JSON ``limits[]`` entries, explanations) is derived from
the entry, so adding a rule is one decorated function in one module of this package.

What a failing check *does* is policy data (``checks.csv``: ``reject`` makes the option
infeasible, ``flag`` only flags it, ``off`` skips the check).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from .inputs import CheckInputs

Comparison = Literal["le", "lt", "ge", "abs_le"]
#: slack on <= comparisons so that a value computed equal to its limit passes
EPS = 1e-12


@dataclass(frozen=True)
class CheckSpec:
    """One rule check.

    Attributes
    ----------
    name : str
        Stable machine name (JSON ``limits[].name``, ``checks.csv``).
    unit : str
    label_zh, label_en : str
        What a designer reads.
    comparison : {"le", "lt", "ge", "abs_le"}
        ``value <= limit``, ``value < limit``, ``value >= limit``, ``|value| <= limit``.
    compute : callable
        ``compute(inputs) -> (value, limit)``, broadcastable arrays.
    load_dependent : bool
        Whether the value changes with the customer's demand (the largest-capacity search
        only needs these).
    """

    name: str
    unit: str
    label_zh: str
    label_en: str
    comparison: Comparison
    compute: Callable[[CheckInputs], tuple[np.ndarray, np.ndarray]]
    load_dependent: bool = True

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def passed(self, value: np.ndarray, limit: np.ndarray) -> np.ndarray:
        """Boolean array: the check holds."""
        v, lim = np.asarray(value, float), np.asarray(limit, float)
        if self.comparison == "le":
            return v <= lim + EPS
        if self.comparison == "lt":
            return v < lim
        if self.comparison == "ge":
            return v >= lim - EPS
        return np.abs(v) <= lim + EPS

    def utilisation(self, value: np.ndarray, limit: np.ndarray) -> np.ndarray:
        """How much of the limit is used: <= 1 passes (``lt`` fails at exactly 1), large = far
        beyond; finite (1e9 stands for 'infinitely beyond')."""
        v, lim = np.asarray(value, float), np.asarray(limit, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.comparison == "ge":
                u = np.where(v > 0, lim / v, np.where(lim <= 0, 0.0, np.inf))
            else:
                a = np.abs(v) if self.comparison == "abs_le" else np.maximum(v, 0.0)
                u = np.where(np.isinf(lim) & (lim > 0), 0.0,
                             np.where(lim > 0, a / lim, np.where(a <= 0, 0.0, np.inf)))
        u = np.maximum(u, 0.0)
        return np.where(np.isfinite(u), u, 1e9)


def fill(a: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    """``a`` broadcast to ``shape`` as a plain array (``a`` itself when it has the shape).

    What ``np.broadcast_to`` gives, at a quarter of its cost: the checks run about a hundred
    of these per application, on arrays of a few hundred elements, where numpy's Python-level
    argument handling costs more than the copy.
    """
    a = np.asarray(a)
    if a.shape == shape:
        return a
    out = np.empty(shape, a.dtype)
    out[...] = a
    return out


#: every check, in the order designers see them (filled by the check modules at import)
REGISTRY: dict[str, CheckSpec] = {}


def register(name: str, unit: str, label_zh: str, label_en: str, comparison: Comparison,
             load_dependent: bool = True,
             ) -> Callable[[Callable[[CheckInputs], tuple[np.ndarray, np.ndarray]]],
                           Callable[[CheckInputs], tuple[np.ndarray, np.ndarray]]]:
    """Decorator adding a check function to :data:`REGISTRY` (names are unique)."""

    def deco(fn: Callable[[CheckInputs], tuple[np.ndarray, np.ndarray]]
             ) -> Callable[[CheckInputs], tuple[np.ndarray, np.ndarray]]:
        if name in REGISTRY:
            raise ValueError(f"check {name!r} registered twice")
        REGISTRY[name] = CheckSpec(name, unit, label_zh, label_en, comparison, fn,
                                   load_dependent)
        return fn

    return deco
