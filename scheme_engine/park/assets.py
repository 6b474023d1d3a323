"""New park assets the joint model may build: a park ring-main with ring-main units (RMUs) fed
by new feeders from substation bus sections with spare bays.

- **RMU sites**: the parcels' centroids grouped in square cells of ``rmu_site_spacing_m``; a
  site sits at its parcels' mean centroid and may hold up to ``rmu_max_units_per_site`` units of
  ``rmu_customer_bays`` customer bays each (cost ``rmu_cost_cny`` per unit).
- **Ring**: a nearest-neighbour tour through the sites, starting at the **hub**, the site
  nearest the park's centre; a built site pays for half of its two adjacent tour links (cable +
  civil works). A ring through fewer sites is shorter (triangle inequality), so this
  over-estimates and never under-reserves. The hub is on the ring whenever any site is (the
  model builds at least one unit there): every new feeder lands at the hub.
- **Feeders**: the nearest ``park_feeder_sources`` bus sections with spare bays, found and
  routed by the engine from the hub (one candidate search and one Dijkstra); each new feeder
  costs the engine's utility cost of that route with ``park_feeder_conductor`` (bay included)
  and carries ``limit(park_feeder_mode) x rating`` MVA. From the hub a feeder runs along the
  ring, in the shorter direction, to its RMUs, so no RMU is more than ``route + ring / 2`` of
  cable from its busbar (``src_path_m``; per site ``route + site_path_m``). A section whose
  feeder, fully loaded over ``route + ring / 2``, would leave the ring below the voltage band
  (``v_ring_pu``, the worst of the offered sources), or whose route to the hub is beyond the
  supply radius, is not offered.
- **A parcel's circuit to a site**: routed along the streets by the engine
  (:func:`scheme_engine.routing.route_all`, one bounded Dijkstra per parcel to its nearest
  sites; no street within reach: straight distance x ``route_detour_factor``, as the engine
  does), with the smallest cable that carries the parcel's current at the lowest voltage the
  band allows within ``new_line_voltage_drop_limit_pct``; its customer's voltage is the ring's
  worst-case voltage less the line's drop. Offered only where the engine's own checks would
  let a shared feeder take the parcel: single-circuit tiers below ``dedicated_feeder_min_kva``,
  no forbidden crossing, and the whole path (the nearest source's route + the site's path
  along the ring from the hub + the line) within the supply radius of the parcel's area class;
  sources too far for a circuit are excluded for it (``circuit_bad_src``, rows of the model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from grid_models.compiled import SQRT3
from grid_models.errors import PolicyError

from .. import rules
from ..candidates import K_BUSBAR, K_RMU, Candidates
from ..routing import Routes, route_all
from ..supply_area import radius_limit_km
from .options import K_PARK, Circuits
from .settings import ParkSettings

if TYPE_CHECKING:
    from ..engine import Planner
    from .parcels import ParkInput


@dataclass
class ParkAssets:
    """Candidate new assets of one park (sites ``M``, sources ``B``)."""

    vn_kv: float
    site_xy: np.ndarray  # (M, 2) metric
    site_max_units: np.ndarray  # (M,)
    site_link_m: np.ndarray  # (M,) half of the adjacent ring links
    site_link_cost: np.ndarray  # (M,) CNY
    ring_order: np.ndarray  # (M,) tour order of the sites
    rmu_cost: float
    bays_per_unit: int
    src_bs: np.ndarray  # (B,) bus section
    src_ss: np.ndarray
    src_route_m: np.ndarray
    src_cost: np.ndarray  # CNY per new feeder
    src_max: np.ndarray  # most new feeders from the section
    src_sag_per_mva: np.ndarray  # pu of busbar sag per MVA of park load
    src_coords: list[np.ndarray]  # route polylines (metric), hub -> busbar
    src_path_m: np.ndarray  # (B,) route + half the ring: the longest cable busbar -> RMU
    feeder_cap_mva: float
    feeder_rated_mva: float
    v_ring_pu: float  # worst-case voltage at the ring
    conductor: str
    ring_m: float = 0.0  # the tour through every candidate site
    ring_floor_pu: float = 0.0  # lowest voltage the ring may reach (band less the margin)
    max_customers: int = 50  # customers per new feeder (max_customers_per_feeder)
    item_max_mva: float = 0.0  # largest packing weight of a park circuit (park_item_mva)
    site_path_m: np.ndarray | None = None  # (M,) cable hub -> site along the ring
    #: sources a park circuit may not be fed from (supply radius): {(parcel, site): [b, ...]}
    circuit_bad_src: dict[tuple[int, int], np.ndarray] | None = None
    #: routed circuits parcel -> site: {(parcel, site): (Routes, index)}
    circuit_coords: dict[tuple[int, int], tuple[Routes, int]] | None = None

    def circuit_polyline(self, parcel: int, site: int) -> np.ndarray | None:
        """The routed polyline (metric) of a parcel's circuit to a site, if it was routed."""
        hit = (self.circuit_coords or {}).get((int(parcel), int(site)))
        return None if hit is None else np.asarray(hit[0].coords(hit[1]), float)

    @property
    def hub(self) -> int:
        """The site every new feeder lands at (first of the tour, nearest the centre)."""
        return int(self.ring_order[0])

    @property
    def n_sites(self) -> int:
        return int(self.site_xy.shape[0])

    @property
    def n_sources(self) -> int:
        return int(self.src_bs.size)


