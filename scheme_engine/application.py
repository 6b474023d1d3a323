"""The connection application (业扩报装申请) as a validated pydantic model."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PointUsed:
    """Where the engine places the customer: ``source`` is ``point``, ``point_in_parcel``,
    ``parcel_centroid`` or ``parcel_inner_point``; ``notes`` say what was repaired."""

    lon: float
    lat: float
    source: str
    notes: tuple[str, ...]


def _check_parcel(parcel: list[list[list[float]]]) -> None:
    """Structure of a parcel: rings of finite [lon, lat] pairs, the outer one with >= 3
    distinct points (repairs happen in :meth:`Application.location`)."""
    if not parcel:
        raise ValueError("parcel must be [[[lon, lat], ...], ...]: at least one ring")
    for k, ring in enumerate(parcel):
        if any(len(p) != 2 for p in ring):
            raise ValueError(f"parcel ring {k}: every point is [lon, lat]")
        for lon, lat in ring:
            if not (math.isfinite(lon) and math.isfinite(lat)):
                raise ValueError(f"parcel ring {k}: coordinates must be finite numbers")
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(f"parcel ring {k}: ({lon}, {lat}) is not a longitude/latitude")
        if len({(p[0], p[1]) for p in ring}) < 3:
            raise ValueError(f"parcel ring {k}: needs at least 3 distinct points")


class Application(BaseModel):
    """A high-voltage connection application.

    Location is a point (``lon``, ``lat`` in ``crs``: EPSG:4326 or EPSG:4490) or a parcel polygon
    (``parcel``: GeoJSON-style list of [lon, lat] rings); the parcel's centroid is used.
    """

    model_config = ConfigDict(extra="forbid")
    customer_name: str = Field("客户", min_length=1, max_length=200)
    address: str | None = Field(None, max_length=500, description="用电地址 (shown in the letter)")
    account_no: str | None = Field(None, max_length=64, description="户号 (existing account)")
    contact: str | None = Field(None, max_length=100, description="联系人")
    phone: str | None = Field(None, max_length=40, description="联系电话")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    crs: Literal["EPSG:4326", "EPSG:4490"] = "EPSG:4326"
    parcel: list[list[list[float]]] | None = Field(
        None, description="GeoJSON-style polygon rings of [lon, lat] in crs (outer ring first)")
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
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither (with a parcel)")
        if self.parcel is not None:
            _check_parcel(self.parcel)
        if self.request_type == "increase" and not self.existing_customer_id:
            raise ValueError("a capacity increase needs existing_customer_id")
        return self

    def location(self) -> PointUsed:
        """The point the engine plans from, and how it was found.

        A parcel is repaired where that is unambiguous (an unclosed ring is closed; a
        self-intersecting one is made valid with ``shapely.make_valid``), each repair stated in
        the notes; its centroid is used, or a point inside it when the centroid falls outside
        (an L- or U-shaped lot). A point given with a parcel is used when it lies in the parcel.

        Raises
        ------
        ApplicationError
            A parcel with no area, or a point outside the parcel it comes with.
        """
        if self.parcel is None:
            return PointUsed(float(self.lon), float(self.lat), "point", ())  # type: ignore[arg-type]
        import shapely
        from shapely.geometry import Polygon

        notes: list[str] = []
        rings = [list(map(tuple, r)) for r in self.parcel]
        for k, r in enumerate(rings):
            if r[0] != r[-1]:
                rings[k] = [*r, r[0]]
                notes.append(f"parcel ring {k} was not closed: closed it")
        poly = Polygon(rings[0], rings[1:])
        if not poly.is_valid:
            why = shapely.is_valid_reason(poly)
            poly = shapely.make_valid(poly)
            notes.append(f"parcel repaired with make_valid ({why})")
        area = shapely.area(poly)
        if not area > 0:
            raise ApplicationError("parcel: the polygon has no area (all points on a line or "
                                   "repeated); give the lot's outline", field="parcel")
        if self.lon is not None and self.lat is not None:
            pt = shapely.Point(float(self.lon), float(self.lat))
            if not poly.buffer(1e-5).covers(pt):  # ~1 m slack for a point on the boundary
                raise ApplicationError(
                    f"lon/lat ({self.lon}, {self.lat}) lies outside the parcel given with it; "
                    "give one location, or a point inside the parcel", field="lon")
            notes.append("a point and a parcel were given: the point (inside the parcel) is used")
            return PointUsed(float(self.lon), float(self.lat), "point_in_parcel", tuple(notes))
        c = poly.centroid
        if poly.contains(c):
            return PointUsed(float(c.x), float(c.y), "parcel_centroid", tuple(notes))
        r = poly.point_on_surface()
        notes.append("the parcel's centroid lies outside it: a point inside the parcel is used")
        return PointUsed(float(r.x), float(r.y), "parcel_inner_point", tuple(notes))

    def point(self) -> tuple[float, float]:
        """Longitude and latitude the engine plans from (see :meth:`location`)."""
        p = self.location()
        return p.lon, p.lat


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
