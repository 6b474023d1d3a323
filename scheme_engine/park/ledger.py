"""The capacity ledger: what the network can still give, and what reservations took.

Limits are the engine's own checks written as capacities (per network version and policy):

- feeder: ``limit x rated - peak/pf`` MVA (``feeder_load_rate``), customers
  ``max_customers_per_feeder - n_customers`` (``customers_on_feeder``);
- substation: ``transformer limit x firm - load`` MVA (``transformer_load_rate``); the unit of
  a bus section: ``unit limit x unit MVA - section load`` (``transformer_unit_loading``);
- bays: ``spare - min + 1`` at a bus section / RMU / station (``spare_bays``);
- branch (a node's segment to its parent): ``rating x line_loading_limit - |I0|`` kA
  (``path_headroom``);
- voltage: the margin of the lowest baseline voltage of a feeder / bus section to the band
  (``network_voltage``), less ``voltage_margin_pct``.

Usage arrays add up the reservations (:meth:`Ledger.add`); a reserved circuit also lowers the
voltage margin its feeder / section may still give (its own customer's margin,
``feeder_vlim`` / ``bs_vlim``). A ledger serialises to JSON (nonzero entries by element id),
so a later park (or a resumed run) starts from the reservations of the parks before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grid_models.compiled import BAY_KIND_CODES, CompiledNetwork
from grid_models.policy import Policy

from .. import rules
from .settings import park_settings

_USAGE = ("feeder_mva", "feeder_cust", "ss_mva", "bs_mva", "bs_bays", "node_bays", "branch_ka",
          "feeder_path_pu", "bs_sag_pu")
_VLIM = ("feeder_vlim", "bs_vlim")
_INDEX = {"feeder_mva": "feeder", "feeder_cust": "feeder", "feeder_path_pu": "feeder",
          "feeder_vlim": "feeder", "ss_mva": "ss", "bs_mva": "bs", "bs_bays": "bs",
          "bs_sag_pu": "bs", "bs_vlim": "bs", "node_bays": "node", "branch_ka": "node"}


def band_by_kv(policy: Policy, kv: np.ndarray) -> np.ndarray:
    """Voltage band (fraction) of each element's nominal voltage."""
    kv = np.asarray(kv, float)
    out = np.full(kv.shape, 0.07)
    for v in np.unique(kv[np.isfinite(kv)]):
        try:
            out[kv == v] = rules.voltage_band_pct(policy, float(v)) / 100.0
        except Exception:  # a level the policy does not list: its nearest is used by checks
            pass
    return out


@dataclass
class Limits:
    """Capacities of one compiled network under one policy (see the module notes)."""

    feeder_mva: np.ndarray
    feeder_cust: np.ndarray
    ss_mva: np.ndarray
    bs_mva: np.ndarray
    bs_bays: np.ndarray
    node_bays: np.ndarray
    branch_ka: np.ndarray
    feeder_vcap_pu: np.ndarray
    bs_vcap_pu: np.ndarray
    feeder_limit: np.ndarray  # N-1 load-rate limit by connection mode
    ss_limit: np.ndarray  # transformer load-rate limit by number of units

    @staticmethod
    def of(cn: CompiledNetwork, policy: Policy) -> Limits:
        p = policy.params
        st = park_settings(policy)
        nf = len(cn.feeder_ids)
        lim, _ = rules.load_rate_limit(policy, cn.feeder_mode) if nf else (np.zeros(0), None)
        f_peak = cn.feeder_peak_mw / np.where(cn.feeder_pf > 0, cn.feeder_pf, 1.0)
        feeder_mva = lim * cn.feeder_rated_mva - f_peak
        feeder_cust = p.max_customers_per_feeder - cn.feeder_n_customers.astype(float)
        ss_peak = cn.ss_load_mw
        tlim = rules.transformer_limit(policy, cn.ss_n_transformers)
        ss_mva = tlim * cn.ss_n_transformers * cn.ss_transformer_mva - ss_peak / cn.ss_pf
        bs_mva = p.transformer_unit_loading_limit * cn.bs_unit_mva - cn.bs_load_mva
        bs_bays = cn.bs_spare_bays.astype(float) - p.min_spare_bays_substation + 1
        node_bays = np.where(np.isin(cn.node_kind, BAY_KIND_CODES),
                             cn.node_spare_bays.astype(float) - p.min_spare_bays_rmu + 1, 0.0)
        n = cn.n_nodes
        branch = np.full(n, np.inf)
        has = (cn.parent >= 0) & (cn.parent_seg >= 0)
        branch[has] = (cn.seg_max_i_ka[cn.parent_seg[has]] * p.line_loading_limit
                       - np.abs(cn.i_branch0_ka[has]))
        m = st.voltage_margin_pct / 100.0
        f_band = band_by_kv(policy, cn.feeder_vn_kv)
        b_band = band_by_kv(policy, cn.bs_vn_kv)
        fv = cn.feeder_min_vm_pu - (1 - f_band) - m
        bv = cn.bs_min_vm_pu - (1 - b_band) - m
        fv = np.where(np.isfinite(fv), fv, np.inf)
        bv = np.where(np.isfinite(bv), bv, np.inf)
        return Limits(feeder_mva, feeder_cust, ss_mva, bs_mva, bs_bays, node_bays, branch, fv, bv,
                      lim, tlim)