def park_item_mva(inc_mva: np.ndarray, assets: ParkAssets) -> np.ndarray:
    """What a park circuit counts toward a new feeder when parcels are hung on the feeders:
    its MVA, but at least ``capacity / max_customers`` (a feeder filled to its capacity in
    these units then also holds at most ``max_customers`` customers: one number packs both)."""
    return np.maximum(np.asarray(inc_mva, float), assets.feeder_cap_mva / assets.max_customers)


def _park_min_cross_section(planner: Planner, assets: ParkAssets, cables: pd.DataFrame
                            ) -> np.ndarray:
    """Per cable: the smallest cross-section (mm²) that withstands the highest initial
    short-circuit current of the park's source bus sections (IEC 60949 adiabatic, the
    engine's constants)."""
    from ..short_circuit import conductor_constants, ikss_ka, network_short_circuit, protection

    pol = planner.policy
    net = network_short_circuit(planner.cn, pol)
    bs = np.asarray(assets.src_bs, np.int64)
    vn = float(assets.vn_kv)
    i_max = float(np.max(ikss_ka(net.bs_c_max[bs], vn, net.bs_z_max_ohm[bs]))) if bs.size else 0.0
    k, _ = conductor_constants(pol, cables, vn)
    return i_max * 1000.0 * np.sqrt(protection(pol, vn).clearing_time_s) / k


def _conductor_row(planner: Planner, vn: float, name: str):
    conds = planner._conductors.get(vn)
    if conds is None:
        return None
    hit = conds[conds["name"] == name]
    if hit.empty:
        raise PolicyError(f"park_planning.csv: conductor {name!r} is not a standard conductor at "
                          f"{vn:g} kV; known: {', '.join(conds['name'])}",
                          field="park_planning.park_feeder_conductor")
    return hit.iloc[0]


