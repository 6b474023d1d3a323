"""Every reserved scheme of a 210-parcel park, re-planned alone on the network with every other
reservation built in (scheme_engine.park.rebuild), still passes every check of the engine.

How the network is rebuilt (see :mod:`scheme_engine.park.rebuild`): a copy of the element
tables gets each other parcel's demand as load at its connection point (a bay of an RMU /
station: load on that node and one spare bay fewer; a tap: the overhead segment split at the
tap point with the load on a new pole), the feeders' and substations' peaks and customer counts
raised by what was reserved on them, the bus sections' voltage lowered by the sag of the added
load, dedicated feeders built (bay, feeder, cable), and the park's new assets built: RMUs with
their bays, new feeders from their bus sections along the engine's route to the hub and along
the ring, each parcel hung on a feeder as the model's packing rows promise. The parcel itself
is then evaluated by the engine's own candidates, routing and checks at its reserved point and
conductor.
"""

from __future__ import annotations

import time

import pytest

from grid_models.policy import load_policy
from grid_models.validation import validate
from scheme_engine.engine import Planner
from scheme_engine.park import check_parcels, park_settings, plan_park
from scheme_engine.park.rebuild import network_with_plan, recheck_parcel
from tests.park_fixtures import grid_parcels, roomy_demo_network


@pytest.mark.slow
def test_every_reserved_scheme_passes_when_replanned_with_the_others_built_in():
    t0 = time.perf_counter()
    policy = load_policy()
    planner = Planner(roomy_demo_network(), policy)
    park = check_parcels(grid_parcels(planner.cn.crs, 210), planner, park_id="RP",
                         on_bad="fail")
    assert len(park) >= 200
    # a bounded solve: the re-plan checks the reserved schemes, not the optimality
    st = park_settings(policy).replace(time_limit_s=5.0, mip_gap=0.02)
    res = plan_park(planner, park, settings=st)
    t = res.parcels
    reserved = t[t["status"] == "reserved"]
    kinds = set(reserved["kind"])
    # the park uses every kind of reservation: taps, existing RMU bays, dedicated feeders,
    # the new park ring, and dual supply
    assert {"tap", "rmu", "busbar", "park_rmu"} <= kinds
    assert "kind_2" in t.columns and t["kind_2"].notna().any()
    assert len(reserved) >= 150
    # the whole plan built in is a valid network, packed as the model promised
    full = network_with_plan(planner, res)
    rep = validate(full.network, planner.std, policy)
    assert rep.ok, [str(p) for p in rep.errors][:5]
    assert full.notes == []
    assert full.park_feeders and all(f["load_mva"] <= f["capacity_mva"] + 1e-9
                                     for f in full.park_feeders)
    failures = []
    n_circuits = 0
    for pid in reserved["parcel_id"]:
        for rec in recheck_parcel(planner, res, pid):
            n_circuits += 1
            if not (rec["found"] and rec["feasible"]):
                failures.append((pid, rec["kind"], rec["point"], rec["found"], {
                    c: (round(rec["values"][c], 4), round(rec["limits"][c], 4))
                    for c in rec["failing"]} if rec["found"] else None))
    assert failures == [], failures[:10]
    assert n_circuits == len(reserved) + int(reserved["kind_2"].notna().sum())
    assert time.perf_counter() - t0 < 120  # keep it a test, not a benchmark
