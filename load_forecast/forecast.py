"""Peak forecasts for feeders and main transformers, with prediction intervals.

Input is either measured annual peaks (``{year: MW}``, a Series indexed by year, or
``load_history`` rows) or a load curve (a Series on a DatetimeIndex, or ``load_curves`` rows)
from which each sufficiently covered calendar year gives one annual peak.

Method by the number of usable annual peaks ``n`` (thresholds in ``forecast_settings.csv``):

- ``n < min_points_trend``: **flat** at the last peak, interval widening with the square
  root of the horizon (``fallback_relative_sigma``), and a warning saying so;
- ``n < min_points_holt``: **Theil-Sen** robust trend (:func:`scipy.stats.theilslopes`) with
  an OLS-style prediction interval on the residual spread (Student t, ``n-2`` dof, floored by
  ``min_relative_sigma``);
- otherwise **Holt** exponential smoothing (statsmodels ``ETSModel``, additive error and
  trend, damped or not by AICc); its interval is the envelope of its analytic interval and
  the Theil-Sen one, because the analytic one ignores parameter uncertainty and covered too
  little in the backtest (``benchmarks/forecast_backtest.py``).

Outliers (modified z-score of Theil-Sen residuals, Iglewicz & Hoaglin) are excluded and
reported; missing years are skipped by the trend and interpolated for Holt.
:func:`forecast_peaks` is the same engine for any evenly spaced peak series (the backtest
uses it on daily peaks with a weekly season).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grid_models.errors import InputError

from .checks import in_range, positive
from .notes import Note
from .settings import ForecastSettings, load_settings

if TYPE_CHECKING:
    from statsmodels.tsa.exponential_smoothing.ets import ETSResults

YEAR_RANGE = (1900, 2200)


@dataclass(frozen=True, eq=False)
class PeakForecast:
    """Forecast of an evenly spaced peak series ``horizon`` steps ahead.

    Attributes
    ----------
    point, lower, upper : numpy.ndarray
        Point forecast and prediction interval bounds, one per step ahead.
    level : float
        Interval probability.
    method : str
        ``flat``, ``theil_sen``, ``holt``, ``holt_damped``, ``holt_winters``,
        ``holt_winters_damped`` or ``holt_winters_level`` (seasonal, no trend).
    slope : float or None
        Trend per step (Theil-Sen slope, or the ETS trend at the end of the data).
    notes : tuple of Note
    """

    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float
    method: str
    slope: float | None
    notes: tuple[Note, ...] = ()
    bounds: Callable[[float], tuple[np.ndarray, np.ndarray]] | None = field(default=None,
                                                                           repr=False)

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) at another probability, from the same fit."""
        lvl = in_range(level, "level", 0.0, 1.0, high_open=True)
        if self.bounds is None:
            raise InputError("this forecast cannot give other interval levels", field="level")
        return self.bounds(lvl)


