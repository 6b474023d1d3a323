"""Plans of the bundled demo city used by the viz tests (planned once per test session).

Planned by the real engine (no hand-written JSON), so the views are tested on what the engine
actually returns today; the hostile application puts script-like text in every user field.
"""

from __future__ import annotations

from functools import cache, lru_cache

from api.plan_cli import DEMO_NETWORK

HOSTILE = ("</script><script>window.__x=1</script>${alert(1)}`\"'"
           "<img src=x onerror=\"window.__x=2\">")
PARCEL = [[[106.8209, 39.6697], [106.8221, 39.6697], [106.8221, 39.6705], [106.8209, 39.6705],
           [106.8209, 39.6697]]]

APPS = {
    # dual circuit (tier 二级), two new substation bays, cable
    "dual": {"customer_name": "示范数据中心", "lon": 106.8215, "lat": 39.67,
             "requested_kva": 1600, "tier": "二级"},
    # single source, T-taps on overhead lines, three alternatives
    "taps": {"customer_name": "城西物流园", "lon": 106.80, "lat": 39.66, "requested_kva": 800},
    # nothing feasible: remedies, the last one without circuits
    "remedy": {"customer_name": "重要客户", "lon": 106.83, "lat": 39.68, "requested_kva": 4000,
               "tier": "一级"},
    # hostile name and a parcel instead of a point
    "hostile": {"customer_name": HOSTILE, "parcel": PARCEL, "requested_kva": 1000,
                "tier": "普通"},
}


@lru_cache(maxsize=1)
def _planner():
    from grid_models.io import read_network
    from scheme_engine.engine import Planner

    net = read_network(DEMO_NETWORK)
    return net, Planner(net)


@cache
def _plan(key: str) -> str:
    import json

    _, planner = _planner()
    return json.dumps(planner.plan(dict(APPS[key])).model_dump(mode="json"))


def plan(key: str) -> dict:
    """A fresh copy of the plan of ``APPS[key]``."""
    import json

    return json.loads(_plan(key))


def network():
    """The demo network (shared)."""
    return _planner()[0]
