"""Normalised daily and annual load shapes (``data/profiles.csv``).

Each profile has a workday and a weekend row of 96 quarter-hour values on one scale, so that
the larger of the two peaks at 1.0 (the customer's design peak), and twelve monthly factors (peak of the month's mean workday
over the largest such peak). The table is precomputed offline from demandlib's BDEW profiles,
demandlib's step profiles and SimBench profiles by ``data/make_profiles.py``; nothing here
needs those packages.

A customer's curve on any timestamps is ``peak x shape[day type][time of day] x
monthly[month]``: :func:`profile_curve` builds it for a whole index at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from grid_models.errors import InputError, UnknownTypeError

from .datafiles import read_table

STEPS_PER_DAY = 96
STEP_COLUMNS = tuple(f"t{h:02d}{m:02d}" for h in range(24) for m in (0, 15, 30, 45))
MONTH_COLUMNS = tuple(f"m{i:02d}" for i in range(1, 13))


@dataclass(frozen=True, eq=False)
class Profile:
    """A normalised load shape.

    Attributes
    ----------
    key : str
        Profile name (``industries.csv`` column ``profile``).
    workday, weekend : numpy.ndarray
        96 quarter-hour values from 00:00; ``max(workday.max(), weekend.max()) == 1``.
    monthly : numpy.ndarray
        12 factors, January first, maximum 1.
    source, description, references : str
        Where the shape comes from.
    """

    key: str
    workday: np.ndarray
    weekend: np.ndarray
    monthly: np.ndarray
    source: str
    description: str
    references: str

    def daily(self, steps_per_day: int = STEPS_PER_DAY, day_type: str = "workday") -> np.ndarray:
        """The daily shape at ``steps_per_day`` resolution (block means of quarter-hours)."""
        shape = {"workday": self.workday, "weekend": self.weekend}.get(day_type)
        if shape is None:
            raise InputError(f"day_type = {day_type!r}; valid: workday, weekend", field="day_type")
        return _resample(shape, steps_per_day)


def _resample(shape: np.ndarray, steps_per_day: int) -> np.ndarray:
    if steps_per_day <= 0 or STEPS_PER_DAY % steps_per_day:
        raise InputError(f"steps_per_day = {steps_per_day} cannot be made from quarter-hours; "
                         "valid: 96, 48, 32, 24, 16, 12, 8, 6, 4, 3, 2, 1", field="steps_per_day")
    return shape.reshape(steps_per_day, -1).mean(axis=1)


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    t = read_table("profiles.csv")
    missing = [c for c in ("profile", "day_type", *STEP_COLUMNS, *MONTH_COLUMNS)
               if c not in t.columns]
    if missing:
        raise InputError(f"profiles.csv lacks columns {missing[:5]}", field=missing[0])
    return t


def known_profiles() -> list[str]:
    """Profile keys in the table."""
    return list(dict.fromkeys(_table()["profile"]))


@lru_cache(maxsize=64)
def get_profile(key: str) -> Profile:
    """Look up a profile by key.

    Raises
    ------
    UnknownTypeError
        No such profile; the message lists the known ones.
    """
    t = _table()
    rows = t[t["profile"] == key]
    if rows.empty:
        raise UnknownTypeError(f"unknown profile {key!r}; known: {', '.join(known_profiles())}",
                               field="profile")
    by_type = {r["day_type"]: r for _, r in rows.iterrows()}
    if set(by_type) != {"workday", "weekend"}:
        raise InputError(f"profiles.csv: profile {key!r} needs one workday and one weekend row",
                         field="day_type")
    wd = by_type["workday"]
    arrays = [np.asarray(by_type[d][list(STEP_COLUMNS)], dtype=float) for d in ("workday", "weekend")]
    monthly = np.asarray(wd[list(MONTH_COLUMNS)], dtype=float)
    for a in arrays:
        a.setflags(write=False)
    monthly.setflags(write=False)
    return Profile(key, arrays[0], arrays[1], monthly, str(wd.get("source", "")),
                   str(wd.get("description", "")), str(wd["references"]))


def resolve_profile(name: Profile | str) -> Profile:
    """A profile by its key, or by an industry name or alias (``"数据中心"``).

    Raises
    ------
    UnknownTypeError
        Neither a profile nor an industry.
    """
    if isinstance(name, Profile):
        return name
    if str(name) in known_profiles():
        return get_profile(str(name))
    from .industries import get_industry

    try:
        return get_profile(get_industry(str(name)).profile)
    except UnknownTypeError:
        raise UnknownTypeError(f"{name!r} is neither a load profile ({', '.join(known_profiles())})"
                               " nor an industry (see industries.csv)", field="profile") from None


def profile_curve(profile: Profile | str, index: pd.DatetimeIndex, *,
                  monthly: bool = True) -> np.ndarray:
    """The normalised shape on arbitrary timestamps (vectorised, no loop over steps).

    Each timestamp takes the mean of the quarter-hours it covers (the index's step, when
    regular and a divisor of a day, else one quarter-hour), the workday or weekend shape by
    its weekday, times its month's factor (unless ``monthly`` is false).

    Parameters
    ----------
    profile : Profile or str
        The shape or its key.
    index : pandas.DatetimeIndex
        Local timestamps (start of each interval).
    monthly : bool
        Apply the monthly factors (default) or keep every month at full peak.

    Returns
    -------
    numpy.ndarray
        One value per timestamp; multiply by the customer's peak.
    """
    p = get_profile(profile) if isinstance(profile, str) else profile
    idx = pd.DatetimeIndex(index)
    if len(idx) == 0:
        return np.zeros(0)
    width = 1
    if len(idx) > 1:
        step_min = float(np.median(np.diff(idx.asi8))) / 60e9
        q = step_min / 15.0
        if q >= 1 and q == int(q) and STEPS_PER_DAY % int(q) == 0:
            width = int(q)
    # cumulative sums give each interval's mean over `width` quarter-hours in one shot
    wd = np.concatenate([p.workday, p.workday[:width]])
    we = np.concatenate([p.weekend, p.weekend[:width]])
    cw = np.concatenate([[0.0], np.cumsum(wd)])
    ce = np.concatenate([[0.0], np.cumsum(we)])
    q0 = (idx.hour * 4 + idx.minute // 15).to_numpy()
    weekend = (idx.dayofweek >= 5)
    mean_wd = (cw[q0 + width] - cw[q0]) / width
    mean_we = (ce[q0 + width] - ce[q0]) / width
    out = np.where(weekend, mean_we, mean_wd)
    return out * p.monthly[idx.month.to_numpy() - 1] if monthly else out