def park_assets(planner: Planner, park: ParkInput, st: ParkSettings) -> ParkAssets | None:
    """The candidate sites and sources of a park (None when the network has no level for a
    park ring, no source within reach, or the park is empty)."""
    if len(park) == 0:
        return None
    pol = planner.policy
    p = pol.params
    levels = [float(v) for v in planner._conductors if v <= 20.0 + 1e-9]
    if not levels:
        return None
    vn = min(levels, key=lambda v: abs(v - 10.0))
    row = _conductor_row(planner, vn, st.park_feeder_conductor)
    xy = park.parcels[["x", "y"]].to_numpy(float)
    # sites: mean centroid of the parcels of each cell
    cell = np.floor(xy / st.rmu_site_spacing_m).astype(np.int64)
    _, inv = np.unique(cell, axis=0, return_inverse=True)
    inv = inv.ravel()
    m = int(inv.max()) + 1
    cnt = np.bincount(inv, minlength=m)
    site_xy = (np.column_stack([np.bincount(inv, xy[:, 0], m), np.bincount(inv, xy[:, 1], m)])
               / cnt[:, None])
    centre = xy.mean(axis=0)
    # ring tour: nearest neighbour from the site nearest the park's centre
    order = [int(np.argmin(np.hypot(*(site_xy - centre).T)))]
    left = np.ones(m, bool)
    left[order[0]] = False
    while left.any():
        last = site_xy[order[-1]]
        todo = np.flatnonzero(left)
        nxt = int(todo[np.argmin(np.hypot(*(site_xy[todo] - last).T))])
        order.append(nxt)
        left[nxt] = False
    ordr = np.array(order)
    tour = np.roll(ordr, -1)
    seg = np.hypot(*(site_xy[ordr] - site_xy[tour]).T) * p.route_detour_factor if m > 1 \
        else np.zeros(1)
    link = np.zeros(m)
    link[ordr] = 0.5 * (seg + np.roll(seg, 1))
    civil = pol.cost("civil_per_km", "cable")
    price = float(row["price_cny_per_km"])
    link_cost = link / 1000.0 * (price + civil)
    ring_m = float(seg.sum()) if m > 1 else 0.0
    # cable from the hub to each site along the tour, the shorter way (a built ring skips
    # sites, which only shortens this: triangle inequality)
    fwd = np.zeros(m)
    fwd[ordr] = np.r_[0.0, np.cumsum(seg)[:-1]] if m > 1 else 0.0
    site_path = np.minimum(fwd, np.where(fwd > 0, ring_m - fwd, 0.0))

    # sources: the engine's substation-bay candidates from the hub
    hub_xy = site_xy[ordr[0]]
    lon, lat = planner._to_wgs.transform(hub_xy[0], hub_xy[1])
    hub_app = {"lon": float(lon), "lat": float(lat), "requested_kva": 5000.0,
               "overrides": {"voltage_kv": vn}}
    res = planner.options_many([hub_app])[0]
    u = vn
    rated = SQRT3 * u * float(row["max_i_ka"])
    lim, _ = rules.load_rate_limit(pol, np.array([st.park_feeder_mode]))
    cap = float(lim[0]) * rated
    band = rules.voltage_band_pct(pol, vn) / 100.0
    zc = complex(float(row["r_ohm_per_km"]), float(row["x_ohm_per_km"]))
    src: dict[str, list] = dict(bs=[], ss=[], route=[], cost=[], mx=[], sag=[], coords=[], v=[],
                                path=[])
    if not isinstance(res, Exception):
        lr = res[1][0] if res[1] else None
        if lr is not None:
            cand, o = lr.cand, lr.options
            t = int(np.flatnonzero(o.conductors["name"].to_numpy() == st.park_feeder_conductor)[0])
            rows = np.flatnonzero(cand.kind == K_BUSBAR)[: st.park_feeder_sources]
            area = planner.cn.supply_area_at(hub_xy)[0][0]
            radius = radius_limit_km(pol, str(area), vn)
            for c in rows:
                b = int(cand.bus_section[c])
                spare = planner.cn.bs_spare_bays[b] - p.min_spare_bays_substation + 1
                mx = int(min(spare, st.park_feeders_per_bus_section))
                km = (o.routes.length_m[c] + ring_m / 2) / 1000.0
                i_cap = cap / (SQRT3 * u)
                drop = abs(SQRT3 * zc * km * i_cap) / u
                v_ring = planner.cn.bs_vm_pu[b] - drop
                path_km = km
                # the hub must be within the supply radius; each circuit is checked against
                # the radius with its site's path (park_circuits)
                if mx < 1 or v_ring < 1 - band + st.voltage_margin_pct / 100.0 \
                        or o.routes.length_m[c] / 1000.0 > radius:
                    continue
                src["bs"].append(b)
                src["ss"].append(int(cand.substation[c]))
                src["route"].append(float(o.routes.length_m[c]))
                src["cost"].append(float(o.cost_utility[c, t] + o.cost_customer_line[c, t]))
                src["mx"].append(mx)
                zs = abs(planner.cn.bs_z_source_ohm[b])
                src["sag"].append(zs / u**2)
                src["coords"].append(o.routes.coords(int(c)))
                src["v"].append(v_ring)
                src["path"].append(km * 1000.0)
                del path_km
    if not src["bs"]:
        v_ring = np.nan
    else:
        v_ring = float(min(src["v"]))
    # units a site may need: parcels within reach / bays per unit
    tree = cKDTree(site_xy)
    near = tree.query_ball_point(xy, st.rmu_max_access_m / p.route_detour_factor)
    reach = np.zeros(m, np.int64)
    for lst in near:
        for s in lst:
            reach[s] += 1
    max_units = np.minimum(np.ceil(reach / st.rmu_customer_bays), st.rmu_max_units_per_site)
    max_units[ordr[0]] = max(max_units[ordr[0]], 1)  # the hub holds at least one unit
    return ParkAssets(vn, site_xy, max_units.astype(np.int64), link, link_cost, ordr,
                      st.rmu_cost_cny, st.rmu_customer_bays, np.array(src["bs"], np.int64),
                      np.array(src["ss"], np.int64), np.array(src["route"]),
                      np.array(src["cost"]), np.array(src["mx"], np.int64),
                      np.array(src["sag"]), src["coords"], np.array(src["path"]), cap, rated,
                      v_ring, st.park_feeder_conductor, ring_m,
                      1 - band + st.voltage_margin_pct / 100.0,
                      int(p.max_customers_per_feeder), 0.0, site_path, {}, {})


