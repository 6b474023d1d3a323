"""The park planner's settings: policy table ``park_planning.csv`` (key, value, unit,
references), typed and checked once.

Every number the park planner uses lives in that table or in ``park_substations.csv``; a
missing key or a value of the wrong kind is a :class:`PolicyError` naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from grid_models.errors import PolicyError
from grid_models.policy import Policy


@dataclass(frozen=True)
class ParkSettings:
    """Typed ``park_planning`` values (see the CSV for meaning and references)."""

    time_limit_s: float
    mip_gap: float
    cpsat_polish_s: float
    options_per_parcel: int
    pairs_per_parcel: int
    unserved_penalty_cny_per_kva: float
    unserved_penalty_cny: float
    rmu_customer_bays: int
    rmu_cost_cny: float
    rmu_site_spacing_m: float
    rmu_max_units_per_site: int
    rmu_max_access_m: float
    rmu_options_per_parcel: int
    park_rmu_max_parcel_share: float
    park_feeder_conductor: str
    park_feeder_mode: str
    park_feeder_sources: int
    park_feeders_per_bus_section: int
    customer_line_conductor: str
    voltage_margin_pct: float
    current_margin_ratio: float
    fill_share: float
    park_simultaneity: float
    parcel_min_area_m2: float

    def replace(self, **kw: object) -> ParkSettings:
        """A copy with some values changed (CLI ``--time-limit``/``--gap``)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update({k: v for k, v in kw.items() if v is not None})
        return ParkSettings(**d)  # type: ignore[arg-type]


_RANGES = {"time_limit_s": (0.0, None), "mip_gap": (0.0, 1.0), "cpsat_polish_s": (0.0, None),
           "fill_share": (0.0, 1.0), "park_rmu_max_parcel_share": (0.0, 0.5), "park_simultaneity": (0.0, 1.0),
           "current_margin_ratio": (1.0, None), "voltage_margin_pct": (0.0, 10.0)}


def park_settings(policy: Policy) -> ParkSettings:
    """The park settings of a policy profile (cached on the profile).

    Raises
    ------
    PolicyError
        A key is missing or its value is not of the expected kind / range.
    """
    cache = policy.__dict__.setdefault("_park_settings", {})
    if "v" in cache:
        return cache["v"]
    t = policy.table("park_planning")
    values = dict(zip(t["key"].astype(str), t["value"].astype(str), strict=True))
    kw: dict[str, object] = {}
    for f in fields(ParkSettings):
        if f.name not in values:
            raise PolicyError(f"park_planning.csv: no row for key {f.name!r}",
                              field=f"park_planning.{f.name}")
        raw = values[f.name].strip()
        try:
            if f.type == "str":
                v: object = raw
            elif f.type == "int":
                v = int(float(raw))
                if v < 0 or float(raw) != v:
                    raise ValueError
            else:
                v = float(raw)
                if v != v or v < 0:
                    raise ValueError
        except ValueError:
            raise PolicyError(f"park_planning.csv: {f.name} = {raw!r} is not a "
                              f"{'whole number' if f.type == 'int' else 'number'} >= 0",
                              field=f"park_planning.{f.name}") from None
        lo, hi = _RANGES.get(f.name, (None, None))
        if isinstance(v, float) and ((lo is not None and v < lo) or (hi is not None and v > hi)):
            raise PolicyError(f"park_planning.csv: {f.name} = {v:g} is outside [{lo}, {hi}]",
                              field=f"park_planning.{f.name}")
        kw[f.name] = v
    s = ParkSettings(**kw)  # type: ignore[arg-type]
    cache["v"] = s
    return s
