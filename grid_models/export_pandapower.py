"""`Network` → pandapower, the independent AC power-flow oracle of the engine's checks.

The export holds exactly the physics the engine assumes, so that a disagreement with
``pandapower.runpp`` means the engine solved its own model wrongly, not that the two tools were
fed different data:

- one pandapower bus per node (``vn_kv``), named by the node id; loads from ``p_mw``/``q_mvar``
  (constant power, as in the engine's sweep);
- one line per segment in the operating topology (``r``/``x``/``c`` per km, ``max_i_ka``,
  ``length_km``); a segment that is out of service or cut by an open switch is exported out of
  service; a zero-length segment becomes a closed bus-bus switch (zero impedance, as compiled);
- switches without a segment become bus-bus switches with their state (closed ones are the
  zero-impedance couplings of :mod:`grid_models.compiled`);
- each bus section is fed through its own main transformer: an HV bus (``substations.hv_kv``)
  with an ext_grid (the 110/35 kV system as a stiff source) and a two-winding transformer of
  ``substations.transformer_mva`` and ``vk_percent`` (NaN: the policy's
  ``default_transformer_vk_percent``) onto the busbar node. This is the engine's Thevenin source
  ``bs_z_source_ohm`` (one unit behind each section, pure reactance: ``vkr_percent`` 0, no
  magnetising branch, neutral tap). The ext_grid set-point is calibrated by a few power flows
  so that the busbar sits at the bus section's measured ``vm_pu`` under the existing load —
  the operating point the engine's baseline sweep starts from. A new load then sags the busbar
  through the transformer exactly as the engine assumes.

Without transformers (``transformers=False``) the busbar itself is the slack at ``vm_pu``:
busbar sag then is not validated.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .errors import InputError
from .network import Network
from .policy import Policy, load_policy

HV_SUFFIX = "#HV"  # name suffix of the HV bus behind a bus section


def to_pandapower(net: Network, policy: Policy | None = None, *, transformers: bool = True,
                  vkr_percent: float = 0.0, calibrate: bool = True, tol_pu: float = 1e-9,
                  max_calibration_runs: int = 8) -> tuple[pp.pandapowerNet, dict[str, int],
                                                          dict[str, int]]:
    """Export ``net`` to a pandapower network for AC power-flow validation.

    Parameters
    ----------
    net : Network
        The network.
    policy : Policy, optional
        Supplies ``default_transformer_vk_percent`` (default: the bundled policy).
    transformers : bool
        Model one main transformer behind each bus section (default) or make the busbar the
        slack.
    vkr_percent : float
        Transformer short-circuit resistance; 0 matches the engine's pure-reactance source.
    calibrate : bool
        Tune each ext_grid so that its busbar sits at ``bus_sections.vm_pu`` at baseline.
    tol_pu, max_calibration_runs
        Calibration tolerance on the busbar voltage and cap on power flows.

    Returns
    -------
    pandapowerNet
        Buses named by node id (HV buses ``<bus section id>#HV``), ext_grids and transformers
        named by bus section id.
    dict
        Node id -> pandapower bus index.
    dict
        Segment id -> pandapower line index (zero-length segments are switches, not listed).

    Raises
    ------
    InputError
        A bus section has no busbar node, or a segment names an unknown node.
    """
    policy = policy or load_policy()
    L = net.layers
    nodes, segs, sw = L["nodes"], L["segments"], L["switches"]
    bss, sss = L["bus_sections"], L["substations"]
    ppn = pp.create_empty_network(name=net.name, f_hz=50.0)

    node_ids = nodes["id"].astype(str).to_numpy()
    b_idx = pp.create_buses(ppn, len(nodes), vn_kv=nodes["vn_kv"].to_numpy(float),
                            name=node_ids, type="b")
    bus_of_node = dict(zip(node_ids, (int(b) for b in b_idx), strict=True))
    load = (nodes["p_mw"].to_numpy(float) != 0) | (nodes["q_mvar"].to_numpy(float) != 0)
    if load.any():
        pp.create_loads(ppn, b_idx[load], p_mw=nodes["p_mw"].to_numpy(float)[load],
                        q_mvar=nodes["q_mvar"].to_numpy(float)[load], name=node_ids[load])

    # --- segments: in service unless out of service or cut by an open switch (compiled.py)
    open_seg = set(sw.loc[~sw["closed"] & (sw["segment_id"] != ""), "segment_id"])
    on = segs["in_service"].to_numpy(bool) & ~segs["id"].isin(open_seg).to_numpy()
    fb = pd.Series(bus_of_node).reindex(segs["from_node"].astype(str)).to_numpy()
    tb = pd.Series(bus_of_node).reindex(segs["to_node"].astype(str)).to_numpy()
    bad = np.isnan(fb) | np.isnan(tb)
    if bad.any():
        sid = segs["id"].to_numpy()[bad][0]
        raise InputError(f"segment {sid!r}: from_node/to_node must name existing nodes",
                         field=f"segments.{sid}")
    fb, tb = fb.astype(np.int64), tb.astype(np.int64)
    length = segs["length_km"].to_numpy(float)
    zero = length <= 0
    line_of_segment: dict[str, int] = {}
    real = np.flatnonzero(~zero)
    if real.size:
        li = pp.create_lines_from_parameters(
            ppn, fb[real], tb[real], length_km=length[real],
            r_ohm_per_km=segs["r_ohm_per_km"].to_numpy(float)[real],
            x_ohm_per_km=segs["x_ohm_per_km"].to_numpy(float)[real],
            c_nf_per_km=segs["c_nf_per_km"].to_numpy(float)[real],
            max_i_ka=segs["max_i_ka"].to_numpy(float)[real], in_service=on[real],
            name=segs["id"].astype(str).to_numpy()[real])
        line_of_segment = dict(zip(segs["id"].astype(str).to_numpy()[real],
                                   (int(i) for i in li), strict=True))
    zi = np.flatnonzero(zero)
    if zi.size:
        pp.create_switches(ppn, fb[zi], tb[zi], et="b", closed=on[zi],
                           name=segs["id"].astype(str).to_numpy()[zi])

    # --- bus-bus switches (no segment): zero-impedance couplings when closed
    bsw = sw[sw["segment_id"] == ""]
    if len(bsw):
        a = pd.Series(bus_of_node).reindex(bsw["node_a"].astype(str)).to_numpy()
        b = pd.Series(bus_of_node).reindex(bsw["node_b"].astype(str)).to_numpy()
        ok = ~(np.isnan(a) | np.isnan(b))
        if ok.any():
            pp.create_switches(ppn, a[ok].astype(np.int64), b[ok].astype(np.int64), et="b",
                               closed=bsw["closed"].to_numpy(bool)[ok],
                               name=bsw["id"].astype(str).to_numpy()[ok])

    # --- sources: one busbar node per bus section
    is_bb = (nodes["kind"] == "busbar").to_numpy()
    bb_of_bs = dict(zip(nodes["bus_section_id"].astype(str).to_numpy()[is_bb],
                        node_ids[is_bb], strict=True))
    ss = sss.set_index(sss["id"].astype(str))
    vk_default = policy.param("default_transformer_vk_percent")
    targets = []
    for row in bss.itertuples(index=False):
        bs_id = str(row.id)
        if bs_id not in bb_of_bs:
            raise InputError(f"bus section {bs_id!r} has no node of kind 'busbar'; each bus "
                             "section needs exactly one", field=f"bus_sections.{bs_id}")
        bb = bus_of_node[bb_of_bs[bs_id]]
        vm = float(row.vm_pu)
        if not transformers:
            pp.create_ext_grid(ppn, bb, vm_pu=vm, name=bs_id)
            continue
        s = ss.loc[str(row.substation_id)]
        hv_kv = float(s["hv_kv"]) if np.isfinite(s["hv_kv"]) else 110.0
        vk = float(s["vk_percent"]) if np.isfinite(s["vk_percent"]) else vk_default
        hv = pp.create_bus(ppn, vn_kv=hv_kv, name=bs_id + HV_SUFFIX, type="b")
        eg = pp.create_ext_grid(ppn, hv, vm_pu=vm, name=bs_id)
        pp.create_transformer_from_parameters(
            ppn, hv, bb, sn_mva=float(s["transformer_mva"]), vn_hv_kv=hv_kv,
            vn_lv_kv=float(row.vn_kv), vkr_percent=vkr_percent, vk_percent=vk, pfe_kw=0.0,
            i0_percent=0.0, shift_degree=0.0, name=bs_id)
        targets.append((eg, bb, vm))
    if transformers and calibrate and targets:
        _calibrate(ppn, targets, tol_pu, max_calibration_runs)
    return ppn, bus_of_node, line_of_segment


def _calibrate(ppn: pp.pandapowerNet, targets: list[tuple[int, int, float]], tol: float,
               runs: int) -> None:
    """Shift each ext_grid set-point until its busbar sits at the target voltage.

    The transformer drop depends only weakly on the set-point (constant-power loads), so the
    fixed point ``vm_ext += vm_target - vm_busbar`` converges in two or three power flows.
    """
    eg = np.array([t[0] for t in targets])
    bb = np.array([t[1] for t in targets])
    want = np.array([t[2] for t in targets])
    for _ in range(runs):
        pp.runpp(ppn, numba=False)
        got = ppn.res_bus.vm_pu.loc[bb].to_numpy()
        err = np.nan_to_num(want - got)
        if np.max(np.abs(err)) < tol:
            return
        ppn.ext_grid.loc[eg, "vm_pu"] += err


_EMPTY: list[pp.pandapowerNet] = []


def _empty_like(ppn: pp.pandapowerNet) -> pp.pandapowerNet:
    """An empty net with ``ppn``'s frequency and base power.

    ``create_empty_network`` costs ~0.2 s (it builds every table); a deep copy of one kept
    template costs a tenth of that, which matters when thousands of what-if nets are built.
    """
    if not _EMPTY:
        _EMPTY.append(pp.create_empty_network())
    out = copy.deepcopy(_EMPTY[0])
    out.name, out.f_hz, out.sn_mva = ppn.name, ppn.f_hz, ppn.sn_mva
    return out


# (table, columns holding bus indices); switch.element is handled by its ``et``
_BUS_COLUMNS = {"bus": (), "load": ("bus",), "line": ("from_bus", "to_bus"),
                "trafo": ("hv_bus", "lv_bus"), "ext_grid": ("bus",), "switch": ("bus",)}


def replicate(ppn: pp.pandapowerNet, k: int) -> tuple[pp.pandapowerNet, dict[str, int]]:
    """``k`` disjoint copies of an exported net in one pandapower net.

    Every copy keeps its own ext_grids, so the copies are independent islands and one
    ``runpp`` solves ``k`` different what-if cases at the cost of roughly one (pandapower's
    per-call overhead dominates on distribution-sized nets). Copy ``j`` holds element
    ``i`` of table ``t`` at index ``i + j * offsets[t]``.

    Parameters
    ----------
    ppn : pandapowerNet
        A net as made by :func:`to_pandapower` (tables bus, load, line, trafo, ext_grid,
        switch with contiguous indices from 0; no other elements).
    k : int
        Number of copies (>= 1).

    Returns
    -------
    pandapowerNet
        The replicated net (a new object; ``ppn`` is not changed).
    dict
        Table name -> index offset between consecutive copies.
    """
    if k < 1:
        raise InputError(f"k = {k}: the number of copies must be at least 1", field="k")
    other = [t for t in ("sgen", "gen", "shunt", "impedance", "trafo3w", "ward", "xward",
                         "storage", "dcline") if t in ppn and len(ppn[t])]
    if other:
        raise InputError(f"replicate handles exported nets only; this one has {other}",
                         field="ppn")
    out = _empty_like(ppn)
    offsets = {}
    for t in _BUS_COLUMNS:
        src = ppn[t]
        n = len(src)
        offsets[t] = n
        if n and not np.array_equal(src.index.to_numpy(), np.arange(n)):
            raise InputError(f"table {t!r} must have contiguous indices 0..{n - 1}", field=t)
    for t, cols in _BUS_COLUMNS.items():
        src = ppn[t]
        n = offsets[t]
        if not n:
            continue
        rep = src.iloc[np.tile(np.arange(n), k)].copy()
        rep.index = pd.RangeIndex(n * k)
        copy_no = np.repeat(np.arange(k, dtype=np.int64), n)
        for col in cols:
            rep[col] = rep[col].to_numpy(np.int64) + copy_no * offsets["bus"]
        if t == "switch":
            shift = rep["et"].map({"b": offsets["bus"], "l": offsets["line"],
                                   "t": offsets["trafo"]}).fillna(0).to_numpy(np.int64)
            rep["element"] = rep["element"].to_numpy(np.int64) + copy_no * shift
        out[t] = rep.astype(src.dtypes.to_dict())
    return out, offsets


@dataclass(frozen=True)
class Island:
    """One electrically separate part of an exported net, re-indexed from 0.

    ``bus[i]`` / ``line[i]`` / ``trafo[i]`` is the index in the full net of element ``i`` of
    :attr:`net`.
    """

    net: pp.pandapowerNet
    bus: np.ndarray
    line: np.ndarray
    trafo: np.ndarray


def split_islands(ppn: pp.pandapowerNet) -> tuple[list[Island], np.ndarray]:
    """The fed islands of an exported net, each a net of its own.

    With one source per bus section (:func:`to_pandapower`) bus sections that no closed
    coupler joins are independent: a change inside one leaves the others exactly as they
    were, so a what-if case only needs its own island solved. Connectivity counts in-service
    lines, closed bus-bus switches and in-service transformers; out-of-service lines between
    islands are dropped (they carry nothing).

    Returns
    -------
    list of Island
        Islands holding at least one ext_grid.
    ndarray
        Island number of every bus of ``ppn`` (-1: an island without a source).
    """
    nb = len(ppn.bus)
    ln, sw, tr = ppn.line, ppn.switch, ppn.trafo
    bsw = sw[(sw.et == "b") & sw.closed]
    lon = ln[ln.in_service]
    ton = tr[tr.in_service]
    u = np.concatenate([lon.from_bus, bsw.bus, ton.hv_bus]).astype(np.int64)
    v = np.concatenate([lon.to_bus, bsw.element, ton.lv_bus]).astype(np.int64)
    g = coo_matrix((np.ones(u.size), (u, v)), shape=(nb, nb))
    _, comp = connected_components(g, directed=False)
    fed = np.unique(comp[ppn.ext_grid.bus.to_numpy()])
    island_of = np.where(np.isin(comp, fed), comp, -1)
    out = []
    for ci, c in enumerate(fed):
        buses = np.flatnonzero(comp == c)
        island_of[buses] = ci
        new = np.full(nb, -1, np.int64)
        new[buses] = np.arange(buses.size)
        sub = _empty_like(ppn)
        sub.name = f"{ppn.name}#{ci}"
        keep = {}
        for t, cols in _BUS_COLUMNS.items():
            src = ppn[t]
            if t == "bus":
                m = np.isin(src.index.to_numpy(), buses)
            else:
                m = np.ones(len(src), bool)
                for col in cols:
                    m &= new[src[col].to_numpy(np.int64)] >= 0
                if t == "switch":
                    m &= (src.et.to_numpy() != "b") | (new[src.element.to_numpy(np.int64)] >= 0)
            keep[t] = np.flatnonzero(m)
            part = src.iloc[keep[t]].copy()
            part.index = pd.RangeIndex(len(part))
            for col in cols:
                part[col] = new[part[col].to_numpy(np.int64)]
            if t == "switch" and len(part):
                # Bus-bus switches only in exported nets.
                part["element"] = new[part["element"].to_numpy(np.int64)]
            if len(part):
                sub[t] = part.astype(src.dtypes.to_dict())
        out.append(Island(sub, buses, keep["line"], keep["trafo"]))
    return out, island_of
