"""Capacity heat map: remaining N-1 headroom of every feeder, as GeoJSON.

Per feeder: rated MVA (√3 · kV · rated kA of the outlet), peak (measured, else the sum of the
loads on its nodes), the N-1 load-rate limit of its connection mode (policy table
``load_rate_limits``), and the headroom ``limit × rated − peak / power factor`` in MVA. The
geometry is the feeder's in-service segments (EPSG:4326). Computed with vectorised table
operations once per network version and policy (cached by the warm planner), never per request.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid_models.network import Network
from grid_models.policy import Policy

SQRT3 = float(np.sqrt(3.0))
COORD_DIGITS = 7  # ~1 cm in EPSG:4326


def feeder_capacity(net: Network, policy: Policy) -> pd.DataFrame:
    """One row per feeder with ``rated_mva``, ``peak_mw``, ``load_rate``,
    ``n1_load_rate_limit`` and ``headroom_mva`` (NaN limit: connection mode not in the policy)."""
    f = net.feeders
    nodes = net.nodes
    load = nodes.groupby("feeder_id")["p_mw"].sum()
    peak = f["peak_mw"].astype(float)
    peak = peak.where(peak.notna(), f["id"].map(load).fillna(0.0))
    limits = policy.table("load_rate_limits").set_index("connection_mode")["max_load_rate"].astype(float)
    rated = SQRT3 * f["vn_kv"].astype(float) * f["rated_i_ka"].astype(float)
    pf = f["power_factor"].astype(float).where(lambda s: s > 0, 1.0)
    limit = f["connection_mode"].map(limits)
    peak_mva = peak / pf
    out = pd.DataFrame({
        "feeder_id": f["id"].astype(str), "name": f["name"].astype(str),
        "substation_id": f["substation_id"].astype(str),
        "bus_section_id": f["bus_section_id"].astype(str), "vn_kv": f["vn_kv"].astype(float),
        "connection_mode": f["connection_mode"].astype(str), "rated_mva": rated, "peak_mw": peak,
        "power_factor": pf, "load_rate": peak_mva / rated.where(rated > 0),
        "n1_load_rate_limit": limit, "headroom_mva": limit * rated - peak_mva,
    })
    return out.reset_index(drop=True)


def feeder_geometry(net: Network) -> gpd.GeoSeries:
    """MultiLineString of each feeder's in-service segments in EPSG:4326 (None without any)."""
    f_ids = pd.Index(net.feeders["id"].astype(str))
    seg = net.segments
    seg = seg[seg["in_service"].astype(bool) & seg.geometry.notna()]
    pos = f_ids.get_indexer(seg["feeder_id"].astype(str))
    keep = pos >= 0
    geoms = gpd.GeoSeries(seg.geometry.values[keep], crs=net.crs).to_crs("EPSG:4326").values
    order = np.argsort(pos[keep], kind="stable")
    out = np.full(len(f_ids), None, dtype=object)
    if len(order):
        idx = pos[keep][order]
        multi = shapely.multilinestrings(np.asarray(geoms)[order], indices=idx)
        present = np.unique(idx)
        out[present] = multi
    return gpd.GeoSeries(out, crs="EPSG:4326")


def capacity_geojson(net: Network, policy: Policy) -> dict:
    """The heat map as a GeoJSON FeatureCollection (one feature per feeder)."""
    table = feeder_capacity(net, policy)
    geom = feeder_geometry(net)
    rounded = shapely.set_precision(geom.values, 10 ** -COORD_DIGITS)
    geo = [None if g is None else json.loads(shapely.to_geojson(g)) for g in rounded]
    num = ["vn_kv", "rated_mva", "peak_mw", "power_factor", "load_rate", "n1_load_rate_limit",
           "headroom_mva"]
    t = table.copy()
    t[num] = t[num].round(4)
    records = t.astype(object).where(t.notna(), None).to_dict("records")
    return {
        "type": "FeatureCollection",
        "network_version": net.version_id,
        "policy_id": policy.policy_id,
        "features": [{"type": "Feature", "id": r["feeder_id"], "geometry": g, "properties": r}
                     for r, g in zip(records, geo, strict=True)],
    }


def capacity_geojson_bytes(net: Network, policy: Policy) -> bytes:
    """:func:`capacity_geojson` serialised (what the service caches and sends)."""
    return json.dumps(capacity_geojson(net, policy), ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def model_capacity_geojson_bytes(cn, policy: Policy) -> bytes:
    """The heat map recomputed from the compiled model by the engine
    (:func:`scheme_engine.park.heatmap.capacity_heatmap`, one feature per feeder with the same
    properties as :func:`capacity_geojson`, no reservations) serialised: what ``/v1/capacity``
    sends."""
    from scheme_engine.park.heatmap import capacity_heatmap

    return json.dumps(capacity_heatmap(cn, policy, access_points=False), ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")
