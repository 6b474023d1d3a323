"""Design demand: industry lookups, transformer configurations, ramp-up, bad input.

Every expected number is worked out on paper in the comment next to it from the values in
``load_forecast/data/industries.csv``.
"""

from __future__ import annotations

import math

import pytest

from grid_models.errors import InputError, UnknownTypeError
from load_forecast import DemandRequest, design_demand, get_industry
from load_forecast.datafiles import read_table
from load_forecast.industries import industry_table, normalise_name
from load_forecast.profiles import known_profiles
from load_forecast.transformers import parse_config


@pytest.mark.parametrize("name", ["数据中心", "data_centre", "Data Centre", "data-center", "IDC",
                                  "数据中心机房"])
def test_industry_aliases_resolve_to_one_class(name: str) -> None:
    assert get_industry(name).key == "data_centre"


def test_industry_table_covers_the_issue_classes_and_profiles_exist() -> None:
    keys = set(industry_table()["industry"])
    assert {"continuous_process", "two_shift_manufacturing", "one_shift_manufacturing",
            "commercial", "office", "hotel", "data_centre", "hospital", "school",
            "residential_community", "cold_storage", "ev_charging", "construction_temporary",
            "distributed_pv", "others"} <= keys
    assert set(industry_table()["profile"]) <= set(known_profiles())
    t = read_table("industries.csv")
    assert t["references"].str.len().min() > 20


def test_every_alias_is_unique() -> None:
    seen: dict[str, str] = {}
    for row in industry_table().itertuples(index=False):
        for n in (row.industry, row.name_zh, row.name_en, *row.aliases.split(";")):
            k = normalise_name(n)
            assert seen.setdefault(k, row.industry) == row.industry, n


def test_demand_factor_lookup_2000_kva_data_centre() -> None:
    d = design_demand(kva=2000, industry="数据中心")
    assert d.demand_factor == 0.7 and d.power_factor == 0.95
    # 2000 kVA x 0.7 = 1400 kVA; x 0.95 = 1330 kW; 1400 x sqrt(1 - 0.95²) = 437.1 kvar
    assert d.added_peak_kw == pytest.approx(1330.0)
    assert d.added_peak_kvar == pytest.approx(1400 * math.sqrt(1 - 0.95**2))
    assert d.peak_kva == pytest.approx(1400.0)
    assert d.peak_kw == pytest.approx(1330.0)  # no year: ramp-up complete
    assert "0.7" in d.basis("zh") and "数据中心" in d.basis("zh")
    assert "demand factor 0.7" in d.basis("en")


@pytest.mark.parametrize(("year", "ramp", "kw"), [
    (1, 0.3, 399.0),   # 1330 x 0.3
    (2, 0.5, 665.0),   # 1330 x 0.5
    (3, 0.7, 931.0),   # 1330 x 0.7
    (5, 1.0, 1330.0),
    (8, 1.0, 1330.0),  # after the table's last year: full
])
def test_ramp_up_by_year(year: int, ramp: float, kw: float) -> None:
    d = design_demand(DemandRequest(industry="data_centre", kva=2000, year=year))
    assert d.ramp_factor == ramp
    assert d.peak_kw == pytest.approx(kw)


def test_peak_by_year_series() -> None:
    d = design_demand(kva=2000, industry="data_centre")
    assert d.peak_kw_by_year(6).tolist() == pytest.approx([399, 665, 931, 1130.5, 1330, 1330])


def test_capacity_increase_adds_existing_measured_demand() -> None:
    # office: Kd 0.45, pf 0.92, ramp 0.5 in year 1. Added 1000 kVA -> 1000 x 0.45 x 0.92 = 414 kW
    d = design_demand(kva=1000, industry="office", existing_kw=300)
    assert d.is_increase
    assert d.added_peak_kw == pytest.approx(414.0)
    assert d.peak_kw == pytest.approx(714.0)
    d1 = design_demand(kva=1000, industry="office", existing_kw=300, year=1)
    assert d1.peak_kw == pytest.approx(300 + 0.5 * 414)  # the existing load does not ramp
    assert d1.increment_kw == pytest.approx(207.0)  # what the feeder gains in year 1
    assert "300" in d1.basis("en") and "increase" in d1.basis("en")


def test_config_two_units_in_service() -> None:
    d = design_demand(industry="commercial", transformer_config="2x1250")
    # 2 x 1250 = 2500 kVA in service; commercial Kd 0.55 pf 0.92 -> 2500 x 0.55 x 0.92 = 1265 kW
    assert d.in_service_kva == 2500 and d.standby_kva == 0
    assert d.added_peak_kw == pytest.approx(1265.0)


