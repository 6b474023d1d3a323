"""``gridscheme forecast ...`` run as a user would: exit codes and the basis printed.

A few cases run the real console entry in a subprocess; the rest call ``api.cli.main`` in
process (same parser and error handling, without paying interpreter start-up each time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

ROOT = Path(__file__).resolve().parents[1]
Runner = Callable[..., tuple[int, str, str]]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GRIDSCHEME_DEBUG"}
    return subprocess.run([sys.executable, "-m", "api.cli", "forecast", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def run_in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
                   ) -> Callable[..., tuple[int, str, str]]:
    """``gridscheme forecast ARGS`` through ``api.cli.main``; returns (code, stdout, stderr)."""
    from api.cli import main

    monkeypatch.delenv("GRIDSCHEME_DEBUG", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["forecast", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="module")
def tiny_network(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One substation, one 10 kV cable feeder F1 with five annual peaks and a week of curve."""
    from grid_models.io import write_network
    from grid_models.network import Network

    crs = "EPSG:4326"
    sub = gpd.GeoDataFrame({"id": ["S1"], "hv_kv": [110.0], "n_transformers": [2],
                            "transformer_mva": [50.0]}, geometry=[Point(116.4, 39.9)], crs=crs)
    bs = gpd.GeoDataFrame({"id": ["B1"], "substation_id": ["S1"], "vn_kv": [10.0],
                           "bays_total": [12], "bays_used": [6]},
                          geometry=[Point(116.4, 39.9)], crs=crs)
    fd = pd.DataFrame({"id": ["F1"], "substation_id": ["S1"], "bus_section_id": ["B1"],
                       "vn_kv": [10.0], "rated_i_ka": [0.5], "peak_mw": [4.0],
                       "connection_mode": ["cable_single_ring"]})
    nodes = gpd.GeoDataFrame({"id": ["N0", "N1"], "kind": ["busbar", "rmu"],
                              "feeder_id": ["F1", "F1"], "bus_section_id": ["B1", ""],
                              "vn_kv": [10.0, 10.0]},
                             geometry=[Point(116.4, 39.9), Point(116.41, 39.9)], crs=crs)
    seg = gpd.GeoDataFrame({"id": ["L1"], "from_node": ["N0"], "to_node": ["N1"],
                            "feeder_id": ["F1"], "construction": ["cable"], "length_km": [0.86],
                            "r_ohm_per_km": [0.1], "x_ohm_per_km": [0.08], "max_i_ka": [0.5]},
                           geometry=[LineString([(116.4, 39.9), (116.41, 39.9)])], crs=crs)
    hist = pd.DataFrame({"element_id": ["F1"] * 5, "year": [2019, 2020, 2021, 2022, 2023],
                         "peak_mw": [3.0, 3.2, 3.5, 3.6, 3.9]})
    idx = pd.date_range("2023-07-03", periods=96 * 7, freq="15min")
    curves = pd.DataFrame({"element_id": "F1", "timestamp": idx.strftime("%Y-%m-%dT%H:%M:%S"),
                           "p_mw": 3 + 0.9 * np.sin(np.arange(len(idx)) * 2 * np.pi / 96)})
    net = Network.from_layers({"substations": sub, "bus_sections": bs, "feeders": fd,
                               "nodes": nodes, "segments": seg, "load_history": hist,
                               "load_curves": curves})
    path = tmp_path_factory.mktemp("net") / "tiny.gpkg"
    write_network(net, path)
    return path


def test_demand_prints_numbers_and_basis() -> None:
    r = _run("demand", "--kva", "2000", "--industry", "数据中心", "--config", "2x1000",
             "--year", "3")
    assert r.returncode == 0, r.stderr
    assert "1330 kW" in r.stdout and "931 kW" in r.stdout  # 2000 x 0.7 x 0.95; x 0.7 in year 3
    assert "依据" in r.stdout and "需用系数 0.7" in r.stdout


def test_demand_json_english(run_in_process: Runner) -> None:
    code, out, err = run_in_process("demand", "--kva", "1000", "--industry", "office",
                                    "--existing-kw", "300", "--json", "--lang", "en")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["peak_kw"] == pytest.approx(714.0) and doc["is_increase"]
    assert "demand factor 0.45" in doc["basis"]["en"]


