"""Industry classes of connection applications: demand factor, power factor, ramp-up, profile.

The table (``data/industries.csv``) holds the classes Chinese utilities use for high-voltage
applications. ``demand_factor`` is the customer's peak *apparent* demand over its in-service
transformer kVA (the transformer load rate at the customer's own annual peak), so
``peak_kW = in-service kVA x demand_factor x power_factor``. ``ramp_y1`` ... ``ramp_y5`` are the
share of that peak reached in year 1 ... 5 after energising (1.0 afterwards). Lookups accept the
key, the Chinese or English name, or any alias, ignoring case, spaces, ``_`` and ``-``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from grid_models.errors import InputError, UnknownTypeError

from .datafiles import read_table

RAMP_COLUMNS = ("ramp_y1", "ramp_y2", "ramp_y3", "ramp_y4", "ramp_y5")


@dataclass(frozen=True)
class Industry:
    """One row of the industry table."""

    key: str
    name_zh: str
    name_en: str
    demand_factor: float
    demand_factor_low: float
    demand_factor_high: float
    power_factor: float
    ramp: tuple[float, ...]
    profile: str
    is_generation: bool
    references: str

    def ramp_factor(self, year: int) -> float:
        """Share of the design peak reached in ``year`` (1 = first year after energising)."""
        if year < 1:
            raise InputError(f"year = {year} is out of range; valid: >= 1 (1 = first year after "
                             "energising)", field="year")
        return self.ramp[year - 1] if year <= len(self.ramp) else 1.0


def normalise_name(name: str) -> str:
    """Lower-case, without spaces, ``_`` and ``-`` (so "Data Centre" == "data_centre")."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


@lru_cache(maxsize=1)
def industry_table() -> pd.DataFrame:
    """The bundled industry table, checked once."""
    t = read_table("industries.csv")
    bad = []
    for col in ("demand_factor", "demand_factor_low", "demand_factor_high", "power_factor",
                *RAMP_COLUMNS):
        v = pd.to_numeric(t[col], errors="coerce")
        if v.isna().any() or (v <= 0).any() or (v > 1).any():
            bad.append(col)
    if bad:
        raise InputError(f"industries.csv: columns {bad} must hold numbers in (0, 1]",
                         field=bad[0])
    return t


@lru_cache(maxsize=1)
def _alias_index() -> dict[str, str]:
    idx: dict[str, str] = {}
    for row in industry_table().itertuples(index=False):
        names = [row.industry, row.name_zh, row.name_en, *str(row.aliases).split(";")]
        for n in names:
            k = normalise_name(n)
            if not k:
                continue
            if k in idx and idx[k] != row.industry:
                raise InputError(f"industries.csv: alias {n!r} names both {idx[k]!r} and "
                                 f"{row.industry!r}", field="aliases")
            idx[k] = row.industry
    return idx


def known_industries() -> list[str]:
    """Keys and Chinese names, as listed in error messages and ``--help``."""
    t = industry_table()
    return [f"{k} ({z})" for k, z in zip(t["industry"], t["name_zh"], strict=True)]


@lru_cache(maxsize=1)
def _group_index() -> dict[str, list[str]]:
    """Generic words ("工业", "manufacturing") that name several classes (industry_groups.csv)."""
    idx: dict[str, list[str]] = {}
    for row in read_table("industry_groups.csv").itertuples(index=False):
        for n in [row.group, *str(row.aliases).split("|")]:
            if normalise_name(n):
                idx[normalise_name(n)] = str(row.industries).split("|")
    return idx


def get_industry(name: str) -> Industry:
    """Look up an industry by key, Chinese/English name or alias.

    Raises
    ------
    UnknownTypeError
        No class has that name. A generic word that names several classes ("工业",
        "manufacturing") gets the classes to choose from; a misspelt name the closest ones
        ("did you mean"); anything else the list of known classes.
    """
    key = _alias_index().get(normalise_name(name)) if name is not None else None
    if key is None:
        t = industry_table().set_index("industry")
        group = _group_index().get(normalise_name(name)) if name is not None else None
        if group:
            choices = ", ".join(f"{k} ({t.loc[k, 'name_zh']})" for k in group)
            raise UnknownTypeError(f"industry {name!r} covers several classes whose demand "
                                   f"differs; choose one: {choices}", field="industry")
        close = difflib.get_close_matches(normalise_name(name), list(_alias_index()), n=3,
                                          cutoff=0.75)
        keys = list(dict.fromkeys(_alias_index()[c] for c in close))
        if keys:
            hint = " or ".join(f"{k} ({t.loc[k, 'name_zh']})" for k in keys)
            raise UnknownTypeError(f"unknown industry {name!r}; did you mean {hint}?",
                                   field="industry")
        raise UnknownTypeError(f"unknown industry {name!r}; known: {', '.join(known_industries())}",
                               field="industry")
    return _industry(key)


@lru_cache(maxsize=64)
def _industry(key: str) -> Industry:
    # the bundled table is immutable at run time: build each Industry once
    row = industry_table().set_index("industry").loc[key]
    return Industry(
        key=key, name_zh=str(row["name_zh"]), name_en=str(row["name_en"]),
        demand_factor=float(row["demand_factor"]),
        demand_factor_low=float(row["demand_factor_low"]),
        demand_factor_high=float(row["demand_factor_high"]),
        power_factor=float(row["power_factor"]),
        ramp=tuple(float(row[c]) for c in RAMP_COLUMNS),
        profile=str(row["profile"]),
        is_generation=str(row["is_generation"]).strip().lower() == "true",
        references=str(row["references"]))
