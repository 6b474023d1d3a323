"""pandapower → :class:`~grid_models.network.Network`.

:func:`read_pandapower_json` reads a pandapower JSON file; :func:`network_from_pandapower`
turns a pandapower net (SimBench, ``pandapower.networks``, a utility's export) into the element
tables of :mod:`grid_models.schema`. Only the medium-voltage (MV) part is imported: the HV side
becomes substations, the LV side is folded into the MV nodes that feed it.

Conventions and assumptions (a pandapower net lacks several things a supply scheme needs)
---------------------------------------------------------------------------------------------
``source_ref``
    ``"<pandapower table>:<index>[,<index>...]"``: ``"line:7"``, ``"switch:3"``, ``"bus:12"``;
    several indices where pandapower elements were merged into one of ours (``"bus:2,4,6"``:
    buses joined by closed bus-bus switches, the representative first; ``"trafo:0,1"``: the
    transformers of one substation). Loads are folded into nodes; their indices are kept in the
    extra nodes column ``load_refs`` (``"load:3,9"``). A tie made from a line that closed a mesh
    has ``source_ref == "line:<index>"``. Ids embed the pandapower index too (``N12``, ``L7``,
    ``SW3``, ``F7``, ``BS2``, ``S0``) so that they are stable from one import to the next.
Voltage levels
    The MV level(s) are the LV-side voltages of the in-service transformers whose LV side is
    at least :data:`LV_MAX_KV` and whose LV voltage is not the HV side of another such
    transformer (so a 110/35 + 35/10 kV chain imports its 10 kV part). Buses above the MV level
    are HV, buses below :data:`LV_MAX_KV` are LV, anything else is "other"; all but MV are
    dropped and counted in ``meta``. Without such transformers, external grids at buses of at
    least :data:`LV_MAX_KV` define the MV level.
Substations and bus sections
    A substation is the set of HV/MV transformers whose HV buses are joined by closed bus-bus
    switches (SimBench: two 110 kV buses with a coupler); ``n_transformers`` counts them (times
    ``parallel``), ``transformer_mva`` is their mean ``sn_mva`` (so that ``n_transformers ×
    transformer_mva`` is the installed capacity), ``vk_percent`` likewise their mean,
    ``peak_mw`` is left NaN (no measurement).
    Each transformer LV bus is a bus section with one ``busbar`` node. An external grid at an MV
    bus is a source too: its substation has ``n_transformers == 1`` and ``transformer_mva`` NaN
    (unknown; validation asks for it) and ``meta`` says so. ``bays_used`` is the number of
    imported lines at the busbar, ``bays_total = bays_used + SPARE_BAYS``: pandapower has no
    bay data, the two spare bays are an assumption. ``vm_pu`` is ``res_bus.vm_pu`` of the
    busbar from one ``pandapower.runpp`` on a copy of the net (sgens included, as given); 1.0
    when the power flow fails (``meta["power_flow"]`` says which).
Bus-bus switches
    Closed bus-bus switches are zero impedance: their buses are *merged* into one node (an
    auxiliary bus and the busbars it feeds become one bus section, as in SimBench urban).
    The exception is a closed switch between two buses that each already hold a source
    (transformer LV bus or MV external grid): that is a bus coupler between bus sections and
    is kept as a ``switches`` row (kind ``breaker`` for a pandapower ``CB``, else
    ``disconnector``), ``closed=True``, ``segment_id == ""``, between the two busbar nodes.
    Open bus-bus switches become ``switches`` rows too: kind ``tie`` where they join two
    feeders (or a feeder and a busbar), else by type. A closed switch's ``z_ohm`` is ignored.
Lines, segments and line switches
    One segment per MV line; ``length_km`` is pandapower's, unchanged; ``r``/``x`` per km are
    divided by ``parallel``, ``c_nf_per_km`` and ``max_i_ka`` multiplied by it, and
    ``max_i_ka`` also by the derating factor ``df`` (pandapower's thermal limit is
    ``max_i_ka × df × parallel``). ``construction`` is ``cable`` for ``type == "cs"``,
    ``overhead`` for ``"ol"``; without a type, a std_type containing one of
    :data:`CABLE_STD_TYPE_TOKENS` is a cable. Every line switch becomes a ``switches`` row with
    ``segment_id`` (``node_a`` is the node at the switch): an open one on an in-service line is
    a normally-open ``tie``, the others go by pandapower type: ``CB`` breaker, ``LBS``/``LS``
    sectionalizer, ``DS`` disconnector (sectionalizer when untyped). Transformer switches are
    not imported; an open one takes its transformer out.
Feeders
    The operating topology is walked breadth-first from all busbars at once (in-service lines
    not cut by an open switch, merged buses). Each line that leaves a busbar and is part of the
    operating topology starts a feeder (id ``F<line>``); every MV node and line reached through
    it belongs to it. Tree segments are oriented away from the busbar (``from_node`` is the
    upstream end). A line cut by an open switch is a tie segment with ``feeder_id == ""`` (as
    the tests' hand-made network), so a line leaving a busbar but open at its far end is a used
    bay, not a feeder. An in-service line that would close a loop in the operating topology
    (mesh) is turned into a tie: its segment gets an extra open ``tie`` switch row (id
    ``TIE-L<line>``) and ``meta["mesh_ties"]`` lists them. Out-of-service lines are segments
    with ``in_service == False`` and no feeder. MV buses not reached from any busbar (out of
    service or cut off) are dropped with their lines and loads and counted in ``meta``.
    ``rated_i_ka`` is the first line's thermal limit (as above), ``conductor_type`` its
    std_type, ``peak_mw`` the sum of the feeder's load ``p_mw × scaling``, ``n_customers`` its
    number of loads. ``connection_mode``: a feeder with a tie to another feeder or a busbar is
    ``cable_single_ring`` when cable makes up at least half of its length, else
    ``overhead_multi_<n>tie`` (n = number of such ties, capped at 3); a feeder without ties is
    ``overhead_radial`` (the schema has no radial-cable mode).
Short-circuit data
    A substation's ``s_sc_max_mva``, ``s_sc_min_mva``, ``rx_max``, ``rx_min`` come from the
    in-service external grids at its HV busbar (group): short-circuit powers of parallel
    external grids add, R/X is the strongest one's. ``vk_percent`` and ``vkr_percent`` are
    the transformers' means. Where the net gives none they stay NaN and the policy's
    ``short_circuit_sources`` defaults apply (``meta["short_circuit_sources"]`` says which).
Stations
    pandapower's MV/LV stations carry no bay data. With ``station_bays=N``
    (``--assume-station-bays N``) every ``dist_transformer`` node with no overhead line
    attached (a cable-network station) becomes kind ``station`` with ``spare_bays = N`` and
    ``bays_total`` = its lines + N: a connection point, the only place a cable feeder is
    tapped. Nodes on overhead lines stay ``dist_transformer`` (their lines are tapped). A
    ``spare_bays`` column on ``net.bus`` is honoured always (a station, or ``rmu`` on a bus
    without load). ``meta["stations_assumption"]`` says what was assumed for how many.
Nodes and loads
    Every fed MV bus (group) that is not a busbar is a node: ``dist_transformer`` when loads or
    an MV/LV transformer sit on it, else ``junction``. In-service loads add ``p_mw × scaling``
    and ``q_mvar × scaling``; loads on LV buses are added to the MV bus of the MV/LV
    transformer feeding their LV part. ``rated_kva`` is the sum of MV/LV transformer ratings at
    the node (0 where the net models the LV side as a load). Static generators, generators,
    storage and the like are not imported; ``meta`` counts them.
Geometry and CRS
    Coordinates come from ``bus.geo``/``line.geo`` (GeoJSON, pandapower ≥ 3) or the older
    ``bus_geodata``/``line_geodata``; a line without geodata is drawn straight between its
    buses, and a line's drawn ends are snapped to its nodes. The coordinates are in ``crs``
    when given; otherwise they are taken as EPSG:4326 when they all lie in the lon/lat range
    and the median ratio of drawn to electrical length is within
    :data:`PLAUSIBLE_GEOGRAPHIC_RATIO`. Else they are abstract: they are scaled so that the
    median drawn line length equals the median ``length_km`` and centred on
    :data:`NOMINAL_LON_LAT` in its CGCS2000 Gauss-Krüger zone (EPSG:4545). Buses without
    coordinates are placed at the mean of their neighbours; a net without any geodata gets a
    radial tree layout (feeders fan out from their substation, nodes at their electrical
    distance from the busbar) treated the same way.
    ``meta["geometry_source"]`` is ``"surveyed"`` only when coordinates are located (``crs``
    given or lon/lat), the median drawn/electrical length ratio lies within
    :data:`SURVEYED_RATIO` and no more than :data:`SCHEMATIC_SHARE` of the lines disagree with
    their ``length_km`` beyond validation's tolerance (policy
    ``validation_length_rel_tolerance`` / ``_abs_tolerance_m``); those few lines get
    ``geometry_approximate = True`` (validation warns per line, ``length_km`` is used) and
    ``meta["geometry_note"]`` lists them. Otherwise ``"schematic"`` (SimBench: median ratios
    0.15–0.7). pandapower's mv_oberrhein (median 1.0, 17 of 181 straight lines off by more
    than 20 %) stays surveyed with 17 approximate lines.

The numbers above are import heuristics, not engineering limits, so they live here as named
constants rather than in policy data.
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.sparse import csgraph

from .crs import WGS84, metric_crs_for, parse_crs, transformer
from .errors import InputError, NetworkFormatError
from .network import Network
from .policy import load_policy

if TYPE_CHECKING:  # pandapower is an optional extra ("validation")
    from pandapower.auxiliary import pandapowerNet

#: Buses below this nominal voltage are low voltage (dropped; their loads are folded up).
LV_MAX_KV = 1.0
#: Spare outgoing bays assumed on every bus section (pandapower has no bay data); a value of
#: the default policy profile (parameters.csv: import_assumed_spare_bays).
SPARE_BAYS = int(load_policy("default").param("import_assumed_spare_bays"))
#: Median drawn/electrical length ratio within which coordinates count as surveyed.
SURVEYED_RATIO = (0.8, 1.25)
#: Share of lines drawn off their length_km beyond which located coordinates are schematic;
#: below it the grid stays surveyed and those lines are marked approximate.
SCHEMATIC_SHARE = 0.5
#: Median ratio within which lon/lat-range coordinates are believed to be geographic.
PLAUSIBLE_GEOGRAPHIC_RATIO = (0.1, 10.0)
#: Where abstract (schematic) coordinates are placed: lon, lat in degrees.
NOMINAL_LON_LAT = (106.82, 39.67)
#: Substrings of std_type names that mark a cable when ``line.type`` is missing.
CABLE_STD_TYPE_TOKENS = ("NA2XS", "N2XS", "NAYY", "NYY", "YJV", "YJLV", "CABLE", "XLPE", "KABEL")

_SWITCH_KIND = {"CB": "breaker", "DS": "disconnector", "LBS": "sectionalizer",
                "LS": "sectionalizer"}
_IGNORED_TABLES = ("gen", "storage", "shunt", "trafo3w", "impedance", "ward", "xward",
                   "dcline", "motor", "asymmetric_load", "asymmetric_sgen", "svc", "tcsc",
                   "ssc", "vsc")


# -- public API -------------------------------------------------------------------------------

def read_pandapower_json(path: str | os.PathLike) -> pandapowerNet:
    """Read a pandapower net saved with ``pandapower.to_json``.

    Parameters
    ----------
    path : path-like
        A ``.json`` file written by pandapower (SimBench nets cached with ``to_json`` too).

    Returns
    -------
    pandapower.auxiliary.pandapowerNet

    Raises
    ------
    NetworkFormatError
        The file is missing, is not JSON (truncated, garbled) or is JSON but not a pandapower
        net; the message names the file and what was found.
    """
    p = Path(path)
    if not p.is_file():
        raise NetworkFormatError(f"{p}: no such file; give a pandapower JSON file written by "
                                 "pandapower.to_json", field="path")
    import pandapower as pp

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = pp.from_json(str(p))
    except Exception as exc:  # pandapower raises UserWarning, AttributeError, ... on bad files
        raise NetworkFormatError(_diagnose_json(p, exc), field="path") from exc
    if not isinstance(net, pp.pandapowerNet) or not isinstance(net.get("bus"), pd.DataFrame):
        raise NetworkFormatError(
            f"{p}: the JSON holds a {type(net).__name__}, not a pandapower network; "
            "give a file written by pandapower.to_json(net, path)", field="path")
    return net


def network_from_pandapower(net: pandapowerNet, crs: str | None = None,
                            name: str | None = None, *, power_flow: bool = True,
                            station_bays: int | None = None) -> Network:
    """Import the MV part of a pandapower net as a :class:`Network`.

    See the module docstring for every convention and assumption.

    Parameters
    ----------
    net : pandapowerNet
        The net; it is not modified (the power flow runs on a copy).
    crs : str, optional
        CRS of the net's coordinates (e.g. ``"EPSG:4326"``, a projected code). When omitted,
        lon/lat-range coordinates are taken as EPSG:4326 and anything else as schematic.
    name : str, optional
        Network name (default: ``net.name``, else ``"pandapower"``).
    power_flow : bool
        Run ``pandapower.runpp`` once for the busbar voltages (default); ``False`` sets
        ``vm_pu = 1.0``.
    station_bays : int, optional
        Declare every cable-network MV/LV station a switchable connection point with this
        many spare bays (node kind ``station``; see "Stations" in the module docstring).
        ``None`` (default): none assumed; a ``spare_bays`` column on ``net.bus`` is honoured
        either way.

    Returns
    -------
    Network
        In a metric CRS; ``meta`` holds ``name``, ``source == "pandapower"``,
        ``geometry_source`` and notes on everything dropped or assumed.

    Raises
    ------
    NetworkFormatError
        ``net`` is not a pandapower net, refers to missing buses or lines, or has no HV/MV
        transformer nor external grid feeding an MV part.
    CRSError
        ``crs`` is not a usable CRS.
    """
    _check_net(net)
    out_name = name or str(getattr(net, "name", "") or "") or "pandapower"
    meta: dict[str, str] = {"name": out_name, "source": "pandapower"}
    try:
        import pandapower as pp

        meta["pandapower_version"] = str(pp.__version__)
    except ImportError:  # a net can exist (unpickled) without the package importable
        pass
    src_crs = parse_crs(crs, "crs") if crs is not None else None
    topo = _topology(net, meta)
    vm = _busbar_voltages(net, topo, meta) if power_flow else None
    if not power_flow:
        meta["power_flow"] = "not run (power_flow=False); vm_pu = 1.0"
    if station_bays is not None and (int(station_bays) != station_bays or station_bays < 0):
        raise InputError(f"station_bays: {station_bays!r} is not a number of bays; give a whole "
                         "number >= 0", field="station_bays")
    tables = _tables(net, topo, vm, station_bays, meta)
    geo = _geometry(net, topo, tables, src_crs, meta)
    layers = _assemble(tables, geo)
    _notes(net, topo, meta)
    return Network.from_layers(layers, meta=meta)


# -- reading ----------------------------------------------------------------------------------

def _diagnose_json(p: Path, exc: Exception) -> str:
    """Say why ``p`` is not a pandapower net: not JSON, or JSON of another kind."""
    try:
        with open(p, encoding="utf-8") as fh:
            doc = json.load(fh)
    except UnicodeDecodeError:
        return f"{p}: not a text file, so not a pandapower JSON net"
    except json.JSONDecodeError as jexc:
        return (f"{p}: not valid JSON ({jexc.msg} at line {jexc.lineno}, column {jexc.colno}); "
                "the file may be truncated or garbled; give a file written by pandapower.to_json")
    if not (isinstance(doc, dict) and doc.get("_class") == "pandapowerNet"):
        what = f"an object with keys {sorted(doc)[:6]}" if isinstance(doc, dict) else \
            f"a JSON {type(doc).__name__}"
        return (f"{p}: valid JSON but not a pandapower network ({what}; a pandapower file has "
                "\"_class\": \"pandapowerNet\"); give a file written by pandapower.to_json")
    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return f"{p}: a pandapower network that pandapower cannot load ({first})"


def _check_net(net: Any) -> None:
    need = ("bus", "line", "trafo", "switch", "load", "ext_grid")
    if not hasattr(net, "keys") or not all(isinstance(_get(net, k), pd.DataFrame) for k in need):
        raise NetworkFormatError(
            f"expected a pandapower net (tables {', '.join(need)}); got {type(net).__name__}",
            field="net")
    if len(net["bus"]) == 0:
        raise NetworkFormatError("the pandapower net has no buses", field="bus")


def _get(net: Any, key: str) -> Any:
    try:
        return net[key]
    except (KeyError, TypeError):
        return None


# -- topology ---------------------------------------------------------------------------------

@dataclass
class _Topo:
    """Everything the topology pass found, by bus position / line position."""

    bus_idx: np.ndarray  # pandapower bus index per position
    vn: np.ndarray
    gid: np.ndarray  # representative bus position of each bus's merged group
    is_mv: np.ndarray
    level_counts: dict[str, int]
    # MV groups (keys are representative bus positions)
    keys: np.ndarray  # fed MV group keys, node order
    kpos: pd.Index  # key -> node row
    is_busbar: np.ndarray  # per node row
    feeder_line: np.ndarray  # per node row: line position of its feeder (-1 busbar)
    members: pd.Series  # node row -> sorted member bus positions (rep first)
    # lines (positions into net.line)
    seg_lines: np.ndarray  # lines that become segments, segment order
    seg_from: np.ndarray  # node rows, oriented
    seg_to: np.ndarray
    seg_kind: np.ndarray  # "tree", "mesh", "tie", "out"
    line_from_pos: np.ndarray  # bus positions per line
    line_to_pos: np.ndarray
    feeders: np.ndarray  # line positions that start a feeder
    feeder_busbar: np.ndarray  # node row of each feeder's busbar
    # sources
    section_trafos: dict[int, list[int]]  # busbar node row -> trafo positions
    section_extgrids: dict[int, list[int]]  # busbar node row -> ext_grid positions
    substation_of_trafo: np.ndarray  # hv group key per primary trafo position (-1 else)
    primary: np.ndarray  # bool per trafo position
    couplers: list[int]  # switch positions of closed couplers between sections
    lv_target: np.ndarray  # per bus position: MV bus position feeding it (-1 none)
    mvlv_kva: np.ndarray  # per bus position: MV/LV transformer kVA at that MV bus
    dropped: dict[str, int | float]  # counts, and the MW of loads not imported


def _positions(index: pd.Index, values: pd.Series, what: str, col: str) -> np.ndarray:
    pos = index.get_indexer(values.to_numpy())
    bad = np.flatnonzero(pos < 0)
    if len(bad):
        i = bad[0]
        raise NetworkFormatError(
            f"{what} {values.index[i]}: {col} {values.iat[i]!r} does not exist; every "
            f"{what} must refer to an existing one", field=f"{what}.{col}")
    return pos


def _bool(t: pd.DataFrame, col: str, default: bool = True) -> np.ndarray:
    if col not in t.columns:
        return np.full(len(t), default)
    return t[col].fillna(default).astype(bool).to_numpy()


def _num_col(t: pd.DataFrame, col: str, default: float) -> np.ndarray:
    if col not in t.columns:
        return np.full(len(t), default, dtype=float)
    return pd.to_numeric(t[col], errors="coerce").fillna(default).to_numpy(dtype=float)


def _topology(net: Any, meta: dict[str, str]) -> _Topo:
    bus, line, trafo, sw, eg = net["bus"], net["line"], net["trafo"], net["switch"], net["ext_grid"]
    bidx = pd.Index(bus.index)
    nb = len(bus)
    vn = pd.to_numeric(bus["vn_kv"], errors="coerce").to_numpy(dtype=float)
    b_ins = _bool(bus, "in_service")
    vr = np.round(vn, 3)

    # Every switch must name existing buses (bus-bus switches: both ends).
    _positions(bidx, sw["bus"], "switch", "bus")
    _positions(bidx, sw.loc[sw["et"] == "b", "element"], "switch", "element")
    _positions(bidx, net["load"]["bus"], "load", "bus")

    # Transformers in operation (an open trafo switch takes the transformer out).
    t_hv = _positions(bidx, trafo["hv_bus"], "trafo", "hv_bus")
    t_lv = _positions(bidx, trafo["lv_bus"], "trafo", "lv_bus")
    t_sw = sw[(sw["et"] == "t") & ~sw["closed"].astype(bool)]
    t_open = trafo.index.isin(t_sw["element"])
    t_ok = _bool(trafo, "in_service") & b_ins[t_hv] & b_ins[t_lv] & ~t_open
    cand = t_ok & (vn[t_lv] >= LV_MAX_KV) & (vn[t_hv] > vn[t_lv])
    levels = np.unique(vr[t_lv[cand]])
    mv_levels = levels[~np.isin(levels, vr[t_hv[cand]])] if len(levels) else levels
    if len(levels) and not len(mv_levels):
        mv_levels = levels[:1]
    eg_bus = _positions(bidx, eg["bus"], "ext_grid", "bus")
    eg_ok = _bool(eg, "in_service") & b_ins[eg_bus]
    if not len(mv_levels):
        mv_levels = np.unique(vr[eg_bus[eg_ok & (vn[eg_bus] >= LV_MAX_KV)]])
    if not len(mv_levels):
        raise NetworkFormatError(
            "no in-service HV/MV transformer (LV side >= 1 kV) and no external grid at a bus of "
            ">= 1 kV: nothing feeds a medium-voltage part; a net needs a source for its MV "
            "feeders", field="trafo")
    is_mv = np.isin(vr, mv_levels)
    top = mv_levels.max()
    level_counts = {"hv": int((vn > top).sum()), "lv": int((vn < LV_MAX_KV).sum())}
    level_counts["other"] = int(nb - is_mv.sum() - level_counts["hv"] - level_counts["lv"])
    meta["mv_levels_kv"] = ",".join(f"{v:g}" for v in mv_levels)

    primary = cand & is_mv[t_lv]
    eg_src = eg_ok & is_mv[eg_bus]
    src = np.zeros(nb, bool)
    src[t_lv[primary]] = True
    src[eg_bus[eg_src]] = True

    gid, couplers = _merge_closed_bus_switches(bidx, sw, vn, b_ins, src)

    # Lines and their switches.
    lf = _positions(bidx, line["from_bus"], "line", "from_bus")
    lt = _positions(bidx, line["to_bus"], "line", "to_bus")
    nl = len(line)
    l_ins = _bool(line, "in_service") & b_ins[lf] & b_ins[lt]
    mv_line = is_mv[lf] & is_mv[lt]
    open_any = np.zeros(nl, bool)
    ls = sw[sw["et"] == "l"]
    if len(ls):
        lpos = _positions(pd.Index(line.index), ls["element"], "switch", "element")
        sbus = _positions(bidx, ls["bus"], "switch", "bus")
        wrong = np.flatnonzero((sbus != lf[lpos]) & (sbus != lt[lpos]))
        if len(wrong):
            i = wrong[0]
            raise NetworkFormatError(
                f"switch {ls.index[i]}: bus {bidx[sbus[i]]} is not an end of line "
                f"{line.index[lpos[i]]}; a line switch sits at the line's from_bus or to_bus",
                field="switch.bus")
        open_any[lpos[~ls["closed"].astype(bool).to_numpy()]] = True
    gf, gt = gid[lf], gid[lt]
    operating = l_ins & mv_line & ~open_any & (gf != gt)

    # Breadth-first walk from every busbar at once (super-root R) over the operating topology.
    mv_keys = np.unique(gid[is_mv & b_ins])
    kp = pd.Index(mv_keys)
    ng = len(mv_keys)
    busbar_keys = np.unique(gid[src])
    op = np.flatnonzero(operating)
    u, v = kp.get_indexer(gf[op]), kp.get_indexer(gt[op])
    bb = kp.get_indexer(busbar_keys)
    root = ng
    rows = np.concatenate([u, np.full(len(bb), root)])
    cols = np.concatenate([v, bb])
    g = sparse.coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(ng + 1, ng + 1))
    _, pred = csgraph.breadth_first_order(g.tocsr(), root, directed=False,
                                          return_predecessors=True)
    pred = pred[:ng]
    fed = pred >= 0
    is_bb = pred == root
    tree_uv, tree_vu = pred[v] == u, pred[u] == v
    is_tree = tree_uv | tree_vu
    # Parallel lines between one pair: only the lowest-indexed one is the tree edge.
    pair = np.minimum(u, v).astype(np.int64) * (ng + 1) + np.maximum(u, v)
    dup = pd.Series(pair).where(is_tree).duplicated().to_numpy() & is_tree
    is_tree &= ~dup
    parent = np.where(tree_uv, u, v)
    child = np.where(tree_uv, v, u)

    # Feeder of each node: climb to the child of a busbar by pointer jumping.
    ar = np.arange(ng)
    up = ar.copy()
    inner = fed & ~is_bb
    up[inner] = np.where(is_bb[pred[inner]], ar[inner], pred[inner])
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            break
        up = nxt
    t_sel = is_tree & is_bb[parent]
    feeder_lines = op[t_sel]
    top_line = np.full(ng, -1, np.int64)
    top_line[child[t_sel]] = feeder_lines
    node_feeder = np.where(fed & ~is_bb, top_line[up], -1)

    # Which lines become segments: tree, mesh (closing a loop), tie (open switch), out of service.
    kf, kt = kp.get_indexer(gf), kp.get_indexer(gt)
    ends_fed = (kf >= 0) & (kt >= 0)
    ends_fed[ends_fed] = fed[kf[ends_fed]] & fed[kt[ends_fed]]
    kind = np.full(nl, "", dtype=object)
    kind[op[is_tree]] = "tree"
    kind[op[~is_tree]] = "mesh"
    kind[l_ins & mv_line & open_any & ends_fed & (gf != gt)] = "tie"
    kind[~l_ins & mv_line & ends_fed & (gf != gt)] = "out"
    seg_lines = np.flatnonzero(kind != "")
    s_from = kf[seg_lines].copy()
    s_to = kt[seg_lines].copy()
    tree_child = np.full(nl, -1, np.int64)
    tree_parent = np.full(nl, -1, np.int64)
    tree_child[op[is_tree]] = child[is_tree]
    tree_parent[op[is_tree]] = parent[is_tree]
    tsel = kind[seg_lines] == "tree"
    s_from[tsel] = tree_parent[seg_lines[tsel]]
    s_to[tsel] = tree_child[seg_lines[tsel]]

    # Keep only fed groups as nodes.
    keep = np.flatnonzero(fed)
    remap = np.full(ng, -1, np.int64)
    remap[keep] = np.arange(len(keep))
    keys = mv_keys[keep]
    members_df = pd.DataFrame({"key": gid, "pos": np.arange(nb), "idx": bidx.to_numpy()})
    members_df = members_df[members_df["key"].isin(keys)]
    members_df["is_rep"] = members_df["pos"] == members_df["key"]
    members_df = members_df.sort_values(["key", "is_rep", "idx"], ascending=[True, False, True])
    members = members_df.groupby("key")["pos"].agg(list)

    # Sources per bus section, substations per HV group.
    section_trafos: dict[int, list[int]] = {}
    for ti in np.flatnonzero(primary):
        section_trafos.setdefault(int(remap[kp.get_loc(gid[t_lv[ti]])]), []).append(int(ti))
    section_extgrids: dict[int, list[int]] = {}
    for ei in np.flatnonzero(eg_src):
        section_extgrids.setdefault(int(remap[kp.get_loc(gid[eg_bus[ei]])]), []).append(int(ei))
    sub_of_trafo = np.where(primary, gid[t_hv], -1)

    lv_target, mvlv_kva = _lv_side(net, bidx, vn, b_ins, is_mv, t_hv, t_lv, t_ok, lf, lt,
                                   l_ins, open_any)

    dropped: dict[str, int | float] = {
        "mv_buses_unfed": int(is_mv.sum() - np.isin(gid[is_mv], mv_keys[fed]).sum()),
        "lines_not_mv": int((~mv_line).sum()),
        "lines_unfed": int((mv_line & ~ends_fed).sum()),
        "lines_self_loop": int((mv_line & ends_fed & (gf == gt)).sum()),
    }
    if (kind == "mesh").any():
        meta["mesh_ties"] = ",".join(f"line:{line.index[i]}" for i in np.flatnonzero(kind == "mesh"))
    return _Topo(
        bus_idx=bidx.to_numpy(), vn=vn, gid=gid, is_mv=is_mv, level_counts=level_counts,
        keys=keys, kpos=pd.Index(keys), is_busbar=is_bb[keep],
        feeder_line=node_feeder[keep], members=members.reindex(keys),
        seg_lines=seg_lines, seg_from=remap[s_from], seg_to=remap[s_to],
        seg_kind=kind[seg_lines].astype(str), line_from_pos=lf, line_to_pos=lt,
        feeders=feeder_lines, feeder_busbar=remap[parent[t_sel]],
        section_trafos=section_trafos, section_extgrids=section_extgrids,
        substation_of_trafo=sub_of_trafo, primary=primary, couplers=couplers,
        lv_target=lv_target, mvlv_kva=mvlv_kva, dropped=dropped)


def _merge_closed_bus_switches(bidx: pd.Index, sw: pd.DataFrame, vn: np.ndarray,
                               b_ins: np.ndarray, src: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Union-find over closed bus-bus switches; a switch joining two sources stays a coupler.

    Returns the representative bus position of every bus (the lowest-indexed source bus of
    its group, else its lowest-indexed bus) and the positions of the coupler switches.
    """
    nb = len(bidx)
    closed_bb = sw[(sw["et"] == "b") & sw["closed"].astype(bool)]
    a = _positions(bidx, closed_bb["bus"], "switch", "bus")
    b = _positions(bidx, closed_bb["element"], "switch", "element")
    ok = b_ins[a] & b_ins[b] & np.isclose(vn[a], vn[b]) & (a != b)
    parent = np.arange(nb)
    has_src = src.copy()
    couplers: list[int] = []

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    sw_pos = pd.Index(sw.index).get_indexer(closed_bb.index)
    # A loop over switches, not buses or lines: bus-bus switches are few (station level).
    for k in np.flatnonzero(ok):
        ra, rb = find(int(a[k])), find(int(b[k]))
        if ra == rb:
            continue
        if has_src[ra] and has_src[rb]:
            couplers.append(int(sw_pos[k]))
            continue
        parent[rb] = ra
        has_src[ra] |= has_src[rb]
    roots = parent.copy()
    while True:  # full path compression, vectorised
        nxt = roots[roots]
        if np.array_equal(nxt, roots):
            break
        roots = nxt
    df = pd.DataFrame({"root": roots, "pos": np.arange(nb), "idx": bidx.to_numpy(), "src": src})
    best = df.sort_values(["root", "src", "idx"], ascending=[True, False, True]) \
        .drop_duplicates("root").set_index("root")["pos"]
    return best.reindex(roots).to_numpy(dtype=np.int64), couplers


