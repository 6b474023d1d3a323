"""Shared inputs of the park tests: the demo city with room at its substations, and a grid of
synthetic parcels."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from grid_models.io import read_network
from grid_models.network import Network

DEMO = "grid_models/demo/demo_city_S.gpkg"
#: the centre of the demo city's dense street grid (parcels reach a street within ~100 m)
DENSE_XY = (398300.0, 4393800.0)


def roomy_demo_network() -> Network:
    """The demo city with 63 MVA main transformers and six spare bays per bus section: a park
    there is limited by feeders, voltage and RMU bays, not by one full substation."""
    net = read_network(DEMO)
    net.layers["substations"]["transformer_mva"] = 63.0
    b = net.layers["bus_sections"]
    b["bays_total"] = b["bays_used"] + 6
    return net


def grid_parcels(crs, n: int, centre: tuple[float, float] = DENSE_XY, pitch: float = 70.0,
                 size: float = 60.0, seed: int = 5) -> gpd.GeoDataFrame:
    """``n`` square parcels on a grid: land uses in turn, plot ratios 0.5-0.9, two 8.5 MVA
    parcels (a dedicated feeder each) and every 23rd parcel dual-supply (tier 二级, 500 kVA)."""
    side = int(np.ceil(np.sqrt(n)))
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        i, j = divmod(k, side)
        x0, y0 = centre[0] + (i - side / 2) * pitch, centre[1] + (j - side / 2) * pitch
        r = {"parcel_id": f"P{k:03d}", "land_use": ["M1", "M2", "W", "B", "R"][k % 5],
             "plot_ratio": float(rng.choice([0.5, 0.7, 0.9])),
             "geometry": shapely.box(x0, y0, x0 + size, y0 + size)}
        if k in (5, 150):
            r.update(planned_kva=8500.0, industry="others")
        if k % 23 == 7:
            r.update(tier="二级", planned_kva=500.0, industry="others")
        rows.append(r)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
