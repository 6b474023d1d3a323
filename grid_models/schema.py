"""Column specifications of the element tables (the network's source of truth).

Every layer is one (Geo)DataFrame. Ids are strings; numeric columns carry their unit in the
name. :func:`conform` turns a foreign or partial table into the canonical form: it adds
optional columns with their defaults, casts dtypes and reports what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import ValidationReport


@dataclass(frozen=True)
class Column:
    """One column of an element table."""

    name: str
    dtype: str  # "str", "float", "int", "bool"
    required: bool = False
    default: object = None
    description: str = ""


# Allowed values of enumerated columns; validation reports anything else.
CONNECTION_MODES = (
    "cable_single_ring",
    "cable_dual_ring",
    "overhead_radial",
    "overhead_multi_1tie",
    "overhead_multi_2tie",
    "overhead_multi_3tie",
)
NODE_KINDS = (
    "busbar",  # a bus section's outgoing point (one per bus section)
    "rmu",  # ring-main unit (环网柜)
    "switching_station",  # 开闭所
    "pole",
    "junction",
    "dist_transformer",  # an existing customer's or public distribution transformer
)
CONSTRUCTIONS = ("cable", "overhead")
SWITCH_KINDS = ("tie", "sectionalizer", "breaker", "disconnector")
CROSSINGS = ("forbidden", "costly")

LAYERS: dict[str, dict] = {
    "substations": {
        "geometry": "Point",
        "columns": [
            Column("id", "str", True),
            Column("name", "str", default=""),
            Column("hv_kv", "float", True, description="primary voltage"),
            Column("n_transformers", "int", True),
            Column("transformer_mva", "float", True, description="rating of each main transformer"),
            Column("peak_mw", "float", default=np.nan, description="measured peak of all main transformers"),
            Column("power_factor", "float", default=0.95),
            Column("vk_percent", "float", default=np.nan,
                   description="short-circuit voltage of each main transformer; NaN = standard type"),
            Column("source_ref", "str", default=""),
        ],
    },
    "bus_sections": {
        "geometry": "Point",
        "columns": [
            Column("id", "str", True),
            Column("substation_id", "str", True),
            Column("vn_kv", "float", True),
            Column("bays_total", "int", True, description="outgoing bays"),
            Column("bays_used", "int", True),
            Column("vm_pu", "float", default=1.0, description="operating busbar voltage"),
            Column("source_ref", "str", default=""),
        ],
    },
    "feeders": {
        "geometry": None,
        "columns": [
            Column("id", "str", True),
            Column("name", "str", default=""),
            Column("substation_id", "str", True),
            Column("bus_section_id", "str", True),
            Column("vn_kv", "float", True),
            Column("conductor_type", "str", default=""),
            Column("rated_i_ka", "float", True, description="rated current of the feeder's outlet"),
            Column("peak_mw", "float", default=np.nan, description="measured peak; NaN = sum of loads"),
            Column("power_factor", "float", default=0.95),
            Column("connection_mode", "str", True),
            Column("n_customers", "int", default=0),
            Column("source_ref", "str", default=""),
        ],
    },
    "nodes": {
        "geometry": "Point",
        "columns": [
            Column("id", "str", True),
            Column("kind", "str", True),
            Column("feeder_id", "str", default=""),
            Column("bus_section_id", "str", default="", description="busbar nodes only"),
            Column("vn_kv", "float", True),
            Column("bays_total", "int", default=0),
            Column("spare_bays", "int", default=0),
            Column("p_mw", "float", default=0.0, description="existing load at the node"),
            Column("q_mvar", "float", default=0.0),
            Column("rated_kva", "float", default=0.0, description="distribution transformer rating"),
            Column("customer_id", "str", default="", description="existing HV customer served here"),
            Column("load_refs", "str", default="", description="source ids of the loads summed here"),
            Column("source_ref", "str", default=""),
        ],
    },
    "segments": {
        "geometry": "LineString",
        "columns": [
            Column("id", "str", True),
            Column("from_node", "str", True),
            Column("to_node", "str", True),
            Column("feeder_id", "str", default=""),
            Column("std_type", "str", default=""),
            Column("construction", "str", True),
            Column("length_km", "float", True),
            Column("r_ohm_per_km", "float", True),
            Column("x_ohm_per_km", "float", True),
            Column("c_nf_per_km", "float", default=0.0),
            Column("max_i_ka", "float", True),
            Column("in_service", "bool", default=True),
            Column("source_ref", "str", default=""),
        ],
    },
    "switches": {
        "geometry": "Point",
        "columns": [
            Column("id", "str", True),
            Column("node_a", "str", True),
            Column("node_b", "str", True),
            Column("segment_id", "str", default="", description="switch on a segment end; open = segment out"),
            Column("kind", "str", default="tie"),
            Column("closed", "bool", default=False),
            Column("source_ref", "str", default=""),
        ],
    },
    "roads": {
        "geometry": "LineString",
        "columns": [
            Column("id", "str", True),
            Column("road_class", "str", default="local"),
            Column("name", "str", default=""),
            Column("source_ref", "str", default=""),
        ],
    },
    "obstacles": {
        "geometry": "Polygon",
        "columns": [
            Column("id", "str", True),
            Column("kind", "str", default="other"),
            Column("crossing", "str", default="costly"),
            Column("crossing_cost_cny", "float", default=np.nan, description="NaN = policy default"),
            Column("name", "str", default=""),
        ],
    },
    # Optional time series (attribute tables, no geometry).
    "load_history": {
        "geometry": None,
        "columns": [
            Column("element_id", "str", True, description="feeder or substation id"),
            Column("year", "int", True),
            Column("peak_mw", "float", True),
        ],
    },
    "load_curves": {
        "geometry": None,
        "columns": [
            Column("element_id", "str", True),
            Column("timestamp", "str", True, description="ISO 8601"),
            Column("p_mw", "float", True),
        ],
    },
}

REQUIRED_LAYERS = ("substations", "bus_sections", "feeders", "nodes", "segments")
OPTIONAL_LAYERS = ("switches", "roads", "obstacles", "load_history", "load_curves")


def empty_layer(name: str, crs: object | None = None) -> pd.DataFrame:
    """Return an empty, correctly typed table for layer ``name``."""
    spec = LAYERS[name]
    data = {c.name: pd.Series([], dtype=_pandas_dtype(c.dtype)) for c in spec["columns"]}
    if spec["geometry"] is None:
        return pd.DataFrame(data)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _pandas_dtype(kind: str) -> str:
    return {"str": "object", "float": "float64", "int": "int64", "bool": "bool"}[kind]


def conform(name: str, table: pd.DataFrame, report: ValidationReport | None = None) -> pd.DataFrame:
    """Bring ``table`` to the canonical columns and dtypes of layer ``name``.

    Missing optional columns get their defaults; a missing required column is reported (or
    raised as :class:`~grid_models.errors.NetworkFormatError` when no report is given).
    Extra columns are kept.

    Parameters
    ----------
    name : str
        Layer name, a key of :data:`LAYERS`.
    table : pandas.DataFrame
        The table as read or built.
    report : ValidationReport, optional
        Where to record problems instead of raising.

    Returns
    -------
    pandas.DataFrame
        A new table (GeoDataFrame for geometric layers).
    """
    from .errors import NetworkFormatError

    spec = LAYERS[name]
    if len(table) == 0:
        # Empty layers written by other tools often carry no columns at all.
        crs = getattr(table, "crs", None)
        extra = {c: table[c] for c in table.columns if c not in {x.name for x in spec["columns"]}
                 and c != "geometry"}
        out0 = empty_layer(name, crs)
        for c, v in extra.items():
            out0[c] = v
        return out0
    out = table.copy()
    missing = [c.name for c in spec["columns"] if c.required and c.name not in out.columns]
    if missing:
        msg = (f"layer '{name}' lacks required column(s) {missing}; "
               f"required are {[c.name for c in spec['columns'] if c.required]}")
        if report is None:
            raise NetworkFormatError(msg, field=f"{name}.{missing[0]}")
        report.add("missing_column", name, "*", msg)
        for col in missing:
            out[col] = None
    for col in spec["columns"]:
        if col.name not in out.columns:
            out[col.name] = col.default
        out[col.name] = _cast(out[col.name], col, name, report)
    if spec["geometry"] is not None and not isinstance(out, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries([None] * len(out)))
    return out


def _cast(series: pd.Series, col: Column, layer: str, report: ValidationReport | None) -> pd.Series:
    from .errors import NetworkFormatError

    if col.dtype == "str":
        default = col.default if col.default is not None else ""
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind in ("string", "empty"):  # the common case: already text (fast, no Python loop)
            return series.astype(object).where(series.notna(), default)
        if kind == "integer":
            return series.astype("int64").astype(str).astype(object)
        if kind == "floating" and series.notna().all():
            whole = np.mod(series.to_numpy(float), 1) == 0
            if whole.all():  # ids read back from files as floats (1.0): keep "1", not "1.0"
                return series.astype("int64").astype(str).astype(object)
        s = series.astype(object).where(series.notna(), default)
        return s.map(_id_str)
    if col.dtype == "bool":
        if series.dtype == bool:
            return series
        mapped = series.map(_to_bool)
        bad = mapped.isna() & series.notna()
        if bad.any():
            msg = f"column '{col.name}' must be true/false; got {series[bad].iloc[0]!r}"
            if report is None:
                raise NetworkFormatError(f"layer '{layer}': {msg}", field=f"{layer}.{col.name}")
            report.add("bad_value", layer, "*", msg)
        return mapped.fillna(bool(col.default)).astype(bool)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        num = series  # already numeric: nothing can be malformed
        bad = pd.Series(False, index=series.index)
    else:
        num = pd.to_numeric(series, errors="coerce")
        bad = num.isna() & series.notna() & (series.astype(str).str.strip() != "")
    if bad.any():
        msg = f"column '{col.name}' must be numeric; got {series[bad].iloc[0]!r}"
        if report is None:
            raise NetworkFormatError(f"layer '{layer}': {msg}", field=f"{layer}.{col.name}")
        report.add("bad_value", layer, "*", msg)
    if col.dtype == "int":
        fill = 0 if col.default is None or (isinstance(col.default, float) and np.isnan(col.default)) else col.default
        return num.fillna(fill).round().astype("int64")
    if col.default is not None:
        num = num.fillna(col.default)
    return num.astype("float64")


def _id_str(v: object) -> str:
    # Ids read back from files may come as floats (1.0): keep "1", not "1.0".
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return "" if v is None else str(v)


def _to_bool(v: object) -> object:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)) and not pd.isna(v):
        return bool(v)
    if isinstance(v, str):
        t = v.strip().lower()
        if t in ("true", "t", "1", "yes", "y", "closed"):
            return True
        if t in ("false", "f", "0", "no", "n", "open"):
            return False
    return None
