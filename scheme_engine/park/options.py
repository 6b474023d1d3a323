"""Options of every parcel as flat arrays: the circuits the engine checked, and what each uses.

One :meth:`Planner.options_many` call evaluates every parcel (candidates, routes, checks, costs
of every candidate x conductor; nothing rebuilt). Per candidate the best feasible conductor is
kept (the engine's own exact choice), and per parcel its ``options_per_parcel`` best circuits by
score; a dual-supply parcel gets its ``pairs_per_parcel`` best pairs that obey the engine's
independence rules (never two circuits on one feeder, distinct bus sections / substations by
tier, no shared corridor beyond policy).

Each circuit records what it takes from shared capacities, in the units of the engine's checks:
the MVA its feeder, bus section unit and substation gain (``flow.inc_mva``), its current (kA) on
every existing branch up to the busbar, a bay of its RMU / station / bus section, a customer
on its feeder, and for voltage the drop it causes: ``sag_pu`` at the busbar (one main
transformer's impedance) and ``path_pu`` at its connection point (the feeder path); the
magnitudes bound the drop it causes anywhere on its feeder (the same bound the engine's
``network_voltage`` check uses). ``vcap_pu`` is how much drop from the whole park the circuit's
own customer voltage can take (its margin to the band, plus its own share, which the totals
include).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from grid_models.compiled import SQRT3

from ..builder import LevelResult
from ..candidates import BAY_KINDS, K_BUSBAR, KINDS
from ..demand import Demand
from ..evaluation import best_conductor
from .settings import ParkSettings

#: kind code of a circuit to a new park ring-main unit (after the engine's KINDS)
K_PARK = len(KINDS)
KIND_NAMES = (*KINDS, "park_rmu")


@dataclass
class Circuits:
    """One row per kept circuit (arrays of equal length)."""

    parcel: np.ndarray
    level: np.ndarray  # index into the parcel's LevelResult list (-1: park circuit)
    cand: np.ndarray
    cond: np.ndarray
    kind: np.ndarray
    vn_kv: np.ndarray
    feeder: np.ndarray  # existing feeder, -1 for a new feeder / park
    bus_section: np.ndarray
    substation: np.ndarray
    node: np.ndarray  # first node of the path to the busbar (-1: none)
    bay_node: np.ndarray  # RMU / station node whose bay it takes (-1: none)
    site: np.ndarray  # park ring-main site (-1: none)
    inc_mva: np.ndarray
    i_ka: np.ndarray
    sag_pu: np.ndarray
    path_pu: np.ndarray
    vcap_pu: np.ndarray
    score: np.ndarray
    cost_utility: np.ndarray
    cost_customer: np.ndarray
    route_m: np.ndarray
    point_id: np.ndarray
    conductor: np.ndarray

    def __len__(self) -> int:
        return int(self.parcel.size)

    @staticmethod
    def concat(parts: list[Circuits]) -> Circuits:
        return Circuits(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                           for f in fields(Circuits)})

    @staticmethod
    def empty() -> Circuits:
        z = np.zeros(0)
        zi = np.zeros(0, np.int64)
        zo = np.zeros(0, object)
        return Circuits(zi, zi, zi, zi, zi, z, zi, zi, zi, zi, zi, zi, z, z, z, z, z, z, z, z, z,
                        zo, zo)


@dataclass
class OptionSet:
    """One row per option: a parcel's single circuit or pair of circuits."""

    parcel: np.ndarray
    c1: np.ndarray
    c2: np.ndarray  # -1 for a single circuit
    score: np.ndarray

    def __len__(self) -> int:
        return int(self.parcel.size)


def network_circuits(results: Sequence[tuple[Demand, list[LevelResult]] | Exception],
                     n_circuits: np.ndarray, st: ParkSettings, voltage_margin_pct: float
                     ) -> Circuits:
    """The kept existing-network circuits of every parcel (see the module notes).

    Parameters
    ----------
    results : list
        :meth:`Planner.options_many` output, one entry per parcel (errors keep nothing).
    n_circuits : ndarray of int
        Circuits each parcel's tier needs (1 or 2).
    """
    parts = []
    for p, res in enumerate(results):
        if isinstance(res, Exception):
            continue
        _, levels = res
        keep_n = st.options_per_parcel * (1 if n_circuits[p] == 1 else 2)
        rows = []
        for li, r in enumerate(levels):
            o = r.options
            if o.feasible.size == 0:
                continue
            t, sc = best_conductor(o)
            c = np.flatnonzero(t >= 0)
            rows.append((li, r, c, t[c], sc[c]))
        if not rows:
            continue
        allsc = np.concatenate([x[4] for x in rows])
        cut = np.sort(allsc)[min(keep_n, allsc.size) - 1] if allsc.size else -np.inf
        for li, r, c, t, sc in rows:
            k = sc <= cut
            if k.any():
                parts.append(_from_level(p, li, r, c[k], t[k], voltage_margin_pct))
    return Circuits.concat(parts) if parts else Circuits.empty()


