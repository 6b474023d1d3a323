"""The schema of every policy table: columns, types, units, ranges, what is required.

A policy profile is data a utility edits; this module says what the data must look like so that
a bad or partial profile is refused when it is loaded (naming the file, row and column), never
half-way through a plan. Values live only in the CSV files; this module holds names, types and
the ranges that make physical sense (a load rate is not negative, a count is a whole number).

The ``parameters`` table is key/value: :class:`Parameters` lists every key with its type and
range, and is the typed object the engine reads (``policy.params.topk_default``).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import PolicyError


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a policy table.

    Attributes
    ----------
    name : str
    dtype : {"str", "float", "int", "bool"}
    unit : str
    required : bool
        A table without the column is refused; when False the column gets ``default``.
    ge, gt, le : float, optional
        Range of numeric values (``inf`` is allowed only when ``allow_inf``).
    choices : tuple of str, optional
        Allowed values of a text column.
    """

    name: str
    dtype: str = "str"
    unit: str = ""
    required: bool = True
    default: object = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    choices: tuple[str, ...] | None = None
    allow_inf: bool = False
    allow_blank: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A policy table: its key column(s) and columns (``references`` is always required)."""

    name: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    min_rows: int = 1


def _f(name: str, unit: str = "", **kw: Any) -> ColumnSpec:
    return ColumnSpec(name, "float", unit, **kw)


def _i(name: str, unit: str = "count", **kw: Any) -> ColumnSpec:
    return ColumnSpec(name, "int", unit, **kw)


def _b(name: str, **kw: Any) -> ColumnSpec:
    return ColumnSpec(name, "bool", **kw)


def _s(name: str, **kw: Any) -> ColumnSpec:
    return ColumnSpec(name, "str", **kw)


DEVIATION_RULES = ("band", "sum")
CHECK_ACTIONS = ("reject", "flag", "off")

TABLES: dict[str, TableSpec] = {t.name: t for t in (
    TableSpec("parameters", ("key",), (_s("key"), _s("value"), _s("unit", required=False, default="",
                                                                   allow_blank=True),
                                       _s("description", required=False, default="",
                                          allow_blank=True))),
    TableSpec("voltage_levels", ("vn_kv",), (
        _f("vn_kv", "kV", gt=0), _f("min_kva", "kVA", ge=0), _f("max_kva", "kVA", gt=0),
        _s("deviation_rule", choices=DEVIATION_RULES),
        _f("deviation_limit_pct", "%", gt=0, le=100),
        _f("candidate_search_radius_max_m", "m", gt=0),
        _s("substation_bay_cost_key"))),
    TableSpec("supply_modes", ("tier",), (
        _s("tier"), _s("mode", choices=("single", "dual_circuit", "dual_source")),
        _i("n_circuits", ge=1, le=2), _b("distinct_substations"), _b("distinct_bus_sections"),
        _b("emergency_source"), _f("max_shared_corridor_ratio", "ratio", ge=0, le=1))),
    TableSpec("tiers", ("tier",), (_s("tier"), _s("en"), _s("aliases", allow_blank=True),
                                  _b("important"), _b("n1_transformers"))),
    TableSpec("load_rate_limits", ("connection_mode",), (
        _s("connection_mode"), _f("max_load_rate", "ratio", gt=0, le=2), _b("n1_transfer"))),
    TableSpec("transformer_load_limits", ("n_transformers",), (
        _i("n_transformers", ge=1), _f("max_load_rate", "ratio", gt=0, le=2), _b("n1_firm"))),
    TableSpec("unit_costs", ("item", "key"), (
        _s("item"), _s("key"), _f("value_cny", "CNY", ge=0), _s("unit", required=False,
                                                               default="", allow_blank=True),
        _s("payer", choices=("utility", "customer")))),
    TableSpec("road_classes", ("road_class",), (
        _s("road_class"), _s("construction", choices=("cable", "overhead")),
        _f("cost_factor", "ratio", gt=0), _s("osm_highway", allow_blank=True))),
    TableSpec("time_limits", ("step",), (
        _s("step"), _s("kind", choices=("step", "target")),
        _f("single_days", "working days", ge=0), _f("dual_days", "working days", ge=0),
        _f("planned_single_days", "working days", ge=0),
        _f("planned_dual_days", "working days", ge=0),
        _b("important_only"))),
    TableSpec("construction_rates", ("item",), (
        _s("item"), _f("value", gt=0), _s("unit", required=False, default="",
                                          allow_blank=True))),
    TableSpec("checks", ("name",), (_s("name"), _s("action", choices=CHECK_ACTIONS))),
    TableSpec("remedy_substations", ("project",), (
        _s("project"), _f("vn_kv", "kV", gt=0), _f("max_kva", "kVA", gt=0, allow_inf=True),
        _f("cost_cny", "CNY", ge=0))),
    TableSpec("supply_area_classes", ("class",), (
        _s("class"), _b("is_default"),
        _f("min_load_density_mw_per_km2", "MW/km2", ge=0, required=False, allow_blank=True),
        _f("max_radius_10kv_km", "km", gt=0, required=False, allow_blank=True),
        _f("max_radius_20kv_km", "km", gt=0, required=False, allow_blank=True),
        _s("description_zh", required=False, default="", allow_blank=True),
        _s("description_en", required=False, default="", allow_blank=True))),
    TableSpec("short_circuit_sources", ("vn_kv",), (
        _f("vn_kv", "kV", gt=0), _f("s_sc_max_mva", "MVA", gt=0), _f("s_sc_min_mva", "MVA", gt=0),
        _f("rx_max", "ratio", ge=0), _f("rx_min", "ratio", ge=0), _f("c_max", "", gt=0, le=1.2),
        _f("c_min", "", gt=0, le=1.2), _f("transformer_vkr_percent", "%", ge=0, le=20))),
    TableSpec("plausible_ranges", ("layer", "column"), (
        _s("layer"), _s("column"), _f("max_value", gt=0), _s("unit", required=False, default="",
                                                            allow_blank=True))),
    TableSpec("customer_transformers", ("hv_kv", "kva"), (
        _f("hv_kv", "kV", gt=0), _f("kva", "kVA", gt=0))),
    # park pre-planning (scheme_engine/park): key/value settings and new-substation sizes
    TableSpec("park_planning", ("key",), (
        _s("key"), _s("value"), _s("unit", required=False, default="", allow_blank=True),
        _s("description", required=False, default="", allow_blank=True))),
    TableSpec("park_substations", ("project",), (
        _s("project"), _f("hv_kv", "kV", gt=0), _f("vn_kv", "kV", gt=0),
        _i("n_transformers", ge=1), _f("transformer_mva", "MVA", gt=0),
        _f("cost_cny", "CNY", ge=0))),
    # short circuit (issue #9): conductor constants, protection, switchgear, power quality
    TableSpec("short_circuit_conductors", ("material", "insulation"), (
        _s("material"), _s("insulation"), _f("k_a_s05_per_mm2", "A s^0.5/mm2", gt=0),
        _f("theta_initial_c", "C"), _f("theta_final_c", "C"))),
    TableSpec("short_circuit_protection", ("vn_kv",), (
        _f("vn_kv", "kV", gt=0), _f("clearing_time_s", "s", gt=0, le=10),
        _f("pickup_multiple", "ratio", gt=0), _f("sensitivity", "ratio", gt=0),
        _f("fault_current_factor", "ratio", gt=0, le=1),
        _f("theta_end_cable_c", "C", ge=20, le=400), _f("theta_end_overhead_c", "C", ge=20, le=400),
        _f("resistance_temp_coeff_per_k", "1/K", ge=0, le=0.01))),
    TableSpec("switchgear_ratings", ("vn_kv", "breaking_ka"), (
        _f("vn_kv", "kV", gt=0), _f("breaking_ka", "kA", gt=0))),
    TableSpec("short_circuit_ratio", ("load_kind",), (
        _s("load_kind", choices=("impact_load", "harmonic_load", "ev_charging")),
        _f("scr_min", "ratio", ge=0))),
    TableSpec("harmonic_current_allowance", ("vn_kv", "order"), (
        _f("vn_kv", "kV", gt=0), _f("ref_sk_mva", "MVA", gt=0), _i("order", ge=2, le=50),
        _f("allowed_a", "A", ge=0), _f("alpha", "", gt=0)), min_rows=1),
)}


# ---------------------------------------------------------------------------- parameters
def _p(unit: str, ge: float | None = None, le: float | None = None, gt: float | None = None,
       ) -> Any:
    return field(metadata={"unit": unit, "ge": ge, "le": le, "gt": gt})


@dataclass(frozen=True)
class Parameters:
    """Every scalar parameter of a policy (``parameters.csv``), typed.

    The values come only from the CSV; see its ``description`` and ``references`` columns for
    the meaning and source of each.
    """

    min_hv_kva: float = _p("kVA", ge=0)
    max_plausible_kva: float = _p("kVA", gt=0)
    dedicated_feeder_min_kva: float = _p("kVA", gt=0)
    feeder_screen_load_rate: float = _p("ratio", gt=0)
    max_customers_per_feeder: int = _p("count", ge=0)
    min_spare_bays_rmu: int = _p("count", ge=0)
    min_spare_bays_substation: int = _p("count", ge=0)
    min_distinct_feeders: int = _p("count", ge=1)
    candidate_search_radius_m: float = _p("m", gt=0)
    max_distance_outside_network_m: float = _p("m", gt=0)
    max_parcel_area_m2: float = _p("m2", gt=0)
    max_candidates: int = _p("count", ge=1)
    candidates_per_feeder: int = _p("count", ge=1)
    substation_bay_candidate_share: float = _p("ratio", ge=0, le=1)
    route_detour_factor: float = _p("ratio", ge=1)
    route_search_limit_factor: float = _p("ratio", ge=1)
    route_search_max_m: float = _p("m", gt=0)
    road_snap_max_m: float = _p("m", gt=0)
    shortcut_max_m: float = _p("m", ge=0)
    shortcut_street_ratio: float = _p("ratio", ge=1)
    shortcut_length_factor: float = _p("ratio", ge=1)
    cable_route_share_min: float = _p("ratio", ge=0, le=1)
    line_loading_limit: float = _p("ratio", gt=0, le=2)
    new_line_voltage_drop_limit_pct: float = _p("%", gt=0, le=100)
    transformer_unit_loading_limit: float = _p("ratio", gt=0, le=2)
    shared_corridor_allowance_m: float = _p("m", ge=0)
    pv_reverse_flow_flag_ratio: float = _p("ratio", gt=0)
    pv_voltage_rise_limit_pct: float = _p("%", gt=0, le=100)
    pv_midday_coincidence: float = _p("ratio", ge=0, le=1)
    feeder_min_load_ratio: float = _p("ratio", ge=0, le=1)
    weight_cost: float = _p("1/CNY", ge=0)
    weight_workday_cny: float = _p("CNY/day", ge=0)
    weight_loss_cny_per_kw: float = _p("CNY/kW", ge=0)
    weight_reliability_cny: float = _p("CNY", ge=0)
    topk_default: int = _p("count", ge=1, le=50)
    alternatives_distinct_by_feeder: bool = _p("flag")
    optimiser_time_limit_s: float = _p("s", gt=0)
    property_boundary_m: float = _p("m", ge=0)
    default_transformer_vk_percent: float = _p("%", gt=0, le=100)
    sweep_max_iterations: int = _p("count", ge=1)
    sweep_tolerance_pu: float = _p("pu", gt=0)
    route_reference_cny_per_km: float = _p("CNY/km", gt=0)
    road_snap_grid_m: float = _p("m", gt=0)
    validation_length_rel_tolerance: float = _p("ratio", ge=0)
    validation_length_abs_tolerance_m: float = _p("m", ge=0)
    validation_endpoint_tolerance_m: float = _p("m", ge=0)
    validation_feeder_overload_ratio: float = _p("ratio", gt=0)
    import_assumed_spare_bays: int = _p("count", ge=0)
    import_assumed_station_spare_bays: int = _p("count", ge=0)
    validation_crs_area_margin_deg: float = _p("deg", ge=0)
    validation_layer_offset_km: float = _p("km", gt=0)
    rejected_shown: int = _p("count", ge=0)
    remedy_bays_searched_per_circuit: int = _p("count", ge=1)
    remedy_load_transfers_shown: int = _p("count", ge=0)
    customer_transformer_economic_load_low: float = _p("ratio", gt=0, le=1)
    customer_transformer_economic_load_high: float = _p("ratio", gt=0, le=1.5)
    customer_transformer_n1_emergency_loading: float = _p("ratio", gt=0, le=2)
    customer_transformer_max_units: int = _p("count", ge=1)
    customer_transformer_max_standard_kva_share: float = _p("ratio", gt=0, le=1)
    capacity_search_max_factor: float = _p("ratio", gt=1)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def get(self, key: str) -> float:
        """A parameter as a float by key (for callers that hold the key as data)."""
        return float(getattr(self, key))


_PARAM_FIELDS = {f.name: f for f in dataclasses.fields(Parameters)}


def parameters_from_table(t: pd.DataFrame, where: str, require_all: bool = True
                          ) -> Parameters | None:
    """Build :class:`Parameters` from a ``parameters`` table, refusing what does not fit.

    With ``require_all=False`` (a partial override before it is merged) only the rows present
    are checked and ``None`` is returned.

    Raises
    ------
    PolicyError
        A key is missing, unknown, repeated, not a number of its type, or out of range; the
        message names the file and row (the CSV line).
    """
    problems: list[str] = []
    rows: dict[str, tuple[int, object]] = {}
    for i, (k, v) in enumerate(zip(t["key"].astype(str), t["value"], strict=True)):
        if k in rows:
            problems.append(f"row {i + 2}: key {k!r} is listed twice")
        elif k not in _PARAM_FIELDS:
            problems.append(f"row {i + 2}: unknown key {k!r}{did_you_mean(k, _PARAM_FIELDS)}")
        rows[k] = (i, v)
    values: dict[str, object] = {}
    for name, f in _PARAM_FIELDS.items():
        if name not in rows:
            if require_all:
                problems.append(f"key {name!r} is missing")
            continue
        i, raw = rows[name]
        ftype = f.type if isinstance(f.type, str) else f.type.__name__
        msg = _check_param(ftype, raw, f.metadata)
        if msg:
            problems.append(f"row {i + 2} ({name}): value {raw!r} {msg}")
            continue
        v = float(str(raw))
        values[name] = int(v) if ftype == "int" else bool(v) if ftype == "bool" else v
    if problems:
        raise PolicyError(f"{where}: " + "; ".join(problems[:20]), field="parameters")
    return Parameters(**values) if require_all else None  # type: ignore[arg-type]


def _check_param(ftype: str, raw: object, md: Any) -> str:
    try:
        v = float(str(raw))
    except (TypeError, ValueError):
        return "is not a number"
    if not math.isfinite(v):
        return "must be finite"
    if ftype in ("int", "bool") and v != round(v):
        return "must be a whole number"
    if ftype == "bool" and v not in (0.0, 1.0):
        return "must be 0 or 1"
    bad = _out_of_range(v, md.get("ge"), md.get("gt"), md.get("le"))
    return f"{bad} ({md.get('unit')})" if bad else ""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest known names, or ``""``."""
    close = difflib.get_close_matches(str(name), list(known), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _out_of_range(v: float, ge: float | None, gt: float | None, le: float | None) -> str:
    if ge is not None and v < ge:
        return f"must be >= {ge:g}"
    if gt is not None and v <= gt:
        return f"must be > {gt:g}"
    if le is not None and v > le:
        return f"must be <= {le:g}"
    return ""


def check_table(name: str, t: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check a policy table against its :class:`TableSpec` and return it with typed columns.

    Raises
    ------
    PolicyError
        Naming the file (``where``), the row (as a line number of the CSV) and the column.
    """
    spec = TABLES.get(name)
    out = t.copy()
    if "references" not in out.columns:
        raise PolicyError(f"{where}: every policy table needs a 'references' column",
                          field=f"{name}.references")
    if spec is None:
        return out
    problems: list[str] = []
    for col in spec.columns:
        if col.name not in out.columns:
            if col.required:
                problems.append(f"column {col.name!r} is missing (columns: "
                                f"{', '.join(c.name for c in spec.columns)}, references)")
            else:
                out[col.name] = col.default
    if problems:
        raise PolicyError(f"{where}: " + "; ".join(problems), field=f"{name}.{spec.columns[0].name}")
    if len(out) < spec.min_rows:
        raise PolicyError(f"{where}: the table needs at least {spec.min_rows} row(s)", field=name)
    for col in spec.columns:
        vals = out[col.name]
        for i, raw in enumerate(vals):
            line = i + 2  # header is line 1
            msg = _check_value(col, raw)
            if msg:
                problems.append(f"row {line}, column {col.name!r}: {msg}")
        if col.dtype == "float":
            out[col.name] = pd.to_numeric(vals, errors="coerce").astype(float)
        elif col.dtype == "int":
            out[col.name] = pd.to_numeric(vals, errors="coerce").fillna(0).round().astype(np.int64)
        elif col.dtype == "bool":
            out[col.name] = vals.map(_as_bool)
        else:
            out[col.name] = vals.where(vals.notna(), "").astype(str)
        if len(problems) > 20:
            break
    if not problems:
        keys = out[list(spec.key)].astype(str).agg("|".join, axis=1)
        dup = keys[keys.duplicated()]
        if len(dup):
            problems.append(f"key {list(spec.key)} repeated: {dup.iloc[0]!r} "
                            f"(row {int(dup.index[0]) + 2})")
    if problems:
        raise PolicyError(f"{where}: " + "; ".join(problems[:20]), field=name)
    return out


def _as_bool(v: object) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes", "1.0")


def _check_value(col: ColumnSpec, raw: object) -> str:
    blank = raw is None or (isinstance(raw, float) and math.isnan(raw)) or str(raw).strip() == ""
    if blank:
        return "" if (col.allow_blank or not col.required and col.default is not None) else \
            "is empty"
    if col.dtype == "str":
        if col.choices and str(raw) not in col.choices:
            return f"{raw!r} is not one of {', '.join(col.choices)}"
        return ""
    if col.dtype == "bool":
        if str(raw).strip().lower() not in ("true", "false", "1", "0", "yes", "no", "1.0", "0.0"):
            return f"{raw!r} is not true/false"
        return ""
    try:
        v = float(str(raw))
    except ValueError:
        return f"{raw!r} is not a number"
    if math.isnan(v) or (math.isinf(v) and not col.allow_inf):
        return f"{raw!r} must be a finite number"
    if col.dtype == "int" and v != round(v):
        return f"{raw!r} must be a whole number"
    bad = _out_of_range(v, col.ge, col.gt, col.le)
    return f"{raw!r} {bad}" + (f" {col.unit}" if col.unit else "") if bad else ""
