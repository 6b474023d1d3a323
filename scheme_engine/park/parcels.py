"""A park's parcels: reading (GeoPackage / GeoJSON), checking, and the demand of each parcel.

Input: polygons with ``parcel_id`` and ``land_use`` (GB 50137 class, alias or Chinese name);
optional ``planned_kva`` (with ``industry``), ``plot_ratio``, ``tier``, ``planned_year``,
``name``, ``park_id``. A GeoPackage holds them in a layer ``parcels`` (or its only layer) and may
hold the park's boundary in a layer ``boundary``; in GeoJSON the boundary is a feature whose
property ``role`` is ``"boundary"``.

Bad parcels are listed by id with a reason code (``missing_id``, ``duplicate_id``,
``invalid_geometry``, ``zero_area``, ``outside_network``, ``unknown_land_use``, ``no_demand``,
``bad_value``, ``below_hv``) and a message; ``on_bad="fail"`` raises
:class:`~grid_models.errors.BadParcelsError` listing all of them, ``"skip"`` plans the others.
Duplicate ids mark every row carrying the id (which one is right cannot be known).

Demand: ``planned_kva`` when given (the engine's design demand by industry), else land-use
density x area (x plot ratio) x simultaneity (:func:`load_forecast.parcels_demand`); such a
parcel's requested kVA (the rules' voltage level, dedicated-feeder threshold) is its peak over
the economic load rate of customer transformers (policy
``customer_transformer_economic_load_high``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from grid_models.errors import BadParcelsError, CRSError, GridSchemeError, InputError
from load_forecast.parcels import parcels_demand
from load_forecast.settings import load_settings

from .. import rules
from ..demand import Demand, design_demand_for
from .settings import park_settings

if TYPE_CHECKING:
    from ..engine import Planner

#: accepted column names (first is canonical)
ALIASES = {"parcel_id": ("parcel_id", "id", "地块编号"), "land_use": ("land_use", "用地性质"),
           "planned_kva": ("planned_kva", "kva", "报装容量"), "industry": ("industry", "行业"),
           "plot_ratio": ("plot_ratio", "容积率"), "tier": ("tier", "客户分级"),
           "planned_year": ("planned_year", "year", "投产年份"), "name": ("name", "名称"),
           "park_id": ("park_id", "园区编号")}
BAD_REASONS = ("missing_id", "duplicate_id", "invalid_geometry", "zero_area", "outside_network",
               "unknown_land_use", "no_demand", "bad_value", "below_hv")


@dataclass
class ParkInput:
    """Checked parcels of one park with their demand.

    Attributes
    ----------
    park_id : str
    parcels : GeoDataFrame
        Good parcels (EPSG:4326 polygons) with ``parcel_id``, ``land_use``, ``tier``,
        ``industry``, ``planned_year`` (nullable), ``requested_kva``, ``p_kw``, ``q_kvar``,
        ``power_factor``, ``basis_zh``, ``basis_en``, ``lon``, ``lat`` (centroid) and ``x``,
        ``y`` (centroid in the network's metric CRS).
    bad : DataFrame
        ``parcel_id``, ``row``, ``reason``, ``message``.
    boundary : shapely geometry or None
        The park's boundary (EPSG:4326).
    """

    park_id: str
    parcels: gpd.GeoDataFrame
    bad: pd.DataFrame
    boundary: Any = None
    demands: list[Demand] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.parcels)


def read_parcels_file(path: str | Path, layer: str | None = None
                      ) -> tuple[gpd.GeoDataFrame, Any]:
    """Parcels and the optional boundary of a GeoPackage / GeoJSON file, in EPSG:4326.

    Raises
    ------
    InputError
        The file cannot be read, has no parcels layer, or no polygons.
    CRSError
        The layer declares no CRS.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"--parcels {p}: no such file", field="parcels")
    try:
        layers = [str(n) for n in pyogrio.list_layers(p)[:, 0]]
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise InputError(f"--parcels {p}: cannot be read as GeoPackage/GeoJSON "
                         f"({str(exc).splitlines()[0][:200]})", field="parcels") from None
    name = layer or ("parcels" if "parcels" in layers else layers[0] if len(layers) == 1 else None)
    if name is None or name not in layers:
        raise InputError(f"--parcels {p}: no layer {'parcels' if name is None else name!r}; "
                         f"layers: {layers}", field="parcels")
    try:
        gdf = gpd.read_file(p, layer=name)
    except Exception as exc:
        raise InputError(f"--parcels {p}: layer {name!r} cannot be read ({str(exc)[:200]})",
                         field="parcels") from None
    if gdf.crs is None:
        raise CRSError(f"--parcels {p}: layer {name!r} has no CRS; give EPSG:4326, EPSG:4490 or "
                       "a projected CRS", field="parcels")
    gdf = gdf.to_crs("EPSG:4326")
    boundary = None
    if "boundary" in layers and name != "boundary":
        b = gpd.read_file(p, layer="boundary")
        if len(b) and b.crs is not None:
            boundary = shapely.union_all(b.to_crs("EPSG:4326").geometry.values)
    role = gdf["role"].astype(str) if "role" in gdf.columns else None
    if role is not None and (role == "boundary").any():
        bmask = (role == "boundary").to_numpy()
        boundary = shapely.union_all(gdf.geometry.values[bmask])
        gdf = gdf[~bmask]
    return gdf.reset_index(drop=True), boundary