def _lv_side(net: Any, bidx: pd.Index, vn: np.ndarray, b_ins: np.ndarray, is_mv: np.ndarray,
             t_hv: np.ndarray, t_lv: np.ndarray, t_ok: np.ndarray, lf: np.ndarray,
             lt: np.ndarray, l_ins: np.ndarray, open_any: np.ndarray,
             ) -> tuple[np.ndarray, np.ndarray]:
    """Map every LV bus to the MV bus of the MV/LV transformer feeding its LV part."""
    nb = len(bidx)
    is_lv = vn < LV_MAX_KV
    sw = net["switch"]
    bbs = sw[(sw["et"] == "b") & sw["closed"].astype(bool)]
    a = bidx.get_indexer(bbs["bus"].to_numpy())
    b = bidx.get_indexer(bbs["element"].to_numpy())
    ok_s = (a >= 0) & (b >= 0)
    a, b = a[ok_s], b[ok_s]
    lv_l = l_ins & ~open_any & is_lv[lf] & is_lv[lt]
    lv_s = is_lv[a] & is_lv[b] & b_ins[a] & b_ins[b]
    rows = np.concatenate([lf[lv_l], a[lv_s]])
    cols = np.concatenate([lt[lv_l], b[lv_s]])
    g = sparse.coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(nb, nb))
    _, comp = csgraph.connected_components(g.tocsr(), directed=False)
    mvlv = np.flatnonzero(t_ok & is_mv[t_hv] & is_lv[t_lv])
    comp_mv = pd.Series(t_hv[mvlv], index=comp[t_lv[mvlv]])
    comp_mv = comp_mv[~comp_mv.index.duplicated()]  # first transformer by index
    lv_target = np.full(nb, -1, np.int64)
    lv_target[is_lv] = comp_mv.reindex(comp[is_lv]).fillna(-1).to_numpy(dtype=np.int64)
    sn = _num_col(net["trafo"], "sn_mva", 0.0) * _num_col(net["trafo"], "parallel", 1.0)
    mvlv_kva = np.bincount(t_hv[mvlv], weights=sn[mvlv] * 1000.0, minlength=nb)
    return lv_target, mvlv_kva