def test_feeder_from_peaks(run_in_process: Runner) -> None:
    code, out, err = run_in_process("feeder", "--peaks", "2019:4.0,2020:4.3,2021:4.6,2022:4.9",
                                    "--years", "2", "--lang", "en")
    assert code == 0, err
    assert "2023" in out and "5.200" in out and "Theil-Sen" in out


def test_feeder_from_network_history(tiny_network: Path) -> None:
    r = _run("feeder", "--network", str(tiny_network), "--feeder", "F1", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["input"] == "load_history" and doc["history"]["years"][-1] == 2023
    # rating sqrt(3) x 10 kV x 0.5 kA x 0.95 = 8.227 MW
    assert doc["rating_mw"] == pytest.approx(np.sqrt(3) * 10 * 0.5 * 0.95)


def test_headroom_from_network_curve(tiny_network: Path) -> None:
    r = _run("headroom", "--network", str(tiny_network), "--feeder", "F1", "--industry",
             "office", "--kva", "3000", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["limit"] == 0.5 and "cable_single_ring" in doc["limit_source"]
    assert doc["coincident_peak_mw"] < doc["sum_of_peaks_mw"]
    assert doc["sum_of_peaks_mw"] == pytest.approx(3.9 + 3000 * 0.45 * 0.92 / 1000, abs=1e-3)
    assert doc["rule"] == "conservative"


def test_parcel_and_pv_print_their_basis(run_in_process: Runner) -> None:
    code, out, err = run_in_process("parcel", "--land-use", "M1", "--area", "50000",
                                    "--plot-ratio", "1.2")
    assert code == 0, err
    assert "2880 kW" in out and "容积率 1.2" in out
    code, out, err = run_in_process("pv", "--kwp", "1000", "--min-load-kw", "200",
                                    "--output-ratio", "0.8", "--lang", "en")
    assert code == 0, err
    assert "600 kW" in out and "13:00" in out


def test_headroom_from_a_peak(run_in_process: Runner) -> None:
    code, out, err = run_in_process("headroom", "--peak-mw", "5", "--rating-mw", "10",
                                    "--limit", "0.8", "--industry", "数据中心", "--kva", "2000")
    assert code == 0, err
    assert "6.330 MW" in out and "依据" in out  # 5 + 2000 x 0.7 x 0.95 / 1000


def test_listing_commands(run_in_process: Runner) -> None:
    code, out, _ = run_in_process("industries")
    assert code == 0 and "data_centre" in out
    code, out, _ = run_in_process("land-uses", "--json")
    assert code == 0 and json.loads(out)["land_uses"][0]["land_use"] == "M1"


def test_bad_input_exits_2_without_traceback_in_a_subprocess() -> None:
    r = _run("demand", "--kva", "-5", "--industry", "office")
    assert r.returncode == 2
    assert "kva = -5 kVA is out of range; valid: (0, 2000000] kVA" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(("args", "words"), [
    (("demand", "--kva", "1000", "--industry", "bakery"), "unknown industry"),
    (("feeder", "--peaks", "2019:4,2020:4,2021:4"), "never constant"),
    (("feeder", "--peaks", "2019-4"), "YEAR:MW"),
    (("parcel", "--land-use", "M1", "--area", "-100"), "area_m2"),
    (("pv", "--kwp", "0"), "kwp"),
    (("headroom", "--peak-mw", "3", "--industry", "office", "--kva", "100"), "--rating-mw"),
])
def test_bad_input_exits_2_with_the_field_named(run_in_process: Runner, args: tuple[str, ...],
                                                words: str) -> None:
    code, _, err = run_in_process(*args)
    assert code == 2
    assert words in err and err.startswith("gridscheme: error:")


def test_unknown_feeder_in_network_is_named(run_in_process: Runner, tiny_network: Path) -> None:
    code, _, err = run_in_process("feeder", "--network", str(tiny_network), "--feeder", "F9")
    assert code == 2 and "F9" in err and "F1" in err
