"""The command line's input boundary: every bad input a clear refusal naming what is wrong,
nothing bent silently, one language per table (issue: hardening)."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli import main
from api.plan_cli import DEMO_NETWORK, render_table

LON, LAT = 106.8215, 39.6700
APP = ["--network", str(DEMO_NETWORK), "--lon", str(LON), "--lat", str(LAT), "--kva", "1600"]


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def plan_file(capsys, tmp_path: Path, doc: object, raw: bytes | None = None,
              extra: tuple[str, ...] = ()) -> tuple[int, str, str]:
    f = tmp_path / "app.json"
    f.write_bytes(raw if raw is not None else json.dumps(doc, ensure_ascii=False).encode())
    return run(capsys, ["plan", "--network", str(DEMO_NETWORK), "--application", str(f),
                        "--json", *extra])


def test_map_pointing_at_a_folder_is_refused_before_planning(capsys, tmp_path: Path) -> None:
    rc, out, err = run(capsys, ["plan", *APP, "--map", str(tmp_path)])
    assert rc == 2 and "--map" in err and "folder" in err and out == ""


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32", "gb18030"])
def test_application_files_in_common_encodings(capsys, tmp_path: Path, encoding: str) -> None:
    doc = {"customer_name": "示范数据中心", "lon": LON, "lat": LAT, "requested_kva": 1600}
    raw = json.dumps(doc, ensure_ascii=False).encode(encoding)
    rc, out, _ = plan_file(capsys, tmp_path, None, raw)
    assert rc == 0
    assert json.loads(out)["application"]["customer_name"] == "示范数据中心"


@pytest.mark.parametrize("raw,needle", [
    (bytes(range(256)) * 4, "not a text document"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text document"),
    (b"[" * 5000 + b"]" * 5000, "nested deeper"),
    (b'{"lon": 106.8, "lat": ', "not valid JSON at line 1"),
    (b'[{"lon": 106.8}]', "holds a JSON list"),
    (b"", "not valid JSON"),
])
def test_unreadable_application_files_name_the_flag(capsys, tmp_path: Path, raw: bytes,
                                                    needle: str) -> None:
    rc, _, err = plan_file(capsys, tmp_path, None, raw)
    assert rc == 2 and "--application" in err and needle in err


def test_oversized_application_file(capsys, tmp_path: Path) -> None:
    doc = {"lon": LON, "lat": LAT, "requested_kva": 1000, "customer_name": "x" * 3_000_000}
    rc, _, err = plan_file(capsys, tmp_path, doc)
    assert rc == 2 and "bytes are read" in err


def test_flags_together_with_an_application_file_are_an_error(capsys, tmp_path: Path) -> None:
    rc, _, err = plan_file(capsys, tmp_path, {"lon": LON, "lat": LAT, "requested_kva": 1000},
                           extra=("--tier", "一级"))
    assert rc == 2 and "--application and --tier" in err


@pytest.mark.parametrize("top", ["0", "-1", "51"])
def test_top_out_of_range_is_an_error(capsys, top: str) -> None:
    rc, _, err = run(capsys, ["plan", *APP, "--top", top])
    assert rc == 2 and "--top" in err


def _square(lon: float, lat: float, d: float = 0.0004) -> list[list[float]]:
    return [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]


def test_parcel_point_used_is_stated(capsys, tmp_path: Path) -> None:
    rc, out, _ = plan_file(capsys, tmp_path, {"parcel": [_square(LON, LAT)], "requested_kva": 800})
    assert rc == 0
    pu = json.loads(out)["point_used"]
    assert pu["source"] == "parcel_centroid"
    assert pu["lon"] == pytest.approx(LON + 0.0002) and pu["lat"] == pytest.approx(LAT + 0.0002)


def test_open_and_bow_tie_parcels_are_repaired_with_a_note(capsys, tmp_path: Path) -> None:
    ring = _square(LON, LAT)[:-1]  # not closed
    rc, out, _ = plan_file(capsys, tmp_path, {"parcel": [ring], "requested_kva": 800})
    assert rc == 0 and any("not closed" in n for n in json.loads(out)["point_used"]["notes"])
    d = 0.0004
    bow = [[LON, LAT], [LON + d, LAT + d], [LON + d, LAT], [LON, LAT + d], [LON, LAT]]
    rc, out, _ = plan_file(capsys, tmp_path, {"parcel": [bow], "requested_kva": 800})
    notes = json.loads(out)["point_used"]["notes"]
    assert rc == 0 and any("make_valid" in n for n in notes)


def test_concave_parcel_uses_a_point_inside_it(capsys, tmp_path: Path) -> None:
    d = 0.001  # a U-shaped lot: its centroid lies in the notch
    u = [[LON, LAT], [LON + 3 * d, LAT], [LON + 3 * d, LAT + 3 * d], [LON + 2 * d, LAT + 3 * d],
         [LON + 2 * d, LAT + d], [LON + d, LAT + d], [LON + d, LAT + 3 * d], [LON, LAT + 3 * d],
         [LON, LAT]]
    rc, out, _ = plan_file(capsys, tmp_path, {"parcel": [u], "requested_kva": 800})
    assert rc == 0 and json.loads(out)["point_used"]["source"] == "parcel_inner_point"


@pytest.mark.parametrize("parcel,needle", [
    ([[[LON, LAT], [LON + 0.001, LAT]]], "3 distinct points"),
    ([[[LON, LAT], [LON + 0.001, LAT], [LON + 0.002, LAT], [LON, LAT]]], "no area"),
    ([[[LON, LAT], [float("nan"), LAT], [LON, LAT + 0.001], [LON, LAT]]], "finite"),
    ([_square(LON - 0.05, LAT - 0.05, 0.1)], "larger than any single"),
    ([[[LON, LAT], [LON, LAT, 5], [LON + 0.001, LAT], [LON, LAT]]], "[lon, lat]"),
])
def test_bad_parcels_are_refused(capsys, tmp_path: Path, parcel, needle: str) -> None:
    raw = json.dumps({"parcel": parcel, "requested_kva": 800}).encode()  # NaN as written by json
    rc, _, err = plan_file(capsys, tmp_path, None, raw)
    assert rc == 2 and "parcel" in err and needle in err


def test_point_and_parcel_must_agree(capsys, tmp_path: Path) -> None:
    sq = _square(LON, LAT)
    rc, _, err = plan_file(capsys, tmp_path, {"parcel": [sq], "lon": LON + 0.01, "lat": LAT,
                                              "requested_kva": 800})
    assert rc == 2 and "outside the parcel" in err
    rc, out, _ = plan_file(capsys, tmp_path, {"parcel": [sq], "lon": LON + 0.0001,
                                              "lat": LAT + 0.0001, "requested_kva": 800})
    assert rc == 0 and json.loads(out)["point_used"]["source"] == "point_in_parcel"


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _table(capsys, lang: str, tier: str = "二级") -> list[str]:
    rc, out, _ = run(capsys, ["plan", *APP, "--tier", tier, "--lang", lang])
    assert rc == 0
    return out.splitlines()


def test_zh_table_is_chinese_and_aligned(capsys) -> None:
    lines = _table(capsys, "zh")
    body = "\n".join(lines[1:])
    for word in ("dual_circuit", "dual_source", "busbar", "tap:", "single", "rmu"):
        assert word not in body
    assert "双回路" in body and "变电站新出间隔" in body
    head = next(i for i, ln in enumerate(lines) if ln.startswith("名次"))
    col = lines[head].index("路径m") + len("路径m")
    edge = _width(lines[head][:col])
    rows = [ln for ln in lines[head + 1:] if re.match(r"\s+\d+ ", ln)]
    assert rows
    for ln in rows:  # the route length ends where its header ends (display columns)
        m = re.search(r"SS\S+\s+(\d+) ", ln) or re.search(r"\S+ (\S+)\s+(\d+) ", ln)
        assert m
        end = ln.index(m.group(1), m.start()) + len(m.group(1))
        assert _width(ln[:end]) == edge, (ln, edge)


def test_en_table_has_no_chinese(capsys) -> None:
    lines = _table(capsys, "en", "普通")
    text = "\n".join(lines)
    assert not re.findall(r"[\u4e00-\u9fff]", text), text


def test_fallback_routes_and_exceeded_targets_are_shown(demo_planner) -> None:
    doc = demo_planner.plan({"lon": LON, "lat": LAT, "requested_kva": 1600}).model_dump(mode="json")
    c = doc["schemes"][0]["circuits"][0]
    c["route_class"], c["route_fallback"] = "fallback", True
    doc["schemes"][0]["duration_workdays"].update(total_with_works=40, whole_process_target=22,
                                                  within_target=False)
    zh, en = render_table(doc, "zh"), render_table(doc, "en")
    assert "直线估算" in zh and "40/22!" in zh and "超出目标" in zh
    assert "straight*" in en and "exceed its target" in en


def test_within_target_means_the_whole_process(demo_planner) -> None:
    for tier in ("普通", "二级"):
        s = demo_planner.plan({"lon": LON, "lat": LAT, "requested_kva": 1600,
                               "tier": tier}).schemes[0]
        d = s.duration_workdays
        planned = sum(step["planned"] for step in d["steps"].values())
        assert d["total_with_works"] == pytest.approx(planned + d["utility_works"])
        assert d["within_target"] == (d["total_with_works"] <= d["whole_process_target"])
        assert ("whole_process_target_exceeded" in s.flags) == (not d["within_target"])


# --------------------------------------------------------------------- property-based
_field = st.sampled_from(["lon", "lat", "requested_kva", "tier", "industry", "parcel", "crs",
                          "customer_name", "transformer_config", "request_type", "overrides",
                          "load", "nonsense"])
_value = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.lists(st.floats(-200, 200), max_size=4),
    st.lists(st.lists(st.lists(st.floats(-200, 200), min_size=0, max_size=3), max_size=6),
             max_size=2),
    st.dictionaries(st.text(max_size=10), st.integers(), max_size=3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.fixed_dictionaries({}, optional={
    "lon": st.floats(106.7, 106.95), "lat": st.floats(39.6, 39.75),
    "requested_kva": st.floats(10, 60000), "tier": st.sampled_from(["普通", "二级", "一级", "x"]),
    "industry": st.sampled_from(["others", "data_centre", "工业", "??"])}),
       extra=st.dictionaries(_field, _value, max_size=3))
def test_any_application_is_planned_or_refused_naming_a_field(capsys, tmp_path_factory, base,
                                                             extra) -> None:
    doc = {**base, **extra}
    d = tmp_path_factory.mktemp("app")
    f = d / "a.json"
    f.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
    rc = main(["plan", "--network", str(DEMO_NETWORK), "--application", str(f), "--json"])
    out, err = capsys.readouterr()
    assert rc in (0, 2), err
    assert "Traceback" not in err
    if rc == 0:
        res = json.loads(out)
        assert res["schemes"]
        for s in res["schemes"]:
            if s["feasible"]:
                assert all(ck["passed"] for c in s["circuits"] for ck in c["limits"])
    else:
        assert err.startswith("gridscheme: error:") and len(err) < 5000
        named = set(doc) | {"application", "lon", "lat", "requested_kva", "parcel", "tier",
                            "industry", "existing_customer_id"}
        assert any(k in err for k in named), err