def park_circuits(planner: Planner, park: ParkInput, assets: ParkAssets, st: ParkSettings,
                  n_circuits: np.ndarray) -> Circuits:
    """Each single-circuit parcel's circuits to its nearest park sites (see module notes).

    The routed polylines are kept in ``assets.circuit_coords`` by ``(parcel, site)``.
    """
    if assets is None or assets.n_sources == 0 or not np.isfinite(assets.v_ring_pu) \
            or st.rmu_options_per_parcel < 1:
        return Circuits.empty()
    pol = planner.policy
    p = pol.params
    cn = planner.cn
    vn = assets.vn_kv
    conds = planner._conductors[vn]
    cables = conds[conds["construction"] == "cable"].sort_values("price_cny_per_km")
    xy = park.parcels[["x", "y"]].to_numpy(float)
    k = min(st.rmu_options_per_parcel, assets.n_sites)
    d, s = cKDTree(assets.site_xy).query(xy, k=k)
    d, s = d.reshape(len(xy), -1), s.reshape(len(xy), -1)
    par = np.repeat(np.arange(len(xy)), d.shape[1])
    d, s = d.ravel(), s.ravel()
    kva = park.parcels["requested_kva"].to_numpy(float)
    # a shared park feeder takes what the engine's dedicated_feeder check lets a shared
    # feeder take; dual-supply tiers use existing-network pairs
    dm = park.demands
    s_all = np.array([abs(complex(x.p_mw, x.q_mvar)) for x in dm])
    keep = (d * p.route_detour_factor <= st.rmu_max_access_m) & (n_circuits[par] == 1) \
        & (kva[par] < p.dedicated_feeder_min_kva) \
        & (s_all[par] <= st.park_rmu_max_parcel_share * assets.feeder_cap_mva)
    par, d, s = par[keep], d[keep], s[keep]
    if par.size == 0:
        return Circuits.empty()
    # street routes: one bounded Dijkstra per parcel to its nearest sites (the engine's routing;
    # the sites are not network nodes yet, so they are attached to the streets per request
    # like a tap point: seg >= 0)
    length = np.empty(par.size)
    forbidden = np.zeros(par.size, bool)
    cross_cost = np.zeros(par.size)
    coords = assets.circuit_coords if assets.circuit_coords is not None else {}
    assets.circuit_coords = coords
    order = np.argsort(par, kind="stable")
    bounds = np.flatnonzero(np.r_[True, par[order][1:] != par[order][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[a:b]
        n = rows.size
        cand = Candidates(vn, np.full(n, K_RMU, np.int8), np.array(
            [f"{park.park_id}-RMU{int(x) + 1:03d}" for x in s[rows]], dtype=object),
            np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n), np.zeros(n),
            assets.site_xy[s[rows]], d[rows], np.full(n, -1, np.int64),
            np.full(n, -1, np.int64), np.full(n, -1, np.int64), float(d[rows].max()))
        r = route_all(cn, xy[par[rows[0]]], cand, pol)
        length[rows] = r.length_m
        forbidden[rows] = r.forbidden
        cross_cost[rows] = r.crossing_cost_cny
        for j, row in enumerate(rows):  # geometry is expanded only for reserved circuits
            coords[(int(par[row]), int(s[row]))] = (r, j)
    km = np.maximum(length, p.property_boundary_m) / 1000.0
    s_mva = np.array([complex(dm[i].p_mw, dm[i].q_mvar) for i in par])
    i_ka = np.abs(s_mva) / (SQRT3 * vn)
    band = rules.voltage_band_pct(pol, vn) / 100.0
    # the engine's checks see the current at the customer's actual voltage: size the line for
    # the lowest voltage the band allows (never smaller than what the engine will find)
    i_chk = i_ka / (1.0 - band)
    # the cheapest cable that carries the current within the new-line drop limit
    price = cables["price_cny_per_km"].to_numpy(float)
    imax = cables["max_i_ka"].to_numpy(float) * p.line_loading_limit
    z = cables["r_ohm_per_km"].to_numpy(float) + 1j * cables["x_ohm_per_km"].to_numpy(float)
    drop = np.abs(SQRT3 * z[None, :] * km[:, None] * i_chk[:, None]) / vn * 100
    ok = (imax[None, :] >= i_chk[:, None]) & (drop <= p.new_line_voltage_drop_limit_pct)
    # thermal withstand (the engine's sc_thermal_withstand check): the fault level at a park
    # RMU is at most that of the busbars feeding the park (the new feeder only adds impedance),
    # so the cable's cross-section must carry that for the clearing time
    ok &= cables["cross_section_mm2"].to_numpy(float)[None, :] >= _park_min_cross_section(
        planner, assets, cables)[None, :]
    t = np.argmax(ok, axis=1)
    has = ok[np.arange(t.size), t] & ~forbidden
    drop_pu = drop[np.arange(t.size), t] / 100.0
    v = assets.v_ring_pu - drop_pu
    vcap = v - (1 - band) - st.voltage_margin_pct / 100.0
    has &= vcap > 0
    # supply radius of each parcel's area class (the engine's supply_radius check: line from
    # the busbar to the RMU + the parcel's own line): the nearest source must reach; farther
    # sources that would not are excluded for this circuit in the model
    area = cn.supply_area_at(xy[par])[0]
    radius_m = np.array([radius_limit_km(pol, str(a), vn) for a in area]) * 1000.0
    sp = assets.site_path_m if assets.site_path_m is not None else np.zeros(assets.n_sites)
    path = sp[s] + km * 1000.0
    has &= float(assets.src_route_m.min()) + path <= radius_m
    par, s, km, t, i_ka, s_mva, vcap, cross_cost, path, radius_m = (
        a[has] for a in (par, s, km, t, i_ka, s_mva, vcap, cross_cost, path, radius_m))
    bad = assets.src_route_m[None, :] + path[:, None] > radius_m[:, None]
    assets.circuit_bad_src = {(int(a), int(b)): np.flatnonzero(row)
                              for a, b, row in zip(par, s, bad, strict=True) if row.any()}
    cust_km = np.minimum(km, p.property_boundary_m / 1000.0)
    util_km = km - cust_km
    pr = price[t]
    cost_u = util_km * (pr + pol.cost("civil_per_km", "cable")) + cross_cost
    cost_c = cust_km * (pr + pol.cost("civil_per_km", "on_property"))
    rates = pol.construction_rates
    days = np.ceil(km / rates["cable_km_per_workday"] + rates["bay_workdays"]
                   + rates["fixed_utility_workdays"])
    loss_kw = 3 * i_ka**2 * cables["r_ohm_per_km"].to_numpy(float)[t] * km * 1000
    score = (p.weight_cost * (cost_u + cost_c) + p.weight_workday_cny * days
             + p.weight_loss_cny_per_kw * loss_kw)
    n = par.size
    assets.item_max_mva = float(park_item_mva(np.abs(s_mva), assets).max()) if n else 0.0
    return Circuits(
        parcel=par.astype(np.int64), level=np.full(n, -1, np.int64), cand=s.astype(np.int64),
        cond=t.astype(np.int64), kind=np.full(n, K_PARK, np.int64), vn_kv=np.full(n, vn),
        feeder=np.full(n, -1, np.int64), bus_section=np.full(n, -1, np.int64),
        substation=np.full(n, -1, np.int64), node=np.full(n, -1, np.int64),
        bay_node=np.full(n, -1, np.int64), site=s.astype(np.int64),
        inc_mva=np.abs(s_mva), i_ka=i_ka, sag_pu=np.zeros(n), path_pu=np.zeros(n),
        vcap_pu=vcap, score=score, cost_utility=cost_u, cost_customer=cost_c,
        route_m=km * 1000.0,
        point_id=np.array([f"{park.park_id}-RMU{int(x) + 1:03d}" for x in s], dtype=object),
        conductor=cables["name"].to_numpy(object)[t])
