"""New park assets the joint model may build: a park ring-main with ring-main units (RMUs) fed
by new feeders from substation bus sections with spare bays.

- **RMU sites**: the parcels' centroids grouped in square cells of ``rmu_site_spacing_m``; a
  site sits at its parcels' mean centroid and may hold up to ``rmu_max_units_per_site`` units of
  ``rmu_customer_bays`` customer bays each (cost ``rmu_cost_cny`` per unit).
- **Ring**: a nearest-neighbour tour through the sites; a built site pays for half of its two
  adjacent tour links (cable + civil works). A ring through fewer sites is shorter (triangle
  inequality), so this over-estimates and never under-reserves.
- **Feeders**: the nearest ``park_feeder_sources`` bus sections with spare bays, found and
  routed by the engine from the park's centre (one candidate search and one Dijkstra); each
  new feeder costs the engine's utility cost of that route with ``park_feeder_conductor`` (bay
  included) and carries ``limit(park_feeder_mode) x rating`` MVA. A section whose feeder, fully
  loaded, would leave the ring below the voltage band is not offered.
- **A parcel's circuit to a site**: straight distance x ``route_detour_factor`` of the smallest
  cable that carries it within ``new_line_voltage_drop_limit_pct``; its customer's voltage is
  the ring's worst-case voltage less the line's drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from grid_models.compiled import SQRT3
from grid_models.errors import PolicyError

from .. import rules
from ..candidates import K_BUSBAR
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
    src_coords: list[np.ndarray]  # route polylines (metric), park centre -> busbar
    feeder_cap_mva: float
    feeder_rated_mva: float
    v_ring_pu: float  # worst-case voltage at the ring
    conductor: str

    @property
    def n_sites(self) -> int:
        return int(self.site_xy.shape[0])

    @property
    def n_sources(self) -> int:
        return int(self.src_bs.size)


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
    site_xy = np.column_stack([np.bincount(inv, xy[:, 0], m), np.bincount(inv, xy[:, 1], m)])
    site_xy /= cnt[:, None]
    centre = xy.mean(axis=0)
    # ring tour: nearest neighbour from the site nearest the park's centre
    order = [int(np.argmin(np.hypot(*(site_xy - centre).T)))]
    left = np.ones(m, bool)
    left[order[0]] = False
    while left.any():
        last = site_xy[order[-1]]
        cand = np.flatnonzero(left)
        nxt = int(cand[np.argmin(np.hypot(*(site_xy[cand] - last).T))])
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

    # sources: the engine's substation-bay candidates from the park's centre
    lon, lat = planner._to_wgs.transform(centre[0], centre[1])
    hub_app = {"lon": float(lon), "lat": float(lat), "requested_kva": 5000.0,
               "overrides": {"voltage_kv": vn}}
    res = planner.options_many([hub_app])[0]
    u = vn
    rated = SQRT3 * u * float(row["max_i_ka"])
    lim, _ = rules.load_rate_limit(pol, np.array([st.park_feeder_mode]))
    cap = float(lim[0]) * rated
    band = rules.voltage_band_pct(pol, vn) / 100.0
    zc = complex(float(row["r_ohm_per_km"]), float(row["x_ohm_per_km"]))
    src = dict(bs=[], ss=[], route=[], cost=[], mx=[], sag=[], coords=[], v=[])
    if not isinstance(res, Exception):
        lr = res[1][0] if res[1] else None
        if lr is not None:
            cand, o = lr.cand, lr.options
            t = int(np.flatnonzero(o.conductors["name"].to_numpy() == st.park_feeder_conductor)[0])
            rows = np.flatnonzero(cand.kind == K_BUSBAR)[: st.park_feeder_sources]
            area = planner.cn.supply_area_at(centre)[0][0]
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
                if mx < 1 or v_ring < 1 - band + st.voltage_margin_pct / 100.0 \
                        or path_km > radius:
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
    return ParkAssets(vn, site_xy, max_units.astype(np.int64), link, link_cost, ordr,
                      st.rmu_cost_cny, st.rmu_customer_bays, np.array(src["bs"], np.int64),
                      np.array(src["ss"], np.int64), np.array(src["route"]),
                      np.array(src["cost"]), np.array(src["mx"], np.int64),
                      np.array(src["sag"]), src["coords"], cap, rated, v_ring,
                      st.park_feeder_conductor)


def park_circuits(planner: Planner, park: ParkInput, assets: ParkAssets, st: ParkSettings,
                  n_circuits: np.ndarray) -> Circuits:
    """Each single-circuit parcel's circuits to its nearest park sites (see module notes)."""
    if assets is None or assets.n_sources == 0 or not np.isfinite(assets.v_ring_pu) \
            or st.rmu_options_per_parcel < 1:
        return Circuits.empty()
    pol = planner.policy
    p = pol.params
    vn = assets.vn_kv
    conds = planner._conductors[vn]
    cables = conds[conds["construction"] == "cable"].sort_values("price_cny_per_km")
    xy = park.parcels[["x", "y"]].to_numpy(float)
    k = min(st.rmu_options_per_parcel, assets.n_sites)
    d, s = cKDTree(assets.site_xy).query(xy, k=k)
    d, s = d.reshape(len(xy), -1), s.reshape(len(xy), -1)
    par = np.repeat(np.arange(len(xy)), d.shape[1])
    d, s = d.ravel(), s.ravel()
    keep = (d * p.route_detour_factor <= st.rmu_max_access_m) & (n_circuits[par] == 1)
    par, d, s = par[keep], d[keep], s[keep]
    if par.size == 0:
        return Circuits.empty()
    km = np.maximum(d * p.route_detour_factor, p.property_boundary_m) / 1000.0
    dm = park.demands
    s_mva = np.array([complex(dm[i].p_mw, dm[i].q_mvar) for i in par])
    i_ka = np.abs(s_mva) / (SQRT3 * vn)
    band = rules.voltage_band_pct(pol, vn) / 100.0
    # the cheapest cable that carries the current within the new-line drop limit
    price = cables["price_cny_per_km"].to_numpy(float)
    imax = cables["max_i_ka"].to_numpy(float) * p.line_loading_limit
    z = cables["r_ohm_per_km"].to_numpy(float) + 1j * cables["x_ohm_per_km"].to_numpy(float)
    drop = np.abs(SQRT3 * z[None, :] * km[:, None] * i_ka[:, None]) / vn * 100
    ok = (imax[None, :] >= i_ka[:, None]) & (drop <= p.new_line_voltage_drop_limit_pct)
    t = np.argmax(ok, axis=1)
    has = ok[np.arange(t.size), t]
    drop_pu = drop[np.arange(t.size), t] / 100.0
    v = assets.v_ring_pu - drop_pu
    vcap = v - (1 - band) - st.voltage_margin_pct / 100.0
    has &= vcap > 0
    par, s, km, t, i_ka, s_mva, vcap = (a[has] for a in (par, s, km, t, i_ka, s_mva, vcap))
    cust_km = np.minimum(km, p.property_boundary_m / 1000.0)
    util_km = km - cust_km
    pr = price[t]
    cost_u = util_km * (pr + pol.cost("civil_per_km", "cable"))
    cost_c = cust_km * (pr + pol.cost("civil_per_km", "on_property"))
    rates = pol.construction_rates
    days = np.ceil(km / rates["cable_km_per_workday"] + rates["bay_workdays"]
                   + rates["fixed_utility_workdays"])
    loss_kw = 3 * i_ka**2 * cables["r_ohm_per_km"].to_numpy(float)[t] * km * 1000
    score = (p.weight_cost * (cost_u + cost_c) + p.weight_workday_cny * days
             + p.weight_loss_cny_per_kw * loss_kw)
    n = par.size
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
