"""Column specifications of the element tables (the network's source of truth).

Every layer is one (Geo)DataFrame. Ids are strings; numeric columns carry their unit in the
name. :func:`conform` turns a foreign or partial table into the canonical form: it adds
optional columns with their defaults, casts dtypes and reports what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

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
    # An MV/LV station (配电站 / 箱变 with ring-main switchgear) whose spare bays make it a
    # switchable connection point; it may carry load like a dist_transformer.
    "station",
)
#: Node kinds whose spare bays are connection points (a cable feeder is tapped only there).
BAY_NODE_KINDS = ("rmu", "switching_station", "station")
#: Supply-area classes of distribution planning guidance (DL/T 5729 / Q/GDW 10738 供电区域).
SUPPLY_AREA_CLASSES = ("A+", "A", "B", "C", "D", "E")
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
                   description="short-circuit voltage of each main transformer; NaN = policy default"),
            Column("vkr_percent", "float", default=np.nan,
                   description="resistive part of vk (copper losses); NaN = policy default"),
            # Upstream network at the substation's HV busbar (IEC 60909-0 network feeder Q);
            # NaN = the policy default of the voltage level (short_circuit_sources.csv).
            Column("s_sc_max_mva", "float", default=np.nan,
                   description="upstream short-circuit power, maximum case"),
            Column("s_sc_min_mva", "float", default=np.nan,
                   description="upstream short-circuit power, minimum case"),
            Column("rx_max", "float", default=np.nan, description="R/X of the source, maximum case"),
            Column("rx_min", "float", default=np.nan, description="R/X of the source, minimum case"),
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
            Column("geometry_approximate", "bool", default=False,
                   description="drawn geometry is a sketch; length_km is authoritative"),
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
    # Supply-area classes (供电区域) by polygon; elsewhere the network-wide default applies
    # (network_info ``supply_area_class``, else the policy's default class).
    "supply_areas": {
        "geometry": "Polygon",
        "columns": [
            Column("id", "str", True),
            Column("class", "str", True, description="one of SUPPLY_AREA_CLASSES"),
            Column("name", "str", default=""),
            Column("source_ref", "str", default=""),
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
OPTIONAL_LAYERS = ("switches", "roads", "obstacles", "supply_areas", "load_history",
                   "load_curves")


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

    Missing optional columns get their defaults, and so do empty cells of optional columns
    that have one (a ``default_used`` warning says how many); a missing required column
    (``missing_column``) or a value that is not a number / not true-false (``bad_value``, one
    problem per element) is reported. Extra columns are kept.

    Parameters
    ----------
    name : str
        Layer name, a key of :data:`LAYERS`.
    table : pandas.DataFrame
        The table as read or built.
    report : ValidationReport, optional
        Where to record problems; without one, errors raise
        :class:`~grid_models.errors.NetworkValidationError` (after the whole table was read).

    Returns
    -------
    pandas.DataFrame
        A new table (GeoDataFrame for geometric layers).
    """
    from .errors import NetworkValidationError

    rep = report if report is not None else ValidationReport()
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
        rep.add("missing_column", name, "*", msg)
        for col in missing:
            out[col] = None
    ids = _LazyIds(out["id"] if "id" in out.columns and "id" not in missing else None, len(out))
    for col in spec["columns"]:
        if col.name not in out.columns:
            out[col.name] = col.default
            continue
        out[col.name] = _cast(out[col.name], col, name, rep,
                              ids if col.name not in missing else None)
    if spec["geometry"] is not None and not isinstance(out, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries([None] * len(out)))
    if report is None and rep.errors:
        raise NetworkValidationError(rep)
    return out


def _element_ids(values: pd.Series) -> np.ndarray:
    """Ids for messages: the id as text, ``row i`` where it is empty."""
    s = values.astype(object).where(values.notna(), "")
    if pd.api.types.infer_dtype(s, skipna=True) != "string":
        s = s.map(_id_str)
    ids = s.astype(str).to_numpy(dtype=object)
    empty = np.char.str_len(np.char.strip(ids.astype(str))) == 0 if len(ids) else np.zeros(0, bool)
    ids[empty] = [f"row {i}" for i in np.flatnonzero(empty)]
    return ids


