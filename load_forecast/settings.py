"""Forecast settings that belong to the utility (``data/forecast_settings.csv``).

The scheme engine reads the same table: which peak the rules use after connection
(``headroom_rule``), the forecast horizon and the interval level. A utility overrides values
by passing ``overrides`` (e.g. from its policy profile) or its own CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import pandas as pd

from grid_models.errors import InputError, UnknownTypeError

from .checks import in_range, positive
from .constants import HEADROOM_RULES  # noqa: E402  (re-exported)
from .datafiles import DATA_DIR, read_table


@dataclass(frozen=True)
class ForecastSettings:
    """Values of ``forecast_settings.csv`` (see its ``description`` and ``references``)."""

    headroom_rule: str
    horizon_years: int
    interval_level: float
    min_points_trend: int
    min_points_holt: int
    outlier_mad_z: float
    outlier_min_points: int
    curve_spike_mad_z: float
    min_relative_sigma: float
    fallback_relative_sigma: float
    min_year_coverage: float
    pv_peak_output_ratio: float
    max_plot_ratio: float
    max_history_gap_years: int
    use_monthly_factors: bool

    def with_overrides(self, **overrides: object) -> ForecastSettings:
        """A copy with some values replaced (validated like the CSV)."""
        known = {f.name for f in fields(self)}
        for k in overrides:
            if k not in known:
                raise UnknownTypeError(f"unknown forecast setting {k!r}; known: "
                                       f"{', '.join(sorted(known))}", field=k)
        raw = {f.name: getattr(self, f.name) for f in fields(self)}
        raw.update(overrides)
        return _build(raw, "overrides")


def _build(raw: dict[str, object], source: str) -> ForecastSettings:
    rule = str(raw["headroom_rule"]).strip().lower()
    if rule not in HEADROOM_RULES:
        raise InputError(f"{source}: headroom_rule = {raw['headroom_rule']!r}; valid: "
                         f"{', '.join(HEADROOM_RULES)}", field="headroom_rule")
    ints = {"horizon_years": 50, "min_points_trend": 100, "min_points_holt": 1000,
            "outlier_min_points": 1000, "max_history_gap_years": 50}
    vals: dict[str, object] = {"headroom_rule": rule}
    for f in fields(ForecastSettings):
        if f.name == "headroom_rule":
            continue
        if f.name == "use_monthly_factors":
            v = str(raw[f.name]).strip().lower()
            if v not in ("0", "1", "true", "false", "0.0", "1.0"):
                raise InputError(f"{source}: use_monthly_factors = {raw[f.name]!r}; valid: 0 or 1",
                                 field=f.name)
            vals[f.name] = v in ("1", "true", "1.0")
        elif f.name in ints:
            vals[f.name] = int(positive(raw[f.name], f.name, ints[f.name]))
        elif f.name in ("interval_level", "min_year_coverage"):
            vals[f.name] = in_range(raw[f.name], f.name, 0.0, 1.0, high_open=f.name == "interval_level")
        else:
            vals[f.name] = positive(raw[f.name], f.name)
    if vals["min_points_trend"] < 3:  # type: ignore[operator]
        raise InputError(f"{source}: min_points_trend must be >= 3 (a trend needs a residual)",
                         field="min_points_trend")
    return ForecastSettings(**vals)  # type: ignore[arg-type]


@lru_cache(maxsize=8)
def _load(path: str) -> ForecastSettings:
    t = read_table(path)
    missing = [f.name for f in fields(ForecastSettings) if f.name not in set(t["key"])]
    if missing:
        raise InputError(f"{path}: missing settings {missing}", field=missing[0])
    return _build(dict(zip(t["key"], t["value"], strict=True)), path)


def load_settings(path: str | Path | None = None, **overrides: object) -> ForecastSettings:
    """Read the forecast settings.

    Parameters
    ----------
    path : path-like, optional
        A CSV with columns ``key,value,unit,description,references``; default the bundled one.
    **overrides
        Values that replace those of the file (validated).

    Returns
    -------
    ForecastSettings
    """
    s = _load(str(Path(path) if path else DATA_DIR / "forecast_settings.csv"))
    return s.with_overrides(**overrides) if overrides else s


def settings_table(path: str | Path | None = None) -> pd.DataFrame:
    """The settings CSV as a table (for printing the basis of a number)."""
    return read_table(Path(path) if path else DATA_DIR / "forecast_settings.csv")

