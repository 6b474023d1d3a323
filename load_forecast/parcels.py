"""Area load density for park parcels that have no application yet (电等客户).

``peak = density x area x simultaneity`` where the density is per m² of *floor* area when a
plot ratio is given (floor area = parcel area x plot ratio) and per m² of *land* otherwise.
Densities (low / typical / high, W/m²) per Chinese urban land-use class (GB 50137-2011 codes:
M1/M2/M3 industrial, W logistics, B commercial, R residential, A public facilities, S, U, G)
live in ``data/land_use_density.csv`` with their references.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from grid_models.errors import InputError, UnknownTypeError

from .checks import in_range, positive
from .datafiles import read_table
from .industries import normalise_name
from .notes import Note
from .settings import ForecastSettings, load_settings

LEVELS = ("low", "typical", "high")
MAX_AREA_M2 = 1e8  # 100 km²: a parcel larger than a whole park is a unit error


@dataclass(frozen=True)
class ParcelDemand:
    """Estimated peak of one parcel.

    Attributes
    ----------
    land_use, name_zh, name_en : str
        Land-use class.
    area_m2 : float
        Parcel (land) area.
    plot_ratio : float or None
        Floor area / land area, when given.
    basis_area : str
        ``floor`` or ``land``: which area the density applies to.
    density_w_per_m2 : tuple of float
        (low, typical, high).
    simultaneity : float
    power_factor : float
    peak_kw : tuple of float
        (low, typical, high).
    references : str
    notes : tuple of Note
    """

    land_use: str
    name_zh: str
    name_en: str
    area_m2: float
    plot_ratio: float | None
    basis_area: str
    density_w_per_m2: tuple[float, float, float]
    simultaneity: float
    power_factor: float
    peak_kw: tuple[float, float, float]
    references: str
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def applied_area_m2(self) -> float:
        """The area the density multiplies (floor or land)."""
        if self.basis_area == "floor":
            # parcel_demand chooses the floor basis only when a plot ratio is given
            assert self.plot_ratio is not None
            return self.area_m2 * self.plot_ratio
        return self.area_m2

    @property
    def peak_kw_typical(self) -> float:
        return self.peak_kw[1]

    @property
    def peak_kva_typical(self) -> float:
        return self.peak_kw[1] / self.power_factor

    def basis(self, lang: str = "zh") -> str:
        """The product written out, in Chinese or English."""
        lo, ty, hi = self.density_w_per_m2
        if lang == "zh":
            area = (f"用地 {self.area_m2:g} m² × 容积率 {self.plot_ratio:g} = 建筑面积 "
                    f"{self.applied_area_m2:g} m²" if self.basis_area == "floor"
                    else f"用地面积 {self.area_m2:g} m²")
            kind = "建筑面积" if self.basis_area == "floor" else "用地"
            return (f"{self.name_zh}（{self.land_use}）：{area} × {kind}负荷密度 {ty:g} W/m²"
                    f"（{lo:g}–{hi:g}）× 同时率 {self.simultaneity:g} = {self.peak_kw[1]:.0f} kW"
                    f"（{self.peak_kw[0]:.0f}–{self.peak_kw[2]:.0f} kW）（依据见用地负荷密度表）。")
        area = (f"land {self.area_m2:g} m² x plot ratio {self.plot_ratio:g} = floor area "
                f"{self.applied_area_m2:g} m²" if self.basis_area == "floor"
                else f"land area {self.area_m2:g} m²")
        return (f"{self.name_en} ({self.land_use}): {area} x {self.basis_area} density {ty:g} W/m² "
                f"({lo:g}-{hi:g}) x simultaneity {self.simultaneity:g} = {self.peak_kw[1]:.0f} kW "
                f"({self.peak_kw[0]:.0f}-{self.peak_kw[2]:.0f} kW). References: {self.references}")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready numbers, basis and notes."""
        return {
            "land_use": self.land_use, "name_zh": self.name_zh, "area_m2": self.area_m2,
            "plot_ratio": self.plot_ratio, "basis_area": self.basis_area,
            "applied_area_m2": self.applied_area_m2,
            "density_w_per_m2": dict(zip(LEVELS, self.density_w_per_m2, strict=True)),
            "simultaneity": self.simultaneity, "power_factor": self.power_factor,
            "peak_kw": dict(zip(LEVELS, self.peak_kw, strict=True)),
            "peak_kva_typical": self.peak_kva_typical,
            "basis": {"zh": self.basis("zh"), "en": self.basis("en")},
            "notes": [n.to_dict() for n in self.notes],
        }


