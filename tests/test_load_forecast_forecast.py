"""Feeder / main-transformer peak forecasts: slope recovery, gaps, outliers, fallbacks, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from grid_models.errors import InputError
from load_forecast import feeder_forecast, forecast_peaks, load_settings
from load_forecast.forecast import annual_peaks_from_curve, despike_curve


def _linear(years: range, a: float = 3.0, b: float = 0.25) -> dict[int, float]:
    return {y: a + b * (y - years[0]) for y in years}


def test_clean_linear_series_recovers_the_slope_and_its_interval() -> None:
    f = feeder_forecast(_linear(range(2015, 2023)), 3)  # 8 points: Theil-Sen
    assert f.method == "theil_sen"
    assert f.slope_mw_per_year == pytest.approx(0.25)
    assert f.years.tolist() == [2023, 2024, 2025]
    assert f.point_mw == pytest.approx([5.0, 5.25, 5.5])
    # a perfect line has no residual: the spread is the floor 2 % x last fitted peak (4.75 MW);
    # OLS prediction interval at x0 = 2023: t(0.975, 6) x s x sqrt(1 + 1/8 + 4.5²/42)
    half = stats.t.ppf(0.975, 6) * 0.02 * 4.75 * np.sqrt(1 + 1 / 8 + 4.5**2 / 42)
    assert f.upper_mw[0] - f.point_mw[0] == pytest.approx(half)
    assert np.all(np.diff(f.upper_mw - f.lower_mw) > 0)  # widens with the horizon
    assert f.notes == ()


def test_long_series_uses_holt_and_tracks_the_trend() -> None:
    rng = np.random.default_rng(3)
    years = range(2008, 2024)  # 16 points
    peaks = {y: 3.0 + 0.25 * (y - 2008) + rng.normal(0, 0.03) for y in years}
    f = feeder_forecast(peaks, 5)
    assert f.method.startswith("holt")
    truth = 3.0 + 0.25 * (f.years - 2008)
    assert np.max(np.abs(f.point_mw - truth) / truth) < 0.03
    assert np.all(f.lower_mw < truth) and np.all(truth < f.upper_mw)
    assert f.slope_mw_per_year == pytest.approx(0.25, abs=0.03)


def test_outlier_is_excluded_and_named() -> None:
    peaks = _linear(range(2014, 2023))
    peaks[2018] = 12.0  # a recording error, 3x the trend
    f = feeder_forecast(peaks, 2)
    assert f.outliers == ((2018, 12.0),)
    assert 2018 not in f.history_years
    assert f.slope_mw_per_year == pytest.approx(0.25)
    assert "outliers" in {n.code for n in f.notes}
    assert "2018" in f.basis("en")


def test_gaps_nan_and_zero_years_are_skipped() -> None:
    peaks = _linear(range(2014, 2023))
    peaks[2016] = float("nan")
    peaks[2019] = 0.0
    del peaks[2020]
    f = feeder_forecast(peaks, 1)
    assert 2016 not in f.history_years and 2019 not in f.history_years
    assert f.slope_mw_per_year == pytest.approx(0.25)  # gaps do not bend the line
    assert f.point_mw[0] == pytest.approx(5.25)
    missing = next(n for n in f.notes if n.code == "missing_years")
    assert "2016" in missing.en and "2019" in missing.en


def test_holt_fills_short_gaps_and_says_so() -> None:
    rng = np.random.default_rng(5)
    peaks = {y: 2.0 + 0.2 * (y - 2005) + rng.normal(0, 0.02) for y in range(2005, 2021)}
    del peaks[2012]
    f = feeder_forecast(peaks, 2)
    assert f.method.startswith("holt")
    assert "gaps_filled" in {n.code for n in f.notes}


@pytest.mark.parametrize("peaks", [{2023: 5.0}, {2022: 4.0, 2023: 4.4}])
def test_short_history_falls_back_to_flat_with_a_wide_interval(peaks: dict) -> None:
    f = feeder_forecast(peaks, 4)
    assert f.method == "flat" and f.is_fallback
    last = list(peaks.values())[-1]
    assert np.all(f.point_mw == last)
    # half-width grows with sqrt(years): year 4 is twice year 1
    half = f.upper_mw - f.point_mw
    assert half[3] == pytest.approx(2 * half[0])
    assert half[0] == pytest.approx(stats.norm.ppf(0.975) * 0.1 * last)
    note = next(n for n in f.notes if n.code == "short_history")
    assert "fewer than 3" in note.en and "历史" in note.zh


def test_level_changes_the_width_not_the_point() -> None:
    peaks = _linear(range(2016, 2023))
    peaks[2019] += 0.1
    f80 = feeder_forecast(peaks, 3, level=0.8)
    f95 = feeder_forecast(peaks, 3, level=0.95)
    assert f80.point_mw == pytest.approx(f95.point_mw)
    assert np.all(f80.upper_mw - f80.lower_mw < f95.upper_mw - f95.lower_mw)


def test_load_history_rows_and_pairs_are_accepted() -> None:
    rows = pd.DataFrame({"element_id": "F1", "year": [2019, 2020, 2021, 2022],
                         "peak_mw": [4.0, 4.3, 4.6, 4.9]})
    a = feeder_forecast(rows, 2, element_id="F1")
    b = feeder_forecast([(2019, 4.0), (2020, 4.3), (2021, 4.6), (2022, 4.9)], 2)
    assert a.point_mw == pytest.approx([5.2, 5.5])
    assert b.point_mw == pytest.approx([5.2, 5.5])
    assert a.to_dict()["element_id"] == "F1"


def test_curve_gives_annual_peaks_after_removing_a_spike() -> None:
    idx = pd.date_range("2021-01-01", "2022-12-31 23:00", freq="h")
    day = np.sin((idx.hour.to_numpy() - 6) / 24 * 2 * np.pi)
    base = np.where(idx.year == 2021, 3.0, 3.5)
    curve = pd.Series(base + day, index=idx)
    curve.iloc[500] = 40.0  # a meter spike
    peaks, notes = annual_peaks_from_curve(curve)
    assert peaks.to_dict() == pytest.approx({2021: 4.0, 2022: 4.5})
    assert "spikes_removed" in {n.code for n in notes}
    f = feeder_forecast(curve, 2)
    assert f.source == "load_curve" and f.method == "flat"  # two annual peaks only
    assert f.point_mw[0] == pytest.approx(4.5)


def test_partial_year_is_not_an_annual_peak() -> None:
    idx = pd.date_range("2021-01-01", "2022-03-31 23:00", freq="h")
    curve = pd.Series(3.0 + np.sin(np.arange(len(idx)) / 24 * 2 * np.pi), index=idx)
    peaks, notes = annual_peaks_from_curve(curve)
    assert list(peaks.index) == [2021]
    assert any(n.code == "partial_year" and "2022" in n.en for n in notes)


def test_curve_shorter_than_a_year_falls_back_and_says_so() -> None:
    idx = pd.date_range("2023-06-01", periods=96 * 30, freq="15min")
    curve = pd.Series(2.0 + np.sin(np.arange(len(idx)) / 96 * 2 * np.pi), index=idx)
    f = feeder_forecast(curve, 3)
    assert f.method == "flat" and f.history_mw.tolist() == pytest.approx([3.0])
    assert {"curve_too_short", "short_history"} <= {n.code for n in f.notes}


def test_despike_keeps_a_genuine_peak() -> None:
    x = pd.Series([1.0, 1.1, 1.3, 1.8, 2.4, 2.0, 1.5, 1.2, 1.1, 1.0] * 5)
    cleaned, n = despike_curve(x)
    assert n == 0 and cleaned.max() == 2.4
    x.iloc[12] = 30.0
    cleaned, n = despike_curve(x)
    assert n == 1 and np.isnan(cleaned.iloc[12]) and cleaned.max() == 2.4


def test_forecast_peaks_with_weekly_season_reproduces_the_week() -> None:
    rng = np.random.default_rng(0)
    week = np.array([10, 10.2, 10.1, 10.3, 10.0, 7.0, 6.5])
    y = np.tile(week, 8) + rng.normal(0, 0.05, 56)
    f = forecast_peaks(y, 7, seasonal_periods=7)
    assert f.method.startswith("holt_winters")
    assert np.max(np.abs(f.point - week)) < 0.3
    lo80, hi80 = f.interval(0.8)
    assert np.all(lo80 >= f.lower) and np.all(hi80 <= f.upper)


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("series", "words"), [
    ({}, "empty"),
    (pd.Series([], dtype=float), "empty"),
    ({2020: float("nan"), 2021: float("nan")}, "NaN"),
    (pd.Series(np.nan, index=pd.date_range("2022-01-01", periods=96, freq="15min")), "NaN"),
    ({2019: 4.0, 2020: 4.0, 2021: 4.0}, "constant"),
    (pd.Series(2.5, index=pd.date_range("2022-01-01", periods=96, freq="15min")), "constant"),
])
def test_empty_constant_all_nan_series_raise_naming_the_field(series: object, words: str) -> None:
    with pytest.raises(InputError) as e:
        feeder_forecast(series)
    assert e.value.field == "series"
    assert words in str(e.value)


@pytest.mark.parametrize("series", [[4.0, 4.2, 4.5], {1850: 3.0, 1851: 3.1}, {"x": 1.0},
                                    {2020: "high", 2021: 3.0}, np.array([1.0, 2.0])])
def test_values_without_years_or_not_numbers_are_refused(series: object) -> None:
    with pytest.raises(InputError) as e:
        feeder_forecast(series)
    assert e.value.field == "series"


def test_negative_peak_is_refused_with_year() -> None:
    with pytest.raises(InputError) as e:
        feeder_forecast({2020: 3.0, 2021: -1.0, 2022: 3.3})
    assert e.value.field == "peak_mw" and "2021" in str(e.value)


def test_bad_horizon_and_level() -> None:
    with pytest.raises(InputError) as e:
        feeder_forecast({2020: 3.0, 2021: 3.2, 2022: 3.3}, 0)
    assert e.value.field == "horizon_years"
    with pytest.raises(InputError) as e:
        feeder_forecast({2020: 3.0, 2021: 3.2, 2022: 3.3}, 2, level=1.0)
    assert e.value.field == "level" and "valid" in str(e.value)


def test_settings_defaults_and_overrides() -> None:
    st = load_settings()
    assert st.headroom_rule == "conservative" and st.horizon_years == 5
    assert load_settings(headroom_rule="coincident").headroom_rule == "coincident"
    with pytest.raises(InputError) as e:
        load_settings(headroom_rule="optimistic")
    assert e.value.field == "headroom_rule"
    with pytest.raises(InputError):
        load_settings(nonsense=1)