@dataclass(frozen=True, eq=False)
class Forecast:
    """Annual peak forecast of one feeder or transformer.

    Attributes
    ----------
    element_id : str
        Feeder or substation id (or ``"series"``).
    years : numpy.ndarray
        Forecast years.
    point_mw, lower_mw, upper_mw : numpy.ndarray
        Point forecast and interval per year.
    level : float
        Interval probability.
    method : str
        See :class:`PeakForecast`.
    history_years, history_mw : numpy.ndarray
        Annual peaks the forecast was fitted on (outliers removed).
    outliers : tuple of (int, float)
        Excluded (year, MW).
    source : str
        ``annual_peaks`` or ``load_curve``.
    slope_mw_per_year : float or None
    notes : tuple of Note
        Warnings: fallbacks, gaps, outliers, excluded partial years.
    """

    element_id: str
    years: np.ndarray
    point_mw: np.ndarray
    lower_mw: np.ndarray
    upper_mw: np.ndarray
    level: float
    method: str
    history_years: np.ndarray
    history_mw: np.ndarray
    outliers: tuple[tuple[int, float], ...]
    source: str
    slope_mw_per_year: float | None
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def is_fallback(self) -> bool:
        """True when history was too short for a trend."""
        return self.method == "flat"

    def peak_in(self, year: int) -> tuple[float, float, float]:
        """(point, lower, upper) MW for a forecast year."""
        hit = np.flatnonzero(self.years == int(year))
        if hit.size == 0:
            raise InputError(f"year = {year} is not forecast; valid: {int(self.years[0])}.."
                             f"{int(self.years[-1])}", field="year")
        i = int(hit[0])
        return float(self.point_mw[i]), float(self.lower_mw[i]), float(self.upper_mw[i])

    def basis(self, lang: str = "zh") -> str:
        """How the forecast was made, in Chinese or English."""
        y0, y1 = int(self.history_years[0]), int(self.history_years[-1])
        n = len(self.history_years)
        pct = f"{self.level * 100:g}%"
        src_zh = "年最大负荷" if self.source == "annual_peaks" else "负荷曲线逐年最大值"
        src_en = "annual peaks" if self.source == "annual_peaks" else "annual maxima of the load curve"
        method_zh = {"flat": "历史不足，按最后一年持平外推（区间放宽）",
                     "theil_sen": "Theil–Sen 稳健趋势", "holt": "Holt 指数平滑",
                     "holt_damped": "阻尼 Holt 指数平滑"}.get(self.method, self.method)
        method_en = {"flat": "history too short: flat at the last peak with a wide interval",
                     "theil_sen": "Theil-Sen robust trend", "holt": "Holt exponential smoothing",
                     "holt_damped": "damped Holt exponential smoothing"}.get(self.method,
                                                                             self.method)
        slope = self.slope_mw_per_year
        if lang == "zh":
            s = f"{src_zh} {y0}–{y1} 年共 {n} 个值；方法：{method_zh}"
            if slope is not None:
                s += f"，斜率 {slope:+.3f} MW/年"
            s += f"；{pct} 预测区间"
            if self.outliers:
                s += "；剔除异常值 " + ", ".join(f"{y} 年 {v:g} MW" for y, v in self.outliers)
        else:
            s = f"{src_en} {y0}-{y1} ({n} values); method: {method_en}"
            if slope is not None:
                s += f", slope {slope:+.3f} MW/year"
            s += f"; {pct} prediction interval"
            if self.outliers:
                s += "; outliers excluded: " + ", ".join(f"{y} {v:g} MW" for y, v in self.outliers)
        return s

    def to_dict(self) -> dict[str, object]:
        """JSON-ready forecast, history, basis and notes."""
        return {
            "element_id": self.element_id, "method": self.method, "level": self.level,
            "source": self.source, "slope_mw_per_year": self.slope_mw_per_year,
            "years": [int(y) for y in self.years],
            "point_mw": [round(float(v), 6) for v in self.point_mw],
            "lower_mw": [round(float(v), 6) for v in self.lower_mw],
            "upper_mw": [round(float(v), 6) for v in self.upper_mw],
            "history": {"years": [int(y) for y in self.history_years],
                        "peak_mw": [float(v) for v in self.history_mw]},
            "outliers": [{"year": y, "peak_mw": v} for y, v in self.outliers],
            "basis": {"zh": self.basis("zh"), "en": self.basis("en")},
            "notes": [n.to_dict() for n in self.notes],
        }


