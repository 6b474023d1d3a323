"""What a fresh process reuses from the cache folder: PROJ pipelines and bundled policies.

Both exist so that `gridscheme plan` does not pay 40-60 ms per coordinate transformer and
~0.1 s of policy reading per run; neither may change an answer or survive a bad entry.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer

from grid_models import crs as crs_mod
from grid_models import policy as policy_mod


@pytest.fixture()
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    d = tmp_path / "cache"
    monkeypatch.setenv("GRIDSCHEME_CACHE_DIR", str(d))
    crs_mod._transformer.cache_clear()
    monkeypatch.setattr(policy_mod, "_CACHE", {})
    yield d
    crs_mod._transformer.cache_clear()


PAIRS = [("EPSG:4326", "EPSG:4547"), ("EPSG:4547", "EPSG:4326"), ("EPSG:4490", "EPSG:4547"),
         ("EPSG:4326", "EPSG:32650"), ("EPSG:32650", "EPSG:4490")]


@pytest.mark.parametrize(("src", "dst"), PAIRS)
def test_a_remembered_pipeline_transforms_exactly_as_the_searched_one(
        private_cache: Path, src: str, dst: str) -> None:
    ref = Transformer.from_crs(src, dst, always_xy=True)
    rng = np.random.default_rng(3)
    if src in ("EPSG:4326", "EPSG:4490"):
        x, y = rng.uniform(110, 120, 50), rng.uniform(30, 45, 50)
    else:
        x, y = rng.uniform(3e5, 7e5, 50), rng.uniform(3.4e6, 4.9e6, 50)
    first = crs_mod.transformer(src, dst)  # searched, then written
    memo = json.loads((private_cache / "proj_pipelines.json").read_text())
    assert len(memo) == 1
    crs_mod._transformer.cache_clear()
    second = crs_mod.transformer(src, dst)  # rebuilt from the file
    assert second.definition == ref.definition
    for tr in (first, second):
        np.testing.assert_array_equal(np.array(tr.transform(x, y)), np.array(ref.transform(x, y)))


def test_a_corrupt_or_wrong_pipeline_file_falls_back_to_the_search(private_cache: Path) -> None:
    private_cache.mkdir(parents=True)
    path = private_cache / "proj_pipelines.json"
    path.write_text("{not json")
    tr = crs_mod.transformer("EPSG:4326", "EPSG:4547")
    assert tr.transform(114.0, 39.0) == Transformer.from_crs(
        "EPSG:4326", "EPSG:4547", always_xy=True).transform(114.0, 39.0)
    memo = json.loads(path.read_text())  # rewritten whole
    (key,) = memo
    memo[key] = "proj=this_is_not_an_operation"
    path.write_text(json.dumps(memo))
    crs_mod._transformer.cache_clear()
    again = crs_mod.transformer("EPSG:4326", "EPSG:4547")
    assert again.transform(114.0, 39.0) == tr.transform(114.0, 39.0)


def test_a_bundled_policy_read_back_from_the_cache_equals_the_csv_one(
        private_cache: Path) -> None:
    fresh = policy_mod.load_policy("sgcc_15_30")  # reads the CSVs (and default's), writes both
    pkls = sorted(p.name for p in private_cache.glob("policy-*.pkl"))
    assert len(pkls) == 2 and any(n.startswith("policy-sgcc_15_30-") for n in pkls)
    policy_mod._CACHE.clear()
    cached = policy_mod.load_policy("sgcc_15_30")
    assert cached is not fresh
    assert cached.policy_id == fresh.policy_id
    assert cached.params == fresh.params
    assert set(cached.tables) == set(fresh.tables)
    for name, t in fresh.tables.items():
        assert cached.tables[name].equals(t), name


def test_a_corrupt_or_foreign_policy_pickle_is_read_afresh(private_cache: Path) -> None:
    ref = policy_mod.load_policy("default")
    (path,) = private_cache.glob("policy-default-*.pkl")
    for bad in (b"garbage", pickle.dumps({"not": "a policy"})):
        path.write_bytes(bad)
        policy_mod._CACHE.clear()
        pol = policy_mod.load_policy("default")
        assert pol.policy_id == ref.policy_id
        assert isinstance(pickle.loads(path.read_bytes()), policy_mod.Policy)  # rewritten


def test_the_policy_key_changes_with_any_table_byte(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    import shutil

    bundled = tmp_path / "policies"
    shutil.copytree(policy_mod.POLICY_DIR, bundled)
    monkeypatch.setattr(policy_mod, "POLICY_DIR", bundled)
    before = policy_mod._bundled_key("sgcc_15_30")
    f = bundled / "default" / "unit_costs.csv"
    f.write_bytes(f.read_bytes() + b"\n")
    assert policy_mod._bundled_key("sgcc_15_30") != before


def test_no_nameable_cache_folder_costs_only_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no cache folder can be named (a service account without a home directory:
    ``Path.home()`` raises), transformers and bundled policies are built as without a cache."""
    from grid_models import cache as cache_mod

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(cache_mod, "cache_dir", no_home)
    crs_mod._transformer.cache_clear()
    monkeypatch.setattr(policy_mod, "_CACHE", {})
    try:
        tr = crs_mod.transformer("EPSG:4326", "EPSG:4547")
        assert tr.transform(114.0, 39.0) == Transformer.from_crs(
            "EPSG:4326", "EPSG:4547", always_xy=True).transform(114.0, 39.0)
        assert policy_mod.load_policy("sgcc_15_30").name == "sgcc_15_30"
    finally:
        crs_mod._transformer.cache_clear()
