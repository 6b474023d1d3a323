"""Coincident headroom, profiles, parcel densities and PV export: answers checkable on paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grid_models.errors import InputError, UnknownTypeError
from load_forecast import (
    coincident_headroom,
    coincident_peaks,
    get_profile,
    load_settings,
    parcel_demand,
    parcels_demand,
    profile_curve,
    pv_export,
)
from load_forecast.datafiles import read_table
from load_forecast.profiles import known_profiles

FEEDER = [2.0, 3.0, 5.0, 4.0]      # MW, peak 5.0 at step 2
CUSTOMER = [1.0, 0.5, 0.2, 0.6]    # normalised shape, peak at step 0


def test_sum_of_peaks_vs_coincident_on_two_crafted_curves() -> None:
    # customer peak 2 MW -> [2, 1, 0.4, 1.2]; feeder + customer = [4, 4, 5.4, 5.2]
    # sum of peaks 5 + 2 = 7; coincident 5.4 at step 2; rating 10 x limit 0.8 = 8 MW allowed
    h = coincident_headroom(FEEDER, CUSTOMER, 2.0, 10.0, 0.8)
    assert h.sum_of_peaks_mw == pytest.approx(7.0)
    assert h.coincident_peak_mw == pytest.approx(5.4)
    assert h.peak_step == 2
    assert h.diversity_mw == pytest.approx(1.6)
    assert h.available_before_mw == pytest.approx(3.0)
    assert h.headroom_sum_of_peaks_mw == pytest.approx(1.0)
    assert h.headroom_coincident_mw == pytest.approx(2.6)
    # default rule (forecast_settings.csv) is conservative: the sum of peaks is used
    assert h.rule == "conservative"
    assert h.used_headroom_mw == pytest.approx(1.0) and h.load_rate_after == pytest.approx(0.7)
    c = coincident_headroom(FEEDER, CUSTOMER, 2.0, 10.0, 0.8, rule="coincident")
    assert c.used_headroom_mw == pytest.approx(2.6) and c.load_rate_after == pytest.approx(0.54)
    s = coincident_headroom(FEEDER, CUSTOMER, 2.0, 10.0, 0.8,
                            settings=load_settings(headroom_rule="coincident"))
    assert s.rule == "coincident"
    assert "7.000" in h.basis("en") and "5.400" in h.basis("zh")


def test_a_shape_not_peaking_at_one_is_scaled_to_the_customer_peak() -> None:
    h = coincident_headroom(FEEDER, [2.0, 1.0, 0.4, 1.2], 2.0, 10.0)
    assert h.coincident_peak_mw == pytest.approx(5.4)


def test_only_a_peak_known_gives_the_sum_of_peaks() -> None:
    h = coincident_headroom(4.0, "office", 1.0, 8.0, 0.5)
    assert h.coincident_peak_mw == h.sum_of_peaks_mw == pytest.approx(5.0)
    assert h.headroom_coincident_mw == pytest.approx(-1.0) and not h.fits
    assert "no_curve" in {n.code for n in h.notes}


def test_vectorised_coincident_peaks_match_one_by_one() -> None:
    rng = np.random.default_rng(1)
    feeders = rng.uniform(1, 5, size=(3, 96))
    cust = rng.uniform(0, 1, size=96)
    sop, coin, step = coincident_peaks(feeders, cust)
    for i in range(3):
        assert sop[i] == pytest.approx(feeders[i].max() + cust.max())
        assert coin[i] == pytest.approx((feeders[i] + cust).max())
        assert step[i] == int(np.argmax(feeders[i] + cust))
    assert np.all(coin <= sop)


def test_named_profile_on_a_96_step_day() -> None:
    # evening-peaking feeder; an office peaks in the morning, so the coincident peak is lower
    feeder = 3.0 + 1.5 * get_profile("residential_community").workday
    office = get_profile("office").workday
    h = coincident_headroom(feeder, "办公", 1.0, 8.0)
    assert h.coincident_peak_mw == pytest.approx(np.max(feeder + office))
    assert h.coincident_peak_mw < h.sum_of_peaks_mw
    assert h.profile == "office"


def test_dated_curve_uses_the_weekend_shape_on_saturday() -> None:
    idx = pd.date_range("2024-07-06", periods=96, freq="15min")  # a Saturday
    feeder = pd.Series(2.0, index=idx)
    feeder.iloc[0] = 2.1  # not constant
    h = coincident_headroom(feeder, "office", 1.0, 10.0)
    office = get_profile("office")
    assert h.coincident_peak_mw == pytest.approx(np.max(feeder.to_numpy() + office.weekend))
    assert h.coincident_peak_mw < 2.2  # an office on a Saturday is ~10 % of its peak
    assert h.peak_time.startswith("2024-07-06")
    # with monthly factors on, July scales the office down further (German BDEW seasons)
    m = coincident_headroom(feeder, "office", 1.0, 10.0,
                            settings=load_settings(use_monthly_factors=1))
    assert m.coincident_peak_mw <= h.coincident_peak_mw


@pytest.mark.parametrize(("args", "field"), [
    (([], "office", 1.0, 10.0), "feeder_curve_mw"),
    (([np.nan, np.nan], [1, 1], 1.0, 10.0), "feeder_curve_mw"),
    ((FEEDER, CUSTOMER, 1.0, 0.0), "rating_mw"),
    ((FEEDER, CUSTOMER, 1.0, 10.0, 0.0), "limit"),
    ((FEEDER, CUSTOMER, -1.0, 10.0), "customer_peak_mw"),
    ((FEEDER, [1.0, 0.5, 0.2], 1.0, 10.0), "customer_profile"),
    ((FEEDER, [0.0, 0.0, 0.0, 0.0], 1.0, 10.0), "customer_profile"),
    ((FEEDER, "office", 1.0, 10.0), "feeder_curve_mw"),  # 4 steps are not whole days
])
def test_headroom_bad_input_names_the_field(args: tuple, field: str) -> None:
    with pytest.raises(InputError) as e:
        coincident_headroom(*args)
    assert e.value.field == field


def test_unknown_profile_is_named() -> None:
    with pytest.raises(UnknownTypeError) as e:
        coincident_headroom(np.ones(96), "bakery", 1.0, 10.0)
    assert "bakery" in str(e.value)


# -- profiles -------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", known_profiles())
def test_every_profile_is_normalised(key: str) -> None:
    p = get_profile(key)
    assert p.workday.shape == p.weekend.shape == (96,) and p.monthly.shape == (12,)
    assert max(p.workday.max(), p.weekend.max()) == pytest.approx(1.0, abs=1e-4)
    assert p.monthly.max() == pytest.approx(1.0, abs=1e-4)
    assert (p.workday >= 0).all() and (p.weekend >= 0).all() and (p.monthly > 0).all()
    assert p.references


def test_profile_curve_hourly_is_the_mean_of_quarter_hours() -> None:
    p = get_profile("office")
    idx = pd.date_range("2024-01-08 08:00", periods=3, freq="h")  # Monday, January
    expected = [p.workday[32:36].mean(), p.workday[36:40].mean(), p.workday[40:44].mean()]
    assert profile_curve(p, idx) == pytest.approx(np.array(expected) * p.monthly[0])
    assert p.daily(24)[8] == pytest.approx(expected[0])


# -- parcels --------------------------------------------------------------------------------------
def test_density_times_area_times_plot_ratio_times_simultaneity() -> None:
    p = parcel_demand("M1", 50_000, plot_ratio=1.2)
    # floor area 50 000 x 1.2 = 60 000 m²; x 40/60/80 W/m² x 0.8 simultaneity
    assert p.basis_area == "floor" and p.applied_area_m2 == pytest.approx(60_000)
    assert p.peak_kw == pytest.approx((1920.0, 2880.0, 3840.0))
    assert p.peak_kva_typical == pytest.approx(2880 / 0.9)
    assert "2880" in p.basis("zh") and "60000" in p.basis("en")


def test_land_density_without_plot_ratio_and_simultaneity_override() -> None:
    p = parcel_demand("一类工业用地", 50_000)  # 50 000 m² x 30 W/m² x 0.8 = 1200 kW
    assert p.land_use == "M1" and p.basis_area == "land"
    assert p.peak_kw_typical == pytest.approx(1200.0)
    q = parcel_demand("R2", 10_000, simultaneity=0.5)  # R: 10 000 x 25 x 0.5 = 125 kW
    assert q.land_use == "R" and q.peak_kw_typical == pytest.approx(125.0)


def test_class_without_floor_density_ignores_the_plot_ratio_and_says_so() -> None:
    p = parcel_demand("S", 20_000, plot_ratio=2.0)  # 20 000 x 2.2 W/m² x 1.0 = 44 kW
    assert p.basis_area == "land" and p.plot_ratio is None
    assert p.peak_kw_typical == pytest.approx(44.0)
    assert "no_floor_density" in {n.code for n in p.notes}


def test_parcels_table_matches_single_parcels() -> None:
    t = pd.DataFrame({"parcel_id": ["P1", "P2", "P3"], "land_use": ["M1", "B", "W"],
                      "area_m2": [50_000, 8_000, 30_000], "plot_ratio": [1.2, np.nan, 0.8]})
    out = parcels_demand(t)
    for row in out.itertuples():
        single = parcel_demand(row.land_use, row.area_m2,
                               None if np.isnan(row.plot_ratio) else row.plot_ratio)
        assert row.peak_kw == pytest.approx(single.peak_kw_typical)
        assert row.peak_kw_low == pytest.approx(single.peak_kw[0])
    assert out["parcel_id"].tolist() == ["P1", "P2", "P3"]


def test_land_use_table_has_references() -> None:
    t = read_table("land_use_density.csv")
    assert {"M1", "M2", "M3", "W", "B", "R", "A"} <= set(t["land_use"])
    assert (t["land_w_per_m2_low"] <= t["land_w_per_m2_typical"]).all()
    assert (t["land_w_per_m2_typical"] <= t["land_w_per_m2_high"]).all()
    assert t["references"].str.contains("GB/T 50293").all()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"land_use": "M1", "area_m2": -100}, "area_m2"),
    ({"land_use": "M1", "area_m2": 0}, "area_m2"),
    ({"land_use": "M1", "area_m2": 1000, "plot_ratio": -1}, "plot_ratio"),
    ({"land_use": "M1", "area_m2": 1000, "plot_ratio": 99}, "plot_ratio"),
    ({"land_use": "M1", "area_m2": 1000, "simultaneity": 1.5}, "simultaneity"),
])
def test_parcel_bad_input_names_field_and_range(kwargs: dict, field: str) -> None:
    with pytest.raises(InputError) as e:
        parcel_demand(**kwargs)
    assert e.value.field == field and "valid" in str(e.value)


def test_unknown_land_use_lists_known_ones() -> None:
    with pytest.raises(UnknownTypeError) as e:
        parcel_demand("X9", 1000)
    assert e.value.field == "land_use" and "M1" in str(e.value)


def test_parcels_table_reports_every_bad_row_at_once() -> None:
    t = pd.DataFrame({"land_use": ["M1", "Q", "B"], "area_m2": [-5, 100, 100]})
    with pytest.raises(InputError) as e:
        parcels_demand(t)
    assert "row 0" in str(e.value) and "row 1" in str(e.value)


# -- PV -------------------------------------------------------------------------------------------
def test_pv_export_at_minimum_load_by_hand() -> None:
    # 1000 kWp x 0.8 at the clear-day noon peak (13:00 in the profile) = 800 kW - 200 kW own load
    r = pv_export(1000, 200, output_ratio=0.8, feeder_min_load_mw=0.3)
    assert r.export_kw == pytest.approx(600.0) and r.pv_output_kw == pytest.approx(800.0)
    assert r.time == "13:00"
    assert r.reverse_flow_ratio == pytest.approx(2.0)  # 0.6 MW / 0.3 MW
    assert "600" in r.basis("en")


def test_pv_export_with_a_site_profile_uses_its_lowest_day() -> None:
    st = load_settings()
    r = pv_export(500, site_peak_kw=300, site_profile="office")
    office = get_profile("office")
    low_day = 300 * np.minimum(office.workday, office.weekend) * office.monthly.min()
    pv = 500 * st.pv_peak_output_ratio * get_profile("pv_generation").workday
    assert r.export_kw == pytest.approx(np.max(pv - low_day))
    assert r.output_ratio == st.pv_peak_output_ratio


def test_pv_without_site_load_exports_everything_and_big_load_exports_nothing() -> None:
    r = pv_export(100, output_ratio=0.8)
    assert r.export_kw == pytest.approx(80.0) and "no_site_load" in {n.code for n in r.notes}
    z = pv_export(100, 500.0)
    assert z.export_kw == 0.0 and "no_export" in {n.code for n in z.notes}


@pytest.mark.parametrize(("args", "kwargs", "field"), [
    ((0,), {}, "kwp"), ((-10,), {}, "kwp"), ((100, -5.0), {}, "site_min_load_kw"),
    ((100, [1.0, 2.0, 3.0, 4.0, 5.0]), {}, "site_min_load_kw"),
    ((100,), {"site_peak_kw": 50}, "site_profile"),
    ((100,), {"output_ratio": 2.0}, "output_ratio"),
])
def test_pv_bad_input_names_the_field(args: tuple, kwargs: dict, field: str) -> None:
    with pytest.raises(InputError) as e:
        pv_export(*args, **kwargs)
    assert e.value.field == field
