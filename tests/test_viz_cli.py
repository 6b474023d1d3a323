"""``gridscheme plan --map/--preview3d`` as users call it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from api.cli import main
from api.plan_cli import DEMO_NETWORK

APP = ["--lon", "106.80", "--lat", "39.66", "--kva", "800"]


def test_plan_writes_map_and_preview(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m, p3 = tmp_path / "m.html", tmp_path / "p.html"
    assert main(["plan", "--network", str(DEMO_NETWORK), *APP, "--json", "--map", str(m),
                 "--preview3d", str(p3)]) == 0
    doc = json.loads(capsys.readouterr().out)
    html = m.read_text(encoding="utf-8")
    # customer map (default): roads from the network, the schemes, never a rejected candidate
    assert "道路" in html and "gs-route" in html and "gs-feeder" not in html
    for r in doc["rejected"]:
        assert r["point_id"] not in html
    three = p3.read_text(encoding="utf-8")
    assert 'id="gs3d-data"' in three and "window.GS3" in three
    assert main(["plan", "--network", str(DEMO_NETWORK), *APP, "--map", str(m),
                 "--audience", "designer", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    html = m.read_text(encoding="utf-8")
    assert "gs-feeder" in html and "Feeders involved" in html and "map: " in out
    # one language: the English page has no Chinese at all (the default name follows --lang)
    side = re.search(r'<aside class="gs-side".*?</aside>', html, re.S).group(0)
    assert not re.findall(r"[\u4e00-\u9fff]", side)


@pytest.mark.parametrize("flags,needle", [(["--map", "{dir}"], "--map"),
                                          (["--preview3d", "{dir}"], "--preview3d"),
                                          (["--map", "{dir}/m.html", "--basemap", "bing"],
                                           "--basemap")])
def test_plan_view_flags_refused_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         flags: list[str], needle: str) -> None:
    args = [f.replace("{dir}", str(tmp_path)) for f in flags]
    assert main(["plan", "--network", str(DEMO_NETWORK), *APP, *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
