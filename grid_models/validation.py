"""Network validation: find every problem of a network and report them together.

:func:`validate` never stops at the first problem: it runs every check over whole columns
(pandas/numpy/scipy; Python only formats the messages of flagged rows) and returns one
:class:`~grid_models.errors.ValidationReport`. :func:`validate_path` also turns a file that
cannot be read into a report instead of a traceback.

Problem codes (stable; severity in brackets, ``e`` error, ``w`` warning):

============================ ===================================================================
code                          meaning
============================ ===================================================================
unreadable, no_crs            [e] the file cannot be read / a layer has no (or an undefined) CRS
bad_crs                       [e] network_info metric_crs unknown or not projected (validate_path)
crs_mismatch                  [e] a layer's coordinates cannot be in its declared CRS (metres
                                  declared as degrees, degrees declared in a projected CRS), or
                                  the layer lies far from the grid's nodes
bad_coordinates               [e] an element's coordinates are not finite or lie outside its
                                  CRS's area of use (a node at 1e30)
missing_column, bad_value     [e] from reading: a required column is absent / a cell is not a
                                  number (or true/false), named by element
default_used                  [w] from reading: empty cells of an optional column took its default
non_finite_value              [e] inf / -inf in a number column
implausible_value             [e] a finite number beyond the policy's plausible_ranges
nothing_to_plan               [e] no feeder is energised (no segments, all out of service, all
                                  switches open, a roads-only network)
empty_id, duplicate_id        [e] an element without id / an id used twice in one layer
dangling_segment              [e] from_node or to_node is not a node id
dangling_switch               [e] node_a, node_b or segment_id names no node / segment
self_loop                     [e] a segment or switch joins a node to itself
unknown_substation            [e] feeders/bus_sections.substation_id is not a substation
unknown_bus_section           [e] feeders/nodes.bus_section_id is not a bus section
substation_mismatch           [e] a feeder's bus section belongs to another substation
unknown_feeder                [e] nodes/segments.feeder_id is not a feeder
unknown_element               [e] load_history/load_curves.element_id is no feeder/substation
busbar_count                  [e] a bus section without exactly one busbar node
busbar_without_section        [e] a busbar node without bus_section_id
unfed                         [e] nodes not connected to any busbar in the operating topology
feeder_loop                   [e] a loop in a feeder once normally-open ties are open
busbars_connected             [e] two busbars joined through feeders (feeders not separated)
unknown_node_kind             [e] nodes.kind not in schema.NODE_KINDS
unknown_connection_mode       [e] feeders.connection_mode not in schema.CONNECTION_MODES
unknown_construction          [e] segments.construction not in schema.CONSTRUCTIONS
unknown_switch_kind           [e] switches.kind not in schema.SWITCH_KINDS
unknown_crossing              [e] obstacles.crossing not in schema.CROSSINGS
unknown_supply_area_class     [e] supply_areas.class / network_info supply_area_class not in the
                                  policy's supply_area_classes
unknown_std_type              [e] unknown std_type and r/x/max_i missing; [w] when given (one
                                  warning per type); known: conductors.csv + pandapower_lines.csv
missing_value                 [e] a required number is missing
non_positive_length           [e] length_km <= 0
out_of_range                  [e] any other number outside its valid range
bays_overused                 [e] more bays used (or spare, or feeders) than exist
voltage_mismatch              [e] a segment joins two voltages; feeder/busbar vs bus section
missing_geometry              [e] no geometry where one is required
wrong_geometry_type           [e] e.g. a segment that is not a LineString
length_mismatch               [e] geometry length vs length_km beyond tolerance ([w] schematic
                                  network or segments.geometry_approximate)
feeder_overload               [e] feeder load above its rating
negative_load                 [w] p_mw < 0 (generation exported at the node)
feeder_mismatch               [w] feeder_id differs from the feeder tree the element lies in
feeder_root_mismatch          [w] a feeder's tree hangs off another bus section's busbar
feeder_split, empty_feeder    [w] a feeder with several trees / with no segment at all
bays_undercounted             [w] more feeders on a bus section than its bays_used
bus_section_on_non_busbar     [w] bus_section_id set on a node that is not a busbar
construction_mismatch         [w] construction differs from the std_type's
unknown_road_class            [w] road_class not in the policy's road_classes table
switch_segment_mismatch       [w] a switch on a segment touches neither of its ends
geometry_endpoint_mismatch    [w] a segment's geometry ends away from its nodes
invalid_geometry              [w] an obstacle or supply-area polygon that is not valid
supply_areas_overlap          [w] two supply areas of different classes overlap
bays_ignored                  [w] spare_bays on a node kind that is no connection point
============================ ===================================================================

Problems met while reading (``read_network(path, strict=False)``) come first; cells and
geometries reported there are not reported again. ``compile_network`` runs :func:`validate`
and refuses a network with errors, so the planner never works on one (about 0.4-0.6 s on the
L city on a 2-core machine).

The operating topology (docs/architecture.md): in-service segments not cut by an open switch
plus closed switches standing on their own (bus couplers). With normally-open ties open, each
feeder must be a radial tree hanging off one busbar node.
"""

from __future__ import annotations

import ast
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from .crs import outside_crs_area
from .errors import (
    CRSError,
    NetworkFormatError,
    NetworkValidationError,
    UnknownTypeError,
    ValidationReport,
)
from .io import read_network
from .network import Network
from .policy import Policy, StandardTypes, load_policy, load_standard_types
from .schema import (
    BAY_NODE_KINDS,
    CONNECTION_MODES,
    CONSTRUCTIONS,
    CROSSINGS,
    LAYERS,
    NODE_KINDS,
    SWITCH_KINDS,
    conform,
    empty_layer,
)

# How many element ids one message lists before it says "and N more" (presentation only).
MAX_LISTED = 10

# (layer, column, allowed values, code)
_ENUMS: tuple[tuple[str, str, Sequence[str], str], ...] = (
    ("nodes", "kind", NODE_KINDS, "unknown_node_kind"),
    ("feeders", "connection_mode", CONNECTION_MODES, "unknown_connection_mode"),
    ("segments", "construction", CONSTRUCTIONS, "unknown_construction"),
    ("switches", "kind", SWITCH_KINDS, "unknown_switch_kind"),
    ("obstacles", "crossing", CROSSINGS, "unknown_crossing"),
)

# (layer, column, rule); rules: "pos" > 0, "nonneg" >= 0, "ge1" >= 1, "pf" in (0, 1].
# NaN in a required column is "missing_value"; NaN in an optional one means "not given".
_RANGES: tuple[tuple[str, str, str], ...] = (
    ("substations", "hv_kv", "pos"),
    ("substations", "n_transformers", "ge1"),
    ("substations", "transformer_mva", "pos"),
    ("substations", "peak_mw", "nonneg"),
    ("substations", "power_factor", "pf"),
    ("substations", "vk_percent", "pos"),
    ("substations", "vkr_percent", "nonneg"),
    ("substations", "s_sc_max_mva", "pos"),
    ("substations", "s_sc_min_mva", "pos"),
    ("substations", "rx_max", "nonneg"),
    ("substations", "rx_min", "nonneg"),
    ("bus_sections", "vn_kv", "pos"),
    ("bus_sections", "bays_total", "nonneg"),
    ("bus_sections", "bays_used", "nonneg"),
    ("bus_sections", "vm_pu", "pos"),
    ("feeders", "vn_kv", "pos"),
    ("feeders", "rated_i_ka", "pos"),
    ("feeders", "power_factor", "pf"),
    ("feeders", "n_customers", "nonneg"),
    ("nodes", "vn_kv", "pos"),
    ("nodes", "bays_total", "nonneg"),
    ("nodes", "spare_bays", "nonneg"),
    ("nodes", "rated_kva", "nonneg"),
    ("segments", "length_km", "pos"),
    ("segments", "r_ohm_per_km", "pos"),
    ("segments", "x_ohm_per_km", "nonneg"),
    ("segments", "c_nf_per_km", "nonneg"),
    ("segments", "max_i_ka", "pos"),
    ("obstacles", "crossing_cost_cny", "nonneg"),
    ("load_history", "peak_mw", "nonneg"),
    ("load_curves", "p_mw", "any"),
)
_RULE_TEXT = {"pos": "> 0", "nonneg": ">= 0", "ge1": ">= 1", "pf": "in (0, 1]", "any": ""}
_ELECTRICAL = ("r_ohm_per_km", "x_ohm_per_km", "max_i_ka")

# Geometry: layers whose rows need one, and the shapely type ids each layer accepts.
_GEOMETRY_REQUIRED = ("substations", "nodes", "segments", "roads", "obstacles", "supply_areas")
_GEOMETRY_TYPES = {
    "substations": ((0,), "Point"),
    "bus_sections": ((0,), "Point"),
    "nodes": ((0,), "Point"),
    "switches": ((0,), "Point"),
    "segments": ((1,), "LineString"),
    "roads": ((1, 5), "LineString or MultiLineString"),
    "obstacles": ((3, 6), "Polygon or MultiPolygon"),
    "supply_areas": ((3, 6), "Polygon or MultiPolygon"),
}

_PROBLEM_RE = re.compile(
    r"^\[(?P<sev>error|warning)\] (?P<layer>[^:\s]+):(?P<eid>\S*) (?P<code>[a-z_]+): (?P<msg>.*)$")