@lru_cache(maxsize=1)
def land_use_table() -> pd.DataFrame:
    """The bundled density table."""
    return read_table("land_use_density.csv")


@lru_cache(maxsize=1)
def _alias_index() -> dict[str, str]:
    idx: dict[str, str] = {}
    for row in land_use_table().itertuples(index=False):
        for n in (row.land_use, row.name_zh, row.name_en, *str(row.aliases).split(";")):
            k = normalise_name(n)
            if k:
                idx.setdefault(k, row.land_use)
    return idx


def known_land_uses() -> list[str]:
    """Codes and Chinese names, as listed in error messages."""
    t = land_use_table()
    return [f"{c} ({z})" for c, z in zip(t["land_use"], t["name_zh"], strict=True)]


def resolve_land_use(name: str) -> str:
    """The table code for a code, alias or name (``"m1"`` -> ``"M1"``, ``"R2"`` -> ``"R"``)."""
    code = _alias_index().get(normalise_name(name))
    if code is None:
        raise UnknownTypeError(f"unknown land use {name!r}; known: {', '.join(known_land_uses())}",
                               field="land_use")
    return code


def parcel_demand(land_use: str, area_m2: float, plot_ratio: float | None = None, *,
                  simultaneity: float | None = None,
                  settings: ForecastSettings | None = None) -> ParcelDemand:
    """Peak demand of a parcel from its land use and area.

    Parameters
    ----------
    land_use : str
        Land-use code (``M1``, ``W``, ``B``, ``R``, ``A``, ...), Chinese name or alias.
    area_m2 : float
        Parcel land area, in ``(0, 1e8]`` m².
    plot_ratio : float, optional
        Floor area / land area (容积率), in ``(0, max_plot_ratio]``; uses the floor-area density.
    simultaneity : float, optional
        Override of the class's simultaneity (同时率), in ``(0, 1]``.
    settings : ForecastSettings, optional

    Returns
    -------
    ParcelDemand

    Examples
    --------
    >>> p = parcel_demand("M1", 50_000, plot_ratio=1.2)
    >>> p.peak_kw_typical  # 50000 x 1.2 x 60 W/m² x 0.8
    2880.0
    """
    st = settings or load_settings()
    code = resolve_land_use(land_use)
    row = land_use_table().set_index("land_use").loc[code]
    area = positive(area_m2, "area_m2", MAX_AREA_M2, "m²")
    notes: list[Note] = []
    ratio = None if plot_ratio is None else positive(plot_ratio, "plot_ratio", st.max_plot_ratio)
    floor = np.array([row["floor_w_per_m2_low"], row["floor_w_per_m2_typical"],
                      row["floor_w_per_m2_high"]], dtype=float)
    land = np.array([row["land_w_per_m2_low"], row["land_w_per_m2_typical"],
                     row["land_w_per_m2_high"]], dtype=float)
    if ratio is not None and np.isfinite(floor).all():
        dens, basis_area, applied = floor, "floor", area * ratio
    else:
        if ratio is not None:
            notes.append(Note("no_floor_density", f"{code} 无建筑面积负荷指标，容积率不用，按用地面积计",
                              f"{code} has no floor-area density; the plot ratio is not used, "
                              "land area is"))
            ratio = None
        dens, basis_area, applied = land, "land", area
    sim = (in_range(simultaneity, "simultaneity", 0.0, 1.0) if simultaneity is not None
           else float(row["simultaneity"]))
    peak_kw = dens * applied * sim / 1000.0
    return ParcelDemand(code, str(row["name_zh"]), str(row["name_en"]), area, ratio, basis_area,
                        _triple(dens), sim, float(row["power_factor"]),
                        _triple(peak_kw), str(row["references"]), tuple(notes))


def _triple(values: np.ndarray) -> tuple[float, float, float]:
    """(low, typical, high) of a three-element array as plain floats."""
    low, typical, high = (float(x) for x in values)
    return low, typical, high