# ---------------------------------------------------------------------------------------------
# generic engine
def forecast_peaks(values: np.ndarray | pd.Series | list[float], horizon: int, *,
                   x: np.ndarray | None = None, seasonal_periods: int | None = None,
                   level: float | None = None,
                   settings: ForecastSettings | None = None) -> PeakForecast:
    """Forecast a peak series ``horizon`` steps past its last position.

    Parameters
    ----------
    values : array-like
        Peaks (NaN marks a gap), evenly spaced unless ``x`` is given.
    horizon : int
        Steps ahead (>= 1).
    x : array-like, optional
        Integer positions of ``values`` (e.g. years); gaps between them are missing values.
    seasonal_periods : int, optional
        Season length for Holt-Winters (e.g. 7 for daily peaks with a weekly pattern); used
        only when at least two seasons plus ``min_points_holt`` values are present.
    level : float, optional
        Interval probability in (0, 1); default ``interval_level`` of the settings.
    settings : ForecastSettings, optional
        Default: :func:`~load_forecast.settings.load_settings`.

    Returns
    -------
    PeakForecast
    """
    st = settings or load_settings()
    lvl = st.interval_level if level is None else in_range(level, "level", 0.0, 1.0,
                                                             high_open=True)
    h = int(positive(horizon, "horizon", 1000))
    y = np.asarray(values, dtype=float)
    xs = np.arange(len(y), dtype=float) if x is None else np.asarray(x, dtype=float)
    if xs.shape != y.shape or np.any(np.diff(xs) <= 0):
        raise InputError("x must be increasing positions, one per value", field="x")
    ok = np.isfinite(y)
    y, xs = y[ok], xs[ok]
    n = len(y)
    if n == 0:
        raise InputError("values: no finite value to forecast from", field="values")
    x_future = xs[-1] + np.arange(1, h + 1)
    notes: list[Note] = []
    span = int(round(xs[-1] - xs[0])) + 1
    longest_gap = int(np.max(np.diff(xs))) - 1 if n > 1 else 0
    seasonal = bool(seasonal_periods and seasonal_periods > 1
                    and n >= 2 * seasonal_periods + st.min_points_holt)
    if n < st.min_points_trend:
        return _flat(y, h, lvl, st, notes)
    if n < st.min_points_holt or longest_gap > st.max_history_gap_years:
        if n >= st.min_points_holt:
            notes.append(Note("long_gap", f"历史中断 {longest_gap} 个周期，改用 Theil–Sen 趋势",
                              f"a gap of {longest_gap} steps: Theil-Sen trend used instead of Holt"))
        return _theil_sen(xs, y, x_future, lvl, st, notes)
    # Holt needs an evenly spaced series: fill the (short) gaps by linear interpolation
    grid = xs[0] + np.arange(span)
    filled = np.interp(grid, xs, y)
    if span > n:
        notes.append(Note("gaps_filled", f"{span - n} 个缺测值按线性插值补齐",
                          f"{span - n} missing value(s) filled by linear interpolation"))
    try:
        ets = _ets(filled, h, lvl, seasonal_periods if seasonal else None, notes)
    except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
        notes.append(Note("holt_failed", f"Holt 拟合失败（{exc}），改用 Theil–Sen 趋势",
                          f"Holt fit failed ({exc}); Theil-Sen trend used"))
        return _theil_sen(xs, y, x_future, lvl, st, notes)
    if seasonal:
        return ets
    # Holt's analytic interval ignores the uncertainty of its own parameters and covered too
    # little in the backtest (benchmarks/forecast_backtest.py): widen it to the envelope of
    # Holt's and the trend's intervals; the point forecast stays Holt's.
    ts = _theil_sen(xs, y, x_future, lvl, st, [])

    def bounds(lv: float) -> tuple[np.ndarray, np.ndarray]:
        (el, eu), (tl, tu) = ets.interval(lv), ts.interval(lv)
        return np.minimum(el, tl), np.maximum(eu, tu)

    return PeakForecast(ets.point, *bounds(lvl), lvl, ets.method, ets.slope, ets.notes, bounds)


def _flat(y: np.ndarray, h: int, level: float, st: ForecastSettings,
          notes: list[Note]) -> PeakForecast:
    from scipy import stats  # imported here: scipy.stats costs ~1 s at start-up

    last = float(y[-1])
    sd = st.fallback_relative_sigma * abs(last) * np.sqrt(np.arange(1, h + 1))
    point = np.full(h, last)

    def bounds(lv: float) -> tuple[np.ndarray, np.ndarray]:
        half = stats.norm.ppf(0.5 + lv / 2) * sd
        return np.maximum(point - half, 0.0), point + half

    notes.append(Note(
        "short_history",
        f"历史仅 {len(y)} 个值（少于 {st.min_points_trend}）：按最后值 {last:g} 持平外推，区间按每年 "
        f"±{st.fallback_relative_sigma:.0%}×√年 放宽；请补充历史数据",
        f"only {len(y)} value(s) of history (fewer than {st.min_points_trend}): flat at the last "
        f"value {last:g} with an interval of ±{st.fallback_relative_sigma:.0%} x sqrt(years); "
        "add history for a trend"))
    return PeakForecast(point, *bounds(level), level, "flat", None, tuple(notes), bounds)


