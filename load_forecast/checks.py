"""Argument checks shared by the load_forecast modules: each names the field and the range."""

from __future__ import annotations

import math

from grid_models.errors import InputError


def number(value: object, field: str) -> float:
    """``value`` as a finite float, or an :class:`InputError` naming ``field``."""
    if isinstance(value, bool):
        raise InputError(f"{field} must be a number, got {value!r}", field=field)
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{field} must be a number, got {value!r}", field=field) from None
    if not math.isfinite(x):
        raise InputError(f"{field} must be a finite number, got {value!r}", field=field)
    return x


def in_range(value: object, field: str, low: float, high: float, *, low_open: bool = True,
             high_open: bool = False, unit: str = "") -> float:
    """``value`` checked against ``low``..``high``; the message states the valid interval."""
    x = number(value, field)
    too_low = x <= low if low_open else x < low
    too_high = x >= high if high_open else x > high
    if too_low or too_high:
        u = f" {unit}" if unit else ""
        if math.isinf(high):
            valid = f"{'>' if low_open else '>='} {low:.10g}{u}"
        else:
            valid = f"{'(' if low_open else '['}{low:.10g}, {high:.10g}{')' if high_open else ']'}{u}"
        raise InputError(f"{field} = {x:.10g}{u} is out of range; valid: {valid}", field=field)
    return x


def positive(value: object, field: str, high: float = math.inf, unit: str = "") -> float:
    """A number in ``(0, high]``."""
    return in_range(value, field, 0.0, high, unit=unit)


def non_negative(value: object, field: str, high: float = math.inf, unit: str = "") -> float:
    """A number in ``[0, high]``."""
    return in_range(value, field, 0.0, high, low_open=False, unit=unit)