def _from_level(p: int, li: int, r: LevelResult, c: np.ndarray, t: np.ndarray,
                margin_pct: float) -> Circuits:
    o = r.options
    x = o.inputs
    s = x.site
    cand = r.cand
    u = s.u_kv
    i_c = x.flow.i_ka[c, t] if np.ndim(x.flow.i_ka) == 2 else np.broadcast_to(
        x.flow.i_ka, o.shape)[c, t]
    z_src = s.z_src[c, 0]
    z_path = s.z_th[c, 0] - z_src
    sag = np.abs(SQRT3 * z_src * i_c) / u
    path = np.abs(SQRT3 * z_path * i_c) / u
    band = x.band_pct / 100.0
    v = np.broadcast_to(o.v_cust_pu, o.shape)[c, t]
    vcap = v - (1 - band) - margin_pct / 100.0 + sag + path
    kind = cand.kind[c].astype(np.int64)
    node = np.where(kind == K_BUSBAR, -1, cand.node[c])
    bay = np.where(np.isin(kind, BAY_KINDS), cand.node[c], -1)
    n = c.size
    inc = np.broadcast_to(x.flow.inc_mva, o.shape)[c, t]
    return Circuits(
        parcel=np.full(n, p, np.int64), level=np.full(n, li, np.int64), cand=c.astype(np.int64),
        cond=t.astype(np.int64), kind=kind, vn_kv=np.full(n, float(r.vn_kv)),
        feeder=cand.feeder[c].astype(np.int64), bus_section=cand.bus_section[c].astype(np.int64),
        substation=cand.substation[c].astype(np.int64), node=node.astype(np.int64),
        bay_node=bay.astype(np.int64), site=np.full(n, -1, np.int64),
        inc_mva=np.asarray(inc, float), i_ka=np.abs(i_c).astype(float), sag_pu=sag, path_pu=path,
        vcap_pu=vcap, score=o.score[c, t].astype(float),
        cost_utility=o.cost_utility[c, t].astype(float),
        cost_customer=np.broadcast_to(o.cost_customer_line, o.shape)[c, t].astype(float),
        route_m=o.routes.length_m[c].astype(float),
        point_id=cand.point_id[c].astype(object),
        conductor=o.conductors["name"].to_numpy(object)[t])


def network_options(circ: Circuits, results: list, n_circuits: np.ndarray,
                    modes: list, st: ParkSettings) -> OptionSet:
    """Single-circuit options, and for dual-supply parcels their best valid pairs."""
    single = np.flatnonzero(n_circuits[circ.parcel] == 1)
    par = [circ.parcel[single]]
    c1 = [single]
    c2 = [np.full(single.size, -1, np.int64)]
    sc = [circ.score[single]]
    dual_parcels = np.unique(circ.parcel[n_circuits[circ.parcel] > 1])
    order = np.argsort(circ.parcel, kind="stable")
    starts = np.searchsorted(circ.parcel[order], dual_parcels)
    ends = np.searchsorted(circ.parcel[order], dual_parcels, side="right")
    for p, a, b in zip(dual_parcels, starts, ends, strict=True):
        idx = order[a:b]
        mode = modes[p]
        i, j = np.triu_indices(idx.size, 1)
        ci, cj = idx[i], idx[j]
        ok = ~((circ.feeder[ci] >= 0) & (circ.feeder[ci] == circ.feeder[cj]))
        ok &= circ.cand[ci] != circ.cand[cj]
        if mode.distinct_bus_sections:
            ok &= circ.bus_section[ci] != circ.bus_section[cj]
        if mode.distinct_substations:
            ok &= circ.substation[ci] != circ.substation[cj]
        same_level = circ.level[ci] == circ.level[cj]
        ok &= same_level  # both circuits at one voltage level
        if ok.any():
            _, levels = results[p]
            for k in np.flatnonzero(ok):
                conf = levels[circ.level[ci[k]]].corridor_conflict
                if conf.size and conf[circ.cand[ci[k]], circ.cand[cj[k]]]:
                    ok[k] = False
        ci, cj = ci[ok], cj[ok]
        s = circ.score[ci] + circ.score[cj]
        o = np.argsort(s, kind="stable")[: st.pairs_per_parcel]
        par.append(np.full(o.size, p, np.int64))
        c1.append(ci[o])
        c2.append(cj[o])
        sc.append(s[o])
    return OptionSet(np.concatenate(par), np.concatenate(c1), np.concatenate(c2),
                     np.concatenate(sc))