def parcels_demand(parcels: pd.DataFrame, settings: ForecastSettings | None = None
                   ) -> pd.DataFrame:
    """Vectorised :func:`parcel_demand` for a table of parcels (park batch planning).

    Parameters
    ----------
    parcels : pandas.DataFrame
        Columns ``land_use``, ``area_m2`` and optionally ``plot_ratio`` and ``simultaneity``
        (NaN = not given); any other columns (ids, geometry) are kept.

    Returns
    -------
    pandas.DataFrame
        The input plus ``land_use_code``, ``basis_area``, ``applied_area_m2``,
        ``density_w_per_m2``, ``simultaneity_used``, ``peak_kw_low``, ``peak_kw``,
        ``peak_kw_high``, ``peak_kva``.

    Raises
    ------
    InputError
        Every bad row is listed (by index) in one message.
    """
    st = settings or load_settings()
    for col in ("land_use", "area_m2"):
        if col not in parcels.columns:
            raise InputError(f"parcels table lacks column {col!r}; needs land_use, area_m2 "
                             "(optional plot_ratio, simultaneity)", field=col)
    table = land_use_table().set_index("land_use")
    # resolve each distinct name once (a park has thousands of parcels, a dozen land uses)
    names = parcels["land_use"].astype(str)
    alias = _alias_index()
    lookup = {n: alias.get(normalise_name(n)) for n in names.unique()}
    codes = names.map(lookup)
    unknown = codes.isna().to_numpy()
    problems = [f"row {i}: land_use {n!r} unknown (known: {', '.join(table.index)})"
                for i, n in zip(parcels.index[unknown], names[unknown], strict=True)]
    area = pd.to_numeric(parcels["area_m2"], errors="coerce").to_numpy(float)
    ratio = (pd.to_numeric(parcels["plot_ratio"], errors="coerce").to_numpy(float)
             if "plot_ratio" in parcels.columns else np.full(len(parcels), np.nan))
    sim_in = (pd.to_numeric(parcels["simultaneity"], errors="coerce").to_numpy(float)
              if "simultaneity" in parcels.columns else np.full(len(parcels), np.nan))
    bad_area = ~(np.isfinite(area) & (area > 0) & (area <= MAX_AREA_M2))
    problems += [f"row {i}: area_m2 = {a!r} not in (0, {MAX_AREA_M2:g}] m²"
                 for i, a in zip(parcels.index[bad_area], area[bad_area], strict=True)]
    bad_ratio = np.isfinite(ratio) & ~((ratio > 0) & (ratio <= st.max_plot_ratio))
    problems += [f"row {i}: plot_ratio = {r!r} not in (0, {st.max_plot_ratio:g}]"
                 for i, r in zip(parcels.index[bad_ratio], ratio[bad_ratio], strict=True)]
    bad_sim = np.isfinite(sim_in) & ~((sim_in > 0) & (sim_in <= 1))
    problems += [f"row {i}: simultaneity = {r!r} not in (0, 1]"
                 for i, r in zip(parcels.index[bad_sim], sim_in[bad_sim], strict=True)]
    if problems:
        raise InputError("parcels: " + "; ".join(problems[:20])
                         + (f"; ... {len(problems) - 20} more" if len(problems) > 20 else ""),
                         field="parcels")
    t = table.loc[codes.to_numpy()]
    floor_ok = t["floor_w_per_m2_typical"].notna().to_numpy() & np.isfinite(ratio)
    out = parcels.copy()
    out["land_use_code"] = codes.to_numpy()
    out["basis_area"] = np.where(floor_ok, "floor", "land")
    out["applied_area_m2"] = np.where(floor_ok, area * np.nan_to_num(ratio, nan=1.0), area)
    sim = np.where(np.isfinite(sim_in), sim_in, t["simultaneity"].to_numpy(float))
    out["simultaneity_used"] = sim
    for lvl, suffix in zip(LEVELS, ("_low", "", "_high"), strict=True):
        dens = np.where(floor_ok, t[f"floor_w_per_m2_{lvl}"].to_numpy(float),
                        t[f"land_w_per_m2_{lvl}"].to_numpy(float))
        if lvl == "typical":
            out["density_w_per_m2"] = dens
        out[f"peak_kw{suffix}"] = dens * out["applied_area_m2"].to_numpy(float) * sim / 1000.0
    out["peak_kva"] = out["peak_kw"] / t["power_factor"].to_numpy(float)
    return out

