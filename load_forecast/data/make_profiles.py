"""Rebuild ``profiles.csv`` from profiles that ship with demandlib and SimBench (offline).

Run once, by hand, when the mapping below changes::

    .venv/bin/python load_forecast/data/make_profiles.py

The runtime package reads only the CSV, so neither demandlib nor SimBench is needed to plan.
Each output row is one ``(profile, day_type)`` pair: 96 quarter-hour values ``t0000`` ...
``t2345`` on one scale for both day types, so that the larger of the two peaks at 1.0 (the
customer's design peak), and twelve monthly factors
``m01`` ... ``m12`` (peak of the month / peak of the year).

Sources
-------
- demandlib 0.2.2 ``bdew.ElecSlp`` (BDEW standard load profiles 1999, VDEW
  "Repräsentative VDEW-Lastprofile", M-28/99): h0_dyn household (h0 times BDEW's
  dynamisation polynomial, as BDEW prescribes for H0), g0 general commerce,
  g1 workday 8-18 h, g2 evening-weighted commerce, g3 continuous commerce (cold stores,
  pumping stations are BDEW's own examples), g4 shops.
- demandlib 0.2.2 ``particular_profiles.IndustrialLoadProfile``: documented step shapes
  (day/night, workday/weekend factors stated below) for shift industry.
- SimBench 1.x profiles (``1-complete_data-mixed-all-0-sw``, year 2016): PV1-PV8 generation
  and the APLS/HLS electric-vehicle charging loads.

Monthly factors from BDEW and SimBench reflect the German climate (winter peak, no air
conditioning); utilities replace them with measured Chinese shapes by editing the CSV.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).with_name("profiles.csv")
YEAR = 2019  # a non-leap year starting on a Tuesday; no holidays are applied
STEPS = 96

# profile -> (source kind, spec, description, references)
BDEW_REF = ("BDEW standard load profiles (VDEW M-28/99) via demandlib 0.2.2 bdew.ElecSlp; "
            "German seasons")
IND_REF = ("documented step shape built with demandlib 0.2.2 IndustrialLoadProfile; "
           "factors are gridscheme assumptions (UNVERIFIED)")
MAPPING: dict[str, tuple[str, object, str, str]] = {
    "continuous_process": (
        "step", dict(am=(0, 0), pm=(23, 45), week=(1.0, 1.0), weekend=(0.97, 0.97)),
        "three-shift continuous process: flat, weekends 3 % lower",
        IND_REF + "; continuous process load factor close to 1"),
    "two_shift_manufacturing": (
        "step", dict(am=(7, 0), pm=(22, 45), week=(1.0, 0.35), weekend=(0.45, 0.3)),
        "two shifts 07:00-23:00 on workdays, night base 35 %, weekend reduced",
        IND_REF),
    "one_shift_manufacturing": (
        "step", dict(am=(8, 0), pm=(17, 45), week=(1.0, 0.2), weekend=(0.3, 0.2)),
        "one shift 08:00-18:00 on workdays, night base 20 %",
        IND_REF),
    "commercial": (
        "bdew", {"g4": 0.5, "g2": 0.5},
        "shops and malls: BDEW g4 (shops) and g2 (evening-weighted) blended 50/50 by energy",
        BDEW_REF + "; blend for Chinese malls open into the evening is a gridscheme "
        "assumption (UNVERIFIED)"),
    "office": ("bdew", {"g1": 1.0}, "offices: BDEW g1 (workdays 08-18)", BDEW_REF),
    "hotel": (
        "bdew", {"g2": 0.5, "h0_dyn": 0.5},
        "hotels: BDEW g2 (evening-weighted commerce) and dynamised h0 (household) 50/50",
        BDEW_REF + "; blend is a gridscheme assumption (UNVERIFIED)"),
    "data_centre": (
        "step", dict(am=(0, 0), pm=(23, 45), week=(1.0, 1.0), weekend=(1.0, 1.0)),
        "data centre: IT load flat around the clock",
        IND_REF + "; cooling adds a summer bump that is not modelled"),
    "hospital": (
        "bdew", {"g3": 0.6, "g1": 0.4},
        "hospitals: BDEW g3 (continuous) base with g1 (daytime) share, 60/40 by energy",
        BDEW_REF + "; blend is a gridscheme assumption (UNVERIFIED)"),
    "school": (
        "bdew", {"g1": 1.0},
        "schools: BDEW g1 with Chinese school holidays (Feb x0.6, Aug x0.4 monthly peak)",
        BDEW_REF + "; holiday factors are gridscheme assumptions (UNVERIFIED)"),
    "residential_community": (
        "bdew", {"h0_dyn": 1.0},
        "residential community: BDEW h0 household with BDEW's dynamisation (seasonal) factor",
        BDEW_REF),
    "cold_storage": (
        "bdew", {"g3": 1.0}, "cold storage: BDEW g3 (BDEW lists cold stores under g3)",
        BDEW_REF),
    "ev_charging": (
        "simbench_ev", None,
        "EV charging: mean of SimBench workplace (APLS) and home (HLS) charging profiles",
        "SimBench 1-complete_data-mixed-all-0-sw LoadProfile.csv APLS_*/HLS_* (2016); no "
        "public fast-charging hub profile ships offline (UNVERIFIED for Chinese stations)"),
    "construction_temporary": (
        "step", dict(am=(7, 0), pm=(18, 45), week=(1.0, 0.15), weekend=(0.8, 0.15)),
        "construction site: 07:00-19:00 every day, weekends 80 %, night lighting 15 %",
        IND_REF),
    "pv_host": (
        "bdew", {"g0": 1.0},
        "own load of a site exporting PV: BDEW g0 (general commerce)",
        BDEW_REF),
    "others": ("bdew", {"g0": 1.0}, "other customers: BDEW g0 (general commerce)", BDEW_REF),
    "pv_generation": (
        "simbench_pv", None,
        "PV output shape: 90th percentile by time of day over May-Aug of the mean of "
        "SimBench PV1-PV8, i.e. a clear summer day",
        "SimBench 1-complete_data-mixed-all-0-sw RESProfile.csv PV1-PV8 (2016, Germany)"),
}
MONTH_ADJUST = {"school": {2: 0.6, 8: 0.4}}


def _index(year: int) -> pd.DatetimeIndex:
    n = (366 if pd.Timestamp(year, 12, 31).dayofyear == 366 else 365) * STEPS
    return pd.date_range(dt.datetime(year, 1, 1), periods=n, freq="15min")


def _bdew(spec: dict[str, float]) -> pd.Series:
    from demandlib import bdew

    # ElecSlp turns every warning into an error process-wide; restore the filters after.
    with warnings.catch_warnings():
        slp = bdew.ElecSlp(YEAR).get_profiles()
    out = sum(w * slp[k] for k, w in spec.items())
    return pd.Series(np.asarray(out, dtype=float), index=slp.index)


def _step(spec: dict) -> pd.Series:
    from demandlib.particular_profiles import IndustrialLoadProfile

    idx = _index(YEAR)
    ilp = IndustrialLoadProfile(idx)
    am = dt.time(*spec["am"])
    pm = dt.time(*spec["pm"])
    factors = {"week": {"day": spec["week"][0], "night": spec["week"][1]},
               "weekend": {"day": spec["weekend"][0], "night": spec["weekend"][1]},
               "holiday": {"day": spec["weekend"][0], "night": spec["weekend"][1]}}
    return ilp.simple_profile(1.0, am=am, pm=pm, profile_factors=factors).astype(float)


def _simbench_dir() -> Path:
    import simbench

    return Path(simbench.__file__).parent / "networks" / "1-complete_data-mixed-all-0-sw"


def _simbench(kind: str) -> pd.Series:
    d = _simbench_dir()
    if kind == "simbench_pv":
        cols = [f"PV{i}" for i in range(1, 9)]
        t = pd.read_csv(d / "RESProfile.csv", sep=";", usecols=["time", *cols])
    else:
        head = pd.read_csv(d / "LoadProfile.csv", sep=";", nrows=0).columns
        cols = [c for c in head if c.startswith(("APLS", "HLS")) and c.endswith("_pload")]
        t = pd.read_csv(d / "LoadProfile.csv", sep=";", usecols=["time", *cols])
        # each charger profile normalised to its annual energy, then averaged (equal weights)
        t[cols] = t[cols] / t[cols].sum()
    t.index = pd.to_datetime(t.pop("time"), format="%d.%m.%Y %H:%M")
    return t[cols].mean(axis=1)


def _shapes(s: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tod = s.index.hour * 4 + s.index.minute // 15
    weekend = s.index.dayofweek >= 5
    if name == "pv_generation":
        summer = s.index.month.isin([5, 6, 7, 8])
        clear = s[summer].groupby(tod[summer]).quantile(0.9).to_numpy()
        workday = weekend_shape = clear
    else:
        workday = s[~weekend].groupby(tod[~weekend]).mean().to_numpy()
        weekend_shape = s[weekend].groupby(tod[weekend]).mean().to_numpy()
    # the annual peak is 1.0: scale by the larger day shape (households peak at weekends)
    scale = max(workday.max(), weekend_shape.max())
    # Monthly factor: peak of the month's mean workday shape over the largest such peak. Mean
    # shapes, not raw maxima, because raw maxima of sparse profiles (EV chargers) are noise.
    wd = s[~weekend]
    by_month = wd.groupby([wd.index.month, tod[~weekend]]).mean().unstack()
    monthly = by_month.max(axis=1).reindex(range(1, 13)).to_numpy()
    if name == "ev_charging":
        # ~15 chargers give a noisy monthly peak; monthly energy is the steadier signal
        monthly = wd.groupby(wd.index.month).mean().reindex(range(1, 13)).to_numpy()
    monthly = monthly / monthly.max()
    for month, f in MONTH_ADJUST.get(name, {}).items():
        monthly[month - 1] *= f
    return workday / scale, weekend_shape / scale, monthly


def build() -> pd.DataFrame:
    """Compute every profile of :data:`MAPPING` and return the wide table."""
    rows = []
    tcols = [f"t{h:02d}{m:02d}" for h in range(24) for m in (0, 15, 30, 45)]
    for name, (kind, spec, desc, ref) in MAPPING.items():
        if kind == "bdew":
            s = _bdew(spec)  # type: ignore[arg-type]
            source = "demandlib BDEW " + "+".join(f"{w:g}*{k}" for k, w in spec.items())  # type: ignore[union-attr]
        elif kind == "step":
            s = _step(spec)  # type: ignore[arg-type]
            source = "demandlib IndustrialLoadProfile step shape"
        else:
            s = _simbench(kind)
            source = "SimBench " + ("PV1-PV8" if kind == "simbench_pv" else "APLS/HLS")
        wd, we, mo = _shapes(s, name)
        for day_type, shape in (("workday", wd), ("weekend", we)):
            row = {"profile": name, "day_type": day_type, "source": source,
                   "description": desc, "references": ref}
            row.update({c: round(float(v), 5) for c, v in zip(tcols, shape, strict=True)})
            row.update({f"m{i + 1:02d}": round(float(v), 4) for i, v in enumerate(mo)})
            rows.append(row)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    table = build()
    table.to_csv(OUT, index=False)
    print(f"wrote {OUT} ({len(table)} rows)")