def _theil_sen(x: np.ndarray, y: np.ndarray, x_future: np.ndarray, level: float,
               st: ForecastSettings, notes: list[Note]) -> PeakForecast:
    from scipy import stats  # imported here: scipy.stats costs ~1 s at start-up

    slope, intercept, _, _ = stats.theilslopes(y, x)
    n = len(y)
    resid = y - (intercept + slope * x)
    # classical residual spread (n-2 dof) or the robust one, whichever is larger, floored by the
    # year-to-year variation a clean trend still shows (weather)
    s_classic = math.sqrt(float(np.sum(resid ** 2)) / (n - 2)) if n > 2 else 0.0
    s_robust = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    last_fit = abs(intercept + slope * x[-1])
    s = max(s_classic, s_robust, st.min_relative_sigma * last_fit)
    xbar = float(np.mean(x))
    sxx = float(np.sum((x - xbar) ** 2))
    # OLS prediction-interval form (parameter and noise uncertainty) around the robust line
    se = s * np.sqrt(1.0 + 1.0 / n + (x_future - xbar) ** 2 / sxx)
    point = np.maximum(intercept + slope * x_future, 0.0)

    def bounds(lv: float) -> tuple[np.ndarray, np.ndarray]:
        half = stats.t.ppf(0.5 + lv / 2, df=max(n - 2, 1)) * se
        return np.maximum(point - half, 0.0), point + half

    return PeakForecast(point, *bounds(level), level, "theil_sen", float(slope), tuple(notes),
                        bounds)


def _fit_ets(model_cls: type, series: pd.Series, trend: str | None, damped: bool,
             seasonal_periods: int | None) -> ETSResults:
    # Seasonal series: heuristic initial states (Hyndman et al. 2008) first: with estimated
    # ones the optimiser ended in poor optima on short seasonal series (residual SD 5x larger
    # on the Taylor backtest). Annual series: estimated initial states did better in the
    # synthetic backtest. statsmodels refuses "heuristic" on very short series.
    order = ("heuristic", "estimated") if seasonal_periods else ("estimated", "heuristic")
    for init in order:
        try:
            model = model_cls(series, error="add", trend=trend, damped_trend=damped,
                              seasonal="add" if seasonal_periods else None,
                              seasonal_periods=seasonal_periods, initialization_method=init)
        except ValueError:
            continue
        return model.fit(disp=False)
    raise ValueError("ETS model cannot be initialised on this series")


def _ets(y: np.ndarray, h: int, level: float, seasonal_periods: int | None,
         notes: list[Note]) -> PeakForecast:
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    series = pd.Series(y)  # ETS prediction needs a pandas index
    # Annual peaks always carry a trend (growth is the question); a seasonal series of daily
    # peaks may have none, and a spurious trend extrapolated for weeks costs more than it gains.
    candidates = [("add", False), ("add", True)] + ([(None, False)] if seasonal_periods else [])
    best = None
    for trend, damped in candidates:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = _fit_ets(ETSModel, series, trend, damped, seasonal_periods)
        if not np.isfinite(res.aicc):
            continue
        if best is None or res.aicc < best[0].aicc:
            converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
            best = (res, trend, damped, converged)
    if best is None:
        raise ValueError("no ETS model could be fitted")
    res, trend, damped, converged = best
    if not converged:
        notes.append(Note("holt_convergence", "Holt 参数优化未完全收敛，结果仅供参考",
                          "Holt parameter optimisation did not fully converge"))
    pred = res.get_prediction(start=len(y), end=len(y) + h - 1)
    point = np.maximum(np.asarray(pred.predicted_mean, dtype=float), 0.0)

    def bounds(lv: float) -> tuple[np.ndarray, np.ndarray]:
        frame = pred.summary_frame(alpha=1 - lv)
        return (np.maximum(frame["pi_lower"].to_numpy(float), 0.0),
                frame["pi_upper"].to_numpy(float))

    slope = float(np.asarray(res.states)[-1, 1]) if trend else 0.0
    base = "holt_winters" if seasonal_periods else "holt"
    method = base + ("_damped" if damped else "") + ("" if trend else "_level")
    return PeakForecast(point, *bounds(level), level, method, slope, tuple(notes), bounds)


# ---------------------------------------------------------------------------------------------
# input handling
def _as_years(index: pd.Index, field_name: str) -> np.ndarray:
    try:
        years = np.asarray(index, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{field_name}: years must be integers in {YEAR_RANGE[0]}.."
                         f"{YEAR_RANGE[1]}, got {list(index)[:3]!r}...", field=field_name) from None
    bad = ~np.isfinite(years) | (years != np.round(years)) | (years < YEAR_RANGE[0]) | (
        years > YEAR_RANGE[1])
    if bad.any():
        raise InputError(f"{field_name}: year {np.asarray(index)[bad][0]!r} is not a whole year in "
                         f"{YEAR_RANGE[0]}..{YEAR_RANGE[1]} (give peaks as {{year: MW}})",
                         field=field_name)
    return years.astype(int)