# -- power flow -------------------------------------------------------------------------------

def _busbar_voltages(net: Any, topo: _Topo, meta: dict[str, str]) -> np.ndarray | None:
    """``res_bus.vm_pu`` per bus position from one AC power flow on a copy, or None."""
    try:
        import pandapower as pp

        work = copy.deepcopy(net)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(work, numba=False)
        vm = work.res_bus["vm_pu"].reindex(topo.bus_idx).to_numpy(dtype=float)
        meta["power_flow"] = "converged (pandapower.runpp on the net as given)"
        return vm
    except Exception as exc:  # optional information: any failure falls back to 1.0 pu
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        meta["power_flow"] = f"failed ({type(exc).__name__}: {first}); busbar vm_pu = 1.0"
        return None


# -- tables -----------------------------------------------------------------------------------

def _tables(net: Any, topo: _Topo, vm: np.ndarray | None, station_bays: int | None,
            meta: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Attribute tables (no geometry yet), plus helper columns for the geometry pass."""
    bidx = topo.bus_idx
    line, trafo, eg, sw, load = net["line"], net["trafo"], net["ext_grid"], net["switch"], \
        net["load"]
    nn = len(topo.keys)
    node_ids = np.array([f"N{bidx[k]}" for k in topo.keys], dtype=object)
    kp = topo.kpos

    # Loads folded onto nodes.
    lbus = _bidx_get(bidx, load["bus"])
    l_ok = _bool(load, "in_service") & (lbus >= 0)
    scale = _num_col(load, "scaling", 1.0)
    p = _num_col(load, "p_mw", 0.0) * scale
    q = _num_col(load, "q_mvar", 0.0) * scale
    target = np.where(topo.is_mv[np.maximum(lbus, 0)], lbus, topo.lv_target[np.maximum(lbus, 0)])
    target = np.where(lbus >= 0, target, -1)
    row = np.where(target >= 0, kp.get_indexer(topo.gid[np.maximum(target, 0)]), -1)
    row = np.where(l_ok, row, -1)
    got = row >= 0
    node_p = np.bincount(row[got], weights=p[got], minlength=nn)
    node_q = np.bincount(row[got], weights=q[got], minlength=nn)
    n_loads = np.bincount(row[got], minlength=nn)
    refs = pd.Series(load.index.to_numpy()[got]).groupby(row[got]).agg(
        lambda s: "load:" + ",".join(str(x) for x in sorted(s)))
    load_refs = refs.reindex(np.arange(nn)).fillna("").to_numpy(dtype=object)
    topo.dropped["loads_not_imported"] = int((~got & l_ok).sum())
    topo.dropped["loads_not_imported_mw"] = float(p[~got & l_ok].sum())
    topo.dropped["loads_out_of_service"] = int((~_bool(load, "in_service")).sum())

    kva = pd.Series(topo.mvlv_kva).groupby(topo.gid).sum()
    rated_kva = kva.reindex(topo.keys).fillna(0.0).to_numpy(dtype=float)

    # Feeders.
    lidx = line.index.to_numpy()
    f_ids = np.array([f"F{lidx[i]}" for i in topo.feeders], dtype=object)
    feeder_of_line = pd.Series(f_ids, index=topo.feeders)
    node_feeder = np.where(topo.feeder_line >= 0,
                           feeder_of_line.reindex(topo.feeder_line).to_numpy(dtype=object), "")
    node_feeder = np.where(pd.isna(node_feeder), "", node_feeder)

    # Segments.
    sl = topo.seg_lines
    par = _num_col(line, "parallel", 1.0)[sl]
    df_ = _num_col(line, "df", 1.0)[sl]
    ltype = line["type"].astype(object).where(line["type"].notna(), "").astype(str).str.lower() \
        if "type" in line.columns else pd.Series("", index=line.index)
    std = line["std_type"].astype(object).where(line["std_type"].notna(), "").astype(str) \
        if "std_type" in line.columns else pd.Series("", index=line.index)
    std_up = std.str.upper()
    token_cable = np.zeros(len(line), bool)
    for tok in CABLE_STD_TYPE_TOKENS:
        token_cable |= std_up.str.contains(tok, regex=False).to_numpy()
    lt_ = ltype.to_numpy()
    cable = np.where(lt_ == "cs", True, np.where(lt_ == "ol", False, token_cable))[sl]
    seg_ids = np.array([f"L{lidx[i]}" for i in sl], dtype=object)
    seg_feeder = np.where(topo.seg_kind == "tree", node_feeder[topo.seg_to], "")
    length = _num_col(line, "length_km", np.nan)[sl]
    max_i = _num_col(line, "max_i_ka", np.nan)[sl] * df_ * par
    segments = pd.DataFrame({
        "id": seg_ids, "from_node": node_ids[topo.seg_from], "to_node": node_ids[topo.seg_to],
        "feeder_id": seg_feeder, "std_type": std.to_numpy()[sl],
        "construction": np.where(cable, "cable", "overhead"),
        "length_km": length,
        "r_ohm_per_km": _num_col(line, "r_ohm_per_km", np.nan)[sl] / par,
        "x_ohm_per_km": _num_col(line, "x_ohm_per_km", np.nan)[sl] / par,
        "c_nf_per_km": _num_col(line, "c_nf_per_km", 0.0)[sl] * par,
        "max_i_ka": max_i,
        "in_service": topo.seg_kind != "out",
        "source_ref": [f"line:{lidx[i]}" for i in sl],
    })
    seg_of_line = pd.Series(np.arange(len(sl)), index=sl)

    # Switches: line switches on imported segments, bus-bus switches between nodes, mesh ties.
    sw_rows = []
    sw_pos_index = pd.Index(sw.index)
    ls = sw[sw["et"] == "l"]
    if len(ls):
        lpos = pd.Index(line.index).get_indexer(ls["element"].to_numpy())
        srow = seg_of_line.reindex(lpos).to_numpy()
        has = ~np.isnan(srow)
        ls, lpos, srow = ls[has], lpos[has], srow[has].astype(np.int64)
        sbus = _bidx_get(bidx, ls["bus"])
        at_from = sbus == topo.line_from_pos[lpos]
        a_row = kp.get_indexer(topo.gid[np.where(at_from, topo.line_from_pos[lpos],
                                                  topo.line_to_pos[lpos])])
        b_row = kp.get_indexer(topo.gid[np.where(at_from, topo.line_to_pos[lpos],
                                                  topo.line_from_pos[lpos])])
        closed = ls["closed"].astype(bool).to_numpy()
        seg_in = segments["in_service"].to_numpy()[srow]
        kind = np.where(~closed & seg_in, "tie",
                        _switch_types(ls).map(_SWITCH_KIND).fillna("sectionalizer").to_numpy())
        sw_rows.append(pd.DataFrame({
            "id": [f"SW{i}" for i in ls.index], "node_a": node_ids[a_row],
            "node_b": node_ids[b_row], "segment_id": seg_ids[srow], "kind": kind,
            "closed": closed, "source_ref": [f"switch:{i}" for i in ls.index],
            "_at": a_row}))
    bbs = sw[sw["et"] == "b"]
    if len(bbs):
        a = topo.gid[_bidx_get(bidx, bbs["bus"])]
        b = topo.gid[_bidx_get(bidx, bbs["element"])]
        ar, br = kp.get_indexer(a), kp.get_indexer(b)
        pos = sw_pos_index.get_indexer(bbs.index)
        closed = bbs["closed"].astype(bool).to_numpy()
        coupler = np.isin(pos, topo.couplers)
        keep = (ar >= 0) & (br >= 0) & (ar != br) & (~closed | coupler)
        bbs, ar, br, closed = bbs[keep], ar[keep], br[keep], closed[keep]
        fa, fb = node_feeder[ar], node_feeder[br]
        # A busbar is a side of its own: an open switch from a feeder to a busbar is a tie.
        side_a = np.where(topo.is_busbar[ar], node_ids[ar], fa)
        side_b = np.where(topo.is_busbar[br], node_ids[br], fb)
        both_bb = topo.is_busbar[ar] & topo.is_busbar[br]
        by_type = _switch_types(bbs).map(_SWITCH_KIND).to_numpy()
        by_type = np.where(by_type == "breaker", "breaker", "disconnector")
        kind = np.where(~closed & ~both_bb & (side_a != side_b), "tie", by_type)
        sw_rows.append(pd.DataFrame({
            "id": [f"SW{i}" for i in bbs.index], "node_a": node_ids[ar], "node_b": node_ids[br],
            "segment_id": "", "kind": kind, "closed": closed,
            "source_ref": [f"switch:{i}" for i in bbs.index], "_at": ar}))
    mesh = np.flatnonzero(topo.seg_kind == "mesh")
    if len(mesh):
        sw_rows.append(pd.DataFrame({
            "id": [f"TIE-{seg_ids[i]}" for i in mesh], "node_a": node_ids[topo.seg_from[mesh]],
            "node_b": node_ids[topo.seg_to[mesh]], "segment_id": seg_ids[mesh], "kind": "tie",
            "closed": False, "source_ref": [f"line:{lidx[sl[i]]}" for i in mesh],
            "_at": topo.seg_to[mesh]}))
    switches = pd.concat(sw_rows, ignore_index=True) if sw_rows else pd.DataFrame(
        columns=["id", "node_a", "node_b", "segment_id", "kind", "closed", "source_ref", "_at"])

    # Bus sections and substations.
    bb_rows = np.flatnonzero(topo.is_busbar)
    bays_used = np.bincount(np.concatenate([topo.seg_from, topo.seg_to]), minlength=nn)[bb_rows]
    if vm is not None:
        vm_bb = vm[topo.keys[bb_rows]]
        vm_bb = np.where(np.isfinite(vm_bb), vm_bb, 1.0)
    else:
        vm_bb = np.ones(len(bb_rows))
    bs_ids = np.array([f"BS{bidx[topo.keys[r]]}" for r in bb_rows], dtype=object)
    sub_key: list[str] = []
    sub_rows: dict[str, dict[str, Any]] = {}
    t_idx = trafo.index.to_numpy()
    sn = _num_col(trafo, "sn_mva", np.nan)
    t_par = _num_col(trafo, "parallel", 1.0)
    vk = _num_col(trafo, "vk_percent", np.nan)
    vkr = _num_col(trafo, "vkr_percent", np.nan)
    eg_group = topo.gid[_bidx_get(bidx, eg["bus"])] if len(eg) else np.zeros(0, np.int64)
    eg_ok = _bool(eg, "in_service")
    for r in bb_rows:
        trs = topo.section_trafos.get(int(r), [])
        if trs:
            hv_key = int(topo.substation_of_trafo[trs[0]])
            sid = f"S{bidx[hv_key]}"
            if sid not in sub_rows:
                all_t = np.flatnonzero(topo.primary & (topo.substation_of_trafo == hv_key))
                n_t = float(t_par[all_t].sum())
                # External grids at the substation's HV busbar (group) give its source.
                sub_rows[sid] = {
                    "id": sid, "name": _substation_name(net, hv_key),
                    "hv_kv": float(topo.vn[hv_key]), "n_transformers": int(round(n_t)),
                    "transformer_mva": float((sn[all_t] * t_par[all_t]).sum() / n_t),
                    "vk_percent": float((vk[all_t] * t_par[all_t]).sum() / n_t),
                    "vkr_percent": float((vkr[all_t] * t_par[all_t]).sum() / n_t),
                    **_sc_source(eg, np.flatnonzero(eg_ok & (eg_group == hv_key))),
                    "source_ref": "trafo:" + ",".join(str(t_idx[i]) for i in all_t),
                    "_bus": hv_key}
        else:
            egs = topo.section_extgrids[int(r)]
            sid = f"S-EG{eg.index[egs[0]]}"
            sub_rows[sid] = {
                "id": sid, "name": _text(eg, "name", egs[0]),
                "hv_kv": float(topo.vn[topo.keys[r]]), "n_transformers": 1,
                "transformer_mva": np.nan, "vk_percent": np.nan, "vkr_percent": np.nan,
                **_sc_source(eg, np.asarray(egs)),
                "source_ref": "ext_grid:" + ",".join(str(eg.index[i]) for i in egs),
                "_bus": -1, "_section_row": int(r)}
        sub_key.append(sid)
    substations = pd.DataFrame(list(sub_rows.values()))
    if len(substations):
        given = substations["s_sc_max_mva"].notna().to_numpy()
        parts = []
        if given.any():
            parts.append(f"{', '.join(substations['id'][given])}: from ext_grid s_sc_max_mva/"
                         "s_sc_min_mva/rx_max/rx_min")
        if (~given).any():
            parts.append(f"{', '.join(substations['id'][~given])}: none in the net (no external "
                         "grid at the HV busbar, or no s_sc values); the policy defaults by "
                         "voltage level apply (short_circuit_sources.csv)")
        meta["short_circuit_sources"] = "; ".join(parts)
    bus_sections = pd.DataFrame({
        "id": bs_ids, "substation_id": sub_key, "vn_kv": topo.vn[topo.keys[bb_rows]],
        "bays_total": bays_used + SPARE_BAYS, "bays_used": bays_used, "vm_pu": vm_bb,
        "source_ref": [_bus_ref(bidx, topo.members.iat[r]) for r in bb_rows],
        "_row": bb_rows})
    bs_of_row = pd.Series(bs_ids, index=bb_rows)

    # Nodes.
    node_bs = bs_of_row.reindex(np.arange(nn)).fillna("").to_numpy(dtype=object)
    bays_node = np.zeros(nn, np.int64)
    spare_node = np.zeros(nn, np.int64)
    bays_node[bb_rows] = bays_used + SPARE_BAYS
    spare_node[bb_rows] = SPARE_BAYS
    kind = np.where(topo.is_busbar, "busbar",
                    np.where((n_loads > 0) | (rated_kva > 0), "dist_transformer", "junction"))
    kind = _stations(net, topo, kind, segments, bays_node, spare_node, station_bays, meta)
    nodes = pd.DataFrame({
        "id": node_ids, "kind": kind, "feeder_id": node_feeder, "bus_section_id": node_bs,
        "vn_kv": topo.vn[topo.keys], "bays_total": bays_node, "spare_bays": spare_node,
        "p_mw": node_p, "q_mvar": node_q, "rated_kva": rated_kva, "customer_id": "",
        "source_ref": [_bus_ref(bidx, m) for m in topo.members], "load_refs": load_refs})

    # Feeder attributes.
    fl = topo.feeders
    fpar = _num_col(line, "parallel", 1.0)[fl]
    fdf = _num_col(line, "df", 1.0)[fl]
    f_bs = bs_of_row.reindex(topo.feeder_busbar).to_numpy(dtype=object)
    f_sub = pd.Series(sub_key, index=bs_ids).reindex(f_bs).to_numpy(dtype=object)
    peak = pd.Series(node_p).groupby(node_feeder).sum().reindex(f_ids).fillna(0.0)
    n_cust = pd.Series(n_loads).groupby(node_feeder).sum().reindex(f_ids).fillna(0)
    seg_len = segments.assign(cable_km=np.where(cable, length, 0.0))
    by_f = seg_len[seg_len["feeder_id"] != ""].groupby("feeder_id")[["length_km", "cable_km"]].sum()
    by_f = by_f.reindex(f_ids).fillna(0.0)
    cable_major = by_f["cable_km"].to_numpy() >= 0.5 * by_f["length_km"].to_numpy()
    n_ties = _tie_counts(switches, nodes, f_ids)
    mode = np.where(n_ties == 0, "overhead_radial",
                    np.where(cable_major, "cable_single_ring",
                             np.array([f"overhead_multi_{min(int(k), 3)}tie" for k in n_ties],
                                      dtype=object)))
    names = line["name"].astype(object).where(line["name"].notna(), "").astype(str).to_numpy() \
        if "name" in line.columns else np.full(len(line), "", dtype=object)
    feeders = pd.DataFrame({
        "id": f_ids, "name": names[fl], "substation_id": f_sub, "bus_section_id": f_bs,
        "vn_kv": topo.vn[topo.line_from_pos[fl]], "conductor_type": std.to_numpy()[fl],
        "rated_i_ka": _num_col(line, "max_i_ka", np.nan)[fl] * fdf * fpar,
        "peak_mw": peak.to_numpy(dtype=float), "connection_mode": mode,
        "n_customers": n_cust.to_numpy(dtype=np.int64), "source_ref": [f"line:{lidx[i]}" for i in fl],
        "n_ties": n_ties})
    return {"substations": substations, "bus_sections": bus_sections, "feeders": feeders,
            "nodes": nodes, "segments": segments, "switches": switches}


def _sc_source(eg: pd.DataFrame, rows: np.ndarray) -> dict[str, float]:
    """Upstream short-circuit data of a substation from the external grid(s) feeding it.

    Parallel external grids add their short-circuit powers; R/X is that of the strongest
    one. NaN where the net gives nothing (the policy default of the voltage level applies).
    """
    out = {"s_sc_max_mva": np.nan, "s_sc_min_mva": np.nan, "rx_max": np.nan, "rx_min": np.nan}
    if len(rows) == 0:
        return out
    for case in ("max", "min"):
        s_ = _num_col(eg, f"s_sc_{case}_mva", np.nan)[rows]
        rx = _num_col(eg, f"rx_{case}", np.nan)[rows]
        ok = np.isfinite(s_) & (s_ > 0)
        if ok.any():
            out[f"s_sc_{case}_mva"] = float(s_[ok].sum())
            rx_ok = rx[ok]
            out[f"rx_{case}"] = float(rx_ok[np.argmax(s_[ok])])
    return out


def _stations(net: Any, topo: _Topo, kind: np.ndarray, segments: pd.DataFrame,
              bays_node: np.ndarray, spare_node: np.ndarray, station_bays: int | None,
              meta: dict[str, str]) -> np.ndarray:
    """MV/LV stations as connection points: ``bus.spare_bays`` where given, else
    ``station_bays`` at every cable-network station. Fills ``bays_node`` / ``spare_node``."""
    nn = len(kind)
    rows_f = topo.seg_from
    rows_t = topo.seg_to
    degree = np.bincount(np.concatenate([rows_f, rows_t]), minlength=nn)
    overhead = segments["construction"].to_numpy() == "overhead"
    on_overhead = np.zeros(nn, bool)
    on_overhead[rows_f[overhead]] = True
    on_overhead[rows_t[overhead]] = True
    is_dt = kind == "dist_transformer"
    declared = np.full(nn, np.nan)
    bus = net["bus"]
    if "spare_bays" in bus.columns:
        per_bus = pd.to_numeric(bus["spare_bays"], errors="coerce").to_numpy(dtype=float)
        # A node is a group of merged buses: the most any of them declares.
        by_group = pd.Series(per_bus).groupby(topo.gid).max()
        declared = by_group.reindex(topo.keys).to_numpy(dtype=float)
        declared[topo.is_busbar] = np.nan
    given = np.isfinite(declared) & (declared > 0)
    assumed = np.zeros(nn, bool)
    if station_bays is not None and station_bays > 0:
        assumed = is_dt & ~on_overhead & ~given
    spare = np.where(given, np.round(np.where(given, declared, 0)), 0).astype(np.int64)
    spare[assumed] = int(station_bays or 0)
    sel = given | assumed
    bays_node[sel] = degree[sel] + spare[sel]
    spare_node[sel] = spare[sel]
    out = kind.copy()
    out[sel & is_dt] = "station"
    out[sel & ~is_dt] = "rmu"  # a bus without transformer or load but with bays: an RMU
    parts = []
    if given.any():
        parts.append(f"{int(given.sum())} node(s) take spare_bays from the bus table's "
                     f"spare_bays column ({int((given & is_dt).sum())} station(s), "
                     f"{int((given & ~is_dt).sum())} ring-main unit(s))")
    if station_bays is not None:
        n_oh = int((is_dt & on_overhead & ~given).sum())
        parts.append(f"assumed {int(station_bays)} spare bay(s) at each of {int(assumed.sum())} "
                     f"cable-network MV/LV station(s) (MV buses with loads or MV/LV "
                     f"transformers, no overhead line attached): node kind 'station', "
                     f"bays_total = lines at the station + {int(station_bays)}; {n_oh} "
                     "station(s) on overhead lines left as dist_transformer (tapped on the "
                     "line instead)")
    if parts:
        meta["stations_assumption"] = "; ".join(parts)
    return out


def _switch_types(sw: pd.DataFrame) -> pd.Series:
    if "type" not in sw.columns:
        return pd.Series(None, index=sw.index, dtype=object)
    return sw["type"].astype(object).where(sw["type"].notna(), None).map(
        lambda v: v.strip().upper() if isinstance(v, str) else v)


def _text(t: pd.DataFrame, col: str, pos: int) -> str:
    if col not in t.columns:
        return ""
    v = t[col].iat[pos]
    return v if isinstance(v, str) else ""


def _bidx_get(bidx: np.ndarray | pd.Index, values: pd.Series) -> np.ndarray:
    """Positions of pandapower bus indices (already checked to exist)."""
    return pd.Index(bidx).get_indexer(values.to_numpy())


def _bus_ref(bidx: np.ndarray, members: list[int]) -> str:
    return "bus:" + ",".join(str(bidx[m]) for m in members)


def _substation_name(net: Any, hv_key: int) -> str:
    bus = net["bus"]
    for col in ("substation", "name"):
        if col in bus.columns:
            v = bus[col].iat[hv_key]
            if isinstance(v, str) and v.strip():
                return v
    return ""


def _tie_counts(switches: pd.DataFrame, nodes: pd.DataFrame, f_ids: np.ndarray) -> np.ndarray:
    """Number of normally-open ties from each feeder to another feeder or a busbar."""
    if len(switches) == 0:
        return np.zeros(len(f_ids), np.int64)
    ties = switches[(switches["kind"] == "tie") & ~switches["closed"].astype(bool)]
    side = pd.Series(np.where(nodes["kind"] == "busbar", nodes["id"], nodes["feeder_id"]),
                     index=nodes["id"])
    sa = side.reindex(ties["node_a"]).to_numpy(dtype=object)
    sb = side.reindex(ties["node_b"]).to_numpy(dtype=object)
    key = np.where(ties["segment_id"] != "", ties["segment_id"], ties["id"])
    t = pd.DataFrame({"key": key, "a": sa, "b": sb})
    t = t[t["a"] != t["b"]].drop_duplicates("key")
    ends = pd.concat([t["a"], t["b"]])
    return ends.value_counts().reindex(f_ids).fillna(0).to_numpy(dtype=np.int64)


# -- geometry ---------------------------------------------------------------------------------

@dataclass
class _Geo:
    node_xy: np.ndarray  # per node row
    sub_xy: dict[str, tuple[float, float]]
    seg_geoms: np.ndarray
    switch_xy: np.ndarray
    crs: CRS
    approximate: np.ndarray  # per segment: drawing marked approximate (length_km is used)


def _parse_points(values: pd.Series) -> np.ndarray:
    """GeoJSON point strings (or dicts) -> (n, 2) array with NaN where missing."""
    xy = np.full((len(values), 2), np.nan)
    geoms = _parse_geojson(values, "bus")
    ok = ~shapely.is_missing(geoms)
    if ok.any():
        c = shapely.centroid(geoms[ok])  # a Point is its own centroid
        xy[ok] = np.column_stack([shapely.get_x(c), shapely.get_y(c)])
    return xy


def _parse_geojson(values: pd.Series, what: str) -> np.ndarray:
    arr = np.asarray(values.to_numpy(dtype=object))
    strs = np.array([json.dumps(v) if isinstance(v, dict) else v for v in arr], dtype=object)
    have = np.array([isinstance(v, str) and v.strip() != "" for v in strs])
    out = np.full(len(arr), None, dtype=object)
    if have.any():
        try:
            out[have] = shapely.from_geojson(strs[have].astype(str))
        except Exception as exc:  # name the element instead of GEOS's terse message
            for i in np.flatnonzero(have):
                try:
                    shapely.from_geojson(str(strs[i]))
                except Exception:
                    raise NetworkFormatError(
                        f"{what} {values.index[i]}: geo {str(strs[i])[:80]!r} is not GeoJSON; "
                        "give a GeoJSON geometry string or leave it empty",
                        field=f"{what}.geo") from exc
            raise
    return out


def _raw_bus_xy(net: Any) -> np.ndarray:
    bus = net["bus"]
    xy = np.full((len(bus), 2), np.nan)
    if "geo" in bus.columns and bus["geo"].notna().any():
        xy = _parse_points(bus["geo"])
    old = _get(net, "bus_geodata")
    if isinstance(old, pd.DataFrame) and len(old) and {"x", "y"} <= set(old.columns):
        miss = np.isnan(xy).any(axis=1)
        o = old.reindex(bus.index)
        xy[miss] = o[["x", "y"]].to_numpy(dtype=float)[miss]
    return xy


def _raw_line_coords(net: Any, lines: np.ndarray) -> list[np.ndarray | None]:
    """Drawn coordinates of the given line positions (None where there are none)."""
    line = net["line"]
    out: list[np.ndarray | None] = [None] * len(lines)
    if "geo" in line.columns and line["geo"].iloc[lines].notna().any():
        geoms = _parse_geojson(line["geo"].iloc[lines], "line")
        ok = np.flatnonzero(~shapely.is_missing(geoms))
        if len(ok):
            coords, idx = shapely.get_coordinates(geoms[ok], return_index=True)
            split = np.split(coords, np.flatnonzero(np.diff(idx)) + 1)
            for k, c in zip(ok[np.unique(idx)], split, strict=True):
                out[k] = c if len(c) >= 2 else None
    old = _get(net, "line_geodata")
    if isinstance(old, pd.DataFrame) and len(old) and "coords" in old.columns:
        o = old["coords"].reindex(line.index[lines])
        for k, c in enumerate(o.to_numpy()):
            if out[k] is None and isinstance(c, (list, tuple, np.ndarray)) and len(c) >= 2:
                out[k] = np.asarray(c, dtype=float)[:, :2]
    return out


def _geometry(net: Any, topo: _Topo, tables: dict[str, pd.DataFrame], src_crs: CRS | None,
              meta: dict[str, str]) -> _Geo:
    bus_xy = _raw_bus_xy(net)
    seg = tables["segments"]
    # Node position: its representative bus, else the mean of its members that have one.
    node_xy = bus_xy[topo.keys].copy()
    miss = np.isnan(node_xy).any(axis=1)
    if miss.any():
        for r in np.flatnonzero(miss):
            m = bus_xy[topo.members.iat[r]]
            m = m[~np.isnan(m).any(axis=1)]
            if len(m):
                node_xy[r] = m.mean(axis=0)
    line_xy = _raw_line_coords(net, topo.seg_lines)
    length_m = seg["length_km"].to_numpy(dtype=float) * 1000.0
    miss = np.isnan(node_xy).any(axis=1)
    layout = False
    if miss.all():
        node_xy = _layout(topo, tables)
        line_xy = [None] * len(line_xy)
        layout = True
        meta["geometry_layout"] = "generated (radial tree); the net has no bus geodata"
    elif miss.any():
        node_xy = _fill_missing(node_xy, topo)
        meta["geometry_filled_nodes"] = str(int(miss.sum()))

    sub_hv_xy = {}
    for _, s in tables["substations"].iterrows():
        k = int(s["_bus"])
        xy = bus_xy[k] if k >= 0 and not layout else np.array([np.nan, np.nan])
        sub_hv_xy[s["id"]] = xy
    all_pts = np.vstack([node_xy] + [c for c in line_xy if c is not None])

    def ratio_in(crs_: CRS | None, xy_nodes: np.ndarray, lines: list,
                 ) -> tuple[float, np.ndarray]:
        """Median drawn/electrical length ratio, and the drawn lengths in metres."""
        if crs_ is not None and crs_.is_geographic:
            c = np.nanmean(xy_nodes, axis=0)
            tr = _transformer(crs_, metric_crs_for(float(c[0]), float(c[1])))
            xy_nodes = np.column_stack(tr.transform(xy_nodes[:, 0], xy_nodes[:, 1]))
            lines = [None if ln is None else np.column_stack(tr.transform(ln[:, 0], ln[:, 1]))
                     for ln in lines]
        drawn = _drawn_lengths(xy_nodes, lines, topo)
        ok = (length_m > 0) & np.isfinite(drawn)
        med = float(np.median(drawn[ok] / length_m[ok])) if ok.any() else float("nan")
        return med, drawn

    approximate = np.zeros(len(length_m), bool)
    lonlat = bool(np.all((np.abs(all_pts[:, 0]) <= 180) & (np.abs(all_pts[:, 1]) <= 90)))
    located_crs: CRS | None = None
    if not layout and src_crs is not None:
        located_crs = src_crs
        meta["crs_source"] = f"given ({src_crs.to_string()})"
    elif not layout and lonlat:
        lonlat_ratio, _ = ratio_in(WGS84, node_xy, line_xy)
        if PLAUSIBLE_GEOGRAPHIC_RATIO[0] <= lonlat_ratio <= PLAUSIBLE_GEOGRAPHIC_RATIO[1]:
            located_crs = WGS84
            meta["crs_source"] = "assumed EPSG:4326 (coordinates in the lon/lat range)"
    if located_crs is not None:
        ratio, drawn = ratio_in(located_crs, node_xy, line_xy)
        surveyed = SURVEYED_RATIO[0] <= ratio <= SURVEYED_RATIO[1] and "geometry_filled_nodes" \
            not in meta
        if surveyed:
            # Surveyed geometry must agree line by line (validation's tolerance, policy data);
            # otherwise disagreements would be errors: call the coordinates schematic instead.
            from .policy import load_policy

            pol = load_policy()
            rel = pol.param("validation_length_rel_tolerance")
            abs_m = pol.param("validation_length_abs_tolerance_m")
            off = np.abs(drawn - length_m) > np.maximum(rel * length_m, abs_m)
            if off.mean() > SCHEMATIC_SHARE:
                surveyed = False
                meta["geometry_note"] = (
                    f"{int(off.sum())} of {len(off)} lines are drawn more than {100 * rel:g} % "
                    f"(or {abs_m:g} m) longer or shorter than length_km: coordinates treated "
                    "as schematic")
            elif off.any():
                # A few lines drawn as straight sketches do not make a located grid schematic:
                # those lines are marked approximate (validation warns per line).
                approximate = off
                seg_ids = tables["segments"]["id"].to_numpy()
                off_rows = np.flatnonzero(off)
                listed = ", ".join(f"{seg_ids[i]} ({100 * (drawn[i] / length_m[i] - 1):+.0f} %)"
                                   for i in off_rows[:10]) + (f" and {len(off_rows) - 10} more"
                                                              if len(off_rows) > 10 else "")
                meta["geometry_note"] = (
                    f"{len(off_rows)} of {len(off)} lines are drawn more than {100 * rel:g} % (or "
                    f"{abs_m:g} m) longer or shorter than length_km: {listed}; the grid stays "
                    "located (surveyed), these lines' drawings are marked approximate "
                    "(segments.geometry_approximate) and their length_km is used")
        out_crs = located_crs
    else:
        # Abstract coordinates: scale so that median drawn length = median length_km.
        drawn = _drawn_lengths(node_xy, line_xy, topo)
        ok = (length_m > 0) & np.isfinite(drawn) & (drawn > 0)
        scale = float(np.median(length_m[ok]) / np.median(drawn[ok])) if ok.any() else 1000.0
        lon0, lat0 = NOMINAL_LON_LAT
        out_crs = metric_crs_for(lon0, lat0)
        x0, y0 = _transformer(WGS84, out_crs).transform(lon0, lat0)
        lo, hi = np.nanmin(node_xy, axis=0), np.nanmax(node_xy, axis=0)
        centre = (lo + hi) / 2

        def move(a: np.ndarray) -> np.ndarray:
            return (a - centre) * scale + np.array([x0, y0])

        node_xy = move(node_xy)
        line_xy = [None if ln is None else move(ln) for ln in line_xy]
        sub_hv_xy = {k: move(v) for k, v in sub_hv_xy.items()}
        ratio, _ = ratio_in(out_crs, node_xy, line_xy)
        surveyed = False
        if not layout:
            meta["crs_source"] = (f"schematic: coordinates scaled x{scale:.4g} and centred on "
                                  f"lon {lon0}, lat {lat0} ({out_crs.to_string()})")
        else:
            meta["crs_source"] = f"schematic layout centred on lon {lon0}, lat {lat0}" + (
                f" ({src_crs.to_string()} ignored: the net has no coordinates)"
                if src_crs is not None else "")
    meta["geometry_source"] = "surveyed" if surveyed else "schematic"
    meta["geometry_length_ratio_median"] = f"{ratio:.3f}"

    # Substation points: HV bus, else the mean of its bus sections.
    bs = tables["bus_sections"]
    sub_xy: dict[str, tuple[float, float]] = {}
    for sid, xy in sub_hv_xy.items():
        if np.isnan(xy).any():
            rows = bs.loc[bs["substation_id"] == sid, "_row"].to_numpy()
            xy = node_xy[rows].mean(axis=0)
        sub_xy[sid] = (float(xy[0]), float(xy[1]))

    seg_geoms = _segment_lines(node_xy, line_xy, topo)
    sw = tables["switches"]
    switch_xy = node_xy[sw["_at"].to_numpy(dtype=np.int64)] if len(sw) else np.zeros((0, 2))
    return _Geo(node_xy=node_xy, sub_xy=sub_xy, seg_geoms=seg_geoms, switch_xy=switch_xy,
                crs=out_crs, approximate=approximate if surveyed else np.zeros_like(approximate))


def _transformer(src: CRS, dst: CRS) -> Transformer:
    return transformer(src, dst)


def _drawn_lengths(node_xy: np.ndarray, lines: list, topo: _Topo) -> np.ndarray:
    a, b = node_xy[topo.seg_from], node_xy[topo.seg_to]
    d = np.hypot(*(a - b).T)
    for k, ln in enumerate(lines):
        if ln is not None:
            d[k] = float(np.hypot(*np.diff(ln, axis=0).T).sum())
    return d


def _segment_lines(node_xy: np.ndarray, lines: list, topo: _Topo) -> np.ndarray:
    """LineStrings from_node → to_node; drawn lines reversed if needed, ends snapped."""
    n = len(topo.seg_lines)
    a, b = node_xy[topo.seg_from], node_xy[topo.seg_to]
    parts, idx = [], []
    for k in range(n):
        ln = lines[k]
        if ln is None:
            c = np.vstack([a[k], b[k]])
        else:
            fwd = np.hypot(*(ln[0] - a[k])) + np.hypot(*(ln[-1] - b[k]))
            rev = np.hypot(*(ln[0] - b[k])) + np.hypot(*(ln[-1] - a[k]))
            c = ln[::-1].copy() if rev < fwd else ln.copy()
            c[0], c[-1] = a[k], b[k]
        parts.append(c)
        idx.append(np.full(len(c), k))
    if not n:
        return np.array([], dtype=object)
    return shapely.linestrings(np.vstack(parts), indices=np.concatenate(idx))


def _layout(topo: _Topo, tables: dict[str, pd.DataFrame]) -> np.ndarray:
    """Radial tree layout for a net without geodata, in km.

    Each substation sits at its own centre; its feeders fan out over the full circle, every
    subtree getting an angular sector in proportion to its number of leaves, and every node
    sits at its electrical distance (sum of ``length_km``) from the busbar. Vectorised level by
    level; deterministic.
    """
    nn = len(topo.keys)
    length = tables["segments"]["length_km"].to_numpy(dtype=float)
    med = float(np.nanmedian(length)) if len(length) and np.isfinite(length).any() else 1.0
    length = np.where(np.isfinite(length) & (length > 0), length, 0.1 * med)
    tree = topo.seg_kind == "tree"
    par = np.full(nn, -1, np.int64)
    par[topo.seg_to[tree]] = topo.seg_from[tree]
    edge_km = np.zeros(nn)
    edge_km[topo.seg_to[tree]] = length[tree]
    depth = np.where(par < 0, 0, -1)
    d = 0
    while (depth < 0).any():
        nxt = (depth < 0) & (depth[np.maximum(par, 0)] == d) & (par >= 0)
        if not nxt.any():
            break
        depth[nxt] = d + 1
        d += 1
    depth = np.maximum(depth, 0)
    has_child = np.zeros(nn, bool)
    has_child[par[par >= 0]] = True
    leaves = np.where(has_child, 0.0, 1.0)
    for lvl in range(d, 0, -1):
        m = np.flatnonzero(depth == lvl)
        np.add.at(leaves, par[m], leaves[m])
    radius = np.zeros(nn)
    start = np.zeros(nn)
    width = np.zeros(nn)
    centre = np.zeros((nn, 2))
    # Roots (busbars): one circle per substation, shared in proportion to leaves.
    bs = tables["bus_sections"]
    roots = pd.DataFrame({"row": bs["_row"].to_numpy(dtype=np.int64),
                          "sub": bs["substation_id"].to_numpy()})
    roots["w"] = leaves[roots["row"]]
    roots["cum"] = roots.groupby("sub")["w"].cumsum()
    tot = roots.groupby("sub")["w"].transform("sum")
    r = roots["row"].to_numpy()
    width[r] = 2 * np.pi * roots["w"].to_numpy() / tot.to_numpy()
    start[r] = 2 * np.pi * (roots["cum"] - roots["w"]).to_numpy() / tot.to_numpy()
    radius[r] = 0.02 * med  # busbars of one substation apart, not on one point
    sub_k = pd.factorize(roots["sub"], sort=False)[0]
    for lvl in range(1, d + 1):
        m = np.flatnonzero(depth == lvl)
        p = par[m]
        ch = pd.DataFrame({"node": m, "par": p, "w": leaves[m]}).sort_values(["par", "node"])
        ch["cum"] = ch.groupby("par")["w"].cumsum()
        c, pc = ch["node"].to_numpy(), ch["par"].to_numpy()
        frac = width[pc] / leaves[pc]
        start[c] = start[pc] + (ch["cum"] - ch["w"]).to_numpy() * frac
        width[c] = ch["w"].to_numpy() * frac
        radius[c] = radius[pc] + edge_km[c]
    # Substations side by side, each with room for its widest tree.
    root_of = np.arange(nn)
    for _ in range(d):
        root_of = np.where(par[root_of] >= 0, par[root_of], root_of)
    spacing = 2.5 * float(radius.max()) + med
    sub_of_root = np.full(nn, 0, np.int64)
    sub_of_root[r] = sub_k
    centre[:, 0] = sub_of_root[root_of] * spacing
    angle = start + width / 2
    return centre + radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])


def _fill_missing(node_xy: np.ndarray, topo: _Topo) -> np.ndarray:
    """Place nodes without coordinates at the mean of their neighbours (harmonic fill)."""
    nn = len(node_xy)
    known = ~np.isnan(node_xy).any(axis=1)
    u, v = topo.seg_from, topo.seg_to
    adj = sparse.coo_matrix((np.ones(2 * len(u)), (np.r_[u, v], np.r_[v, u])), shape=(nn, nn))
    adj = adj.tocsr()
    deg = np.asarray(adj.sum(axis=1)).ravel()
    lap = sparse.diags(deg) - adj
    unk = np.flatnonzero(~known)
    kn = np.flatnonzero(known)
    eps = 1e-6  # ties parts without any placed node to the centroid instead of a singular solve
    a = lap[unk][:, unk] + eps * sparse.identity(len(unk))
    centre = node_xy[kn].mean(axis=0)
    rhs = -(lap[unk][:, kn] @ node_xy[kn]) + eps * centre
    from scipy.sparse.linalg import spsolve

    out = node_xy.copy()
    sol = spsolve(a.tocsc(), rhs)
    out[unk] = np.asarray(sol).reshape(len(unk), 2)
    return out


# -- assembly ---------------------------------------------------------------------------------

def _assemble(tables: dict[str, pd.DataFrame], geo: _Geo) -> dict[str, pd.DataFrame]:
    crs = geo.crs
    subs = tables["substations"].drop(columns=[c for c in ("_bus", "_section_row")
                                               if c in tables["substations"].columns])
    sub_pts = shapely.points([geo.sub_xy[s] for s in subs["id"]]) if len(subs) else []
    bs = tables["bus_sections"]
    nodes = tables["nodes"]
    sw = tables["switches"]
    return {
        "substations": gpd.GeoDataFrame(subs, geometry=gpd.GeoSeries(sub_pts, crs=crs),
                                        crs=crs),
        "bus_sections": gpd.GeoDataFrame(
            bs.drop(columns="_row"),
            geometry=shapely.points(geo.node_xy[bs["_row"].to_numpy(dtype=np.int64)]), crs=crs),
        "feeders": tables["feeders"].drop(columns="n_ties"),
        "nodes": gpd.GeoDataFrame(nodes, geometry=shapely.points(geo.node_xy), crs=crs),
        "segments": gpd.GeoDataFrame(tables["segments"].assign(
            geometry_approximate=geo.approximate), geometry=geo.seg_geoms, crs=crs),
        "switches": gpd.GeoDataFrame(sw.drop(columns="_at"),
                                     geometry=shapely.points(geo.switch_xy) if len(sw) else [],
                                     crs=crs),
    }


def _notes(net: Any, topo: _Topo, meta: dict[str, str]) -> None:
    """Record what was dropped or assumed (meta values are strings; zero counts are left out
    because ``gridscheme network import`` shows every entry to the user)."""
    counts: dict[str, int | float] = {"dropped_hv_buses": topo.level_counts["hv"],
                                      "dropped_lv_buses": topo.level_counts["lv"],
                                      "dropped_other_buses": topo.level_counts["other"]}
    counts.update({k if k.startswith("loads") else f"dropped_{k}": v
                   for k, v in topo.dropped.items()})
    sw = net["switch"]
    counts["merged_closed_bus_switches"] = int(
        ((sw["et"] == "b") & sw["closed"].astype(bool)).sum()) - len(topo.couplers)
    for k, v in counts.items():
        if v:
            meta[k] = f"{v:.6g}" if isinstance(v, float) else str(v)
    ignored = []
    for t in _IGNORED_TABLES:
        tab = _get(net, t)
        if isinstance(tab, pd.DataFrame) and len(tab):
            extra = ""
            if "p_mw" in tab.columns:
                extra = f" ({pd.to_numeric(tab['p_mw'], errors='coerce').sum():.6g} MW)"
            ignored.append(f"{t}: {len(tab)}{extra}")
    if ignored:
        meta["ignored_elements"] = "; ".join(ignored) + " (not imported)"
    sgen = _get(net, "sgen")
    if isinstance(sgen, pd.DataFrame) and len(sgen):
        meta["ignored_sgen"] = (f"{len(sgen)} static generator(s), "
                                f"{_num_col(sgen, 'p_mw', 0.0).sum():.6g} MW, not imported "
                                "(busbar vm_pu from the power flow includes them)")
    eg = net["ext_grid"]
    if len(eg):
        meta["ext_grids"] = ",".join(f"ext_grid:{i}@bus:{b}" for i, b in zip(eg.index, eg["bus"],
                                                                              strict=True))
    if topo.section_extgrids:
        meta["ext_grid_sources"] = ("external grid(s) at MV buses imported as substations of "
                                    "unknown capacity (transformer_mva NaN): set it")
    meta["bays_assumption"] = (f"bays_used = lines at the busbar; bays_total = bays_used + "
                               f"{SPARE_BAYS} spare (pandapower has no bay data)")
