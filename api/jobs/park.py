"""The ``park_plan`` job kind: a park's parcels planned jointly in the background.

One item per park. The result is the park's ``summary.json`` document plus its parcels'
reservations and the reserved routes (GeoJSON, EPSG:4326). Staff roles only (the result shows
grid topology). Like ``plan_batch``, the item is written exactly once and survives restarts
(the lease-based runner in :mod:`api.jobs.runner`).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from .kinds import ItemOutcome, JobContext, JobKind, error_body, register_job_kind


class ParkPlanSubmit(BaseModel):
    """A park to pre-plan: its parcels as a GeoJSON FeatureCollection (EPSG:4326)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["park_plan"]
    park_id: str = Field("park", min_length=1, max_length=100)
    parcels: dict[str, Any] = Field(..., description="GeoJSON FeatureCollection of parcel "
                                    "polygons with parcel_id and land_use or planned_kva")
    on_bad: Literal["skip", "fail"] = "skip"
    time_limit_s: float | None = Field(None, gt=0, le=600)
    gap: float | None = Field(None, ge=0, lt=1)


class ParkPlan(JobKind):
    """``park_plan``: one item, the park; its result is the summary with reservations."""

    name = "park_plan"
    roles: ClassVar[frozenset[str]] = frozenset({"admin", "designer"})
    submit_model = ParkPlanSubmit
    result_description = "park summary (docs/park.md) with parcels and routes"

    def split(self, body: BaseModel) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        assert isinstance(body, ParkPlanSubmit)
        return ({"time_limit_s": body.time_limit_s, "gap": body.gap, "on_bad": body.on_bad},
                [{"park_id": body.park_id, "parcels": body.parcels}])

    def item_count(self, body: BaseModel) -> int:
        return 1

    def run(self, ctx: JobContext, inputs: list[dict[str, Any]]) -> list[ItemOutcome]:
        import geopandas as gpd

        from grid_models.errors import InputError
        from scheme_engine.park import check_parcels, park_settings, plan_park
        from scheme_engine.park.output import geodata
        from scheme_engine.park.summary import park_summary

        wp = ctx.planner
        out = []
        for item in inputs:
            try:
                fc = item["parcels"]
                if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection":
                    raise InputError("parcels: give a GeoJSON FeatureCollection",
                                     field="parcels")
                try:
                    gdf = gpd.GeoDataFrame.from_features(fc["features"], crs="EPSG:4326")
                except Exception as exc:  # malformed features: the user's input
                    raise InputError(f"parcels: not readable GeoJSON features ({exc})"[:300],
                                     field="parcels") from None
                with wp.lock:
                    pl = wp.planner
                    st = park_settings(pl.policy).replace(
                        time_limit_s=ctx.params.get("time_limit_s"), mip_gap=ctx.params.get("gap"))
                    park = check_parcels(gdf, pl, park_id=item["park_id"],
                                         on_bad=ctx.params.get("on_bad", "skip"))
                    res = plan_park(pl, park, settings=st)
                    doc = park_summary(pl, res)
                    layers = geodata(pl, res)
                doc["parcels_table"] = json.loads(res.parcels.to_json(orient="records"))
                doc["routes_geojson"] = json.loads(layers["routes"].to_json(default=str))
                doc["reservations"] = res.ledger.to_json()
                out.append(ItemOutcome(result_json=json.dumps(doc, ensure_ascii=False,
                                                              default=str),
                                       network_version=pl.cn.version_id,
                                       policy_id=pl.policy.policy_id))
            except Exception as exc:  # noqa: BLE001 - one park's failure is its item's error
                out.append(ItemOutcome(error=error_body(exc)))
        return out


register_job_kind(ParkPlan())
