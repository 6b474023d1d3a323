"""Coordinate reference systems: what is accepted, and the metric CRS for the work.

Input and output geometry is geographic: EPSG:4326 (WGS 84) or EPSG:4490 (CGCS2000); a
projected input CRS is accepted too and reprojected. Metric work (lengths, routing, spatial
indexes) happens in a projected CRS chosen for the network's area: inside China the CGCS2000
3-degree Gauss-Krüger zone of the centroid (EPSG:4534–4554, the national mapping convention),
elsewhere the WGS 84 UTM zone.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from functools import lru_cache

import numpy as np
import pyproj
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError

from .errors import CRSError

WGS84 = CRS.from_epsg(4326)
CGCS2000 = CRS.from_epsg(4490)
OUTPUT_CRS_CHOICES = {"EPSG:4326": WGS84, "EPSG:4490": CGCS2000}


def parse_crs(value: object, field: str = "crs") -> CRS:
    """Parse a user-supplied CRS, raising :class:`CRSError` with the field name if unusable."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CRSError(
            f"{field}: no coordinate reference system given; use EPSG:4326 (WGS 84), "
            "EPSG:4490 (CGCS2000) or a projected EPSG code", field=field)
    try:
        return CRS.from_user_input(value)
    except Exception as exc:  # pyproj raises CRSError of its own with a terse text
        raise CRSError(f"{field}: {value!r} is not a known CRS ({exc}); "
                       "use e.g. EPSG:4326 or EPSG:4490", field=field) from exc


