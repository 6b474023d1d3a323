"""The README's commands exist as written: every ``python -m`` module and every ``gridscheme``
sub-command it shows answers ``--help`` after the README's install (``./dev.sh test``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MODULES = sorted(set(re.findall(r"python -m ([\w.]+)", README)))
SUBCOMMANDS = sorted({tuple(m.split()) for m in re.findall(
    r"^gridscheme ((?:network \w+)|(?:forecast \w+)|(?:token \w+)|\w+)", README, re.M)})


def test_the_readme_shows_commands() -> None:
    assert "benchmarks.forecast_backtest" in MODULES and len(SUBCOMMANDS) >= 8


@pytest.mark.parametrize("module", MODULES)
def test_python_modules_of_the_readme_run(module: str) -> None:
    r = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("words", SUBCOMMANDS)
def test_gridscheme_subcommands_of_the_readme_exist(words: tuple[str, ...]) -> None:
    from api.cli import build_parser

    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([*words, "--help"])
    assert e.value.code == 0