@dataclass
class Ledger:
    """Reserved usage on one network version (arrays sized like the compiled network)."""

    cn: CompiledNetwork = field(repr=False)
    feeder_mva: np.ndarray
    feeder_cust: np.ndarray
    ss_mva: np.ndarray
    bs_mva: np.ndarray
    bs_bays: np.ndarray
    node_bays: np.ndarray
    branch_ka: np.ndarray
    feeder_path_pu: np.ndarray
    bs_sag_pu: np.ndarray
    feeder_vlim: np.ndarray  # tightest own-voltage margin of circuits reserved on the feeder
    bs_vlim: np.ndarray  # ... of new feeders / park circuits reserved on the section
    parks: list[str] = field(default_factory=list)

    @staticmethod
    def empty(cn: CompiledNetwork) -> Ledger:
        nf, nb, ns, nn = len(cn.feeder_ids), len(cn.bs_ids), len(cn.ss_ids), cn.n_nodes
        return Ledger(cn, np.zeros(nf), np.zeros(nf), np.zeros(ns), np.zeros(nb), np.zeros(nb),
                      np.zeros(nn), np.zeros(nn), np.zeros(nf), np.zeros(nb),
                      np.full(nf, np.inf), np.full(nb, np.inf))

    def copy(self) -> Ledger:
        kw = {k: getattr(self, k).copy() for k in (*_USAGE, *_VLIM)}
        return Ledger(self.cn, **kw, parks=list(self.parks))

    # ---------------------------------------------------------------- (de)serialise
    def _ids(self, kind: str) -> np.ndarray:
        cn = self.cn
        return {"feeder": cn.feeder_ids, "bs": cn.bs_ids, "ss": cn.ss_ids,
                "node": cn.node_ids}[kind]

    def to_json(self) -> dict[str, Any]:
        """Nonzero usage by element id (exact floats; JSON keeps them bit for bit)."""
        out: dict[str, Any] = {"network_version": self.cn.version_id, "parks": self.parks}
        for k in (*_USAGE, *_VLIM):
            a = getattr(self, k)
            nz = np.flatnonzero(np.isfinite(a) & (a != 0)) if k in _USAGE else \
                np.flatnonzero(np.isfinite(a))
            ids = self._ids(_INDEX[k])
            out[k] = {str(ids[i]): float(a[i]) for i in nz}
        return out

    @staticmethod
    def from_json(cn: CompiledNetwork, doc: dict[str, Any]) -> Ledger:
        from grid_models.errors import InputError

        if doc.get("network_version") not in (None, cn.version_id):
            raise InputError(f"reservations were made on network version "
                             f"{doc.get('network_version')}, not {cn.version_id}",
                             field="network_version")
        led = Ledger.empty(cn)
        led.parks = list(doc.get("parks") or [])
        for k in (*_USAGE, *_VLIM):
            vals = doc.get(k) or {}
            if not vals:
                continue
            import pandas as pd

            pos = pd.Index(led._ids(_INDEX[k])).get_indexer(list(vals))
            if (pos < 0).any():
                raise InputError(f"reservations name elements not in this network "
                                 f"({k})", field=k)
            getattr(led, k)[pos] = np.fromiter(vals.values(), float, len(vals))
        return led

    def merge(self, other: Ledger) -> None:
        """Add another ledger's reservations (parks planned independently)."""
        for k in _USAGE:
            getattr(self, k)[:] += getattr(other, k)
        for k in _VLIM:
            np.minimum(getattr(self, k), getattr(other, k), out=getattr(self, k))
        self.parks += [p for p in other.parks if p not in self.parks]


def branch_paths(cn: CompiledNetwork, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (row, node) pair such that the branch ``node -> parent`` lies on the path from
    ``start[row]`` to its busbar (vectorised: one step up per tree level)."""
    start = np.asarray(start, np.int64)
    rows, nodes = [], []
    cur = start.copy()
    idx = np.arange(start.size)
    alive = cur >= 0
    cur, idx = cur[alive], idx[alive]
    while cur.size:
        par = cn.parent[cur]
        has = par >= 0
        cur, idx, par = cur[has], idx[has], par[has]
        rows.append(idx)
        nodes.append(cur)
        cur = par
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(nodes)
