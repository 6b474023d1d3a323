"""Files of a park plan in one folder, each written atomically (temporary name, then rename):

- ``park_plan.gpkg``: layers ``parcels`` (``parcel_id`` and the reserved scheme's fields, or the
  reason it is unserved; bad parcels with their reason), ``routes`` (every reserved circuit),
  ``new_assets`` (park RMUs, ring, new feeders), EPSG:4326;
- ``summary.json`` and ``summary.md`` (:mod:`scheme_engine.park.summary`);
- ``capacity_heatmap.geojson``: the network's headroom after the reservations
  (:mod:`scheme_engine.park.heatmap`);
- ``reservations.json``: the ledger after this park (input of a later park or a resumed run).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_models.crs import transformer
from grid_models.userfiles import ensure_folder

from .heatmap import capacity_heatmap
from .summary import park_summary, summary_markdown

if TYPE_CHECKING:
    from ..engine import Planner
    from .plan import ParkResult


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, doc: Any, compact: bool = False) -> None:
    """JSON (UTF-8, Chinese kept readable) written atomically; ``compact`` for large documents
    (no indentation: Python's fast encoder, ~10x quicker on a city's heat map)."""
    text = json.dumps(doc, ensure_ascii=False, default=_default,
                      **({"separators": (",", ":")} if compact else {"indent": 1}))
    _atomic_write(Path(path), text.encode("utf-8"))


def _default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def geodata(planner: Planner, res: ParkResult) -> dict[str, gpd.GeoDataFrame]:
    """The three layers (EPSG:4326)."""
    cn = planner.cn
    tr = transformer(cn.crs, "EPSG:4326")

    def wgs(xy: np.ndarray) -> np.ndarray:
        lon, lat = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    pin = res.park.parcels.set_index("parcel_id")
    t = res.parcels.copy()
    t["geometry"] = pin.loc[t["parcel_id"], "geometry"].to_numpy()
    for col in ("land_use", "p_kw", "power_factor", "basis_zh"):
        if col not in t.columns:
            t[col] = pin.loc[t["parcel_id"], col].to_numpy()
    parcels = gpd.GeoDataFrame(t, geometry="geometry", crs="EPSG:4326")
    routes = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "coords"} for r in res.routes] or
        {"parcel_id": [], "circuit": []},
        geometry=[shapely.LineString(wgs(np.asarray(r["coords"], float))) for r in res.routes],
        crs="EPSG:4326")
    assets = []
    geoms = []
    for a in res.new_assets:
        c = wgs(np.asarray(a["coords"], float))
        geoms.append(shapely.Point(c[0]) if len(c) == 1 else shapely.LineString(c))
        assets.append({k: v for k, v in a.items() if k != "coords"})
    new_assets = gpd.GeoDataFrame(assets or {"asset": [], "id": []}, geometry=geoms,
                                  crs="EPSG:4326")
    return {"parcels": parcels, "routes": routes, "new_assets": new_assets}


def park_bbox(planner: Planner, res: ParkResult) -> tuple[float, float, float, float]:
    """The park's neighbourhood (metric): the bounds of its parcels, reserved routes and new
    assets, widened by the first candidate search radius (``candidate_search_radius_m``)."""
    parts = [res.park.parcels[["x", "y"]].to_numpy(float).reshape(-1, 2)]
    parts += [np.asarray(r["coords"], float).reshape(-1, 2) for r in res.routes]
    parts += [np.asarray(a["coords"], float).reshape(-1, 2) for a in res.new_assets]
    xy = np.vstack(parts)
    r = float(planner.policy.params.candidate_search_radius_m)
    if len(xy) == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(xy[:, 0].min() - r), float(xy[:, 1].min() - r),
            float(xy[:, 0].max() + r), float(xy[:, 1].max() + r))


def write_park_outputs(planner: Planner, res: ParkResult, out_dir: str | Path,
                       lang: str = "zh", heatmap_extent: str = "network") -> dict[str, Path]:
    """Write the park's files into ``out_dir`` (see the module notes); their paths by name.

    ``heatmap_extent``: ``"network"`` (the whole network) or ``"park"`` (the park's
    neighbourhood, :func:`park_bbox`; many parks write the city's map once at the end).

    Raises
    ------
    InputError
        ``out_dir`` exists and is not a folder, or cannot be written.
    """
    out = ensure_folder(out_dir, "out")
    paths: dict[str, Path] = {}
    layers = geodata(planner, res)
    gpkg = out / "park_plan.gpkg"
    tmp = out / ".park_plan.tmp.gpkg"
    if tmp.exists():
        tmp.unlink()
    for name, gdf in layers.items():
        g = gdf.copy()
        for c in g.columns:
            if c != "geometry" and g[c].dtype == object:
                g[c] = g[c].map(lambda v: v if v is None or isinstance(v, str) else str(v))
        g.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    bad = res.bad
    if len(bad):
        pyo = pd.DataFrame(bad).astype({"row": int})
        pyo["parcel_id"] = pyo["parcel_id"].map(lambda v: "" if v is None else str(v))
        gpd.GeoDataFrame(pyo, geometry=[None] * len(pyo), crs="EPSG:4326").to_file(
            tmp, layer="bad_parcels", driver="GPKG", engine="pyogrio")
    os.replace(tmp, gpkg)
    paths["gpkg"] = gpkg
    doc = park_summary(planner, res)
    write_json(out / "summary.json", doc)
    paths["summary_json"] = out / "summary.json"
    _atomic_write(out / "summary.md", summary_markdown(doc, lang).encode("utf-8"))
    paths["summary_md"] = out / "summary.md"
    heat = capacity_heatmap(planner.cn, planner.policy, res.ledger,
                            bbox=park_bbox(planner, res) if heatmap_extent == "park" else None)
    write_json(out / "capacity_heatmap.geojson", heat, compact=True)
    paths["heatmap"] = out / "capacity_heatmap.geojson"
    write_json(out / "reservations.json", res.ledger.to_json(), compact=True)
    paths["reservations"] = out / "reservations.json"
    return paths
