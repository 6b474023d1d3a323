"""The command line as users call it: plan, demo, info, synth; errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from api.plan_cli import DEMO_NETWORK

ROOT = Path(__file__).resolve().parents[1]
APP = ["--lon", "106.8215", "--lat", "39.6700", "--kva", "1600"]


def test_plan_json_is_one_document(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = main(["plan", "--network", str(DEMO_NETWORK), *APP, "--tier", "二级", "--json",
               "--map", str(tmp_path / "m.html")])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schemes"] and doc["schemes"][0]["supply_mode"] == "dual_circuit"
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert "LineString" in html or "polyline" in html.lower()
    # the customer's map shows only its own schemes' points, never other grid nodes
    shown = {c["connection"]["point_id"] for s in doc["schemes"] for c in s["circuits"]}
    assert shown and all(p in html for p in shown)


def test_plan_table_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--network", str(DEMO_NETWORK), *APP, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "design demand" in out and "Rank 1" in out


def test_plan_application_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "app.json"
    f.write_text(json.dumps({"lon": 106.8215, "lat": 39.67, "requested_kva": 800,
                             "industry": "hospital", "tier": "一级"}), encoding="utf-8")
    assert main(["plan", "--network", str(DEMO_NETWORK), "--application", str(f), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schemes"][0]["supply_mode"] == "dual_source"


@pytest.mark.parametrize("args, needle", [
    (["--kva", "-3", "--lon", "106.82", "--lat", "39.67"], "requested_kva"),
    (["--kva", "500", "--lon", "116.4", "--lat", "39.9"], "outside the network"),
    (["--kva", "500", "--lon", "106.82", "--lat", "39.67", "--tier", "VIP"], "tier"),
])
def test_plan_bad_input_exit_2_no_traceback(args: list[str], needle: str) -> None:
    p = subprocess.run([sys.executable, "-m", "api.cli", "plan", "--network", str(DEMO_NETWORK),
                        *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert needle in p.stderr and "Traceback" not in p.stderr


def test_info_and_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.gpkg"
    assert main(["network", "synth", "--scale", "S", "--seed", "3", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["network", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_substations"] >= 2 and info["crs"] == "EPSG:4545"


def test_demo_writes_plan_and_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "validation: 0 errors" in out
    doc = json.loads((tmp_path / "demo_plan.json").read_text(encoding="utf-8"))
    assert any(s["feasible"] for s in doc["schemes"])
    assert (tmp_path / "demo_map.html").stat().st_size > 1000