def _as_values(values: object, field_name: str) -> np.ndarray:
    try:
        return pd.to_numeric(pd.Series(values), errors="raise").to_numpy(float)
    except (TypeError, ValueError):
        raise InputError(f"{field_name}: values must be numbers (MW); NaN marks a gap",
                         field=field_name) from None


def _check_values(v: np.ndarray, field_name: str, what: str) -> None:
    if v.size == 0:
        raise InputError(f"{field_name} is empty; give at least one {what} (MW)", field=field_name)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        raise InputError(f"{field_name}: all {v.size} values are NaN/missing; give at least one "
                         f"measured {what} (MW)", field=field_name)
    if finite.size >= 2 and np.ptp(finite) == 0:
        raise InputError(f"{field_name}: all {finite.size} values equal {finite[0]:g} MW; a "
                         "measured series is never constant (stuck meter or filled export?); "
                         "check the data", field=field_name)


def parse_input(series: object, field_name: str = "series") -> tuple[str, pd.Series]:
    """Classify and normalise forecast input.

    Returns ``("annual_peaks", Series indexed by int year)`` or ``("load_curve", Series on a
    sorted DatetimeIndex)``.

    Raises
    ------
    InputError
        Unknown shape, non-numeric values, years outside 1900..2200, empty/all-NaN/constant.
    """
    if isinstance(series, pd.DataFrame):
        cols = set(series.columns)
        if {"year", "peak_mw"} <= cols:
            series = pd.Series(series["peak_mw"].to_numpy(), index=series["year"].to_numpy())
        elif {"timestamp", "p_mw"} <= cols:
            ts = pd.to_datetime(series["timestamp"], errors="coerce", format="mixed")
            if ts.isna().any():
                bad = series["timestamp"][ts.isna()].iloc[0]
                raise InputError(f"{field_name}.timestamp: {bad!r} is not an ISO 8601 time",
                                 field=f"{field_name}.timestamp")
            series = pd.Series(series["p_mw"].to_numpy(), index=pd.DatetimeIndex(ts))
        else:
            raise InputError(f"{field_name}: a table needs columns year, peak_mw (load_history) "
                             f"or timestamp, p_mw (load_curves); got {sorted(cols)}",
                             field=field_name)
    elif isinstance(series, dict):
        series = pd.Series(list(series.values()), index=list(series.keys()), dtype=object)
    elif isinstance(series, list | tuple):
        if series and all(isinstance(p, list | tuple) and len(p) == 2 for p in series):
            series = pd.Series([p[1] for p in series], index=[p[0] for p in series], dtype=object)
        elif not series:
            series = pd.Series([], dtype=float)
        else:
            raise InputError(f"{field_name}: give annual peaks with their years ({{2021: 4.1, "
                             "...}} or [(2021, 4.1), ...]) or a time series with timestamps",
                             field=field_name)
    elif not isinstance(series, pd.Series):
        raise InputError(f"{field_name}: expected {{year: MW}}, a pandas Series (indexed by year "
                         f"or by time) or a load_history/load_curves table, got "
                         f"{type(series).__name__}", field=field_name)
    s: pd.Series = series
    if len(s) == 0:
        _check_values(np.zeros(0), field_name, "peak")
    if isinstance(s.index, pd.DatetimeIndex):
        v = _as_values(s.to_numpy(), field_name)
        _check_values(v, field_name, "load value")
        out = pd.Series(v, index=s.index)
        out = out[out.index.notna()].sort_index()
        return "load_curve", out
    years = _as_years(s.index, field_name)
    v = _as_values(s.to_numpy(), field_name)
    _check_values(v, field_name, "annual peak")
    return "annual_peaks", pd.Series(v, index=years)