def test_config_with_standby_unit_counts_only_running_units() -> None:
    cfg = parse_config("2x1000+1x1000s")
    assert (cfg.installed_kva, cfg.in_service_kva, cfg.standby_kva, cfg.n_units) == (
        3000, 2000, 1000, 3)
    d = design_demand(kva=3000, industry="hospital", transformer_config="2×1000 + 1×1000备")
    # hospital Kd 0.5 pf 0.92 on the 2000 kVA in service: 2000 x 0.5 x 0.92 = 920 kW
    assert d.in_service_kva == 2000 and d.installed_kva == 3000
    assert d.added_peak_kw == pytest.approx(920.0)
    assert [n.code for n in d.notes] == ["standby_excluded"]


def test_config_disagreeing_with_kva_is_refused() -> None:
    with pytest.raises(InputError) as e:
        design_demand(kva=2500, industry="office", transformer_config="2x1000")
    assert e.value.field == "kva" and "2000" in str(e.value)


def test_overrides_of_demand_and_power_factor() -> None:
    d = design_demand(kva=1000, industry="others", demand_factor=0.8, power_factor=1.0)
    assert d.added_peak_kw == pytest.approx(800.0) and d.added_peak_kvar == pytest.approx(0.0)
    assert "demand_factor_override" in {n.code for n in d.notes}


def test_pv_class_is_marked_as_generation() -> None:
    d = design_demand(kva=1000, industry="分布式光伏")
    assert d.industry.is_generation and "generation" in {n.code for n in d.notes}


def test_to_dict_is_json_ready() -> None:
    import json

    doc = design_demand(kva=2000, industry="data_centre", transformer_config="2x1000",
                        year=3).to_dict()
    text = json.dumps(doc, ensure_ascii=False)
    assert doc["peak_kw"] == pytest.approx(931.0) and "basis" in text


# -- bad input ------------------------------------------------------------------------------------
def test_unknown_industry_lists_the_known_ones() -> None:
    with pytest.raises(UnknownTypeError) as e:
        design_demand(kva=1000, industry="bakery")
    assert e.value.field == "industry"
    assert "bakery" in str(e.value) and "data_centre" in str(e.value) and "数据中心" in str(e.value)


@pytest.mark.parametrize("kva", [0, -5, float("nan"), float("inf"), 3e6, "abc"])
def test_non_positive_or_absurd_kva_names_field_and_range(kva: object) -> None:
    with pytest.raises(InputError) as e:
        design_demand(kva=kva, industry="office")
    assert e.value.field == "kva"
    assert "kva" in str(e.value)
    if isinstance(kva, int | float) and math.isfinite(kva):
        assert "valid: (0, 2000000] kVA" in str(e.value)


def test_missing_kva_and_config() -> None:
    with pytest.raises(InputError) as e:
        design_demand(industry="office")
    assert e.value.field == "kva"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"year": 0}, "year"), ({"year": 2.5}, "year"), ({"existing_kw": -1}, "existing_kw"),
    ({"demand_factor": 1.5}, "demand_factor"), ({"power_factor": 0}, "power_factor"),
    ({"transformer_config": "two units"}, "transformer_config"),
    ({"transformer_config": "1x1000s"}, "transformer_config"),
])
def test_bad_fields_are_named(kwargs: dict, field: str) -> None:
    with pytest.raises(InputError) as e:
        design_demand(**{"kva": 1000, "industry": "office", **kwargs})
    assert e.value.field == field


def test_unknown_keyword_is_an_input_error() -> None:
    with pytest.raises(InputError):
        design_demand(kva=1000, industry="office", voltage=10)


@pytest.mark.parametrize("name,key", [("data center", "data_centre"), ("Data-Centre", "data_centre"),
                                      ("IDC", "data_centre"), ("充电站", "ev_charging")])
def test_industry_names_people_type(name: str, key: str) -> None:
    from load_forecast.industries import get_industry

    assert get_industry(name).key == key


@pytest.mark.parametrize("name", ["工业", "manufacturing", "industrial", "Factory"])
def test_generic_industry_words_ask_which_class(name: str) -> None:
    from grid_models.errors import UnknownTypeError
    from load_forecast.industries import get_industry

    with pytest.raises(UnknownTypeError) as e:
        get_industry(name)
    msg = str(e.value)
    assert "choose one" in msg and "two_shift_manufacturing" in msg and e.value.field == "industry"


def test_misspelt_industry_gets_did_you_mean() -> None:
    from grid_models.errors import UnknownTypeError
    from load_forecast.industries import get_industry

    with pytest.raises(UnknownTypeError, match="did you mean data_centre"):
        get_industry("data cntre")
