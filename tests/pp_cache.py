"""Cached pandapower test nets (SimBench MV grids, CIGRE MV) for tests that need them.

``simbench.get_simbench_net`` parses CSV for 2.5–10 s per call, so each net is built once and
kept as pandapower JSON under ``$GRIDSCHEME_TEST_CACHE`` (default
``~/.cache/gridscheme-tests``), keyed by the simbench and pandapower versions. SimBench's
time-series profiles (``net.profiles``, 99 % of the file) are dropped from the cache; use
``simbench`` directly where a test needs them. Nothing is downloaded: both packages ship the
data.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

SIMBENCH_MV = ("1-MV-rural--0-sw", "1-MV-semiurb--0-sw", "1-MV-urban--0-sw", "1-MV-comm--0-sw")
CIGRE_MV = ("cigre-mv", "cigre-mv-pv_wind")
ALL_NETS = SIMBENCH_MV + CIGRE_MV


def cache_dir() -> Path:
    """Folder of the cached nets (created on demand)."""
    d = Path(os.environ.get("GRIDSCHEME_TEST_CACHE", Path.home() / ".cache" / "gridscheme-tests"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def cached_net_path(code: str) -> Path:
    """Path of the cached JSON of ``code`` (one of :data:`ALL_NETS`), building it if needed."""
    import pandapower as pp

    if code not in ALL_NETS:
        raise KeyError(f"unknown test net {code!r}; known: {', '.join(ALL_NETS)}")
    if code in SIMBENCH_MV:
        import simbench

        tag = f"sb{simbench.__version__}"
    else:
        tag = "pn"
    path = cache_dir() / f"{code}-{tag}-pp{pp.__version__}.json"
    if path.exists():
        return path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = _build(code)
    # Written to a temporary name and renamed: parallel test workers never read half a file.
    fd, tmp = tempfile.mkstemp(suffix=".json", dir=path.parent)
    os.close(fd)
    try:
        pp.to_json(net, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is shared like any cache
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_net(code: str):  # -> pandapowerNet
    """A fresh pandapower net for ``code`` read from the cache."""
    import pandapower as pp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pp.from_json(str(cached_net_path(code)))


def _build(code: str):  # -> pandapowerNet
    if code in SIMBENCH_MV:
        import simbench

        net = simbench.get_simbench_net(code)
        net["profiles"] = {}
        return net
    import pandapower.networks as pn

    return pn.create_cigre_network_mv(with_der="pv_wind" if code.endswith("pv_wind") else False)
