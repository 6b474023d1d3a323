"""The :class:`Network`: element tables of one network version, in a metric CRS.

The tables are the source of truth. Everything derived from them (graphs, arrays, spatial
indexes) is built by :func:`grid_models.compiled.compile_network` once per version and keyed
by :attr:`Network.version_id`, a content hash of the tables.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .crs import WGS84, metric_crs_for, outside_crs_area, parse_crs, require_crs
from .errors import CRSError, ValidationReport
from .schema import LAYERS, OPTIONAL_LAYERS, REQUIRED_LAYERS, conform, empty_layer

if TYPE_CHECKING:  # networkx is imported only by to_networkx()
    import networkx as nx


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
        Coordinates are checked against the CRS each layer declares: a layer whose coordinates
        cannot be in that CRS (metres declared as degrees, degrees declared in a projected CRS)
        is a ``crs_mismatch``; single elements with non-finite or impossible coordinates (a
        node at 1e30) are ``bad_coordinates``, and their geometry is dropped.

        Parameters
        ----------
        layers : dict
            Tables by layer name; every geometric one must carry a CRS.
        crs : CRS-like, optional
            Metric CRS to hold the network in; chosen automatically when omitted.
        meta : dict, optional
            Metadata to keep.
        strict : bool
            Raise on any problem found while conforming (``True``), or keep going and record
            them in ``meta["_conform_problems"]`` (``False``, used by validation to report
            every problem at once).

        Raises
        ------
        NetworkFormatError
            A required layer is missing.
        CRSError
            A geometric layer has no (or an undefined) CRS, or ``crs`` is unusable.
        NetworkValidationError
            ``strict`` and a column is missing, a value is not a number or a coordinate is
            impossible; ``report`` holds every such problem.
        """
        from .errors import NetworkFormatError, NetworkValidationError, ValidationReport

        missing = [n for n in REQUIRED_LAYERS if n not in layers]
        if missing:
            raise NetworkFormatError(
                f"network lacks required layer(s) {missing}; a network has layers "
                f"{list(REQUIRED_LAYERS)} and optionally {list(OPTIONAL_LAYERS)}",
                field=missing[0])
        report = ValidationReport()
        geo = {n: t for n, t in layers.items() if n in LAYERS and LAYERS[n]["geometry"]}
        for name, t in geo.items():
            if isinstance(t, gpd.GeoDataFrame) and len(t):
                if t.crs is None:
                    raise CRSError(f"layer '{name}' has no coordinate reference system; "
                                   "refusing to guess (use EPSG:4326, EPSG:4490 or a projected "
                                   "code)", field=f"{name}.crs")
                require_crs(t.crs, name)
                geo[name] = _check_declared_crs(name, t, report)
        if crs is not None:
            target = parse_crs(crs, "network_info.metric_crs")
        else:
            try:
                target = _choose_metric(geo)
            except CRSError:
                if report.errors:  # the layers' own CRS problems say why
                    raise NetworkValidationError(report) from None
                raise
        if not target.is_projected:
            raise CRSError(f"working CRS {target.to_string()} is not projected; metric work needs "
                           "a projected CRS (network_info metric_crs)",
                           field="network_info.metric_crs")
        out: dict[str, pd.DataFrame] = {}
        for name in (*REQUIRED_LAYERS, *OPTIONAL_LAYERS):
            t = geo.get(name, layers.get(name))
            if t is None:
                t = empty_layer(name, target)
            t = conform(name, t, report)
            if LAYERS[name]["geometry"]:
                if t.crs is None:
                    t = t.set_crs(target)
                elif not CRS.from_user_input(t.crs).equals(target):
                    t = t.to_crs(target)
            out[name] = t.reset_index(drop=True)
        if strict and report.errors:
            raise NetworkValidationError(report)
        net = cls(out, target, dict(meta or {}))
        if report.problems:
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

    def to_networkx(self, respect_switches: bool = True, include_open: bool = False,
                    include_out_of_service: bool = False) -> nx.MultiGraph:
        """The grid as a networkx graph, for a user's own analysis (off every request path).

        Like pandapower's ``topology.create_nxgraph``: one graph node per network node, one
        edge per segment (key: the segment id) and per switch standing on its own (key: the
        switch id). Planning never uses this graph: it works on the compiled arrays.

        Parameters
        ----------
        respect_switches : bool
            Leave out segments cut by an open switch and open bare switches (the operating
            topology, normally-open ties open). ``False`` keeps them as if closed.
        include_open : bool
            Keep what an open switch cuts, marked ``open=True`` (ignored when
            ``respect_switches`` is false: then nothing is open).
        include_out_of_service : bool
            Keep segments with ``in_service == False`` (marked ``in_service=False``).

        Returns
        -------
        networkx.MultiGraph
            Node attributes: ``kind``, ``vn_kv``, ``feeder_id``, ``bus_section_id``, ``p_mw``,
            ``q_mvar``, ``rated_kva``, ``spare_bays``, ``x``/``y`` (metres in :attr:`crs`),
            ``source_ref``. Edge attributes: ``element`` (``"segment"`` or ``"switch"``),
            ``id``, ``length_km``, ``r_ohm``, ``x_ohm``, ``z_ohm`` (complex), ``max_i_ka``,
            ``construction``, ``std_type``, ``feeder_id``, ``in_service``, ``open``; switches
            have zero length and impedance and their ``kind``. Graph attributes: ``name``,
            ``version_id``, ``crs``. Edges naming a missing node are left out (validation
            reports them as dangling).

        Examples
        --------
        >>> g = net.to_networkx()  # doctest: +SKIP
        >>> nx.shortest_path_length(g, "BB1", "F1-DT2", weight="length_km")  # doctest: +SKIP
        """
        import networkx as nx

        g = nx.MultiGraph(name=self.name, version_id=self.version_id, crs=self.crs.to_string())
        nodes, seg, sw = self.layers["nodes"], self.layers["segments"], self.layers["switches"]
        geoms = np.asarray(nodes.geometry.values, dtype=object)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        xs = np.full(len(nodes), np.nan)
        ys = np.full(len(nodes), np.nan)
        if ok.any():
            pts = shapely.get_point(geoms[ok], 0) if not (shapely.get_type_id(geoms[ok]) == 0).all() \
                else geoms[ok]
            xs[ok], ys[ok] = shapely.get_x(pts), shapely.get_y(pts)
        cols = ["kind", "vn_kv", "feeder_id", "bus_section_id", "p_mw", "q_mvar", "rated_kva",
                "spare_bays", "source_ref"]
        attrs = nodes[cols].assign(x=xs, y=ys).to_dict("records")
        g.add_nodes_from(zip(nodes["id"], attrs, strict=True))
        known = pd.Index(nodes["id"])

        sw_seg = sw["segment_id"].astype(str)
        closed = sw["closed"].to_numpy(dtype=bool)
        open_segs = set(sw_seg[~closed & (sw_seg != "").to_numpy()]) if respect_switches else set()
        is_open = seg["id"].isin(open_segs).to_numpy()
        keep = known.get_indexer(seg["from_node"]) >= 0
        keep &= known.get_indexer(seg["to_node"]) >= 0
        if not include_out_of_service:
            keep &= seg["in_service"].to_numpy(dtype=bool)
        if not include_open:
            keep &= ~is_open
        s = seg[keep]
        length = s["length_km"].to_numpy(dtype=float)
        r = s["r_ohm_per_km"].to_numpy(dtype=float) * length
        x = s["x_ohm_per_km"].to_numpy(dtype=float) * length
        e_attr = pd.DataFrame({
            "element": "segment", "id": s["id"].to_numpy(), "length_km": length, "r_ohm": r,
            "x_ohm": x, "z_ohm": r + 1j * x, "max_i_ka": s["max_i_ka"].to_numpy(dtype=float),
            "construction": s["construction"].to_numpy(), "std_type": s["std_type"].to_numpy(),
            "feeder_id": s["feeder_id"].to_numpy(), "in_service": s["in_service"].to_numpy(),
            "open": is_open[keep]}).to_dict("records")
        g.add_edges_from(zip(s["from_node"], s["to_node"], s["id"], e_attr, strict=True))

        bare = (sw_seg == "").to_numpy()
        bare &= known.get_indexer(sw["node_a"]) >= 0
        bare &= known.get_indexer(sw["node_b"]) >= 0
        w_open = ~closed & respect_switches
        if not include_open:
            bare &= ~w_open
        w = sw[bare]
        w_attr = pd.DataFrame({
            "element": "switch", "id": w["id"].to_numpy(), "kind": w["kind"].to_numpy(),
            "length_km": 0.0, "r_ohm": 0.0, "x_ohm": 0.0, "z_ohm": 0j, "in_service": True,
            "open": w_open[bare]}).to_dict("records")
        g.add_edges_from(zip(w["node_a"], w["node_b"], w["id"], w_attr, strict=True))
        return g

    @property
    def name(self) -> str:
        return self.meta.get("name", "network")

    def geographic_bounds(self) -> tuple[float, float, float, float]:
        """Bounds (min lon, min lat, max lon, max lat) in EPSG:4326."""
        pts = self.layers["nodes"]
        if len(pts) == 0:
            pts = self.layers["roads"]
        b = gpd.GeoSeries(pts.geometry, crs=self.crs).to_crs(WGS84).total_bounds
        return float(b[0]), float(b[1]), float(b[2]), float(b[3])

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
    for name in ("nodes", "substations", "segments", "roads", "bus_sections", "obstacles",
                 "supply_areas"):
        t = geo.get(name)
        if isinstance(t, gpd.GeoDataFrame) and len(t) and t.geometry.notna().any():
            crs = CRS.from_user_input(t.crs)
            if crs.is_projected:
                return crs
            b = t.geometry.total_bounds
            if not np.all(np.isfinite(b)) or abs(b[0] + b[2]) > 360 or abs(b[1] + b[3]) > 180:
                continue
            return metric_crs_for((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    raise CRSError("no layer has usable geometry to locate the network; cannot choose a metric "
                   "CRS (give network_info metric_crs or layers with valid coordinates)",
                   field="network_info.metric_crs")


@lru_cache(maxsize=1)
def _crs_area_margin_deg() -> float:
    # Reading happens before any policy is chosen: the default profile's tolerance, read once.
    from .policy import load_policy

    return load_policy().param("validation_crs_area_margin_deg")


#: Share of a layer's elements outside its declared CRS's area beyond which the CRS itself is
#: wrong (one ``crs_mismatch``) rather than a few elements (``bad_coordinates`` each).
CRS_MISMATCH_SHARE = 0.5


def _check_declared_crs(name: str, t: gpd.GeoDataFrame, report: ValidationReport) -> gpd.GeoDataFrame:
    """Report coordinates that cannot be in the layer's declared CRS; drop their geometry.

    Returns the layer, with the geometry of every reported element set to None so that the
    reprojection and everything after it see no absurd numbers.
    """
    geoms = np.asarray(t.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return t
    crs = CRS.from_user_input(t.crs)
    with np.errstate(all="ignore"):
        bounds = shapely.bounds(geoms[present])
    margin = _crs_area_margin_deg()
    bad_p = outside_crs_area(crs, bounds, margin)
    if not bad_p.any():
        return t
    bad = np.zeros(len(t), bool)
    bad[np.flatnonzero(present)[bad_p]] = True
    ids = (t["id"].astype(str).to_numpy(dtype=object) if "id" in t.columns
           else np.array([f"row {i}" for i in range(len(t))], dtype=object))
    what = "longitude/latitude" if crs.is_geographic else "projected metres of that CRS"
    if bad_p.mean() > CRS_MISMATCH_SHARE:
        with np.errstate(all="ignore"):
            fin = bounds[np.isfinite(bounds).all(axis=1)]
        span = (f"x {np.min(fin[:, 0]):.6g}..{np.max(fin[:, 2]):.6g}, "
                f"y {np.min(fin[:, 1]):.6g}..{np.max(fin[:, 3]):.6g}") if len(fin) else "non-finite"
        hint = ("they look like projected metres" if crs.is_geographic else
                "they look like degrees or belong to another zone/projection")
        area = crs.area_of_use
        where = f" (area of use: {area.name})" if area is not None and not crs.is_geographic else ""
        report.add("crs_mismatch", name, "*",
                   f"layer '{name}' declares {crs.to_string()} ({crs.name}) but {int(bad_p.sum())} "
                   f"of {int(present.sum())} geometries cannot be {what}{where}: coordinates span "
                   f"{span}; {hint}. Declare the CRS the coordinates are really in")
        bad = present
    else:
        for i in np.flatnonzero(bad):
            c = shapely.get_coordinates(geoms[i])
            first = f"({c[0, 0]:.6g}, {c[0, 1]:.6g})" if len(c) else "()"
            report.add("bad_coordinates", name, ids[i],
                       f"coordinates {first} are not finite or lie outside the area where "
                       f"{crs.to_string()} ({crs.name}) is defined (margin {margin:g} deg); "
                       f"give real {what}")
    kept = geoms.copy()
    kept[bad] = None  # dropped: reported above, never reprojected
    out = t.copy()
    out[t.geometry.name] = gpd.GeoSeries(kept, index=t.index, crs=t.crs)
    return out
