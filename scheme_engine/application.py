"""The connection application (业扩报装申请) as a validated pydantic model."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from grid_models.errors import ApplicationError


class LoadCharacteristics(BaseModel):
    """Load characteristics that trigger checks and flags."""

    model_config = ConfigDict(extra="forbid")
    impact_load: bool = Field(False, description="冲击性负荷: arc furnaces, rolling mills ...")
    harmonic_load: bool = Field(False, description="谐波负荷: rectifiers, VFD-heavy plants ...")
    pv_export_kw: float = Field(0.0, ge=0, description="distributed PV installed export capacity (kW)")
    ev_charging: bool = False


class Overrides(BaseModel):
    """Designer overrides of the rules."""

    model_config = ConfigDict(extra="forbid")
    voltage_kv: float | None = Field(None, gt=0)
    supply_mode: Literal["single", "dual_circuit", "dual_source"] | None = None
    excluded_points: list[str] = Field(default_factory=list)


class Application(BaseModel):
    """A high-voltage connection application.

    Location is a point (``lon``, ``lat`` in ``crs``: EPSG:4326 or EPSG:4490) or a parcel polygon
    (``parcel``: GeoJSON-style list of [lon, lat] rings); the parcel's centroid is used.
    """

    model_config = ConfigDict(extra="forbid")
    customer_name: str = Field("客户", min_length=1, max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    crs: Literal["EPSG:4326", "EPSG:4490"] = "EPSG:4326"
    parcel: list[list[list[float]]] | None = None
    request_type: Literal["new", "increase"] = "new"
    existing_customer_id: str | None = None
    existing_kw: float | None = Field(None, ge=0)
    requested_kva: float = Field(..., gt=0, description="transformer capacity applied for: the "
                                 "whole installation for a new connection, the added capacity "
                                 "(增容容量) for an increase")
    transformer_config: str | None = Field(None, description="e.g. '2x1250'")
    industry: str = "others"
    tier: str = "普通"
    load: LoadCharacteristics = Field(default_factory=LoadCharacteristics)
    energising_date: dt.date | None = None
    overrides: Overrides = Field(default_factory=Overrides)

    @field_validator("requested_kva")
    @classmethod
    def _finite(cls, v: float) -> float:
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number of kVA")
        return v

    @model_validator(mode="after")
    def _location(self) -> Application:
        if self.parcel is None and (self.lon is None or self.lat is None):
            raise ValueError("give lon and lat (EPSG:4326/EPSG:4490) or a parcel polygon")
        if self.parcel is not None:
            ring = self.parcel[0] if self.parcel else []
            if len(ring) < 4 or any(len(p) != 2 for p in ring):
                raise ValueError("parcel must be [[ [lon, lat], ... ]] with a closed ring of >= 4 points")
        if self.request_type == "increase" and not self.existing_customer_id:
            raise ValueError("a capacity increase needs existing_customer_id")
        return self

    def point(self) -> tuple[float, float]:
        """Longitude and latitude of the application (parcel centroid when a parcel is given)."""
        if self.parcel is not None:
            from shapely.geometry import Polygon

            c = Polygon(self.parcel[0], self.parcel[1:]).centroid
            return float(c.x), float(c.y)
        return float(self.lon), float(self.lat)  # type: ignore[arg-type]


def parse_application(data: dict) -> Application:
    """Validate a mapping into an :class:`Application`.

    Raises
    ------
    ApplicationError
        Listing every invalid field with what is valid (never a pydantic traceback).
    """
    if not isinstance(data, dict):
        raise ApplicationError("an application is a JSON object with fields such as lon, lat, "
                               "requested_kva, tier, industry", field="application")
    try:
        return Application.model_validate(data)
    except ValidationError as exc:
        parts = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"]) or "application"
            parts.append(f"{loc}: {e['msg']} (got {e.get('input')!r})"[:300])
        first = ".".join(str(x) for x in exc.errors()[0]["loc"]) if exc.errors() else None
        raise ApplicationError("invalid application: " + "; ".join(parts), field=first) from None
