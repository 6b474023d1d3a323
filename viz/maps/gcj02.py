"""WGS-84 → GCJ-02 ("Mars coordinates") for overlays drawn on a Chinese commercial basemap.

AutoNavi/Gaode and Tencent tiles are drawn in GCJ-02: a WGS-84 route drawn on them appears
shifted by up to ~500 m. When such a basemap is chosen, every overlay coordinate goes through
:func:`wgs84_to_gcj02` (the widely published transform, e.g. the ``eviltransform`` project;
outside China the coordinates are returned unchanged). Tianditu tiles are CGCS2000 and need no
shift (CGCS2000 and WGS-84 differ by centimetres).
"""

from __future__ import annotations

import numpy as np

_A = 6378245.0
_EE = 0.00669342162296594323


def out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Boolean mask of points outside the rough China box where GCJ-02 applies."""
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _dlat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    r += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return r


def _dlon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    r += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon: np.ndarray | float, lat: np.ndarray | float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS-84 longitude/latitude (degrees, arrays or scalars) to GCJ-02.

    Returns
    -------
    (lon, lat) : tuple of numpy arrays
        Unchanged for points outside China.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlat = _dlat(lon - 105.0, lat - 35.0)
    dlon = _dlon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sq) * np.pi)
    dlon = (dlon * 180.0) / (_A / sq * np.cos(rad) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(lon: np.ndarray | float, lat: np.ndarray | float, iterations: int = 5
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`wgs84_to_gcj02` by fixed-point iteration (error < 1e-7° after 5)."""
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(iterations):
        tlon, tlat = wgs84_to_gcj02(wlon, wlat)
        wlon, wlat = wlon - (tlon - glon), wlat - (tlat - glat)
    return wlon, wlat