def _canonical(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    ren = {}
    for canon, names in ALIASES.items():
        if canon in gdf.columns:
            continue
        for n in names[1:]:
            if n in gdf.columns:
                ren[n] = canon
                break
    return gdf.rename(columns=ren)


def check_parcels(gdf: gpd.GeoDataFrame, planner: Planner, *, park_id: str = "park",
                  boundary: Any = None, on_bad: str = "skip") -> ParkInput:
    """Check parcels against the network and compute each good parcel's demand.

    Parameters
    ----------
    gdf : GeoDataFrame
        Parcels (any CRS; converted to EPSG:4326).
    planner : Planner
        The network (its served area) and policy.
    on_bad : {"skip", "fail"}

    Raises
    ------
    BadParcelsError
        ``on_bad == "fail"`` and at least one parcel is bad (every one is listed).
    InputError
        No parcel column, or ``on_bad`` unknown.
    """
    if on_bad not in ("skip", "fail"):
        raise InputError(f"--on-bad: {on_bad!r}; valid: skip, fail", field="on_bad")
    if gdf.crs is None:
        raise CRSError("parcels: no CRS; give EPSG:4326, EPSG:4490 or a projected CRS",
                       field="parcels")
    st = park_settings(planner.policy)
    g = _canonical(gdf.to_crs("EPSG:4326").reset_index(drop=True))
    n = len(g)
    if "parcel_id" not in g.columns:
        raise InputError("parcels: no column parcel_id (or id); every parcel needs an id",
                         field="parcel_id")
    raw_id = g["parcel_id"]
    ids = raw_id.astype(str).str.strip()
    missing_id = raw_id.isna().to_numpy() | (ids == "").to_numpy() | (ids.str.lower() == "nan").to_numpy()
    reason = np.full(n, "", dtype=object)
    message = np.full(n, "", dtype=object)

    def mark(mask: np.ndarray, code: str, msgs: Any) -> None:
        m = np.asarray(mask, bool) & (reason == "")
        reason[m] = code
        message[m] = msgs[m] if isinstance(msgs, np.ndarray) else msgs

    mark(missing_id, "missing_id", "no parcel_id")
    dup = ids.duplicated(keep=False).to_numpy() & ~missing_id
    mark(dup, "duplicate_id", np.array([f"parcel_id {i!r} appears more than once" for i in ids],
                                       dtype=object))
    geom = np.asarray(g.geometry.values, dtype=object)
    is_poly = np.array([gg is not None and gg.geom_type in ("Polygon", "MultiPolygon")
                        for gg in geom])
    ok_geom = is_poly.copy()
    ok_geom[is_poly] = shapely.is_valid(geom[is_poly]) & ~shapely.is_empty(geom[is_poly])
    why = np.array(["no geometry" if gg is None else
                    f"{gg.geom_type} is not a polygon" if not p else
                    f"invalid polygon ({shapely.is_valid_reason(gg)})"
                    for gg, p in zip(geom, is_poly, strict=True)], dtype=object)
    mark(~ok_geom, "invalid_geometry", why)
    # metric geometry in the network's CRS
    kept = geom.copy()
    kept[~ok_geom] = None  # what is not a valid polygon stays out of the projection
    metric = gpd.GeoSeries(kept, crs="EPSG:4326").to_crs(planner.cn.crs)
    area = np.where(ok_geom, shapely.area(metric.values.astype(object)), 0.0)
    area = np.nan_to_num(area.astype(float))
    mark(ok_geom & (area < st.parcel_min_area_m2), "zero_area",
         np.array([f"area {a:.3g} m² (< {st.parcel_min_area_m2:g} m²)" for a in area],
                  dtype=object))
    cent = shapely.centroid(metric.values.astype(object))
    xy = np.full((n, 2), np.nan)
    okc = ok_geom & (area >= st.parcel_min_area_m2)
    if okc.any():
        xy[okc] = shapely.get_coordinates(cent[okc]).reshape(-1, 2)
    hull = planner.cn.area_hull
    lim = planner.policy.params.max_distance_outside_network_m
    dist = np.full(n, np.inf)
    if hull is not None and okc.any():
        dist[okc] = shapely.distance(hull, shapely.points(xy[okc]))
    elif hull is None:
        dist[okc] = 0.0
    mark(okc & (dist > lim), "outside_network",
         np.array([f"{d / 1000:.1f} km outside the network's area (limit {lim / 1000:g} km)"
                   for d in dist], dtype=object))

    # demand: planned kVA, else land use
    kva = (pd.to_numeric(g["planned_kva"], errors="coerce").to_numpy(float)
           if "planned_kva" in g.columns else np.full(n, np.nan))
    kva_given = ("planned_kva" in g.columns) & g.get("planned_kva", pd.Series([None] * n)).notna().to_numpy()
    bad_kva = kva_given & ~(np.isfinite(kva) & (kva > 0))
    mark(bad_kva, "bad_value", np.array([f"planned_kva {v!r} is not a number > 0"
                                         for v in g.get("planned_kva", pd.Series([None] * n))],
                                        dtype=object))
    use_kva = kva_given & ~bad_kva
    lu = (g["land_use"].where(g["land_use"].notna(), "").astype(str).str.strip()
          if "land_use" in g.columns else pd.Series([""] * n))
    no_lu = (lu == "").to_numpy()
    mark(~use_kva & no_lu, "no_demand", "neither planned_kva nor land_use")
    year = (pd.to_numeric(g["planned_year"], errors="coerce")
            if "planned_year" in g.columns else pd.Series([np.nan] * n))
    bad_year = year.notna() & ~year.between(1900, 2200)
    given_year = g["planned_year"].notna() if "planned_year" in g.columns else pd.Series([False] * n)
    bad_year = bad_year.to_numpy() | (given_year.to_numpy() & year.isna().to_numpy())
    mark(bad_year, "bad_value", "planned_year is not a year (1900-2200)")
    tiers = (g["tier"].where(g["tier"].notna(), "普通").astype(str) if "tier" in g.columns
             else pd.Series(["普通"] * n))
    tier_ok = np.zeros(n, bool)
    tier_key = np.full(n, "普通", dtype=object)
    for t in tiers.unique():
        try:
            key = rules.canonical_tier(planner.policy, t)
            m = (tiers == t).to_numpy()
            tier_ok |= m
            tier_key[m] = key
        except GridSchemeError as exc:
            mark((tiers == t).to_numpy(), "bad_value", str(exc))
    industry = (g["industry"].where(g["industry"].notna(), "others").astype(str)
                if "industry" in g.columns else pd.Series(["others"] * n))

    # land-use parcels: density x area (vectorised; unknown classes are listed per row)
    lu_rows = np.flatnonzero(~use_kva & ~no_lu & (reason == ""))
    p_kw = np.full(n, np.nan)
    pf = np.full(n, np.nan)
    basis_zh = np.full(n, "", dtype=object)
    basis_en = np.full(n, "", dtype=object)
    if lu_rows.size:
        from load_forecast.industries import normalise_name
        from load_forecast.parcels import _alias_index

        alias = _alias_index()
        known = np.array([normalise_name(v) in alias for v in lu.iloc[lu_rows]])
        unknown = lu_rows[~known]
        mark(np.isin(np.arange(n), unknown), "unknown_land_use",
             np.array([f"land_use {v!r} unknown" for v in lu], dtype=object))
        good = lu_rows[known]
        if good.size:
            tab = pd.DataFrame({"land_use": lu.iloc[good].to_numpy(), "area_m2": area[good]})
            if "plot_ratio" in g.columns:
                pr = pd.to_numeric(g["plot_ratio"].iloc[good], errors="coerce").to_numpy(float)
                given = g["plot_ratio"].iloc[good].notna().to_numpy()
                pr_bad = given & ~(np.isfinite(pr) & (pr > 0) & (pr <= load_settings().max_plot_ratio))
                mark(np.isin(np.arange(n), good[pr_bad]), "bad_value",
                     f"plot_ratio not in (0, {load_settings().max_plot_ratio:g}]")
                tab["plot_ratio"] = pr
                good, tab = good[~pr_bad], tab[~pr_bad].reset_index(drop=True)
            d = parcels_demand(tab) if len(tab) else None
            if d is not None and len(d):
                p_kw[good] = d["peak_kw"].to_numpy(float)
                pf[good] = (d["peak_kw"] / d["peak_kva"]).to_numpy(float)
                for j, row in zip(good, d.itertuples(index=False), strict=True):
                    basis_zh[j] = (f"{row.land_use_code} 负荷密度 {row.density_w_per_m2:g} W/m² × "
                                   f"{row.basis_area == 'floor' and '建筑' or '用地'}面积 "
                                   f"{row.applied_area_m2:,.0f} m² × 同时率 {row.simultaneity_used:g}")
                    basis_en[j] = (f"{row.land_use_code} density {row.density_w_per_m2:g} W/m² x "
                                   f"{row.basis_area} area {row.applied_area_m2:,.0f} m² x "
                                   f"simultaneity {row.simultaneity_used:g}")
    econ = planner.policy.params.customer_transformer_economic_load_high
    req_kva = np.where(use_kva, kva, p_kw / np.where(pf > 0, pf, 1) / econ)
    # the engine's demand for planned-kVA parcels (industry demand factor), the estimate else
    lon_lat = np.full((n, 2), np.nan)
    if okc.any():
        ll = gpd.GeoSeries(shapely.points(xy[okc]), crs=planner.cn.crs).to_crs("EPSG:4326")
        lon_lat[okc] = shapely.get_coordinates(ll.values).reshape(-1, 2)
    demands: list[Demand | None] = [None] * n
    min_kva = planner.policy.params.min_hv_kva
    for j in np.flatnonzero(reason == ""):
        if use_kva[j]:
            app = {"lon": float(lon_lat[j, 0]), "lat": float(lon_lat[j, 1]),
                   "requested_kva": float(kva[j]), "industry": str(industry.iloc[j])}
            try:
                from ..application import parse_application

                dm = design_demand_for(parse_application(app), planner.cn)
            except GridSchemeError as exc:
                mark(np.arange(n) == j, "bad_value", str(exc))
                continue
            p_kw[j], pf[j] = dm.p_mw * 1000, dm.power_factor
            basis_zh[j], basis_en[j] = dm.basis_zh, dm.basis_en
            demands[j] = dm
        else:
            q = p_kw[j] * math.tan(math.acos(min(max(pf[j], 1e-3), 1.0)))
            demands[j] = Demand(p_kw[j] / 1000, q / 1000, p_kw[j] / 1000, q / 1000, float(pf[j]),
                                str(basis_zh[j]), str(basis_en[j]))
        if req_kva[j] < min_kva:
            mark(np.arange(n) == j, "below_hv",
                 f"{req_kva[j]:.0f} kVA is below the high-voltage minimum {min_kva:g} kVA "
                 "(a low-voltage connection)")
    bad_rows = np.flatnonzero(reason != "")
    bad = pd.DataFrame({"parcel_id": [None if missing_id[i] else ids.iloc[i] for i in bad_rows],
                        "row": bad_rows.astype(int), "reason": reason[bad_rows].astype(str),
                        "message": message[bad_rows].astype(str)})
    if on_bad == "fail" and len(bad):
        lines = [f"{r.parcel_id if r.parcel_id is not None else '(row ' + str(r.row) + ')'}: "
                 f"{r.reason} ({r.message})" for r in bad.itertuples(index=False)]
        raise BadParcelsError(f"{len(bad)} bad parcel(s) (--on-bad skip plans the others): "
                              + "; ".join(lines[:30])
                              + (f"; ... {len(lines) - 30} more" if len(lines) > 30 else ""),
                              bad.to_dict("records"))
    good = np.flatnonzero(reason == "")
    out = gpd.GeoDataFrame({
        "parcel_id": ids.iloc[good].to_numpy(),
        "name": (g["name"].astype(str).iloc[good].to_numpy() if "name" in g.columns
                 else ids.iloc[good].to_numpy()),
        "land_use": lu.iloc[good].to_numpy(),
        "tier": tier_key[good], "industry": industry.iloc[good].to_numpy(),
        "planned_year": year.iloc[good].astype("Int64").to_numpy(),
        "requested_kva": req_kva[good], "p_kw": p_kw[good],
        "q_kvar": [demands[j].q_mvar * 1000 for j in good],  # type: ignore[union-attr]
        "power_factor": pf[good], "basis_zh": basis_zh[good], "basis_en": basis_en[good],
        "area_m2": area[good], "lon": lon_lat[good, 0], "lat": lon_lat[good, 1],
        "x": xy[good, 0], "y": xy[good, 1], "row": good,
    }, geometry=list(geom[good]), crs="EPSG:4326")
    return ParkInput(park_id, out.reset_index(drop=True), bad, boundary,
                     [demands[j] for j in good])  # type: ignore[misc]
