"""Make the demo city's sample park (``demo_park.geojson``): 42 parcels in a 7 x 6 grid of
80 m plots 1 km north-west of substation SS01 of ``demo_city_S.gpkg``, mixed land uses
(GB 50137 M1/M2/W/B), plot ratio 1.5, planned years 2026-2028, one data centre with a planned
kVA and tier 二级 (dual circuit). Deterministic; run from the repository root:

    python -m grid_models.demo.make_demo_park
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

HERE = Path(__file__).resolve().parent
CRS = "EPSG:4545"  # the demo city's metric CRS
CENTRE = (397700.0, 4393900.0)


def demo_park() -> gpd.GeoDataFrame:
    cx, cy = CENTRE
    rows = []
    k = 0
    for i in range(7):
        for j in range(6):
            x0, y0 = cx - 300 + i * 90, cy - 250 + j * 90
            row = {"parcel_id": f"DP-{k + 1:03d}", "name": f"地块 {k + 1}",
                   "land_use": ["M1", "M2", "W", "B"][k % 4], "plot_ratio": 1.5,
                   "planned_year": 2026 + k % 3, "tier": "普通", "industry": None,
                   "planned_kva": None, "geometry": shapely.box(x0, y0, x0 + 80, y0 + 80)}
            if k == 20:
                row.update(land_use="M1", planned_kva=2500.0, industry="data_centre",
                           tier="二级", name="数据中心")
            rows.append(row)
            k += 1
    boundary = shapely.box(cx - 320, cy - 270, cx - 300 + 7 * 90 + 10, cy - 250 + 6 * 90 + 10)
    rows.append({"parcel_id": None, "name": "示范园区", "role": "boundary", "geometry": boundary})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs("EPSG:4326")


if __name__ == "__main__":
    out = HERE / "demo_park.geojson"
    demo_park().to_file(out, driver="GeoJSON")
    print(f"wrote {out}")
