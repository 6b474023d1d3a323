"""The compiled-view cache: keyed by content, invalidated safely, never serving a bad network."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from api.plan_cli import DEMO_NETWORK
from grid_models.cache import cache_dir, load_compiled
from grid_models.errors import NetworkValidationError
from grid_models.io import read_network, write_network
from grid_models.network import Network
from grid_models.policy import load_policy
from scheme_engine.engine import Planner
from tests.fixtures_small import small_network


@pytest.fixture()
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("GRIDSCHEME_CACHE_DIR", str(d))
    return d


def test_second_load_comes_from_the_cache_and_plans_the_same(private_cache: Path,
                                                            tmp_path: Path) -> None:
    net = tmp_path / "demo.gpkg"
    shutil.copy(DEMO_NETWORK, net)
    pol = load_policy()
    a = load_compiled(net, pol)
    b = load_compiled(net, pol)
    assert not a.from_cache and b.from_cache
    assert cache_dir() == private_cache and list((private_cache / "compiled").glob("*.pkl"))
    assert b.compiled.version_id == read_network(net).version_id
    app = {"lon": 106.8215, "lat": 39.67, "requested_kva": 1600, "tier": "二级"}
    ra = Planner(a.compiled, pol).plan(app).model_dump(exclude={"solve_ms"})
    rb = Planner(b.compiled, pol).plan(app).model_dump(exclude={"solve_ms"})
    assert ra == rb
    assert np.array_equal(a.compiled.seg_geometry.astype(str), b.compiled.seg_geometry.astype(str))


def test_a_changed_file_or_policy_is_not_served_stale(private_cache: Path,
                                                      tmp_path: Path) -> None:
    f = tmp_path / "small.gpkg"
    write_network(small_network(), f)
    pol = load_policy()
    first = load_compiled(f, pol)
    net = small_network()
    layers = {k: v.copy() for k, v in net.layers.items()}
    layers["feeders"].loc[layers["feeders"]["id"] == "F2", "peak_mw"] = 2.2
    write_network(Network.from_layers(layers, crs=net.crs, meta=net.meta), f)
    second = load_compiled(f, pol)
    assert not second.from_cache
    assert second.compiled.version_id != first.compiled.version_id
    other = load_compiled(f, load_policy("sgcc_15_30"))
    assert not other.from_cache  # another policy, another entry


def test_invalid_network_is_refused_cold_and_warm(private_cache: Path, tmp_path: Path) -> None:
    net = small_network()
    layers = {k: v.copy() for k, v in net.layers.items()}
    layers["segments"].loc[layers["segments"]["id"] == "F2-S2", "length_km"] = -0.5
    f = tmp_path / "bad.gpkg"
    write_network(Network.from_layers(layers, crs=net.crs, meta=net.meta), f)
    for _ in range(2):
        with pytest.raises(NetworkValidationError) as e:
            load_compiled(f, load_policy())
        assert "F2-S2" in str(e.value)


def test_a_corrupt_entry_is_rebuilt(private_cache: Path, tmp_path: Path) -> None:
    f = tmp_path / "small.gpkg"
    write_network(small_network(), f)
    load_compiled(f, load_policy())
    for p in (private_cache / "compiled").glob("*.pkl"):
        p.write_bytes(b"not a pickle")
    again = load_compiled(f, load_policy())
    assert not again.from_cache and again.compiled.n_nodes == len(small_network().nodes)


def test_planner_refuses_an_invalid_network() -> None:
    net = small_network()
    layers = {k: v.copy() for k, v in net.layers.items()}
    layers["feeders"].loc[layers["feeders"]["id"] == "F3", "bus_section_id"] = "BS9"
    with pytest.raises(NetworkValidationError) as e:
        Planner(Network.from_layers(layers, crs=net.crs, meta=net.meta))
    assert "F3" in str(e.value)
