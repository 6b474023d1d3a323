"""Coordinate reference systems: what is accepted, and the metric CRS for the work.

Input and output geometry is geographic: EPSG:4326 (WGS 84) or EPSG:4490 (CGCS2000); a
projected input CRS is accepted too and reprojected. Metric work (lengths, routing, spatial
indexes) happens in a projected CRS chosen for the network's area: inside China the CGCS2000
3-degree Gauss-Krüger zone of the centroid (EPSG:4534–4554, the national mapping convention),
elsewhere the WGS 84 UTM zone.
"""

from __future__ import annotations

import math

from pyproj import CRS

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


def require_crs(crs: object, layer: str) -> CRS:
    """Refuse a layer without CRS (design rule: a layer with no CRS is refused)."""
    if crs is None:
        raise CRSError(
            f"layer '{layer}' has no coordinate reference system (for a Shapefile: the .prj "
            "file is missing). Add one (EPSG:4326, EPSG:4490 or a projected code) or pass "
            "--crs explicitly.", field=f"{layer}.crs")
    return CRS.from_user_input(crs)