def despike_curve(curve: pd.Series, settings: ForecastSettings | None = None
                  ) -> tuple[pd.Series, int]:
    """Set single-step meter spikes to NaN.

    A spike rises above (or falls below) *both* neighbours: its height is the smaller of the
    two jumps when they point the same way (0 on a ramp or a step). A point is a spike when
    that height exceeds ``curve_spike_mad_z`` robust standard deviations of the curve's step
    changes (1.4826 x MAD of the first differences). A genuine peak builds over several steps,
    so its jumps stay of the size of ordinary step changes. Returns the cleaned curve and the
    number of points removed.
    """
    st = settings or load_settings()
    x = curve.to_numpy(float)
    if len(x) < 3:
        return curve, 0
    diff = np.diff(x)
    fd = diff[np.isfinite(diff)]
    if fd.size < 2:
        return curve, 0
    scale = 1.4826 * float(np.median(np.abs(fd - np.median(fd))))
    if scale == 0:  # mostly flat steps: fall back to the mean absolute change
        scale = 1.253314 * float(np.mean(np.abs(fd - np.median(fd))))
    if scale == 0:
        return curve, 0
    up, down = x[1:-1] - x[:-2], x[1:-1] - x[2:]
    with np.errstate(invalid="ignore"):
        same = np.sign(up) == np.sign(down)
        height = np.where(same, np.minimum(np.abs(up), np.abs(down)), 0.0)
    spikes = np.zeros(len(x), dtype=bool)
    spikes[1:-1] = np.nan_to_num(height) > st.curve_spike_mad_z * scale
    if not spikes.any():
        return curve, 0
    out = curve.copy()
    out[spikes] = np.nan
    return out, int(spikes.sum())


def annual_peaks_from_curve(curve: pd.Series, settings: ForecastSettings | None = None
                            ) -> tuple[pd.Series, list[Note]]:
    """Annual maxima of the calendar years a curve covers well enough.

    A year counts when its finite values cover at least ``min_year_coverage`` of the steps
    the year has at the curve's (median) step; the others are dropped with a note. Spikes are
    removed first (:func:`despike_curve`).
    """
    st = settings or load_settings()
    notes: list[Note] = []
    c = curve[~curve.index.duplicated(keep="last")] if curve.index.has_duplicates else curve
    if len(c) != len(curve):
        notes.append(Note("duplicate_times", f"{len(curve) - len(c)} 个重复时刻取最后一个值",
                          f"{len(curve) - len(c)} duplicated timestamp(s): last value kept"))
    c, n_spikes = despike_curve(c, st)
    if n_spikes:
        notes.append(Note("spikes_removed", f"剔除 {n_spikes} 个单点尖峰（高于相邻点超过步长变化稳健标准差的 "
                          f"{st.curve_spike_mad_z:g} 倍）",
                          f"{n_spikes} single-step spike(s) removed (higher than "
                          f"{st.curve_spike_mad_z:g} robust SDs of the step changes)"))
    step_ns = float(np.median(np.diff(c.index.asi8))) if len(c) > 1 else 0.0
    finite = c[np.isfinite(c.to_numpy(float))]
    years = finite.index.year
    peaks = finite.groupby(years).max()
    counts = finite.groupby(years).size()
    keep = []
    for yr in peaks.index:
        ylen_ns = (pd.Timestamp(yr + 1, 1, 1) - pd.Timestamp(yr, 1, 1)).value
        cover = counts[yr] * step_ns / ylen_ns if step_ns > 0 else 0.0
        if cover >= st.min_year_coverage:
            keep.append(yr)
        else:
            notes.append(Note("partial_year", f"{yr} 年数据覆盖 {cover:.0%}（< "
                              f"{st.min_year_coverage:.0%}），其最大值不计入年最大负荷",
                              f"{yr}: the curve covers {cover:.0%} of the year (< "
                              f"{st.min_year_coverage:.0%}); its maximum is not used as an "
                              "annual peak"))
    return peaks.loc[keep].astype(float), notes


def _outliers(years: np.ndarray, v: np.ndarray, st: ForecastSettings) -> np.ndarray:
    """Mask of annual peaks whose Theil-Sen residual has a modified z-score above threshold."""
    from scipy import stats  # imported here: scipy.stats costs ~1 s at start-up

    if len(v) < st.outlier_min_points:
        return np.zeros(len(v), dtype=bool)
    slope, intercept, _, _ = stats.theilslopes(v, years)
    r = v - (intercept + slope * years)
    dev = np.abs(r - np.median(r))
    mad = float(np.median(dev))
    if mad > 0:
        z = 0.6745 * dev / mad
    else:
        # more than half the residuals are 0 (a clean line): Iglewicz & Hoaglin's mean-AD form
        mean_ad = float(np.mean(dev))
        if mean_ad == 0:
            return np.zeros(len(v), dtype=bool)
        z = dev / (1.253314 * mean_ad)
    return z > st.outlier_mad_z


