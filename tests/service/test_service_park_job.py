"""The park_plan job kind: submitted by staff, computed by the worker, result stored."""

from __future__ import annotations

import json
import time

import geopandas as gpd

from api.plan_cli import DEMO_NETWORK

from .conftest import Service  # noqa: F401


def test_park_plan_job(service) -> None:
    park = gpd.read_file(DEMO_NETWORK.parent / "demo_park.geojson")
    park = park[park["parcel_id"].notna()].iloc[:8]
    fc = json.loads(park.to_json(default=str))
    body = {"kind": "park_plan", "park_id": "demo", "parcels": fc, "gap": 0.0}
    assert service.client.post("/v1/jobs", json=body, headers=service.h("cust_a")).status_code == 403
    r = service.client.post("/v1/jobs", json=body, headers=service.h("designer"))
    assert r.status_code == 202, r.text
    jid = r.json()["id"]
    t0 = time.time()
    while time.time() - t0 < 120:
        j = service.client.get(f"/v1/jobs/{jid}", headers=service.h("designer")).json()
        if j["status"] in ("completed", "failed"):
            break
        time.sleep(0.2)
    assert j["status"] == "completed", j
    items = service.client.get(f"/v1/jobs/{jid}/items", headers=service.h("designer")).json()
    res = items["items"][0]["result"] if "items" in items else items[0]["result"]
    doc = res if isinstance(res, dict) else json.loads(res)
    assert doc["park_id"] == "demo"
    assert doc["parcels"]["planned"] == 8
    o = doc["optimisation"]
    assert o["bound"] <= o["objective"] + 1e-6
