"""Policy profiles: typed, checked against their schema, merged, refused with file/row/column."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grid_models.errors import InputError, PolicyError
from grid_models.policy import POLICY_DIR, POLICY_TABLES, Policy, load_policy
from grid_models.policy_schema import Parameters


def test_default_profile_is_typed(default_policy: Policy) -> None:
    p = default_policy.params
    assert isinstance(p.topk_default, int) and p.topk_default == 3
    assert isinstance(p.alternatives_distinct_by_feeder, bool)
    assert isinstance(p.route_detour_factor, float)
    assert set(Parameters.names()) == set(default_policy.table("parameters")["key"])
    for t in POLICY_TABLES:
        assert "references" in default_policy.table(t).columns
        assert (default_policy.table(t)["references"].astype(str).str.strip() != "").all(), t


def test_voltage_levels_carry_the_35kv_split(default_policy: Policy) -> None:
    # GB/T 12325: +/-7 % below 35 kV; at 35 kV and above a 10 % sum, half each side
    assert default_policy.voltage_level(10).band_pct == 7
    assert default_policy.voltage_level(10.5).vn_kv == 10  # nearest level by ratio
    assert default_policy.voltage_level(35).band_pct == 5
    assert default_policy.voltage_level(110).bay_cost_key == "substation_110kv"
    assert default_policy.voltage_level(20).search_radius_max_m < \
        default_policy.voltage_level(35).search_radius_max_m


def test_reply_limits_default_and_alternative_profile() -> None:
    # seed §4.1: 10 (single) / 20 (dual source); the older 15 / 30 as a profile
    d = {s.step: s for s in load_policy().process_steps}
    assert d["scheme_reply"].limit_days == (10, 20)
    old = {s.step: s for s in load_policy("sgcc_15_30").process_steps}
    assert old["scheme_reply"].limit_days == (15, 30)
    assert old["design_review"] == d["design_review"]  # the rest comes from default


def test_partial_parameters_override_merges_onto_default(tmp_path: Path) -> None:
    (tmp_path / "parameters.csv").write_text(
        "key,value,references\ntopk_default,5,utility rule 2026-01\n", encoding="utf-8")
    pol = load_policy(tmp_path)
    assert pol.params.topk_default == 5
    assert pol.params.route_detour_factor == load_policy().params.route_detour_factor
    refs = pol.table("parameters").set_index("key")["references"]
    assert refs["topk_default"] == "utility rule 2026-01"
    assert pol.policy_id != load_policy().policy_id


def test_folder_table_replaces_the_default_table(tmp_path: Path) -> None:
    shutil.copy(POLICY_DIR / "default" / "voltage_levels.csv", tmp_path)
    text = (tmp_path / "voltage_levels.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "voltage_levels.csv").write_text(
        "\n".join(ln for ln in text if not ln.startswith("20,")) + "\n", encoding="utf-8")
    pol = load_policy(tmp_path)
    assert 20.0 not in [lv.vn_kv for lv in pol.voltage_levels]


@pytest.mark.parametrize("body,needle", [
    ("key,value,references\ntopk_default,abc,x\n", "row 2 (topk_default): value 'abc' is not a number"),
    ("key,value,references\ntopk_default,2.5,x\n", "must be a whole number"),
    ("key,value,references\nline_loading_limit,-1,x\n", "must be > 0"),
    ("key,value,references\ntopk_defualt,3,x\n", "did you mean 'topk_default'"),
    ("key,value,references\ntopk_default,3,x\ntopk_default,4,y\n", "listed twice"),
    ("key,value\ntopk_default,3\n", "needs a 'references' column"),
])
def test_bad_parameters_are_refused_naming_file_and_row(tmp_path: Path, body: str,
                                                        needle: str) -> None:
    f = tmp_path / "parameters.csv"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(PolicyError) as e:
        load_policy(tmp_path)
    assert needle in str(e.value)
    assert "parameters.csv" in str(e.value)


def test_bad_table_value_names_file_row_and_column(tmp_path: Path) -> None:
    shutil.copy(POLICY_DIR / "default" / "load_rate_limits.csv", tmp_path)
    f = tmp_path / "load_rate_limits.csv"
    lines = f.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("0.5,", "half,", 1)
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as e:
        load_policy(tmp_path)
    msg = str(e.value)
    assert "load_rate_limits.csv" in msg and "row 4" in msg and "max_load_rate" in msg
    assert "'half' is not a number" in msg


def test_missing_column_and_unknown_table_file(tmp_path: Path) -> None:
    (tmp_path / "supply_modes.csv").write_text("tier,mode,references\n普通,single,x\n",
                                               encoding="utf-8")
    with pytest.raises(PolicyError, match="column 'n_circuits' is missing"):
        load_policy(tmp_path)
    (tmp_path / "supply_modes.csv").unlink()
    (tmp_path / "tarifs.csv").write_text("a,references\n1,x\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="unknown table file"):
        load_policy(tmp_path)


def test_yaml_override_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "p.yaml"
    good.write_text("base: default\nparameters:\n  topk_default: 4\n", encoding="utf-8")
    assert load_policy(good).params.topk_default == 4
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: default\nparameters: [topk_default: 4\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"bad\.yaml: line \d+, column \d+ is not valid YAML"):
        load_policy(bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("base: default\nparameters:\n  topk_default: many\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not a number"):
        load_policy(wrong)


def test_policy_errors_are_not_input_errors(default_policy: Policy) -> None:
    """A missing policy value is the profile's fault, not the application's."""
    with pytest.raises(PolicyError) as e:
        default_policy.param("no_such_parameter")
    assert not isinstance(e.value, InputError)
    with pytest.raises(PolicyError):
        default_policy.cost("bay", "no_such_bay")
    tables = dict(default_policy.tables)
    del tables["checks"]
    with pytest.raises(PolicyError, match="lacks table"):
        Policy("partial", tables)


def test_unknown_connection_mode_is_a_policy_error(default_policy: Policy) -> None:
    import numpy as np

    from scheme_engine import rules

    with pytest.raises(PolicyError, match="load_rate_limits.csv"):
        rules.load_rate_limit(default_policy, np.array(["cable_triple_ring"]))


def test_cli_reports_a_bad_policy_without_traceback(tmp_path: Path, capsys) -> None:
    from api.cli import main
    from api.plan_cli import DEMO_NETWORK

    (tmp_path / "parameters.csv").write_text("key,value,references\ntopk_default,x,y\n",
                                             encoding="utf-8")
    rc = main(["plan", "--network", str(DEMO_NETWORK), "--lon", "106.82", "--lat", "39.67",
               "--kva", "1000", "--policy", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "parameters.csv" in err and "Traceback" not in err