def metric_crs_for(lon: float, lat: float) -> CRS:
    """Return the projected CRS used for metric work around a geographic point.

    Parameters
    ----------
    lon, lat : float
        Centroid of the network in degrees (EPSG:4326 or EPSG:4490, which agree to < 1 m).

    Returns
    -------
    pyproj.CRS
        CGCS2000 3-degree Gauss-Krüger zone inside China's extent (73.5°E–136.5°E,
        3°N–54°N), else the WGS 84 UTM zone.
    """
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 84 or abs(lon) > 180:
        raise CRSError(f"centroid ({lon}, {lat}) is not a valid longitude/latitude; "
                       "is the layer really in a geographic CRS?", field="crs")
    if 73.5 <= lon < 136.5 and 3 <= lat <= 54:
        # 3-degree zones: central meridians 75E..135E -> EPSG:4534..4554.
        cm = 3 * round(lon / 3)
        return CRS.from_epsg(4534 + (cm - 75) // 3)
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def is_undefined(crs: object) -> bool:
    """Whether ``crs`` says nothing usable: absent, or a GeoPackage's "undefined" SRS
    (srs_id 0 "Undefined geographic SRS", -1 "Undefined Cartesian SRS") or another
    engineering (local) CRS that no transformation can relate to the Earth."""
    if crs is None:
        return True
    try:
        c = CRS.from_user_input(crs)
    except Exception:  # an unparsable CRS is as good as none
        return True
    return c.name.lower().startswith("undefined") or not (c.is_geographic or c.is_projected)


def require_crs(crs: object, layer: str) -> CRS:
    """Refuse a layer without CRS (design rule: a layer with no CRS is refused)."""
    if crs is None:
        raise CRSError(
            f"layer '{layer}' has no coordinate reference system (for a Shapefile: the .prj "
            "file is missing). Add one (EPSG:4326, EPSG:4490 or a projected code) or pass "
            "--crs explicitly.", field=f"{layer}.crs")
    if is_undefined(crs):
        name = getattr(crs, "name", str(crs))
        raise CRSError(
            f"layer '{layer}' declares an undefined coordinate reference system ({name!r}, "
            "e.g. a GeoPackage srs_id 0 or -1); refusing to guess. Declare EPSG:4326, "
            "EPSG:4490 or a projected code.", field=f"{layer}.crs")
    return CRS.from_user_input(crs)


def outside_crs_area(crs: CRS, bounds: np.ndarray, margin_deg: float) -> np.ndarray:
    """Which boxes cannot be coordinates in ``crs``.

    Parameters
    ----------
    crs : pyproj.CRS
        The declared CRS of the coordinates.
    bounds : ndarray, shape (n, 4)
        ``minx, miny, maxx, maxy`` of each geometry (``shapely.bounds``).
    margin_deg : float
        How far (degrees) beyond the CRS's area of use a coordinate may lie.

    Returns
    -------
    ndarray of bool
        True where a corner is not finite, or lies outside the longitude/latitude range
        (geographic CRS), or maps outside the CRS's area of use widened by ``margin_deg``
        (projected CRS): metres declared as degrees, degrees declared as metres, or a point
        at 1e30.
    """
    b = np.asarray(bounds, dtype=float).reshape(-1, 4)
    bad = ~np.isfinite(b).all(axis=1)
    x = np.concatenate([b[:, 0], b[:, 2]])
    y = np.concatenate([b[:, 1], b[:, 3]])
    if crs.is_geographic:
        lon, lat = x, y
    else:
        tr = _to_geodetic(crs)
        with np.errstate(all="ignore"):
            lon, lat = tr.transform(np.where(np.isfinite(x), x, 0.0), np.where(np.isfinite(y), y, 0.0))
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    with np.errstate(invalid="ignore"):
        out = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
        area = crs.area_of_use
        if area is not None and not crs.is_geographic:
            m = margin_deg
            out |= (lat < area.south - m) | (lat > area.north + m)
            if area.west <= area.east:  # an area across the antimeridian is not boxed in lon
                out |= (lon < area.west - m) | (lon > area.east + m)
    n = len(b)
    return bad | out[:n] | out[n:]


def _to_geodetic(crs: CRS) -> Transformer:
    return transformer(crs, crs.geodetic_crs)


def transformer(src: object, dst: object) -> Transformer:
    """An ``always_xy`` transformer from ``src`` to ``dst`` (anything ``CRS`` accepts).

    ``Transformer.from_crs`` searches the PROJ database for the best operation: 40-60 ms for
    WGS 84 to a Gauss-Kruger zone here, paid by every process that plans (the CLI builds
    four). The operation it finds, written as a PROJ pipeline, rebuilds in 0.1 ms; so the
    pipeline is kept per process and in ``proj_pipelines.json`` of the compiled-view cache
    folder, keyed by both CRSs' WKT and the PROJ version. An unreadable or stale entry falls
    back to the search, and the same operation results either way.
    """
    return _transformer(CRS.from_user_input(src), CRS.from_user_input(dst))


@lru_cache(maxsize=64)
def _transformer(src: CRS, dst: CRS) -> Transformer:
    key = hashlib.sha256(f"{src.to_wkt()}\n{dst.to_wkt()}\n{pyproj.proj_version_str}"
                         .encode()).hexdigest()[:32]
    memo = _pipelines()
    definition = memo.get(key)
    if isinstance(definition, str):
        try:
            return Transformer.from_pipeline(definition)
        except ProjError:
            pass
    tr = Transformer.from_crs(src, dst, always_xy=True)
    memo[key] = tr.definition
    _save_pipelines(memo)
    return tr


def _pipelines_path() -> str | None:
    """The memo file, or None where no cache folder can be named (no home directory)."""
    from .cache import cache_dir  # (lazy: the cache module imports the compiled view)

    try:
        return os.path.join(cache_dir(), "proj_pipelines.json")
    except (RuntimeError, KeyError, OSError):
        return None


def _pipelines() -> dict[str, object]:
    path = _pipelines_path()
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            memo = json.load(fh)
        return memo if isinstance(memo, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_pipelines(memo: dict[str, object]) -> None:
    """Write atomically (a concurrent reader sees the old or the new file); a cache folder
    that cannot be written only costs the next process the search."""
    path = _pipelines_path()
    if path is None:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(memo, fh)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