class _LazyIds:
    """Element ids for messages, built only when a problem is reported (most tables have none)."""

    def __init__(self, values: pd.Series | None, n: int) -> None:
        self._values, self._n = values, n
        self._ids: np.ndarray | None = None

    @overload
    def __getitem__(self, i: int | np.integer) -> str: ...
    @overload
    def __getitem__(self, i: np.ndarray) -> np.ndarray: ...

    def __getitem__(self, i: int | np.integer | np.ndarray) -> str | np.ndarray:
        if self._ids is None:
            self._ids = (_element_ids(self._values) if self._values is not None else
                         np.array([f"row {k}" for k in range(self._n)], dtype=object))
        return self._ids[i]


def _short_repr(v: object) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def _report_rows(report: ValidationReport, code: str, layer: str, ids: _LazyIds | None,
                 rows: np.ndarray, messages: list[str], severity: str = "error") -> None:
    if ids is None:  # a column added as all-null for a missing one: reported as missing
        return
    for i, m in zip(rows, messages, strict=True):
        report.add(code, layer, ids[i], m, severity)


def _note_defaults(report: ValidationReport, layer: str, col: Column, ids: _LazyIds | None,
                   empty: np.ndarray) -> None:
    """One warning per column whose empty cells took the column's default."""
    rows = np.flatnonzero(empty)
    if ids is None or len(rows) == 0:
        return
    shown = ", ".join(str(v) for v in ids[rows[:5]]) + (
        f" and {len(rows) - 5} more" if len(rows) > 5 else "")
    report.add("default_used", layer, "*",
               f"{len(rows)} empty value(s) in column '{col.name}' taken as its default "
               f"{col.default!r} ({shown}); fill them if the default is wrong", "warning")


def _cast(series: pd.Series, col: Column, layer: str, report: ValidationReport,
          ids: _LazyIds | None) -> pd.Series:
    if col.dtype == "str":
        default = col.default if col.default is not None else ""
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind in ("string", "empty"):  # the common case: already text (fast, no Python loop)
            return series.astype(object).where(series.notna(), default)
        if kind == "integer":
            return series.astype("int64").astype(str).astype(object)
        if kind == "floating" and series.notna().all() and np.isfinite(series.to_numpy(float)).all():
            whole = np.mod(series.to_numpy(float), 1) == 0
            if whole.all() and (np.abs(series.to_numpy(float)) < 2**53).all():
                # ids read back from files as floats (1.0): keep "1", not "1.0"
                return series.astype("int64").astype(str).astype(object)
        s = series.astype(object).where(series.notna(), default)
        return s.map(_id_str)
    if col.dtype == "bool":
        if series.dtype == bool:
            return series
        mapped = series.map(_to_bool)
        bad = (mapped.isna() & series.notna()).to_numpy()
        rows = np.flatnonzero(bad)
        _report_rows(report, "bad_value", layer, ids, rows, [
            f"column '{col.name}' must be true/false; got {_short_repr(series.iat[i])}"
            for i in rows])
        _note_defaults(report, layer, col, ids, series.isna().to_numpy())
        return mapped.where(mapped.notna(), bool(col.default)).astype(bool)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        num = series.astype("float64")  # already numeric: nothing can be malformed
        bad = np.zeros(len(series), bool)
    else:
        num = pd.to_numeric(series, errors="coerce").astype("float64")
        text = series.astype(str).str.strip()
        bad = (num.isna() & series.notna() & (text != "")
               & ~text.str.lower().isin(("nan", "none", "null"))).to_numpy()
    v = num.to_numpy(dtype=float)
    if col.dtype == "int":
        # Beyond 2**53 a float is no longer a whole count, and inf is none at all.
        with np.errstate(invalid="ignore"):
            bad |= ~np.isnan(v) & ~(np.abs(v) < 2**53)
    rows = np.flatnonzero(bad)
    _report_rows(report, "bad_value", layer, ids, rows, [
        f"column '{col.name}' must be {'a whole number' if col.dtype == 'int' else 'numeric'}; "
        f"got {_short_repr(series.iat[i])}" for i in rows])
    num = num.where(~bad, np.nan)
    empty = num.isna().to_numpy() & ~bad
    if col.dtype == "int":
        fill = 0 if col.default is None or (isinstance(col.default, float) and np.isnan(col.default)) else col.default
        if col.required:
            rows = np.flatnonzero(empty)
            _report_rows(report, "missing_value", layer, ids, rows, [
                f"{col.name} is missing; give a whole number" for _ in rows])
        elif col.default is not None:
            _note_defaults(report, layer, col, ids, empty)
        return num.fillna(fill).round().astype("int64")
    if col.default is not None and not (isinstance(col.default, float) and np.isnan(col.default)):
        _note_defaults(report, layer, col, ids, empty)
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