def feeder_forecast(series: object, horizon_years: int | None = None, *,
                    level: float | None = None, element_id: str = "series",
                    settings: ForecastSettings | None = None) -> Forecast:
    """Forecast a feeder's or main transformer's annual peak ``horizon_years`` ahead.

    Parameters
    ----------
    series : dict, Series, DataFrame or list of (year, MW)
        Annual peaks ``{year: MW}`` (NaN or 0 = missing year), a Series indexed by year or by
        time (15-min/hourly load curve, MW), or ``load_history`` / ``load_curves`` rows of one
        element.
    horizon_years : int, optional
        Years ahead; default ``horizon_years`` of the settings.
    level : float, optional
        Interval probability; default ``interval_level`` of the settings.
    element_id : str
        Name used in messages and output.
    settings : ForecastSettings, optional

    Returns
    -------
    Forecast

    Raises
    ------
    InputError
        Empty, all-NaN or constant series, negative peaks, non-numeric values, bad years.

    Examples
    --------
    >>> f = feeder_forecast({2019: 4.0, 2020: 4.3, 2021: 4.6, 2022: 4.9}, 2)
    >>> f.method, [round(float(v), 2) for v in f.point_mw]
    ('theil_sen', [5.2, 5.5])
    """
    st = settings or load_settings()
    h = st.horizon_years if horizon_years is None else int(positive(horizon_years,
                                                                     "horizon_years", 50))
    kind, s = parse_input(series)
    notes: list[Note] = []
    if kind == "load_curve":
        peaks, cnotes = annual_peaks_from_curve(s, st)
        notes += cnotes
        if peaks.empty:
            # less than one well-covered year: the curve's maximum is all we know
            finite = s[np.isfinite(s.to_numpy(float))]
            days = (finite.index[-1] - finite.index[0]).total_seconds() / 86400
            notes.append(Note("curve_too_short",
                              f"曲线仅覆盖 {days:.0f} 天，不足一年：以其最大值 "
                              f"{finite.max():g} MW 作为 {finite.index[-1].year} 年最大负荷（可能偏低）",
                              f"the curve covers {days:.0f} days, less than a year: its maximum "
                              f"{finite.max():g} MW stands for {finite.index[-1].year}'s peak "
                              "(may be low)"))
            peaks = pd.Series([float(finite.max())], index=[int(finite.index[-1].year)])
    else:
        peaks = s.groupby(level=0).max() if s.index.has_duplicates else s.sort_index()
        if s.index.has_duplicates:
            notes.append(Note("duplicate_years", "重复年份取最大值",
                              "duplicated years: the largest value kept"))
    years = peaks.index.to_numpy(int)
    v = peaks.to_numpy(float)
    neg = np.isfinite(v) & (v < 0)
    if neg.any():
        raise InputError(f"{element_id}: peak {v[neg][0]:g} MW in {years[neg][0]} is negative; "
                         "valid peaks are >= 0 MW (0 or NaN = missing)", field="peak_mw")
    missing = ~np.isfinite(v) | (v == 0)
    if missing.any() and kind == "annual_peaks":
        notes.append(Note("missing_years", "缺测年份（NaN 或 0）："
                          + ", ".join(str(y) for y in years[missing]),
                          "missing years (NaN or 0): " + ", ".join(str(y) for y in years[missing])))
    years, v = years[~missing], v[~missing]
    if len(v) == 0:
        raise InputError(f"{element_id}: every annual peak is 0 or missing", field="peak_mw")
    out_mask = _outliers(years.astype(float), v, st)
    outliers = tuple((int(y), float(x)) for y, x in zip(years[out_mask], v[out_mask], strict=True))
    if outliers:
        notes.append(Note("outliers", "异常值已剔除：" + ", ".join(f"{y} 年 {x:g} MW"
                                                               for y, x in outliers),
                          "outliers excluded: " + ", ".join(f"{y} {x:g} MW" for y, x in outliers)))
    years, v = years[~out_mask], v[~out_mask]
    pf = forecast_peaks(v, h, x=years.astype(float), level=level, settings=st)
    fyears = years[-1] + np.arange(1, h + 1)
    return Forecast(element_id, fyears, pf.point, pf.lower, pf.upper, pf.level, pf.method,
                    years, v, outliers, kind, pf.slope, tuple(notes) + pf.notes)
