"""The ``grid`` phase of the benchmark: warm latency on real MV grids.

The four SimBench MV grids (``tests.pp_cache``: pandapower JSON cached once; simbench ships
its data, nothing is downloaded) and pandapower's ``mv_oberrhein`` (real geography), imported
with :func:`grid_models.import_pandapower.network_from_pandapower`; applications as on the
synthetic cities (:func:`benchmarks.run.make_apps`).
"""

from __future__ import annotations

import time

from .run import MODES, latency_modes, make_apps, max_rss_mb

#: SimBench codes timed by ``--grids simbench``
SIMBENCH_GRIDS = ("1-MV-rural--0-sw", "1-MV-semiurb--0-sw", "1-MV-urban--0-sw", "1-MV-comm--0-sw")
#: other pandapower grids (mv_oberrhein: its MV/LV stations declared switchable, issue #13)
OTHER_GRIDS = ("mv_oberrhein",)
OBERRHEIN_STATION_BAYS = 2

def load_grid(code: str):  # -> (Network, dict)
    """A real MV grid as a :class:`Network`, and what its import cost.

    SimBench codes come from ``tests.pp_cache`` (pandapower JSON cached once, nothing
    downloaded: simbench ships its data); ``mv_oberrhein`` from ``pandapower.networks`` with
    its MV/LV stations declared switchable with :data:`OBERRHEIN_STATION_BAYS` spare bays.
    """
    import warnings

    from grid_models.import_pandapower import network_from_pandapower

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if code in SIMBENCH_GRIDS:
            from tests.pp_cache import load_net

            pnet, bays = load_net(code), None
        elif code == "mv_oberrhein":
            import pandapower.networks as pn

            pnet, bays = pn.mv_oberrhein(), OBERRHEIN_STATION_BAYS
        else:
            raise SystemExit(f"--grids: unknown grid {code!r}; known: "
                             f"{', '.join(SIMBENCH_GRIDS + OTHER_GRIDS)}")
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        net = network_from_pandapower(pnet, station_bays=bays)
    return net, {"pandapower_read_s": read_s, "import_s": time.perf_counter() - t0,
                 "station_bays": bays}


def phase_grid(code: str, n_apps: int, app_seed: int) -> dict:
    """Warm latency per supply mode on one real grid (applications as :func:`make_apps`)."""
    from scheme_engine.engine import Planner

    net, out = load_grid(code)
    t0 = time.perf_counter()
    planner = Planner(net)
    out["planner_init_s"] = time.perf_counter() - t0
    cn = planner.cn
    L = net.layers
    out["network"] = {"nodes": int(len(L["nodes"])), "segments": int(len(L["segments"])),
                      "feeders": int(len(L["feeders"])),
                      "substations": int(len(L["substations"])),
                      "road_edges": int(cn.road.n_edges),
                      "geometry_source": str(net.meta.get("geometry_source", ""))}
    samples = {mode: make_apps(net, n_apps, app_seed, (tier,)) for mode, tier in MODES.items()}
    out["latency"] = {mode: t.result() for mode, t in
                      latency_modes(planner, net, samples, app_seed).items()}
    out["rss_end_mb"] = max_rss_mb()
    return out