_MISSING_RE = re.compile(r"layer '(?P<layer>\w+)' lacks required column\(s\) (?P<cols>\[[^\]]*\])")
_COLUMN_RE = re.compile(r"^column '(?P<col>\w+)'")


# -- public API -------------------------------------------------------------------------------

def validate(net: Network, standard_types: StandardTypes | None = None,
             policy: Policy | None = None) -> ValidationReport:
    """Check a network and report every problem found.

    Parameters
    ----------
    net : Network
        The network; read with ``read_network(path, strict=False)`` so that problems met while
        reading (``net.meta["_conform_problems"]``) are reported too.
    standard_types : StandardTypes, optional
        Conductor types that ``segments.std_type`` may name (default: the bundled ones).
    policy : Policy, optional
        Source of the tolerances (``validation_*`` parameters) and road classes
        (default: the ``default`` profile).

    Returns
    -------
    ValidationReport
        Every problem, each with code, layer, element id and a message saying what is valid;
        ``report.ok`` is true when there are no errors (warnings allowed).

    Examples
    --------
    >>> from grid_models.io import read_network
    >>> report = validate(read_network("NET.gpkg", strict=False))  # doctest: +SKIP
    >>> print(report.render())  # doctest: +SKIP
    """
    ctx = _Ctx.build(net, standard_types or load_standard_types(), policy or load_policy())
    _check_ids(ctx)
    _check_enums(ctx)
    _check_std_types(ctx)
    _check_finite(ctx)
    _check_values(ctx)
    _check_references(ctx)
    _check_busbars(ctx)
    _check_voltages(ctx)
    node_feeder = _check_topology(ctx)
    _check_plannable(ctx)
    _check_loads(ctx, node_feeder)
    _check_coordinates(ctx)
    _check_geometry(ctx)
    _check_supply_areas(ctx)
    return ctx.rep


def validate_path(path: str | os.PathLike, standard_types: StandardTypes | None = None,
                  policy: Policy | None = None) -> ValidationReport:
    """Read a network file and validate it; a file that cannot be read is one error.

    Parameters
    ----------
    path : path-like
        ``NET.gpkg`` or a GeoJSON folder (see :func:`grid_models.io.read_network`).
    standard_types, policy : optional
        As for :func:`validate`.

    Returns
    -------
    ValidationReport
        With a single ``unreadable`` or ``no_crs`` error when the file cannot be read
        (truncated, not a GeoPackage, missing layers, corrupt metadata, a layer without CRS);
        otherwise the report of :func:`validate`, including problems met while reading.
    """
    rep = ValidationReport()
    try:
        net = read_network(path, strict=False)
    except CRSError as exc:
        fld = exc.field or ""
        layer = fld.split(".")[0] if "." in fld else "*"
        if fld.endswith(".crs") and layer in LAYERS:
            rep.add("no_crs", layer, "*", str(exc))
        else:
            rep.add("bad_crs", layer, fld.split(".", 1)[1] if "." in fld else "*", str(exc))
        return rep
    except NetworkValidationError as exc:  # problems found while reading left nothing to check
        return exc.report
    except NetworkFormatError as exc:
        rep.add("unreadable", "file", str(path), str(exc))
        return rep
    except (OSError, ValueError) as exc:
        # A reader that slipped past io's own wrapping (e.g. a corrupt network_info.json):
        # still one clear problem rather than a traceback.
        rep.add("unreadable", "file", str(path),
                f"{path}: cannot be read ({type(exc).__name__}: {exc}); the file may be "
                "truncated or corrupt")
        return rep
    return validate(net, standard_types, policy)


# -- context ----------------------------------------------------------------------------------

