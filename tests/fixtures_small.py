"""A tiny, valid network built by hand, whose every number can be checked on paper.

Layout (metres east/north of a point at lon 106.82°, lat 39.67°, held in EPSG:4545,
CGCS2000 3° Gauss-Krüger CM 108E)::

                      F2-P3 (315,1300)
                     /T1 (tie cable, open switch SW-T1)
    F1-DT2 - F1-RMU2 (-15,900)    F2-P2 (315,900) - F2-DT1
               |                    | SW-S1 (closed sectionaliser on F2-S2)
    F1-DT1 - F1-RMU1 (-15,400)    F2-P1 (315,400)
               |                  /
             BB1 (-15,0)  SS1  BB2 (15,0)
                                  |
                                F3-P1 (15,-500)
                                  |
                                F3-P2 (15,-1000) - F3-DT1

- Substation SS1: 110 kV, 2 × 40 MVA; bus sections BS1, BS2 (10 kV, 8 bays, 3 used).
- F1 ``cable_single_ring`` from BS1 (YJV22-3x300, two RMUs, two distribution transformers);
  F2 ``overhead_multi_1tie`` from BS2 (JKLYJ-240 on poles); F3 ``overhead_radial`` from BS2
  (JKLYJ-120). A normally-open tie cable T1 joins F1-RMU2 and F2-P3.
- Segment geometries are straight lines between their nodes and ``length_km`` equals their
  length; r/x/c/max_i come from ``grid_models/data/standard_types/conductors.csv``.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon

from grid_models.network import Network
from grid_models.policy import load_standard_types

CRS = "EPSG:4545"
LON0, LAT0 = 106.82, 39.67

# (id, kind, feeder_id, bus_section_id, x_m, y_m, bays_total, spare_bays, p_mw, q_mvar, rated_kva)
NODES = [
    ("BB1", "busbar", "", "BS1", -15, 0, 8, 5, 0.0, 0.0, 0.0),
    ("BB2", "busbar", "", "BS2", 15, 0, 8, 5, 0.0, 0.0, 0.0),
    ("F1-RMU1", "rmu", "F1", "", -15, 400, 4, 1, 0.0, 0.0, 0.0),
    ("F1-RMU2", "rmu", "F1", "", -15, 900, 4, 2, 0.0, 0.0, 0.0),
    ("F1-DT1", "dist_transformer", "F1", "", -115, 400, 0, 0, 0.55, 0.18, 800.0),
    ("F1-DT2", "dist_transformer", "F1", "", -115, 900, 0, 0, 0.40, 0.13, 630.0),
    ("F2-P1", "pole", "F2", "", 315, 400, 0, 0, 0.0, 0.0, 0.0),
    ("F2-P2", "pole", "F2", "", 315, 900, 0, 0, 0.0, 0.0, 0.0),
    ("F2-P3", "pole", "F2", "", 315, 1300, 0, 0, 0.0, 0.0, 0.0),
    ("F2-DT1", "dist_transformer", "F2", "", 415, 900, 0, 0, 0.30, 0.10, 400.0),
    ("F3-P1", "pole", "F3", "", 15, -500, 0, 0, 0.0, 0.0, 0.0),
    ("F3-P2", "pole", "F3", "", 15, -1000, 0, 0, 0.0, 0.0, 0.0),
    ("F3-DT1", "dist_transformer", "F3", "", 115, -1000, 0, 0, 0.35, 0.11, 500.0),
]

# (id, from_node, to_node, feeder_id, std_type)
SEGMENTS = [
    ("F1-S1", "BB1", "F1-RMU1", "F1", "YJV22-3x300"),
    ("F1-S2", "F1-RMU1", "F1-RMU2", "F1", "YJV22-3x300"),
    ("F1-S3", "F1-RMU1", "F1-DT1", "F1", "YJV22-3x70"),
    ("F1-S4", "F1-RMU2", "F1-DT2", "F1", "YJV22-3x70"),
    ("F2-S1", "BB2", "F2-P1", "F2", "JKLYJ-240"),
    ("F2-S2", "F2-P1", "F2-P2", "F2", "JKLYJ-240"),
    ("F2-S3", "F2-P2", "F2-P3", "F2", "JKLYJ-240"),
    ("F2-S4", "F2-P2", "F2-DT1", "F2", "JKLYJ-70"),
    ("F3-S1", "BB2", "F3-P1", "F3", "JKLYJ-120"),
    ("F3-S2", "F3-P1", "F3-P2", "F3", "JKLYJ-120"),
    ("F3-S3", "F3-P2", "F3-DT1", "F3", "JKLYJ-70"),
    ("T1", "F1-RMU2", "F2-P3", "", "YJV22-3x300"),  # tie cable, cut by open switch SW-T1
]


def origin() -> tuple[float, float]:
    """Projected (EPSG:4545) coordinates of lon 106.82°, lat 39.67°."""
    t = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = t.transform(LON0, LAT0)
    return float(x), float(y)


def small_network() -> Network:
    """Build the small valid network described in the module docstring.

    Returns
    -------
    Network
        Held in EPSG:4545; ``validate()`` reports no errors and no warnings on it.
    """
    x0, y0 = origin()
    std = load_standard_types().conductors.set_index("name")

    def pt(x: float, y: float) -> Point:
        return Point(x0 + x, y0 + y)

    xy = {n[0]: (n[4], n[5]) for n in NODES}

    substations = gpd.GeoDataFrame(
        {"id": ["SS1"], "name": ["Test 110 kV"], "hv_kv": [110.0], "n_transformers": [2],
         "transformer_mva": [40.0], "peak_mw": [2.6], "power_factor": [0.95],
         "source_ref": ["fixture"]},
        geometry=[pt(0, 0)], crs=CRS)
    bus_sections = gpd.GeoDataFrame(
        {"id": ["BS1", "BS2"], "substation_id": ["SS1", "SS1"], "vn_kv": [10.0, 10.0],
         "bays_total": [8, 8], "bays_used": [3, 3], "vm_pu": [1.0, 1.0],
         "source_ref": ["fixture", "fixture"]},
        geometry=[pt(-15, 0), pt(15, 0)], crs=CRS)
    feeders = pd.DataFrame(
        {"id": ["F1", "F2", "F3"], "name": ["Ring 1", "Overhead 2", "Radial 3"],
         "substation_id": ["SS1"] * 3, "bus_section_id": ["BS1", "BS2", "BS2"],
         "vn_kv": [10.0] * 3, "conductor_type": ["YJV22-3x300", "JKLYJ-240", "JKLYJ-120"],
         "rated_i_ka": [float(std.loc["YJV22-3x300", "max_i_ka"]),
                        float(std.loc["JKLYJ-240", "max_i_ka"]),
                        float(std.loc["JKLYJ-120", "max_i_ka"])],
         "peak_mw": [np.nan, 1.1, np.nan], "power_factor": [0.95] * 3,
         "connection_mode": ["cable_single_ring", "overhead_multi_1tie", "overhead_radial"],
         "n_customers": [2, 1, 1], "source_ref": ["fixture"] * 3})
    nodes = gpd.GeoDataFrame(
        {"id": [n[0] for n in NODES], "kind": [n[1] for n in NODES],
         "feeder_id": [n[2] for n in NODES], "bus_section_id": [n[3] for n in NODES],
         "vn_kv": [10.0] * len(NODES), "bays_total": [n[6] for n in NODES],
         "spare_bays": [n[7] for n in NODES], "p_mw": [n[8] for n in NODES],
         "q_mvar": [n[9] for n in NODES], "rated_kva": [n[10] for n in NODES],
         "customer_id": [""] * len(NODES), "source_ref": ["fixture"] * len(NODES)},
        geometry=[pt(n[4], n[5]) for n in NODES], crs=CRS)
    seg_rows = []
    for sid, a, b, fid, st in SEGMENTS:
        (xa, ya), (xb, yb) = xy[a], xy[b]
        c = std.loc[st]
        seg_rows.append({
            "id": sid, "from_node": a, "to_node": b, "feeder_id": fid, "std_type": st,
            "construction": c["construction"], "length_km": math.hypot(xb - xa, yb - ya) / 1000,
            "r_ohm_per_km": float(c["r_ohm_per_km"]), "x_ohm_per_km": float(c["x_ohm_per_km"]),
            "c_nf_per_km": float(c["c_nf_per_km"]), "max_i_ka": float(c["max_i_ka"]),
            "in_service": True, "source_ref": "fixture",
            "geometry": LineString([(x0 + xa, y0 + ya), (x0 + xb, y0 + yb)])})
    segments = gpd.GeoDataFrame(seg_rows, geometry="geometry", crs=CRS)
    switches = gpd.GeoDataFrame(
        {"id": ["SW-T1", "SW-S1"], "node_a": ["F1-RMU2", "F2-P1"], "node_b": ["F2-P3", "F2-P2"],
         "segment_id": ["T1", "F2-S2"], "kind": ["tie", "sectionalizer"],
         "closed": [False, True], "source_ref": ["fixture", "fixture"]},
        geometry=[pt(-15, 900), pt(315, 400)], crs=CRS)
    roads = gpd.GeoDataFrame(
        {"id": ["R1", "R2", "R3"], "road_class": ["arterial", "secondary", "local"],
         "name": ["South Ave", "Station Rd", "North Ln"], "source_ref": ["fixture"] * 3},
        # Roads share a vertex where they cross (R2 x R1 and R2 x R3): the road graph joins
        # lines only at shared vertices, as OSM ways do at junctions.
        geometry=[LineString([(x0 - 1000, y0 - 30), (x0 + 60, y0 - 30), (x0 + 1000, y0 - 30)]),
                  LineString([(x0 + 60, y0 - 1500), (x0 + 60, y0 - 30), (x0 + 60, y0 + 950),
                              (x0 + 60, y0 + 1500)]),
                  LineString([(x0 - 300, y0 + 950), (x0 + 60, y0 + 950), (x0 + 600, y0 + 950)])],
        crs=CRS)
    obstacles = gpd.GeoDataFrame(
        {"id": ["OB1"], "kind": ["river"], "crossing": ["costly"],
         "crossing_cost_cny": [np.nan], "name": ["Canal"]},
        geometry=[Polygon([(x0 - 600, y0 - 1500), (x0 - 500, y0 - 1500),
                           (x0 - 500, y0 + 1500), (x0 - 600, y0 + 1500)])],
        crs=CRS)
    layers = {"substations": substations, "bus_sections": bus_sections, "feeders": feeders,
              "nodes": nodes, "segments": segments, "switches": switches, "roads": roads,
              "obstacles": obstacles}
    return Network.from_layers(layers, crs=CRS,
                               meta={"name": "small", "geometry_source": "surveyed"})


TO_WGS = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def at(dx: float, dy: float, **kw) -> dict:
    """An application at (dx, dy) metres from the fixture origin (lon/lat, 1000 kVA)."""
    x0, y0 = origin()
    lon, lat = TO_WGS.transform(x0 + dx, y0 + dy)
    return {"lon": lon, "lat": lat, "requested_kva": 1000, **kw}
