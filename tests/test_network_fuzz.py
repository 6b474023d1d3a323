"""Fuzz over corrupted network files (issue #10 item 7, the network half).

Seeded corruptions of a valid GeoPackage (``tests/network_corruptions.py``: truncation, flipped
bytes, junk, dropped layers and columns, NaN/inf/negative/absurd values, text in numbers, null
or wrong geometry, duplicate ids, a lying or undefined CRS, an unknown metric CRS, nothing to
plan on) go through the command line as a user runs it. For every case:

- ``gridscheme network validate`` exits 0 or 3 and never shows a traceback; when it refuses,
  the output names the damaged element (or layer, or file);
- a network that ``validate`` refuses is never planned: ``gridscheme plan`` exits 3, or 2 when
  the file cannot be read as a network at all (codes unreadable / no_crs / bad_crs);
- a network that ``validate`` accepts is planned (exit 0).

Most cases run the CLI in-process (an uncaught exception fails the test, as a traceback would
fail a user); a few run it as a subprocess to check the real exit codes and stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from api.cli import main
from grid_models.io import write_network
from tests.fixtures_small import small_network
from tests.network_corruptions import CORRUPTIONS, MUST_REFUSE, Damage

ROOT = Path(__file__).resolve().parents[1]
SEEDS_PER_CORRUPTION = 2
#: Problem codes that mean "not readable as a network": plan exits 2 (input), not 3.
READ_CODES = {"unreadable", "no_crs", "bad_crs"}
APP = ["--lon", "106.8203", "--lat", "39.6712", "--kva", "800", "--json"]

CASES = [(name, seed) for name in CORRUPTIONS for seed in range(SEEDS_PER_CORRUPTION)]


@pytest.fixture(scope="module")
def good_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_network(small_network(), tmp_path_factory.mktemp("fuzz") / "good.gpkg")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def _damaged(good: Path, tmp_path: Path, name: str, seed: int) -> tuple[Path, Damage]:
    dst = tmp_path / f"{name}-{seed}.gpkg"
    damage = CORRUPTIONS[name](good, dst, np.random.default_rng(1000 + seed))
    return dst, damage


def test_the_undamaged_file_validates_and_plans(good_gpkg, capsys):
    rc, out = _run(["network", "validate", str(good_gpkg)], capsys)
    assert rc == 0, out
    rc, out = _run(["plan", "--network", str(good_gpkg), *APP], capsys)
    assert rc == 0, out
    assert json.loads(out)["schemes"]


@pytest.mark.parametrize("name,seed", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_corrupted_network_is_refused_clearly_and_never_planned(good_gpkg, tmp_path, capsys,
                                                                name, seed):
    path, damage = _damaged(good_gpkg, tmp_path, name, seed)
    rc, out = _run(["network", "validate", "--json", str(path)], capsys)
    assert rc in (0, 3), out
    assert "Traceback" not in out
    doc = json.loads(out)
    problems = doc["problems"]
    codes = {p["code"] for p in problems}
    errors = [p for p in problems if p["severity"] == "error"]
    if name in MUST_REFUSE:
        assert rc == 3, f"{damage.name}: validate accepted it\n{out}"
    if rc == 3:
        assert errors
        named = {p["element_id"] for p in errors} | {p["layer"] for p in errors}
        text = json.dumps(errors, ensure_ascii=False)
        if damage.element_id not in ("", "*"):
            assert damage.element_id in named, f"{damage.name}: element not named\n{out}"
        elif damage.layer:
            assert damage.layer in named or damage.layer in text, f"{damage.name}\n{out}"
        else:
            assert str(path) in text, f"{damage.name}: file not named\n{out}"
        # Every message says something: no bare codes, no Python reprs of exceptions.
        assert all(len(p["message"]) > 20 for p in errors)
    rc_plan, out_plan = _run(["plan", "--network", str(path), *APP], capsys)
    assert "Traceback" not in out_plan
    if rc == 3:
        want = 2 if {p["code"] for p in errors} <= READ_CODES else 3
        assert rc_plan == want, f"{damage.name}: plan exit {rc_plan}, codes {sorted(codes)}\n{out_plan}"
    else:
        assert rc_plan == 0, f"{damage.name}: a network validate accepts must plan\n{out_plan}"


@pytest.mark.parametrize("name", ["truncate", "crs_lie", "nothing_to_plan", "text_in_number"])
def test_real_cli_exit_codes_and_no_traceback(good_gpkg, tmp_path, name):
    path, damage = _damaged(good_gpkg, tmp_path, name, 0)
    cli = [sys.executable, "-m", "api.cli"]
    v = subprocess.run([*cli, "network", "validate", str(path)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert v.returncode == 3, v.stdout + v.stderr
    assert "Traceback" not in v.stdout + v.stderr
    p = subprocess.run([*cli, "plan", "--network", str(path), *APP], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == (2 if damage.unreadable else 3), p.stdout + p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""
