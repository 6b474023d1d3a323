"""The :class:`Network`: element tables of one network version, in a metric CRS.

The tables are the source of truth. Everything derived from them (graphs, arrays, spatial
indexes) is built by :func:`grid_models.compiled.compile_network` once per version and keyed
by :attr:`Network.version_id`, a content hash of the tables.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .crs import WGS84, metric_crs_for
from .errors import CRSError
from .schema import LAYERS, OPTIONAL_LAYERS, REQUIRED_LAYERS, conform, empty_layer


@dataclass(eq=False)
class Network:
    """One version of a distribution network.

    Attributes
    ----------
    layers : dict of str to DataFrame
        One table per element type (see :mod:`grid_models.schema`); geometric layers are
        GeoDataFrames in :attr:`crs`.
    crs : pyproj.CRS
        The projected, metric CRS every geometric layer is held in.
    meta : dict of str to str
        Free metadata: ``name``, ``geometry_source`` (``surveyed`` or ``schematic``), ...
    """

    layers: dict[str, pd.DataFrame]
    crs: CRS
    meta: dict[str, str] = field(default_factory=dict)

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_layers(cls, layers: dict[str, pd.DataFrame], crs: object | None = None,
                    meta: dict[str, str] | None = None, strict: bool = True) -> Network:
        """Build a network from (possibly partial) tables.

        Geometric layers are reprojected to a metric CRS chosen for the network's area
        (:func:`grid_models.crs.metric_crs_for`) unless ``crs`` names a projected one.
        Missing optional layers become empty tables; each table is conformed to its schema.

        Parameters
        ----------
        layers : dict
            Tables by layer name; every geometric one must carry a CRS.
        crs : CRS-like, optional
            Metric CRS to hold the network in; chosen automatically when omitted.
        meta : dict, optional
            Metadata to keep.
        strict : bool
            Raise on a missing required column (``True``) or fill it with nulls (``False``,
            used by validation to report every problem at once).
        """
        from .errors import NetworkFormatError

        missing = [n for n in REQUIRED_LAYERS if n not in layers]
        if missing:
            raise NetworkFormatError(
                f"network lacks required layer(s) {missing}; a network has layers "
                f"{list(REQUIRED_LAYERS)} and optionally {list(OPTIONAL_LAYERS)}",
                field=missing[0])
        geo = {n: t for n, t in layers.items() if n in LAYERS and LAYERS[n]["geometry"]}
        for name, t in geo.items():
            if isinstance(t, gpd.GeoDataFrame) and len(t) and t.crs is None:
                raise CRSError(f"layer '{name}' has no coordinate reference system; "
                               "refusing to guess (use EPSG:4326, EPSG:4490 or a projected code)",
                               field=f"{name}.crs")
        target = CRS.from_user_input(crs) if crs is not None else _choose_metric(geo)
        if not target.is_projected:
            raise CRSError(f"working CRS {target.to_string()} is not projected; metric work needs "
                           "a projected CRS", field="crs")
        out: dict[str, pd.DataFrame] = {}
        from .errors import ValidationReport

        report = None if strict else ValidationReport()
        for name in (*REQUIRED_LAYERS, *OPTIONAL_LAYERS):
            t = layers.get(name)
            if t is None:
                t = empty_layer(name, target)
            t = conform(name, t, report)
            if LAYERS[name]["geometry"]:
                if t.crs is None:
                    t = t.set_crs(target)
                elif not CRS.from_user_input(t.crs).equals(target):
                    t = t.to_crs(target)
            out[name] = t.reset_index(drop=True)
        net = cls(out, target, dict(meta or {}))
        if report is not None and report.problems:
            net.meta["_conform_problems"] = "\n".join(str(p) for p in report.problems)
        return net

    # -- access -------------------------------------------------------------------
    def __getattr__(self, name: str) -> pd.DataFrame:
        # Layers read as attributes (net.segments); only called when normal lookup fails.
        layers = self.__dict__.get("layers", {})
        if name in layers:
            return layers[name]
        raise AttributeError(name)

    @cached_property
    def version_id(self) -> str:
        """Content hash of every table and the CRS: the identity of this network version."""
        h = hashlib.sha256()
        h.update(self.crs.to_wkt().encode())
        for name in sorted(self.layers):
            t = self.layers[name]
            h.update(name.encode())
            attrs = t.drop(columns="geometry") if "geometry" in t.columns else t
            attrs = attrs.reindex(sorted(attrs.columns), axis=1)
            h.update(",".join(attrs.columns).encode())
            if len(attrs):
                # typed columns hash directly (floats by value, text by content)
                h.update(pd.util.hash_pandas_object(attrs, index=False).values.tobytes())
            if isinstance(t, gpd.GeoDataFrame) and len(t):
                # Coordinates rounded to 1 cm so that a write/read round trip through a
                # geographic CRS (float noise ~1e-9 m) keeps the same version id.
                geoms = t.geometry.values
                coords, idx = shapely.get_coordinates(geoms, return_index=True)
                h.update(np.round(coords, 2).tobytes())
                h.update(idx.astype(np.int64).tobytes())
                h.update(shapely.get_type_id(geoms).astype(np.int64).tobytes())
        return h.hexdigest()[:16]

    @property
    def name(self) -> str:
        return self.meta.get("name", "network")

    def geographic_bounds(self) -> tuple[float, float, float, float]:
        """Bounds (min lon, min lat, max lon, max lat) in EPSG:4326."""
        pts = self.layers["nodes"]
        if len(pts) == 0:
            pts = self.layers["roads"]
        b = gpd.GeoSeries(pts.geometry, crs=self.crs).to_crs(WGS84).total_bounds
        return tuple(float(v) for v in b)

    def summary(self) -> dict[str, object]:
        """Counts and key figures for ``network info``."""
        seg = self.layers["segments"]
        nodes = self.layers["nodes"]
        s: dict[str, object] = {
            "name": self.name,
            "version_id": self.version_id,
            "crs": self.crs.to_string(),
            "geometry_source": self.meta.get("geometry_source", "surveyed"),
        }
        for n in (*REQUIRED_LAYERS, *OPTIONAL_LAYERS):
            s[f"n_{n}"] = int(len(self.layers[n]))
        s["segments_km"] = round(float(seg["length_km"].sum()), 3)
        s["cable_km"] = round(float(seg.loc[seg["construction"] == "cable", "length_km"].sum()), 3)
        s["load_mw"] = round(float(nodes["p_mw"].sum()), 3)
        if len(nodes):
            s["node_kinds"] = {k: int(v) for k, v in nodes["kind"].value_counts().sort_index().items()}
            s["bounds_wgs84"] = [round(v, 6) for v in self.geographic_bounds()]
        return s


def _choose_metric(geo: dict[str, pd.DataFrame]) -> CRS:
    """Pick the metric CRS from the first non-empty geometric layer's centroid."""
    for name in ("nodes", "substations", "segments", "roads", "bus_sections", "obstacles"):
        t = geo.get(name)
        if isinstance(t, gpd.GeoDataFrame) and len(t) and t.geometry.notna().any():
            crs = CRS.from_user_input(t.crs)
            if crs.is_projected:
                return crs
            b = t.geometry.total_bounds
            if not np.all(np.isfinite(b)):
                continue
            return metric_crs_for((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    raise CRSError("no layer has geometry to locate the network; cannot choose a metric CRS",
                   field="crs")