@dataclass
class _Ctx:
    """Tables and helpers shared by the checks of one run."""

    net: Network
    rep: ValidationReport
    std: StandardTypes
    policy: Policy
    t: dict[str, pd.DataFrame]
    eid: dict[str, np.ndarray] = field(default_factory=dict)
    # (layer, column) pairs absent from the source: reported once, no per-row checks.
    skip: set[tuple[str, str]] = field(default_factory=set)
    # (layer, column, element id) cells already reported as not a number while reading.
    bad_cells: set[tuple[str, str, str]] = field(default_factory=set)
    # (layer, element id) whose geometry was dropped while reading (reported there), and
    # layers whose declared CRS did not fit their coordinates at all.
    dropped_geometry: set[tuple[str, str]] = field(default_factory=set)
    crs_layers: set[str] = field(default_factory=set)
    _cache: dict[tuple[str, ...], object] = field(default_factory=dict)

    @classmethod
    def build(cls, net: Network, std: StandardTypes, policy: Policy) -> _Ctx:
        rep = ValidationReport()
        skip = _conform_problems(net, rep)
        tables: dict[str, pd.DataFrame] = {}
        for name, spec in LAYERS.items():
            t = net.layers.get(name)
            if t is None:
                t = empty_layer(name, net.crs)
            elif any(c.name not in t.columns for c in spec["columns"]):
                # A Network built without from_layers(): bring it to the schema first.
                t = conform(name, t, rep)
            tables[name] = t.reset_index(drop=True)
        ctx = cls(net, rep, std, policy, tables, skip=skip)
        for p in rep.problems:
            if p.code == "bad_value":
                m = _COLUMN_RE.search(p.message)
                if m:
                    ctx.bad_cells.add((p.layer, m["col"], p.element_id))
            elif p.code == "bad_coordinates":
                ctx.dropped_geometry.add((p.layer, p.element_id))
            elif p.code == "crs_mismatch":
                ctx.crs_layers.add(p.layer)
        for name, t in tables.items():
            if "id" in t.columns:
                empty = ctx.blank(name, "id")
                eid = t["id"].to_numpy(dtype=object).copy()
                eid[empty] = [f"row {i}" for i in np.flatnonzero(empty)]
                ctx.eid[name] = eid
        return ctx

    def blank(self, layer: str, col: str) -> np.ndarray:
        """Mask of empty (or whitespace-only) values of a string column."""
        key = ("blank", layer, col)
        if key not in self._cache:
            self._cache[key] = _blank(self.t[layer][col])
        return self._cache[key]  # type: ignore[return-value]

    def ids(self, layer: str) -> pd.Index:
        """Unique index of the layer's non-empty ids (a duplicated id resolves to its first row)."""
        key = ("ids", layer)
        if key not in self._cache:
            ids = self.t[layer]["id"]
            keep = ~self.blank(layer, "id") & ~ids.duplicated().to_numpy()
            self._cache[key] = pd.Index(ids.to_numpy(dtype=object)[keep])
            self._cache[("id_rows", layer)] = np.flatnonzero(keep)
        return self._cache[key]  # type: ignore[return-value]

    def id_rows(self, layer: str) -> np.ndarray:
        """Row of each entry of :meth:`ids`."""
        self.ids(layer)
        return self._cache[("id_rows", layer)]  # type: ignore[return-value]

    def lookup(self, layer: str, values: pd.Series) -> np.ndarray:
        """Position of each value in :meth:`ids` of ``layer``; -1 when it is not an id there."""
        return self.ids(layer).get_indexer(values.to_numpy(dtype=object))

    def seg_ends(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions in :meth:`ids` of ``nodes`` of every segment's from_node and to_node."""
        key = ("seg_ends",)
        if key not in self._cache:
            seg = self.t["segments"]
            self._cache[key] = (self.lookup("nodes", seg["from_node"]),
                                self.lookup("nodes", seg["to_node"]))
        return self._cache[key]  # type: ignore[return-value]

    def known(self, layer: str, values: pd.Series) -> np.ndarray:
        """Mask of values that are ids of ``layer`` (empty values never are)."""
        return self.lookup(layer, values) >= 0

    def ok(self, layer: str, *cols: str) -> bool:
        """Whether every column exists in the source (missing ones were reported on read)."""
        return all((layer, c) not in self.skip for c in cols)

    def emit(self, code: str, layer: str, rows: Iterable[int], messages: Iterable[str],
             severity: str = "error") -> None:
        eid = self.eid.get(layer)  # layers without ids (time series) are named by row
        for i, m in zip(rows, messages, strict=True):
            self.rep.add(code, layer, eid[i] if eid is not None else f"row {i}", m, severity)


def _conform_problems(net: Network, rep: ValidationReport) -> set[tuple[str, str]]:
    """Re-emit problems met while reading; return the (layer, column) pairs that were absent."""
    skip: set[tuple[str, str]] = set()
    for line in str(net.meta.get("_conform_problems", "") or "").splitlines():
        if not line.strip():
            continue
        m = _PROBLEM_RE.match(line)
        if m:
            rep.add(m["code"], m["layer"], m["eid"], m["msg"], m["sev"])
        else:
            rep.add("bad_value", "*", "*", line)
        mm = _MISSING_RE.search(line)
        if mm:
            try:
                cols = ast.literal_eval(mm["cols"])
            except (ValueError, SyntaxError):
                cols = []
            skip.update((mm["layer"], str(c)) for c in cols)
    return skip


# -- formatting helpers -----------------------------------------------------------------------

def _listing(items: Sequence[object], limit: int = MAX_LISTED) -> str:
    shown = ", ".join(str(v) for v in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _num(v: object) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return repr(v)
    return "NaN" if math.isnan(f) else f"{f:g}"


def _blank(values: pd.Series) -> np.ndarray:
    """Empty or whitespace-only strings; stripped once per distinct value, not per row."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    if len(uniques) == 0:
        return np.ones(len(values), dtype=bool)
    u = np.asarray(uniques, dtype=object).astype(str)
    blank_u = np.char.str_len(np.char.strip(u)) == 0
    return np.where(codes < 0, True, blank_u[np.maximum(codes, 0)])


# -- checks -----------------------------------------------------------------------------------

def _check_ids(ctx: _Ctx) -> None:
    for name, t in ctx.t.items():
        if "id" not in t.columns or not ctx.ok(name, "id") or len(t) == 0:
            continue
        ids = t["id"]
        empty = ctx.blank(name, "id")
        rows = np.flatnonzero(empty)
        ctx.emit("empty_id", name, rows, (f"{name} row {i} has an empty id; every element needs a "
                                          "unique, non-empty id" for i in rows))
        dup = ids[~empty & ids.duplicated(keep=False).to_numpy()]
        if len(dup):
            groups = pd.Series(dup.index.to_numpy(), index=dup.index).groupby(dup.to_numpy(),
                                                                              sort=False)
            for value, g in groups:
                rows_g = g.to_numpy()
                ctx.rep.add("duplicate_id", name, value,
                            f"id {value!r} is used by {len(rows_g)} rows of '{name}' (rows "
                            f"{_listing(list(rows_g))}); ids must be unique within a layer")


def _check_enums(ctx: _Ctx) -> None:
    for layer, col, allowed, code in _ENUMS:
        t = ctx.t[layer]
        if not ctx.ok(layer, col) or len(t) == 0:
            continue
        bad = ~t[col].isin(allowed).to_numpy()
        rows = np.flatnonzero(bad)
        vals = t[col].to_numpy()[rows]
        ctx.emit(code, layer, rows, (f"{col} {v!r} is not valid; valid values: "
                                     f"{', '.join(allowed)}" for v in vals))
    roads = ctx.t["roads"]
    if len(roads) and ctx.ok("roads", "road_class"):
        classes = list(ctx.policy.table("road_classes")["road_class"].astype(str))
        rows = np.flatnonzero(~roads["road_class"].isin(classes).to_numpy())
        ctx.emit("unknown_road_class", "roads", rows,
                 (f"road_class {v!r} is not in policy table road_classes ({', '.join(classes)}); "
                  "routing treats the road with default costs"
                  for v in roads["road_class"].to_numpy()[rows]), "warning")


def _unknown_std_rows(ctx: _Ctx) -> np.ndarray:
    key = ("unknown_std",)
    if key not in ctx._cache:
        st = ctx.t["segments"]["std_type"]
        known = pd.Index(ctx.std.line_types["name"].astype(str).unique())
        ctx._cache[key] = ~ctx.blank("segments", "std_type") & (known.get_indexer(st) < 0)
    return ctx._cache[key]  # type: ignore[return-value]


def _type_hint(ctx: _Ctx, name: str, vn_kv: float | None) -> str:
    """What to use instead of an unknown type: close names and the bundled conductors at the
    voltage, never the whole catalogue."""
    import difflib

    known = ctx.std.line_types
    names = known["name"].astype(str).tolist()
    close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.6)
    cond = ctx.std.conductors
    if vn_kv is not None and np.isfinite(vn_kv):
        cond = cond[np.isclose(cond["vn_kv"].astype(float), vn_kv)]
    level = (f" at {vn_kv:g} kV" if vn_kv is not None and np.isfinite(vn_kv) else "")
    parts = []
    if close:
        parts.append(f"did you mean {', '.join(close)}?")
    if len(cond):
        parts.append(f"bundled types{level}: {_listing(cond['name'].astype(str).tolist())}")
    parts.append(f"{len(names)} known types in grid_models/data/standard_types")
    return "; ".join(parts)


def _check_std_types(ctx: _Ctx) -> None:
    seg = ctx.t["segments"]
    known = ctx.std.line_types
    if len(seg) and ctx.ok("segments", "std_type"):
        unknown = _unknown_std_rows(ctx)
        cols = [c for c in _ELECTRICAL if ctx.ok("segments", c)]  # absent ones: reported once
        elec = seg[cols].to_numpy(dtype=float)
        nan_any = np.isnan(elec).any(axis=1)
        rows = np.flatnonzero(unknown & nan_any)
        if len(rows):
            node_v = ctx.t["nodes"]["vn_kv"].to_numpy(dtype=float)[ctx.id_rows("nodes")] \
                if len(ctx.t["nodes"]) else np.zeros(0)
            fi, _ = ctx.seg_ends() if ctx.ok("segments", "from_node", "to_node") else \
                (np.full(len(seg), -1), None)
            seg_v = np.where(fi >= 0, np.append(node_v, np.nan)[fi], np.nan)
            hints = {}
            msgs = []
            for i in rows:
                st = str(seg["std_type"].iat[i])
                key = (st, round(float(seg_v[i]), 3) if np.isfinite(seg_v[i]) else None)
                if key not in hints:
                    hints[key] = _type_hint(ctx, st, key[1])
                miss = ", ".join(c for c, m in zip(cols, np.isnan(elec[i]), strict=True) if m)
                msgs.append(f"std_type {st!r} is not a known line type and {miss} is missing; "
                            f"give r_ohm_per_km, x_ohm_per_km and max_i_ka, or a known type "
                            f"({hints[key]})")
            ctx.emit("unknown_std_type", "segments", rows, msgs)
        # Known values given with an unknown name: one warning per type, not per segment.
        rows = np.flatnonzero(unknown & ~nan_any)
        if len(rows):
            by_type = pd.Series(rows).groupby(seg["std_type"].to_numpy()[rows], sort=False)
            eid = ctx.eid["segments"]
            for st, g in by_type:
                r = g.to_numpy()
                ctx.rep.add("unknown_std_type", "segments", eid[r[0]], (
                    f"std_type {st!r} ({len(r)} segment(s): {_listing(list(eid[r]))}) is not in "
                    "the line standard types; the segments' own r/x/max_i are used"), "warning")
        # A known type whose construction disagrees (a cable type on an overhead line).
        c_of = known.drop_duplicates("name").set_index("name")["construction"]
        expect = seg["std_type"].map(c_of)
        rows = np.flatnonzero((expect.notna() & (expect != seg["construction"])
                               & seg["construction"].isin(CONSTRUCTIONS)).to_numpy())
        ctx.emit("construction_mismatch", "segments", rows, (
            f"construction {seg['construction'].iat[i]!r} but std_type "
            f"{seg['std_type'].iat[i]!r} is {expect.iat[i]!r}; make them agree" for i in rows),
            "warning")
    fd = ctx.t["feeders"]
    if len(fd) and ctx.ok("feeders", "conductor_type"):
        ct = fd["conductor_type"].astype(str)
        rows = np.flatnonzero(~ctx.blank("feeders", "conductor_type")
                              & ~ct.isin(known["name"]).to_numpy())
        if len(rows):
            eid = ctx.eid["feeders"]
            for name, g in pd.Series(rows).groupby(ct.to_numpy()[rows], sort=False):
                r = g.to_numpy()
                ctx.rep.add("unknown_std_type", "feeders", eid[r[0]], (
                    f"conductor_type {name!r} ({len(r)} feeder(s): {_listing(list(eid[r]))}) is "
                    f"not a known line type ({_type_hint(ctx, name, None)})"), "warning")


def _check_values(ctx: _Ctx) -> None:
    required = {(ly, c.name) for ly, spec in LAYERS.items() for c in spec["columns"] if c.required}
    unknown_std = _unknown_std_rows(ctx) if len(ctx.t["segments"]) else np.zeros(0, bool)
    cond = ctx.std.conductors.drop_duplicates("name").set_index("name")
    for layer, col, rule in _RANGES:
        t = ctx.t[layer]
        if len(t) == 0 or col not in t.columns or not ctx.ok(layer, col):
            continue
        v = pd.to_numeric(t[col], errors="coerce").to_numpy(dtype=float)
        nan = np.isnan(v)
        if (layer, col) in required:
            miss = nan.copy()
            if layer == "segments" and col in _ELECTRICAL:
                miss &= ~unknown_std  # reported once as unknown_std_type
            if ctx.bad_cells:  # text where a number belongs: reported while reading
                eid = ctx.eid.get(layer)
                if eid is not None:
                    miss &= ~np.array([(layer, col, str(e)) in ctx.bad_cells for e in eid], bool) \
                        if miss.any() else miss
            rows = np.flatnonzero(miss)
            msgs = []
            for i in rows:
                hint = ""
                if layer == "segments" and col in cond.columns:
                    st = str(t["std_type"].iat[i])
                    if st in cond.index:
                        hint = f" (standard type {st!r} has {col} = {_num(cond.at[st, col])})"
                msgs.append(f"{col} is missing; give a number {_RULE_TEXT[rule]}{hint}")
            ctx.emit("missing_value", layer, rows, msgs)
        if rule == "any":
            continue
        with np.errstate(invalid="ignore"):
            bad = {"pos": v <= 0, "nonneg": v < 0, "ge1": v < 1,
                   "pf": (v <= 0) | (v > 1)}[rule] & np.isfinite(v)  # inf: non_finite_value
        rows = np.flatnonzero(bad)
        if layer == "segments" and col == "length_km":
            ctx.emit("non_positive_length", layer, rows, (
                f"length_km = {_num(v[i])}; a segment's length must be > 0 km" for i in rows))
        else:
            ctx.emit("out_of_range", layer, rows, (
                f"{col} = {_num(v[i])}; it must be {_RULE_TEXT[rule]}" for i in rows))

    _check_plausible(ctx)
    bs = ctx.t["bus_sections"]
    if len(bs) and ctx.ok("bus_sections", "bays_used", "bays_total"):
        u, tot = bs["bays_used"].to_numpy(), bs["bays_total"].to_numpy()
        rows = np.flatnonzero(u > tot)
        ctx.emit("bays_overused", "bus_sections", rows, (
            f"bays_used = {u[i]} exceeds bays_total = {tot[i]}; a bus section cannot use more "
            "outgoing bays than it has" for i in rows))
        fd = ctx.t["feeders"]
        if ctx.ok("feeders", "bus_section_id"):
            n_fd = fd["bus_section_id"].value_counts().reindex(bs["id"]).fillna(0)
            n_fd = n_fd.to_numpy(dtype=int)
            rows = np.flatnonzero(n_fd > tot)
            ctx.emit("bays_overused", "bus_sections", rows, (
                f"{n_fd[i]} feeders leave this bus section but bays_total = {tot[i]}; each "
                "feeder occupies one outgoing bay" for i in rows))
            rows = np.flatnonzero((n_fd > u) & (n_fd <= tot))
            ctx.emit("bays_undercounted", "bus_sections", rows, (
                f"{n_fd[i]} feeders leave this bus section but bays_used = {u[i]}; bays_used "
                "should count at least the feeders" for i in rows), "warning")
    sub = ctx.t["substations"]
    if len(sub):
        pairs = (("vkr_percent", "vk_percent", "the resistive part of vk cannot exceed vk"),
                 ("s_sc_min_mva", "s_sc_max_mva", "the minimum short-circuit power cannot "
                                                  "exceed the maximum"))
        for lo_c, hi_c, why in pairs:
            lo, hi = sub[lo_c].to_numpy(dtype=float), sub[hi_c].to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                rows = np.flatnonzero(np.isfinite(lo) & np.isfinite(hi) & (lo > hi))
            ctx.emit("out_of_range", "substations", rows, (
                f"{lo_c} = {_num(lo[i])} > {hi_c} = {_num(hi[i])}; {why}" for i in rows))
    nodes = ctx.t["nodes"]
    if len(nodes) and ctx.ok("nodes", "spare_bays", "bays_total"):
        s, tot = nodes["spare_bays"].to_numpy(), nodes["bays_total"].to_numpy()
        rows = np.flatnonzero(s > tot)
        ctx.emit("bays_overused", "nodes", rows, (
            f"spare_bays = {s[i]} exceeds bays_total = {tot[i]}; spare bays are part of the "
            "total" for i in rows))
    if len(nodes) and ctx.ok("nodes", "spare_bays", "kind"):
        s_ = nodes["spare_bays"].to_numpy()
        kind = nodes["kind"].to_numpy()
        rows = np.flatnonzero((s_ > 0) & ~np.isin(kind, (*BAY_NODE_KINDS, "busbar"))
                              & np.isin(kind, NODE_KINDS))
        ctx.emit("bays_ignored", "nodes", rows, (
            f"spare_bays = {s_[i]} on a {kind[i]!r} node are not offered as connection points; "
            f"only kinds {', '.join(BAY_NODE_KINDS)} are (an MV/LV station with switchgear: "
            "kind 'station')" for i in rows), "warning")
    if len(nodes) and ctx.ok("nodes", "p_mw"):
        p = nodes["p_mw"].to_numpy(dtype=float)
        rows = np.flatnonzero(p < 0)
        ctx.emit("negative_load", "nodes", rows, (
            f"p_mw = {_num(p[i])} is negative: read as generation exported at the node; check "
            "the sign if it is a load" for i in rows), "warning")


def _check_references(ctx: _Ctx) -> None:
    t = ctx.t
    seg = t["segments"]
    if len(seg) and ctx.ok("segments", "from_node", "to_node"):
        fi, ti = ctx.seg_ends()
        fb, tb = fi < 0, ti < 0
        rows = np.flatnonzero(fb | tb)
        msgs = []
        for i in rows:
            parts = [f"{c} {seg[c].iat[i]!r}" for c, bad in
                     (("from_node", fb[i]), ("to_node", tb[i])) if bad]
            msgs.append(f"{' and '.join(parts)} {'is' if len(parts) == 1 else 'are'} not a node "
                        "id; a segment must join two existing nodes")
        ctx.emit("dangling_segment", "segments", rows, msgs)
        same = (seg["from_node"] == seg["to_node"]).to_numpy() & ~fb
        rows = np.flatnonzero(same)
        ctx.emit("self_loop", "segments", rows, (
            f"from_node and to_node are both {seg['from_node'].iat[i]!r}; a segment joins two "
            "different nodes" for i in rows))
    sw = t["switches"]
    if len(sw) and ctx.ok("switches", "node_a", "node_b"):
        ab = ~ctx.known("nodes", sw["node_a"])
        bb = ~ctx.known("nodes", sw["node_b"])
        sid = sw["segment_id"].astype(str)
        sb = ~ctx.blank("switches", "segment_id") & ~ctx.known("segments", sid)
        rows = np.flatnonzero(ab | bb | sb)
        msgs = []
        for i in rows:
            parts = [f"{c} {sw[c].iat[i]!r} is not a {what} id" for c, bad, what in
                     (("node_a", ab[i], "node"), ("node_b", bb[i], "node"),
                      ("segment_id", sb[i], "segment")) if bad]
            msgs.append("; ".join(parts) + "; a switch must name existing nodes (and segment)")
        ctx.emit("dangling_switch", "switches", rows, msgs)
        same = (sw["node_a"] == sw["node_b"]).to_numpy() & ~ab
        rows = np.flatnonzero(same)
        ctx.emit("self_loop", "switches", rows, (
            f"node_a and node_b are both {sw['node_a'].iat[i]!r}; a switch joins two different "
            "nodes" for i in rows))
        # A switch on a segment sits at one of its ends.
        if len(seg):
            ends = seg.drop_duplicates("id").set_index("id")[["from_node", "to_node"]]
            has = (sid != "").to_numpy() & ~sb
            fr = sid.map(ends["from_node"]).to_numpy(dtype=object)
            to = sid.map(ends["to_node"]).to_numpy(dtype=object)
            a, b = sw["node_a"].to_numpy(dtype=object), sw["node_b"].to_numpy(dtype=object)
            touches = (a == fr) | (a == to) | (b == fr) | (b == to)
            rows = np.flatnonzero(has & ~touches)
            ctx.emit("switch_segment_mismatch", "switches", rows, (
                f"segment {sid.iat[i]!r} runs {fr[i]!r}-{to[i]!r} but the switch joins "
                f"{a[i]!r}-{b[i]!r}; a switch on a segment sits at one of its ends"
                for i in rows), "warning")

    sub_ids, bs_ids, fd_ids = t["substations"]["id"], t["bus_sections"]["id"], t["feeders"]["id"]
    for layer in ("feeders", "bus_sections"):
        tb_ = t[layer]
        if len(tb_) and ctx.ok(layer, "substation_id"):
            rows = np.flatnonzero(~ctx.known("substations", tb_["substation_id"]))
            ctx.emit("unknown_substation", layer, rows, (
                f"substation_id {tb_['substation_id'].iat[i]!r} is not a substation id; known: "
                f"{_listing(list(sub_ids))}" for i in rows))
    fd = t["feeders"]
    if len(fd) and ctx.ok("feeders", "bus_section_id"):
        rows = np.flatnonzero(~ctx.known("bus_sections", fd["bus_section_id"]))
        ctx.emit("unknown_bus_section", "feeders", rows, (
            f"bus_section_id {fd['bus_section_id'].iat[i]!r} is not a bus section id; known: "
            f"{_listing(list(bs_ids))}" for i in rows))
        if ctx.ok("feeders", "substation_id"):
            bs_sub = t["bus_sections"].drop_duplicates("id").set_index("id")["substation_id"]
            actual = fd["bus_section_id"].map(bs_sub)
            rows = np.flatnonzero(actual.notna().to_numpy()
                                  & ctx.known("substations", fd["substation_id"])
                                  & (actual != fd["substation_id"]).to_numpy())
            ctx.emit("substation_mismatch", "feeders", rows, (
                f"bus section {fd['bus_section_id'].iat[i]!r} belongs to substation "
                f"{actual.iat[i]!r}, not to substation_id {fd['substation_id'].iat[i]!r}"
                for i in rows))
    nodes = t["nodes"]
    if len(nodes) and ctx.ok("nodes", "bus_section_id"):
        b = nodes["bus_section_id"].astype(str)
        rows = np.flatnonzero(~ctx.blank("nodes", "bus_section_id")
                              & ~ctx.known("bus_sections", b))
        ctx.emit("unknown_bus_section", "nodes", rows, (
            f"bus_section_id {b.iat[i]!r} is not a bus section id; known: {_listing(list(bs_ids))}"
            for i in rows))
    for layer in ("nodes", "segments"):
        tl = t[layer]
        if len(tl) and ctx.ok(layer, "feeder_id"):
            f = tl["feeder_id"].astype(str)
            rows = np.flatnonzero(~ctx.blank(layer, "feeder_id") & ~ctx.known("feeders", f))
            ctx.emit("unknown_feeder", layer, rows, (
                f"feeder_id {f.iat[i]!r} is not a feeder id (leave it empty for none); known: "
                f"{_listing(list(fd_ids))}" for i in rows))
    for layer in ("load_history", "load_curves"):
        tl = t[layer]
        if len(tl) and ctx.ok(layer, "element_id"):
            ids = tl["element_id"].astype(str)
            bad = ~(ctx.known("feeders", ids) | ctx.known("substations", ids))
            for value in pd.unique(ids[bad]):
                ctx.rep.add("unknown_element", layer, value,
                            f"element_id {value!r} is neither a feeder nor a substation id")


def _check_busbars(ctx: _Ctx) -> None:
    nodes, bs = ctx.t["nodes"], ctx.t["bus_sections"]
    if not ctx.ok("nodes", "kind", "bus_section_id"):
        return
    is_bus = (nodes["kind"] == "busbar").to_numpy()
    bus_sec = nodes["bus_section_id"].astype(str)
    if len(bs) and ctx.ok("bus_sections", "id"):
        per = nodes.loc[is_bus & (bus_sec != "").to_numpy(), "id"].groupby(
            bus_sec[is_bus & (bus_sec != "").to_numpy()]).agg(list)
        lists = bs["id"].map(per)
        count = lists.map(lambda v: len(v) if isinstance(v, list) else 0).to_numpy()
        rows = np.flatnonzero(count != 1)
        msgs = []
        for i in rows:
            b = bs["id"].iat[i]
            if count[i] == 0:
                msgs.append(f"bus section {b!r} has no busbar node; add one node with kind "
                            f"'busbar' and bus_section_id {b!r} (its feeders start there)")
            else:
                msgs.append(f"bus section {b!r} has {count[i]} busbar nodes "
                            f"({_listing(lists.iat[i])}); a bus section has exactly one")
        ctx.emit("busbar_count", "bus_sections", rows, msgs)
    blank = ctx.blank("nodes", "bus_section_id")
    rows = np.flatnonzero(is_bus & blank)
    ctx.emit("busbar_without_section", "nodes", rows, (
        "busbar node without bus_section_id; a busbar node names the bus section it belongs to"
        for _ in rows))
    rows = np.flatnonzero(~is_bus & ~blank)
    ctx.emit("bus_section_on_non_busbar", "nodes", rows, (
        f"bus_section_id {bus_sec.iat[i]!r} is set on a {nodes['kind'].iat[i]!r} node; only "
        "busbar nodes carry a bus section" for i in rows), "warning")


def _check_voltages(ctx: _Ctx) -> None:
    t = ctx.t
    nodes, seg, fd, bs = t["nodes"], t["segments"], t["feeders"], t["bus_sections"]
    node_v = np.append(nodes["vn_kv"].to_numpy(dtype=float)[ctx.id_rows("nodes")], np.nan)
    bs_v = pd.Series(bs["vn_kv"].to_numpy(dtype=float), index=bs["id"])
    bs_v = bs_v[~bs_v.index.duplicated()]

    def differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(a) & ~np.isnan(b)
        return ok & ~np.isclose(a, b, rtol=1e-6, atol=0.0)

    if len(seg) and ctx.ok("segments", "from_node", "to_node"):
        fi, ti = ctx.seg_ends()
        va, vb = node_v[fi], node_v[ti]  # -1 (unknown node) picks the trailing NaN
        rows = np.flatnonzero(differ(va, vb))
        ctx.emit("voltage_mismatch", "segments", rows, (
            f"joins {seg['from_node'].iat[i]!r} at {_num(va[i])} kV and {seg['to_node'].iat[i]!r}"
            f" at {_num(vb[i])} kV; a segment joins nodes of one voltage" for i in rows))
    if len(fd) and ctx.ok("feeders", "bus_section_id"):
        vb = fd["bus_section_id"].map(bs_v).to_numpy(dtype=float)
        vf = fd["vn_kv"].to_numpy(dtype=float)
        rows = np.flatnonzero(differ(vf, vb))
        ctx.emit("voltage_mismatch", "feeders", rows, (
            f"vn_kv = {_num(vf[i])} but bus section {fd['bus_section_id'].iat[i]!r} is "
            f"{_num(vb[i])} kV; a feeder runs at its bus section's voltage" for i in rows))
    if len(nodes) and ctx.ok("nodes", "bus_section_id", "kind"):
        is_bus = (nodes["kind"] == "busbar").to_numpy()
        vb = nodes["bus_section_id"].map(bs_v).to_numpy(dtype=float)
        vn = nodes["vn_kv"].to_numpy(dtype=float)
        rows = np.flatnonzero(is_bus & differ(vn, vb))
        ctx.emit("voltage_mismatch", "nodes", rows, (
            f"busbar node at {_num(vn[i])} kV but bus section {nodes['bus_section_id'].iat[i]!r} "
            f"is {_num(vb[i])} kV" for i in rows))


def _check_topology(ctx: _Ctx) -> np.ndarray:
    """Connectivity, loops and feeder membership in the operating topology.

    Busbar nodes are taken out of the graph; the remaining nodes fall into components, each
    of which must hang off exactly one busbar by exactly one edge and be a tree (edges =
    nodes − 1). Zero edges to a busbar: unfed; two or more: feeders joined (two busbars) or a
    ring closed through one busbar; more internal edges than a tree: a loop.

    Returns
    -------
    numpy.ndarray
        The feeder id each node row belongs to in the operating topology ("" when unknown).
    """
    t = ctx.t
    nodes, seg, sw, fd = t["nodes"], t["segments"], t["switches"], t["feeders"]
    node_feeder = np.full(len(nodes), "", dtype=object)
    need = (ctx.ok("nodes", "id", "kind") and ctx.ok("segments", "from_node", "to_node")
            and ctx.ok("switches", "node_a", "node_b"))
    if not need or len(nodes) == 0:
        return node_feeder
    index = ctx.ids("nodes")
    rows_of = ctx.id_rows("nodes")  # graph vertex -> node row
    n = len(rows_of)
    is_bus = nodes["kind"].to_numpy()[rows_of] == "busbar"
    bus_sec = nodes["bus_section_id"].astype(str).to_numpy()[rows_of]

    # Edges of the operating topology.
    su, sv = ctx.seg_ends()
    sw_seg = sw["segment_id"].astype(str)
    open_segs = pd.Index(sw_seg[~sw["closed"].to_numpy(dtype=bool) & (sw_seg != "").to_numpy()])
    s_ok = (seg["in_service"].to_numpy(dtype=bool) & (su >= 0) & (sv >= 0) & (su != sv)
            & ~seg["id"].isin(open_segs).to_numpy())
    wu = ctx.lookup("nodes", sw["node_a"])
    wv = ctx.lookup("nodes", sw["node_b"])
    w_ok = (sw["closed"].to_numpy(dtype=bool) & (sw_seg == "").to_numpy()
            & (wu >= 0) & (wv >= 0) & (wu != wv))
    s_rows, w_rows = np.flatnonzero(s_ok), np.flatnonzero(w_ok)
    eu = np.concatenate([su[s_rows], wu[w_rows]]).astype(np.int64)
    ev = np.concatenate([sv[s_rows], wv[w_rows]]).astype(np.int64)
    e_is_seg = np.concatenate([np.ones(len(s_rows), bool), np.zeros(len(w_rows), bool)])
    e_row = np.concatenate([s_rows, w_rows])
    e_name = np.concatenate([seg["id"].to_numpy(dtype=object)[s_rows],
                             sw["id"].to_numpy(dtype=object)[w_rows]])
    feeder_ids = pd.Index(fd["id"][fd["id"] != ""].unique())
    e_feeder = np.concatenate([seg["feeder_id"].astype(str).to_numpy(dtype=object)[s_rows],
                               np.full(len(w_rows), "", dtype=object)])
    e_feeder = np.where(pd.Index(e_feeder).isin(feeder_ids), e_feeder, "")

    bu, bv = is_bus[eu], is_bus[ev]
    internal, root = ~bu & ~bv, bu ^ bv
    # A segment straight from one busbar to another joins two bus sections through a cable.
    bb = np.flatnonzero(bu & bv & e_is_seg)
    ctx.emit("busbars_connected", "segments", e_row[bb], (
        f"segment joins busbars {index[eu[i]]!r} and {index[ev[i]]!r} directly; bus sections are "
        "joined only by bus-coupler switches" for i in bb))

    nb = np.flatnonzero(~is_bus)  # non-busbar vertices, in table order
    m = len(nb)
    pos = np.full(n, -1, dtype=np.int64)
    pos[nb] = np.arange(m)
    if m == 0:
        return node_feeder
    ia, ib = pos[eu[internal]], pos[ev[internal]]
    g = sparse.coo_matrix((np.ones(len(ia), dtype=np.int8), (ia, ib)), shape=(m, m)).tocsr()
    ncomp, lab = csgraph.connected_components(g, directed=False)
    n_nodes = np.bincount(lab, minlength=ncomp)
    e_int = np.bincount(lab[ia], minlength=ncomp)
    r_nb = np.where(bu[root], ev[root], eu[root])  # non-busbar end of each root edge
    r_bus = np.where(bu[root], eu[root], ev[root])
    r_comp = lab[pos[r_nb]]
    e_root = np.bincount(r_comp, minlength=ncomp)
    pair = np.unique(r_comp * np.int64(n) + r_bus)
    n_bus = np.bincount(pair // n, minlength=ncomp)

    order = np.argsort(lab, kind="stable")  # vertices grouped by component, table order kept
    starts = np.concatenate([[0], np.cumsum(n_nodes)[:-1]])
    first_v = nb[order[starts]]  # first vertex of each component

    # Edges with the component they lie in (internal and root edges).
    int_idx, root_idx = np.flatnonzero(internal), np.flatnonzero(root)
    edges = pd.DataFrame({
        "comp": np.concatenate([lab[ia], r_comp]),
        "feeder": np.concatenate([e_feeder[int_idx], e_feeder[root_idx]]),
        "is_root": np.concatenate([np.zeros(len(int_idx), bool), np.ones(len(root_idx), bool)]),
        "edge": np.concatenate([int_idx, root_idx]),
    })

    # The feeder each single-rooted component belongs to: its root segment's feeder_id, else
    # the feeder_id most of its segments carry.
    single = e_root == 1
    labelled = edges[(edges["feeder"] != "") & single[edges["comp"].to_numpy()]]
    by_root = labelled[labelled["is_root"]].drop_duplicates("comp").set_index("comp")["feeder"]
    counts = labelled.groupby(["comp", "feeder"]).size().reset_index(name="k")
    counts = counts.sort_values(["comp", "k", "feeder"], ascending=[True, False, True])
    by_mode = counts.drop_duplicates("comp").set_index("comp")["feeder"]
    actual = by_root.combine_first(by_mode)
    comp_feeder = np.full(ncomp, "", dtype=object)
    comp_feeder[actual.index.to_numpy()] = actual.to_numpy()
    comp_bus = np.full(ncomp, -1, dtype=np.int64)
    comp_bus[r_comp] = r_bus

    # Feeders named on the edges of components with a loop or several roots (few).
    looped = e_int >= n_nodes
    multi = np.flatnonzero(e_root >= 2)
    odd = edges[(looped | (e_root >= 2))[edges["comp"].to_numpy()] & (edges["feeder"] != "")]
    fl = odd.groupby("comp")["feeder"].agg(lambda s: sorted(set(s)))

    def where(c: int | np.integer) -> tuple[str, str]:
        """Element a component's problem is filed under: its feeder, else its first node."""
        if comp_feeder[c]:
            return "feeders", str(comp_feeder[c])
        if c in fl.index:
            return "feeders", str(fl[c][0])
        return "nodes", str(index[first_v[c]])

    # Unfed parts: one problem per component, listing its nodes.
    for c in np.flatnonzero(e_root == 0):
        members = index[nb[order[starts[c]:starts[c] + n_nodes[c]]]]
        ctx.rep.add("unfed", "nodes", members[0],
                    f"{n_nodes[c]} node(s) not connected to any busbar in the operating topology "
                    f"(in-service segments not cut by an open switch, plus closed switches): "
                    f"{_listing(list(members))}; connect them to a feeder or remove them")

    # Loops inside a feeder: edges that close a cycle, i.e. not in a spanning forest.
    if looped.any():
        sel = looped[lab[ia]]
        ei = int_idx[sel]
        lo, hi = np.minimum(ia[sel], ib[sel]), np.maximum(ia[sel], ib[sel])
        key = lo * np.int64(m) + hi
        ukey, first = np.unique(key, return_index=True)
        closing = np.ones(len(ei), bool)
        ul, uh = ukey // m, ukey % m
        w = sparse.coo_matrix((np.arange(1, len(ukey) + 1, dtype=float), (ul, uh)),
                              shape=(m, m)).tocsr()
        tree = csgraph.minimum_spanning_tree(w).tocoo()
        tkey = np.minimum(tree.row, tree.col) * np.int64(m) + np.maximum(tree.row, tree.col)
        closing[first[np.isin(ukey, tkey)]] = False
        close_comp = lab[lo[closing]]
        close_names = e_name[ei[closing]]
        grouped = pd.Series(close_names).groupby(close_comp).agg(list)
        for c, names in grouped.items():
            layer, el = where(int(c))
            ctx.rep.add("feeder_loop", layer, el,
                        f"{'feeder ' + el if layer == 'feeders' else 'the part with node ' + el}"
                        f" has a loop with normally-open ties open, closed by "
                        f"{_listing(list(names))}; with ties open every feeder is a radial "
                        "tree: open a switch or take a segment out of service")

    # Several edges to busbars: feeders not separated, or a ring closed through one busbar.
    if len(multi):
        sub = edges[np.isin(edges["comp"].to_numpy(), multi)]
        rs = sub[sub["is_root"]].groupby("comp")["edge"].agg(list)
        # Closed ties inside: a tie on a cable shows as its segment, a bare one as itself.
        ct = sw[sw["closed"].to_numpy(dtype=bool) & (sw["kind"] == "tie").to_numpy()]
        on_seg = ct[ct["segment_id"] != ""].drop_duplicates("segment_id")
        tie_of_seg = pd.Series(on_seg["id"].to_numpy(), index=on_seg["segment_id"].to_numpy())
        bare = pd.Series(ct["id"].to_numpy(), index=ct["id"].to_numpy())
        se = sub["edge"].to_numpy()
        tie = np.where(e_is_seg[se], pd.Series(e_name[se]).map(tie_of_seg).to_numpy(),
                       pd.Series(e_name[se]).map(bare.drop_duplicates()).to_numpy())
        has_tie = pd.notna(tie)
        ties_by = pd.Series(tie[has_tie]).groupby(sub["comp"].to_numpy()[has_tie]).agg(
            lambda s: sorted(set(s)))
        for c in multi:
            feeders = fl.get(c, [])
            layer, el = where(c)
            root_edges = rs.get(c, [])
            buses = sorted({str(index[eu[e]] if is_bus[eu[e]] else index[ev[e]])
                            for e in root_edges})
            how = f"leaving by {_listing([str(e_name[e]) for e in root_edges])}"
            if c in ties_by.index:
                how += f"; closed tie switch(es) {_listing(ties_by[c])}"
            names = f"feeder(s) {', '.join(feeders)}" if feeders else f"the part with node {el}"
            if n_bus[c] >= 2:
                ctx.rep.add("busbars_connected", layer, el,
                            f"{names} join busbars {', '.join(buses)} in the operating topology "
                            f"({how}); feeders must be separated by an open tie switch")
            else:
                ctx.rep.add("feeder_loop", layer, el,
                            f"{names} close a ring through busbar {buses[0]} ({how}); with "
                            "normally-open ties open every feeder is a radial tree")

    # Feeder membership: where feeder_id disagrees with the tree an element actually lies in.
    vfeeder = np.full(n, "", dtype=object)
    vfeeder[nb] = comp_feeder[lab]
    node_feeder[rows_of] = vfeeder
    if ctx.ok("segments", "feeder_id"):
        sel = edges[e_is_seg[edges["edge"].to_numpy()]]
        actual_f = comp_feeder[sel["comp"].to_numpy()]
        erows = e_row[sel["edge"].to_numpy()]
        declared = seg["feeder_id"].astype(str).to_numpy(dtype=object)[erows]
        bad = (actual_f != "") & (declared != "") & (declared != actual_f) \
            & pd.Index(declared).isin(feeder_ids)
        rows = erows[bad]
        ctx.emit("feeder_mismatch", "segments", rows, (
            f"feeder_id {d!r} but the segment lies in the tree of feeder {a!r}; correct "
            "feeder_id" for d, a in zip(declared[bad], actual_f[bad], strict=True)), "warning")
    if ctx.ok("nodes", "feeder_id"):
        declared = nodes["feeder_id"].astype(str).to_numpy(dtype=object)
        bad = (node_feeder != "") & (declared != "") & (declared != node_feeder) \
            & pd.Index(declared).isin(feeder_ids)
        rows = np.flatnonzero(bad)
        ctx.emit("feeder_mismatch", "nodes", rows, (
            f"feeder_id {declared[i]!r} but the node lies in the tree of feeder "
            f"{node_feeder[i]!r}; correct feeder_id" for i in rows), "warning")

    # Each feeder: one tree, hanging off its own bus section's busbar.
    if len(fd) and ctx.ok("feeders", "bus_section_id"):
        assigned = np.flatnonzero(comp_feeder != "")
        af = pd.Series(comp_feeder[assigned], index=assigned)
        trees = af.groupby(af.to_numpy()).size()
        fd_bs = fd.drop_duplicates("id").set_index("id")["bus_section_id"]
        root_bs = pd.Series(bus_sec[comp_bus[assigned]], index=assigned)
        wrong = af[(root_bs.to_numpy() != af.map(fd_bs).to_numpy())]
        for c, f in wrong.drop_duplicates().items():
            ctx.rep.add("feeder_root_mismatch", "feeders", f,
                        f"the tree of feeder {f!r} hangs off busbar {index[comp_bus[c]]!r} of "
                        f"bus section {root_bs[c]!r}, but the feeder's bus_section_id is "
                        f"{fd_bs.get(f)!r}; a feeder starts at its own bus section's busbar",
                        "warning")
        for f, k in trees[trees > 1].items():
            ctx.rep.add("feeder_split", "feeders", f,
                        f"feeder {f!r} has {k} separate trees leaving the busbars; a feeder is "
                        "one tree from one outgoing bay (check feeder_id)", "warning")
        used = set(seg["feeder_id"].astype(str)) | set(trees.index)
        rows = np.flatnonzero(~fd["id"].isin(used).to_numpy() & (fd["id"] != "").to_numpy())
        ctx.emit("empty_feeder", "feeders", rows, (
            "no segment carries this feeder_id and no tree in the operating topology belongs "
            "to it; label its segments or remove the feeder" for _ in rows), "warning")
    return node_feeder


def _check_loads(ctx: _Ctx, node_feeder: np.ndarray) -> None:
    fd, nodes = ctx.t["feeders"], ctx.t["nodes"]
    if len(fd) == 0 or not ctx.ok("feeders", "vn_kv", "rated_i_ka"):
        return
    declared = nodes["feeder_id"].astype(str).to_numpy(dtype=object)
    own = pd.Index(declared).isin(pd.Index(fd["id"]))
    feeder_of = np.where(own, declared, node_feeder)
    p = nodes["p_mw"].to_numpy(dtype=float)
    sums = pd.Series(p).groupby(feeder_of).sum()
    node_sum = fd["id"].map(sums).fillna(0.0).to_numpy(dtype=float)
    peak = fd["peak_mw"].to_numpy(dtype=float)
    measured = ~np.isnan(peak)
    load = np.where(measured, peak, node_sum)
    pf = fd["power_factor"].to_numpy(dtype=float)
    vn = fd["vn_kv"].to_numpy(dtype=float)
    ir = fd["rated_i_ka"].to_numpy(dtype=float)
    cap = math.sqrt(3) * vn * ir * pf  # kV x kA = MVA; x pf = MW
    ratio = ctx.policy.param("validation_feeder_overload_ratio")
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(cap) & (cap > 0) & (load > ratio * cap)
    rows = np.flatnonzero(bad)
    ctx.emit("feeder_overload", "feeders", rows, (
        f"load {load[i]:.3g} MW ({'peak_mw' if measured[i] else 'sum of node p_mw'}) exceeds the "
        f"feeder rating {cap[i]:.3g} MW = sqrt(3) x {_num(vn[i])} kV x {_num(ir[i])} kA x pf "
        f"{_num(pf[i])}" + (f" x {ratio:g}" if ratio != 1 else "")
        + "; correct peak_mw / node loads or rated_i_ka" for i in rows))


def _check_geometry(ctx: _Ctx) -> None:
    for layer, (types, type_name) in _GEOMETRY_TYPES.items():
        t = ctx.t[layer]
        if len(t) == 0 or "geometry" not in t.columns:
            continue
        geoms = np.asarray(t.geometry.values)
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if layer in _GEOMETRY_REQUIRED and layer not in ctx.crs_layers:
            rows = np.flatnonzero(missing)
            if ctx.dropped_geometry:  # dropped while reading: reported there with the reason
                eid = ctx.eid.get(layer)
                if eid is not None:
                    rows = rows[[(layer, str(eid[i])) not in ctx.dropped_geometry for i in rows]] \
                        if len(rows) else rows
            ctx.emit("missing_geometry", layer, rows, (
                f"no geometry; every element of '{layer}' needs a {type_name} in the network CRS"
                for _ in rows))
        tid = shapely.get_type_id(geoms)
        rows = np.flatnonzero(~missing & ~np.isin(tid, types))
        ctx.emit("wrong_geometry_type", layer, rows, (
            f"geometry is a {geoms[i].geom_type}; '{layer}' holds "
            f"{type_name} geometries" for i in rows))
        if layer == "obstacles":
            rows = np.flatnonzero(~missing & np.isin(tid, types) & ~shapely.is_valid(geoms))
            ctx.emit("invalid_geometry", layer, rows, (
                f"polygon is not valid ({shapely.is_valid_reason(geoms[i])}); crossings may be "
                "missed" for i in rows), "warning")

    seg, nodes = ctx.t["segments"], ctx.t["nodes"]
    if len(seg) == 0:
        return
    geoms = np.asarray(seg.geometry.values)
    line = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & (shapely.get_type_id(geoms) == 1)
    if ctx.ok("segments", "length_km"):
        length_km = seg["length_km"].to_numpy(dtype=float)
        line_geoms = np.where(line, geoms, np.array(None, dtype=object))  # None: length NaN
        geom_km = np.where(line, shapely.length(line_geoms), np.nan) / 1000.0
        rel = ctx.policy.param("validation_length_rel_tolerance")
        abs_km = ctx.policy.param("validation_length_abs_tolerance_m") / 1000.0
        with np.errstate(invalid="ignore"):
            diff = np.abs(geom_km - length_km)
            bad = line & (length_km > 0) & (diff > np.maximum(rel * length_km, abs_km))
        schematic = str(ctx.net.meta.get("geometry_source", "")).lower() == "schematic"
        # Geometry marked approximate (a sketch; length_km is authoritative) only warns.
        approx = seg["geometry_approximate"].to_numpy(dtype=bool) if not schematic else bad
        for sev, sel in (("error", bad & ~approx), ("warning", bad & approx)):
            rows = np.flatnonzero(sel)
            ctx.emit("length_mismatch", "segments", rows, (
                f"geometry is {geom_km[i]:.4g} km long but length_km = {length_km[i]:.4g} "
                f"({100 * (geom_km[i] / length_km[i] - 1):+.0f} %); they may differ by at most "
                f"{100 * rel:g} % (or {1000 * abs_km:g} m)"
                + ("" if sev == "error" else "; the drawing is marked approximate, length_km "
                   "is used") for i in rows), sev)
    if len(nodes) and ctx.ok("segments", "from_node", "to_node") and ctx.ok("nodes", "id"):
        index = ctx.ids("nodes")
        npts = np.asarray(nodes.geometry.values)[ctx.id_rows("nodes")]
        pt_ok = ~(shapely.is_missing(npts) | shapely.is_empty(npts)) & \
            (shapely.get_type_id(npts) == 0)
        coords = np.full((len(index), 2), np.nan)
        coords[pt_ok] = shapely.get_coordinates(npts[pt_ok])
        fi, ti = ctx.seg_ends()
        has = line & (fi >= 0) & (ti >= 0)
        if not has.any():
            return
        g = geoms[has]
        # First and last vertex of each line from one flat coordinate array.
        flat = shapely.get_coordinates(g)
        stop = np.cumsum(shapely.get_num_coordinates(g))
        start, end = flat[stop - shapely.get_num_coordinates(g)], flat[stop - 1]
        a, b = coords[fi[has]], coords[ti[has]]
        fwd = np.maximum(np.hypot(*(start - a).T), np.hypot(*(end - b).T))
        rev = np.maximum(np.hypot(*(start - b).T), np.hypot(*(end - a).T))
        tol = ctx.policy.param("validation_endpoint_tolerance_m")
        with np.errstate(invalid="ignore"):
            off = np.fmin(fwd, rev)
            bad = off > tol
        rows = np.flatnonzero(has)[bad]
        ctx.emit("geometry_endpoint_mismatch", "segments", rows, (
            f"geometry ends lie {d:.1f} m from nodes {seg['from_node'].iat[i]!r}/"
            f"{seg['to_node'].iat[i]!r}; they should meet within {tol:g} m"
            for i, d in zip(rows, off[bad], strict=True)), "warning")


def _check_finite(ctx: _Ctx) -> None:
    """inf / -inf in any number column: never a valid rating, length or load."""
    for layer, spec in LAYERS.items():
        t = ctx.t[layer]
        if len(t) == 0:
            continue
        for c in spec["columns"]:
            if c.dtype != "float" or c.name not in t.columns or not ctx.ok(layer, c.name):
                continue
            v = t[c.name].to_numpy(dtype=float)
            rows = np.flatnonzero(np.isinf(v))
            ctx.emit("non_finite_value", layer, rows, (
                f"{c.name} = {_num(v[i])}; give a finite number"
                + (f" {_RULE_TEXT[r]}" if (r := _RULE_OF.get((layer, c.name))) else "")
                for i in rows))


_RULE_OF = {(ly, c): r for ly, c, r in _RANGES if r != "any"}


def _check_coordinates(ctx: _Ctx) -> None:
    """Coordinates that cannot be real in the network's metric CRS, and layers that lie far
    from the grid (a layer whose declared CRS was wrong but still within some valid area).

    The network's CRS area of use (pyproj) widened by ``validation_crs_area_margin_deg`` bounds
    every coordinate; the whole-layer box is checked first, elements only when it fails.
    """
    crs = ctx.net.crs
    margin = ctx.policy.param("validation_crs_area_margin_deg")
    boxes: dict[str, np.ndarray] = {}
    for layer in _GEOMETRY_TYPES:
        t = ctx.t[layer]
        if len(t) == 0 or "geometry" not in t.columns or layer in ctx.crs_layers:
            continue
        geoms = np.asarray(t.geometry.values, dtype=object)
        present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if not present.any():
            continue
        with np.errstate(all="ignore"):
            b = shapely.bounds(geoms[present])
            total = np.array([np.min(b[:, 0]), np.min(b[:, 1]), np.max(b[:, 2]),
                              np.max(b[:, 3])])
        corners = np.array([[total[0], total[1], total[0], total[1]],
                            [total[2], total[3], total[2], total[3]],
                            [total[0], total[3], total[0], total[3]],
                            [total[2], total[1], total[2], total[1]]])
        if not outside_crs_area(crs, corners, margin).any():
            boxes[layer] = total
            continue
        bad_p = outside_crs_area(crs, b, margin)
        rows = np.flatnonzero(present)[bad_p]
        if bad_p.mean() > 0.5:
            # Most of the layer: the network's metric CRS is not meant for this area (a
            # metric_crs copied from another network), not the elements.
            area = crs.area_of_use
            ctx.crs_layers.add(layer)
            ctx.rep.add("crs_mismatch", layer, "*",
                        f"{len(rows)} of {int(present.sum())} geometries of '{layer}' lie outside "
                        f"the area of the network's metric CRS {crs.to_string()} ({crs.name}"
                        + (f"; area of use: {area.name}" if area is not None else "") + "); "
                        "give network_info metric_crs a projected CRS of the network's area (or "
                        "leave it out to have one chosen)")
            continue
        coords = [shapely.get_coordinates(geoms[i]) for i in rows[:MAX_LISTED * 10]]
        first = [f"({c[0, 0]:.6g}, {c[0, 1]:.6g})" if len(c) else "()" for c in coords]
        first += ["..."] * (len(rows) - len(first))
        ctx.emit("bad_coordinates", layer, rows, (
            f"coordinates {f} are not finite or lie outside the area where {crs.to_string()} "
            f"({crs.name}) is defined (margin {margin:g} deg); give real coordinates"
            for f in first))
        ok = b[~bad_p]
        if len(ok):
            boxes[layer] = np.array([ok[:, 0].min(), ok[:, 1].min(), ok[:, 2].max(),
                                     ok[:, 3].max()])
    ref = boxes.get("nodes", boxes.get("substations"))
    if ref is None:
        return
    lim_m = ctx.policy.param("validation_layer_offset_km") * 1000.0
    for layer, b in boxes.items():
        if b is ref:
            continue
        dx = max(ref[0] - b[2], b[0] - ref[2], 0.0)
        dy = max(ref[1] - b[3], b[1] - ref[3], 0.0)
        gap = float(np.hypot(dx, dy))
        if gap > lim_m:
            ctx.crs_layers.add(layer)
            ctx.rep.add("crs_mismatch", layer, "*",
                        f"layer '{layer}' lies {gap / 1000:,.0f} km from the grid's nodes "
                        f"(its extent x {b[0]:.6g}..{b[2]:.6g}, y {b[1]:.6g}..{b[3]:.6g}; nodes "
                        f"x {ref[0]:.6g}..{ref[2]:.6g}, y {ref[1]:.6g}..{ref[3]:.6g} in "
                        f"{crs.to_string()}); its declared CRS does not match its coordinates "
                        f"(more than {lim_m / 1000:g} km apart). Declare the CRS they are in")


def _check_supply_areas(ctx: _Ctx) -> None:
    """Supply-area classes: known to the policy, in polygons and in network_info."""
    try:
        table = ctx.policy.table("supply_area_classes")
    except UnknownTypeError:
        return
    classes = [str(c) for c in table["class"]]
    default = str(ctx.net.meta.get("supply_area_class", "") or "").strip()
    if default and default not in classes:
        ctx.rep.add("unknown_supply_area_class", "network_info", "supply_area_class",
                    f"supply_area_class {default!r} is not a class of the policy's "
                    f"supply_area_classes table; valid: {', '.join(classes)}")
    sa = ctx.t["supply_areas"]
    if len(sa) == 0 or not ctx.ok("supply_areas", "class"):
        return
    cls_ = sa["class"].astype(str).str.strip()
    rows = np.flatnonzero(~cls_.isin(classes).to_numpy())
    ctx.emit("unknown_supply_area_class", "supply_areas", rows, (
        f"class {cls_.iat[i]!r} is not valid; valid classes: {', '.join(classes)}"
        for i in rows))
    geoms = np.asarray(sa.geometry.values, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & \
        np.isin(shapely.get_type_id(geoms), (3, 6))
    valid = ok & shapely.is_valid(geoms)
    rows = np.flatnonzero(ok & ~valid)
    ctx.emit("invalid_geometry", "supply_areas", rows, (
        f"polygon is not valid ({shapely.is_valid_reason(geoms[i])}); points near the fault "
        "may get the default class" for i in rows), "warning")
    idx = np.flatnonzero(valid)
    if len(idx) > 1:
        tree = shapely.STRtree(geoms[idx])
        a, b = tree.query(geoms[idx], predicate="overlaps")
        keep = a < b
        a, b = idx[a[keep]], idx[b[keep]]
        differ = cls_.to_numpy()[a] != cls_.to_numpy()[b]
        eid = ctx.eid["supply_areas"]
        for i, j in zip(a[differ], b[differ], strict=True):
            ctx.rep.add("supply_areas_overlap", "supply_areas", eid[i],
                        f"overlaps area {eid[j]!r} of another class ({cls_.iat[i]} / "
                        f"{cls_.iat[j]}); where they overlap the smaller area's class applies",
                        "warning")


def _check_plannable(ctx: _Ctx) -> None:
    """Something to plan on: at least one feeder energised from a busbar.

    A feeder is energised when a segment (or closed switch) of the operating topology leaves a
    busbar node. Without one there is no connection point but the busbars themselves, and the
    network is almost surely broken (no segments, all out of service, all switches open).
    """
    t = ctx.t
    nodes, seg, sw = t["nodes"], t["segments"], t["switches"]
    if not (ctx.ok("nodes", "id", "kind") and ctx.ok("segments", "from_node", "to_node")
            and ctx.ok("switches", "node_a", "node_b")):
        return
    n_grid = len(nodes) + len(seg) + len(t["substations"])
    if n_grid and len(nodes):
        is_bus = (nodes["kind"] == "busbar").to_numpy()[ctx.id_rows("nodes")]
        is_bus = np.append(is_bus, False)  # position -1 (unknown node) is never a busbar
        su, sv = ctx.seg_ends()
        sw_seg = sw["segment_id"].astype(str)
        open_segs = pd.Index(sw_seg[~sw["closed"].to_numpy(dtype=bool)
                                    & (sw_seg != "").to_numpy()])
        cut = seg["id"].isin(open_segs).to_numpy()
        in_service = seg["in_service"].to_numpy(dtype=bool)
        known = (su >= 0) & (sv >= 0)
        leaves = known & (is_bus[su] ^ is_bus[sv])
        if (leaves & in_service & ~cut).any():
            return
        wu, wv = ctx.lookup("nodes", sw["node_a"]), ctx.lookup("nodes", sw["node_b"])
        bare = (sw["closed"].to_numpy(dtype=bool) & (sw_seg == "").to_numpy()
                & (wu >= 0) & (wv >= 0))
        if (bare & (is_bus[wu] ^ is_bus[wv])).any():
            return
        if len(seg) == 0:
            why = "the network has no segments"
        elif not is_bus.any():
            why = "no node is a busbar (kind 'busbar'), so nothing is fed"
        elif not leaves.any():
            why = "no segment leaves a busbar node"
        elif not (leaves & in_service).any():
            why = f"all {int(leaves.sum())} segment(s) leaving a busbar are out of service"
        else:
            why = (f"all {int(leaves.sum())} segment(s) leaving a busbar are cut by open "
                   "switches")
    elif len(t["roads"]):
        why = "a roads-only network (no grid elements): fine for routing studies, not for plans"
    else:
        why = "the network is empty"
    ctx.rep.add("nothing_to_plan", "feeders", "*",
                f"no feeder is energised: {why}; a plan needs at least one feeder fed from a "
                "busbar through in-service segments and closed switches")


def _check_plausible(ctx: _Ctx) -> None:
    """Finite but absurd numbers (a reactance of 1e30 ohm/km): the policy's sanity bounds."""
    try:
        table = ctx.policy.table("plausible_ranges")
    except UnknownTypeError:
        return
    for layer, col, mx, unit in zip(table["layer"], table["column"], table["max_value"],
                                    table["unit"], strict=True):
        t = ctx.t.get(str(layer))
        if t is None or len(t) == 0 or col not in t.columns or not ctx.ok(str(layer), str(col)):
            continue
        v = pd.to_numeric(t[col], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            rows = np.flatnonzero(np.isfinite(v) & (np.abs(v) > float(mx)))
        ctx.emit("implausible_value", str(layer), rows, (
            f"{col} = {_num(v[i])} {unit} is beyond the plausible {float(mx):g} {unit} "
            "(policy table plausible_ranges); check the unit or the value" for i in rows))
