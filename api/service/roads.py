"""Street lines of a network version for the web page's map and the 3D preview.

Streets are not grid data: customers see them too (their maps need something to click on).
Only the line, its ``road_class`` and ``name`` leave the service, never ids. Everything is
prepared once per network version and process (simplified in the network's metric CRS,
EPSG:4326 coordinates rounded to 1e-6°, one JSON text per street, an STR-tree); a request is an
index query and a string join.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import shapely

from grid_models.network import Network

from .context import ServiceContext
from .networks import load_network

COORD_DIGITS = 6  # ~0.1 m: finer than any street drawing needs
_CACHE_SIZE = 4


@dataclass(frozen=True)
class RoadIndex:
    """The streets of one network version, ready to serve."""

    version_id: str
    bbox: tuple[float, float, float, float] | None  # the network's area, EPSG:4326
    geoms: np.ndarray  # shapely geometries, EPSG:4326
    features: np.ndarray  # GeoJSON Feature text per street
    tree: shapely.STRtree

    def select(self, bbox: tuple[float, float, float, float] | None,
               limit: int) -> tuple[np.ndarray, bool]:
        """Indices of the streets meeting ``bbox`` (all without), at most ``limit`` (the
        nearest to the box's centre kept), and whether some were left out."""
        if bbox is None:
            idx = np.arange(len(self.geoms))
            box = shapely.box(*self.bbox) if self.bbox else None
        else:
            box = shapely.box(*bbox)
            idx = np.sort(self.tree.query(box, predicate="intersects"))
        if len(idx) <= limit:
            return idx, False
        d = shapely.distance(self.geoms[idx], shapely.centroid(box))
        keep = np.sort(idx[np.argsort(d, kind="stable")[:limit]])
        return keep, True

    def collection(self, bbox: tuple[float, float, float, float] | None,
                   limit: int) -> bytes:
        """A GeoJSON FeatureCollection (with the network's ``bbox`` and ``truncated``)."""
        idx, truncated = self.select(bbox, limit)
        head = json.dumps({"type": "FeatureCollection", "network_version": self.version_id,
                           "bbox": list(self.bbox) if self.bbox else None,
                           "truncated": truncated})[:-1]
        return f'{head},"features":[{",".join(self.features[idx])}]}}'.encode()

    def near(self, bbox: tuple[float, float, float, float], limit: int = 5000) -> dict:
        """The streets meeting ``bbox`` as a FeatureCollection dict (for the 3D preview)."""
        return json.loads(self.collection(bbox, limit))


def build_road_index(net: Network, version_id: str, tolerance_m: float = 2.0) -> RoadIndex:
    """Prepare the streets of ``net`` (vectorised; once per network version)."""
    import geopandas as gpd

    roads = getattr(net, "roads", None)
    if roads is None or len(roads) == 0:
        geoms = np.array([], dtype=object)
        props: list[dict] = []
    else:
        g = roads.geometry
        if g.crs is not None and g.crs.is_projected:
            g = g.simplify(tolerance_m)
        g = gpd.GeoSeries(g, crs=roads.crs).to_crs("EPSG:4326")
        geoms = shapely.set_precision(np.asarray(g.values), 10.0 ** -COORD_DIGITS)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        geoms = geoms[ok]
        cols = {k: roads[k].to_numpy()[ok] if k in roads.columns else None
                for k in ("road_class", "name")}
        props = [{k: (None if v is None or _blank(v[i]) else str(v[i])) for k, v in cols.items()}
                 for i in range(len(geoms))]
    texts = shapely.to_geojson(geoms) if len(geoms) else np.array([], dtype=object)
    features = np.array([f'{{"type":"Feature","geometry":{t},"properties":'
                         f'{json.dumps(p, ensure_ascii=False)}}}'
                         for t, p in zip(texts, props, strict=True)], dtype=object)
    bbox = _area(net, geoms)
    return RoadIndex(version_id, bbox, geoms, features, shapely.STRtree(geoms))


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or str(v).strip() == ""


def _area(net: Network, geoms: np.ndarray) -> tuple[float, float, float, float] | None:
    """The network's area: the streets' extent, else its nodes' and substations' (EPSG:4326)."""
    if len(geoms):
        b = shapely.total_bounds(geoms)
    else:
        import geopandas as gpd

        parts = [layer.geometry for layer in (getattr(net, "nodes", None),
                                              getattr(net, "substations", None))
                 if layer is not None and len(layer)]
        if not parts:
            return None
        b = np.array([np.inf, np.inf, -np.inf, -np.inf])
        for p in parts:
            pb = gpd.GeoSeries(p, crs=p.crs).to_crs("EPSG:4326").total_bounds
            b = np.array([min(b[0], pb[0]), min(b[1], pb[1]), max(b[2], pb[2]), max(b[3], pb[3])])
    if not np.all(np.isfinite(b)):
        return None
    return tuple(round(float(x), COORD_DIGITS) for x in b)  # type: ignore[return-value]


_indexes: OrderedDict[str, RoadIndex] = OrderedDict()
_lock = threading.Lock()


def road_index(c: ServiceContext, version_id: str) -> RoadIndex:
    """The street index of ``version_id`` (built on first use in this process).

    Network versions are immutable and named by their content hash, so the cache is keyed by
    the version alone; the active version's network comes from its warm planner.
    """
    with _lock:
        hit = _indexes.get(version_id)
        if hit is not None:
            _indexes.move_to_end(version_id)
            return hit
    active_version, policy = c.active()
    if version_id == active_version:
        net = c.warm(version_id, policy).network
    else:
        net = load_network(c.db, c.settings.data_dir, version_id)
    from viz.datafiles import value

    idx = build_road_index(net, version_id, float(value("map_styles.csv", "simplify_tolerance_m")))
    with _lock:
        _indexes[version_id] = idx
        while len(_indexes) > _CACHE_SIZE:
            _indexes.popitem(last=False)
    return idx


def roads_near(c: ServiceContext, version_id: str, bbox: tuple[float, float, float, float],
               limit: int = 5000) -> dict | None:
    """Streets of ``version_id`` meeting ``bbox`` (None when the version has none)."""
    idx = road_index(c, version_id)
    if not len(idx.geoms):
        return None
    return idx.near(bbox, limit)
