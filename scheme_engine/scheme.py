"""The scheme (供电方案) as returned to every consumer: pydantic models with a JSON schema.

The JSON contract is documented in ``docs/scheme_schema.md`` and exported as
``docs/scheme.schema.json`` (``python -m scheme_engine.scheme``); extend it, never break it.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, Field

SCHEMA_VERSION = "1.0"
M = TypeVar("M", bound=BaseModel)


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """An instance of ``cls`` from values the engine built from typed arrays, unvalidated.

    What ``model_construct`` does minus its per-field alias and default handling (the caller
    gives every field): on the per-request path, where a plan builds dozens of these.
    ``tests/test_scheme_engine.py`` validates every produced document against the models.
    """
    m = cls.__new__(cls)
    object.__setattr__(m, "__dict__", values)
    object.__setattr__(m, "__pydantic_fields_set__", set(values))
    object.__setattr__(m, "__pydantic_extra__", None)
    object.__setattr__(m, "__pydantic_private__", None)
    return m


class Check(BaseModel):
    """One rule check with its value, limit and result."""

    name: str
    label_zh: str
    label_en: str
    value: float
    limit: float
    unit: str
    passed: bool
    binding: bool = False


class Connection(BaseModel):
    point_id: str
    kind: str = Field(description="busbar (new feeder from a substation bay) | rmu | "
                                  "switching_station | tap | existing")
    source_ref: str = ""
    feeder_id: str | None = None
    bus_section_id: str | None = None
    substation_id: str | None = None
    line_id: str | None = None
    line_source_ref: str | None = None
    distance_from_start_m: float | None = None
    lon: float
    lat: float


class Conductor(BaseModel):
    type: str
    construction: str
    r_ohm_per_km: float
    x_ohm_per_km: float
    max_i_ka: float


class Circuit(BaseModel):
    connection: Connection
    route: dict[str, Any] = Field(description="GeoJSON LineString in EPSG:4326")
    route_length_m: dict[str, float] = Field(
        description="total, cable, overhead, on_property (customer pays), street (along the "
                    "streets), access_customer (customer point to its street), access_point "
                    "(street to the connection point)")
    route_class: str = Field("street", description="street | shortcut (a direct cable across "
                                                   "open land, where policy allows) | fallback")
    route_fallback: bool = Field(False, description="no street path exists within the policy's "
                                                    "limits: straight line x detour factor")
    obstacle_crossings: int = 0
    conductor: Conductor
    current_ka: float
    voltage_at_supply_pu: float
    voltage_drop_pct: float = Field(description="from the source busbar to the customer")
    feeder_load_rate_before: float
    feeder_load_rate_after: float
    transformer_load_rate_after: float
    losses_kw: float
    limits: list[Check]
    cost_cny: dict[str, float]
    works_workdays: float
    capacity: dict[str, Any] | None = Field(
        None, description="largest applied kVA this connection and line take with every "
                          "rejecting check passing: max_kva, binding, label_zh, label_en")
    short_circuit: dict[str, Any] | None = Field(
        None, description="IEC 60909-0 short-circuit levels: standard; connection and customer "
                          "{ikss_max_ka, ikss_min_ka, sk_max_mva, sk_min_mva}; "
                          "switchgear_rating_ka (smallest standard breaking current >= I''k max "
                          "at the customer end, null when none suffices); thermal "
                          "{min_cross_section_mm2, sized_by_thermal_withstand, ...}; protection; "
                          "assumptions; power_quality (impact/harmonic/EV loads): see "
                          "docs/scheme_schema.md")


class Scheme(BaseModel):
    """A complete supply scheme."""

    schema_version: str = SCHEMA_VERSION
    rank: int
    feasible: bool
    score: float
    voltage_kv: float
    supply_mode: str
    tier: str
    design_demand_kw: float
    power_factor: float
    circuits: list[Circuit]
    equipment: list[dict[str, Any]]
    cost_cny: dict[str, float] = Field(description="total, utility, customer and breakdown")
    duration_workdays: dict[str, Any]
    flags: list[str]
    explanation: dict[str, str] = Field(description="zh and en")
    remedy: dict[str, Any] | None = None
    binding: dict[str, Any] | None = Field(
        None, description="the check nearest its limit (or furthest beyond it) over the "
                          "scheme's circuits: name, label_zh, label_en, utilisation")
    capacity: dict[str, Any] | None = Field(
        None, description="largest applied kVA of the scheme (its weakest circuit): max_kva, "
                          "binding, label_zh, label_en")


class PlanResult(BaseModel):
    """The engine's answer for one application."""

    schema_version: str = SCHEMA_VERSION
    network_version: str
    policy_id: str
    application: dict[str, Any]
    design_demand: dict[str, Any]
    customer_transformers: dict[str, Any] | None = Field(
        None, description="recommended customer transformer configuration, approved capacity "
                          "(核定容量) and how the requested one differs")
    point_used: dict[str, Any] | None = Field(
        None, description="where the customer was placed: lon, lat, crs, source (point, "
                          "point_in_parcel, parcel_centroid, parcel_inner_point), notes on repairs")
    supply_area: dict[str, Any] | None = Field(
        None, description="the customer's supply-area class (supply radius) and where it came "
                          "from: layer, network (metadata) or default (policy, assumed)")
    schemes: list[Scheme]
    rejected: list[dict[str, Any]] = Field(default_factory=list,
                                           description="nearby candidates and what binds them")
    notes: list[str] = Field(default_factory=list)
    solve_ms: float = 0.0


def json_schema() -> dict[str, Any]:
    """JSON Schema of :class:`PlanResult`."""
    return PlanResult.model_json_schema()


if __name__ == "__main__":
    print(json.dumps(json_schema(), ensure_ascii=False, indent=1))
