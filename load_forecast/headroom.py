"""Coincident headroom: the peak of the sum, not the sum of the peaks.

A new customer's peak rarely falls on the feeder's peak hour. With the feeder's load curve
and the customer's normalised profile, the feeder's peak after connection is
``max_t(feeder(t) + customer_peak x profile(t))`` (coincident), which is at most
``max(feeder) + customer_peak`` (sum of peaks, the conservative figure). Both are reported;
the utility's ``headroom_rule`` (``forecast_settings.csv``) says which one the rules use.

``headroom = limit x rating - peak`` with ``limit`` the allowed load rate (e.g. 0.5 for a
cable ring kept ready for N-1 transfer, from the policy's ``load_rate_limits``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from grid_models.errors import InputError

from .checks import in_range, non_negative, positive
from .notes import Note
from .profiles import STEPS_PER_DAY, Profile, profile_curve, resolve_profile
from .settings import HEADROOM_RULES, ForecastSettings, load_settings

MAX_LIMIT = 2.0  # a load-rate limit above 200 % of rating is a typo, not a policy


@dataclass(frozen=True)
class Headroom:
    """Feeder (or transformer) headroom before and after one customer.

    Attributes
    ----------
    rating_mw : float
        Rated capacity (MW) the load rate refers to.
    limit : float
        Allowed load rate (share of ``rating_mw``).
    feeder_peak_mw, customer_peak_mw : float
        Peaks before connection.
    sum_of_peaks_mw, coincident_peak_mw : float
        Peak after connection, conservative and coincident.
    rule : str
        ``conservative`` or ``coincident``: which peak the rules use.
    peak_step : int
        Index of the coincident peak in the curve.
    peak_time : str or None
        ISO time of the coincident peak when the curve has timestamps.
    notes : tuple of Note
    """

    rating_mw: float
    limit: float
    feeder_peak_mw: float
    customer_peak_mw: float
    sum_of_peaks_mw: float
    coincident_peak_mw: float
    rule: str
    peak_step: int
    peak_time: str | None = None
    profile: str | None = None
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def allowed_mw(self) -> float:
        """``limit x rating``."""
        return self.limit * self.rating_mw

    @property
    def available_before_mw(self) -> float:
        """Headroom before connection (可开放容量)."""
        return self.allowed_mw - self.feeder_peak_mw

    @property
    def headroom_sum_of_peaks_mw(self) -> float:
        return self.allowed_mw - self.sum_of_peaks_mw

    @property
    def headroom_coincident_mw(self) -> float:
        return self.allowed_mw - self.coincident_peak_mw

    @property
    def diversity_mw(self) -> float:
        """How much the coincident peak is below the sum of peaks."""
        return self.sum_of_peaks_mw - self.coincident_peak_mw

    @property
    def used_peak_mw(self) -> float:
        """The peak after connection the rules use (by :attr:`rule`)."""
        return self.sum_of_peaks_mw if self.rule == "conservative" else self.coincident_peak_mw

    @property
    def used_headroom_mw(self) -> float:
        return self.allowed_mw - self.used_peak_mw

    @property
    def load_rate_before(self) -> float:
        return self.feeder_peak_mw / self.rating_mw

    @property
    def load_rate_after(self) -> float:
        return self.used_peak_mw / self.rating_mw

    @property
    def fits(self) -> bool:
        """True when the used peak stays within ``limit x rating``."""
        return self.used_headroom_mw >= 0

    def basis(self, lang: str = "zh") -> str:
        """The numbers and the rule, in Chinese or English."""
        if lang == "zh":
            rule = "峰值相加（保守）" if self.rule == "conservative" else "同时峰值"
            s = (f"额定 {self.rating_mw:.3f} MW × 负载率限值 {self.limit:g} = {self.allowed_mw:.3f} MW；"
                 f"接入前峰值 {self.feeder_peak_mw:.3f} MW（负载率 {self.load_rate_before:.1%}），"
                 f"可开放 {self.available_before_mw:.3f} MW；用户峰值 {self.customer_peak_mw:.3f} MW；"
                 f"峰值相加 {self.sum_of_peaks_mw:.3f} MW（余量 {self.headroom_sum_of_peaks_mw:.3f}），"
                 f"同时峰值 {self.coincident_peak_mw:.3f} MW（余量 {self.headroom_coincident_mw:.3f}）；"
                 f"规则采用{rule}：接入后负载率 {self.load_rate_after:.1%}")
        else:
            s = (f"rating {self.rating_mw:.3f} MW x load-rate limit {self.limit:g} = "
                 f"{self.allowed_mw:.3f} MW; peak before {self.feeder_peak_mw:.3f} MW (load rate "
                 f"{self.load_rate_before:.1%}), available {self.available_before_mw:.3f} MW; "
                 f"customer peak {self.customer_peak_mw:.3f} MW; sum of peaks "
                 f"{self.sum_of_peaks_mw:.3f} MW (headroom {self.headroom_sum_of_peaks_mw:.3f}), "
                 f"coincident peak {self.coincident_peak_mw:.3f} MW (headroom "
                 f"{self.headroom_coincident_mw:.3f}); rule: {self.rule}: load rate after "
                 f"{self.load_rate_after:.1%}")
        if self.peak_time:
            s += f" @ {self.peak_time}"
        return s

    def to_dict(self) -> dict[str, object]:
        """JSON-ready numbers, basis and notes."""
        return {
            "rating_mw": self.rating_mw, "limit": self.limit, "allowed_mw": self.allowed_mw,
            "feeder_peak_mw": self.feeder_peak_mw, "customer_peak_mw": self.customer_peak_mw,
            "available_before_mw": self.available_before_mw,
            "sum_of_peaks_mw": self.sum_of_peaks_mw,
            "coincident_peak_mw": self.coincident_peak_mw,
            "headroom_sum_of_peaks_mw": self.headroom_sum_of_peaks_mw,
            "headroom_coincident_mw": self.headroom_coincident_mw,
            "diversity_mw": self.diversity_mw, "rule": self.rule,
            "used_peak_mw": self.used_peak_mw, "used_headroom_mw": self.used_headroom_mw,
            "load_rate_before": self.load_rate_before, "load_rate_after": self.load_rate_after,
            "fits": self.fits, "peak_step": self.peak_step, "peak_time": self.peak_time,
            "profile": self.profile,
            "basis": {"zh": self.basis("zh"), "en": self.basis("en")},
            "notes": [n.to_dict() for n in self.notes],
        }


def coincident_peaks(feeder_curves_mw: np.ndarray, customer_curve_mw: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum of peaks and coincident peak for many feeders at once (no Python loop).

    Parameters
    ----------
    feeder_curves_mw : array, shape (T,) or (n, T)
        Load curves (NaN steps are ignored).
    customer_curve_mw : array, shape (T,) or (n, T)
        The customer's curve in MW on the same steps.

    Returns
    -------
    sum_of_peaks, coincident_peak, peak_step : numpy.ndarray
        Shape ``(n,)`` (or scalars' 0-d arrays for 1-D input).
    """
    f = np.asarray(feeder_curves_mw, dtype=float)
    c = np.asarray(customer_curve_mw, dtype=float)
    if f.shape[-1] != c.shape[-1]:
        raise InputError(f"customer curve has {c.shape[-1]} steps, feeder curve {f.shape[-1]}; "
                         "they must share the same time steps", field="customer_profile")
    total = f + c
    with np.errstate(invalid="ignore"):
        sum_of_peaks = np.nanmax(f, axis=-1) + np.nanmax(c, axis=-1)
        step = np.nanargmax(np.where(np.isfinite(total), total, -np.inf), axis=-1)
    coincident = np.take_along_axis(total, np.expand_dims(step, -1), axis=-1)[..., 0]
    return sum_of_peaks, coincident, step


def customer_curve(customer_profile: object, feeder_curve: pd.Series | np.ndarray,
                   steps_per_day: int | None = None, *, monthly: bool = False
                   ) -> tuple[np.ndarray, str | None, list[Note]]:
    """The customer's normalised curve (max 1) on the feeder curve's steps.

    ``customer_profile`` is a profile/industry name (or :class:`Profile`) or an array. Names
    map onto timestamps when the feeder curve has a DatetimeIndex (weekday, and month when
    ``monthly``); on a plain
    array the workday shape is repeated day after day (``steps_per_day`` inferred from the
    length: 96, 48 or 24 steps a day). An array must have the feeder curve's length or one
    day's; it is scaled so its maximum is 1.
    """
    notes: list[Note] = []
    n = len(feeder_curve)
    if isinstance(customer_profile, str | Profile):
        prof = resolve_profile(customer_profile)
        if isinstance(feeder_curve, pd.Series) and isinstance(feeder_curve.index, pd.DatetimeIndex):
            shape = profile_curve(prof, feeder_curve.index, monthly=monthly)
        else:
            spd = steps_per_day or next((k for k in (STEPS_PER_DAY, 48, 24) if n % k == 0), None)
            if spd is None or n % spd:
                raise InputError(f"feeder curve has {n} steps: give it a DatetimeIndex, or whole "
                                 "days of 96, 48 or 24 steps", field="feeder_curve_mw")
            shape = np.tile(prof.daily(spd), n // spd)
            notes.append(Note("workday_shape", f"无时间戳：按 {prof.key} 工作日曲线逐日重复",
                              f"no timestamps: the {prof.key} workday shape repeated daily"))
        key: str | None = prof.key
    else:
        shape = np.asarray(customer_profile, dtype=float)
        if shape.ndim != 1 or shape.size == 0:
            raise InputError("customer_profile must be a name or a 1-D array of shares",
                             field="customer_profile")
        if shape.size != n:
            if n % shape.size == 0 and shape.size in (STEPS_PER_DAY, 48, 24):
                shape = np.tile(shape, n // shape.size)
            else:
                raise InputError(f"customer_profile has {shape.size} steps, the feeder curve {n}; "
                                 "give the same length or one day (96/48/24 steps) of a curve "
                                 "that is whole days", field="customer_profile")
        key = None
        fin = shape[np.isfinite(shape)]
        if fin.size == 0 or fin.max() <= 0 or (fin < 0).any():
            raise InputError("customer_profile must be >= 0 with a positive maximum",
                             field="customer_profile")
        # a given curve is a shape: its maximum is the customer's peak
        shape = np.nan_to_num(shape) / fin.max()
    # a named profile is not rescaled: on a weekend or (with monthly factors) in a low month
    # the customer stays below its design peak
    return shape, key, notes


def coincident_headroom(feeder_curve_mw: ArrayLike, customer_profile: object, customer_peak_mw: float,
                        rating_mw: float, limit: float = 1.0, *, rule: str | None = None,
                        settings: ForecastSettings | None = None) -> Headroom:
    """Headroom of one feeder or transformer for one customer, both ways.

    Parameters
    ----------
    feeder_curve_mw : float, array-like or pandas.Series
        The feeder's load curve (MW), ideally its peak day or a year with timestamps; a single
        number means only the peak is known (the coincident peak then equals the sum).
    customer_profile : str, Profile or array-like
        Industry or profile name (``"数据中心"``, ``"office"``), or a normalised curve.
    customer_peak_mw : float
        The customer's design peak (e.g. ``DesignDemand.peak_kw / 1000``).
    rating_mw : float
        Rated capacity (> 0).
    limit : float
        Allowed load rate, in (0, 2].
    rule : str, optional
        ``conservative`` (sum of peaks) or ``coincident``; default the settings'
        ``headroom_rule``.
    settings : ForecastSettings, optional

    Returns
    -------
    Headroom
    """
    st = settings or load_settings()
    use = (rule or st.headroom_rule).strip().lower()
    if use not in HEADROOM_RULES:
        raise InputError(f"rule = {rule!r}; valid: {', '.join(HEADROOM_RULES)}", field="rule")
    rating = positive(rating_mw, "rating_mw", unit="MW")
    lim = in_range(limit, "limit", 0.0, MAX_LIMIT)
    cust = non_negative(customer_peak_mw, "customer_peak_mw", unit="MW")
    notes: list[Note] = []
    if np.ndim(feeder_curve_mw) == 0:
        peak = non_negative(feeder_curve_mw, "feeder_curve_mw", unit="MW")
        notes.append(Note("no_curve", "无馈线负荷曲线：同时峰值按峰值相加计",
                          "no feeder load curve: the coincident peak equals the sum of peaks"))
        return Headroom(rating, lim, peak, cust, peak + cust, peak + cust, use, 0, None,
                        None, tuple(notes))
    curve = feeder_curve_mw if isinstance(feeder_curve_mw, pd.Series) else np.asarray(
        feeder_curve_mw, dtype=float)
    values = np.asarray(curve, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise InputError("feeder_curve_mw is empty; give the feeder's load curve (MW) or its "
                         "peak", field="feeder_curve_mw")
    if not np.isfinite(values).any():
        raise InputError(f"feeder_curve_mw: all {values.size} values are NaN", field="feeder_curve_mw")
    shape, key, cnotes = customer_curve(customer_profile, curve,
                                        monthly=st.use_monthly_factors)
    notes += cnotes
    nan = int((~np.isfinite(values)).sum())
    if nan:
        notes.append(Note("curve_gaps", f"馈线曲线有 {nan} 个缺测点，已忽略",
                          f"{nan} missing step(s) in the feeder curve ignored"))
    _, coin, step = coincident_peaks(values, cust * shape)
    peak = float(np.nanmax(values))
    # the design peak, not the curve's maximum: on a summer day or a weekend the profile may
    # stay below 1, but the conservative figure is the customer's full peak
    sop = peak + cust
    t = None
    if isinstance(curve, pd.Series) and isinstance(curve.index, pd.DatetimeIndex):
        t = curve.index[int(step)].isoformat()
    return Headroom(rating, lim, peak, cust, sop, float(coin), use, int(step), t, key,
                    tuple(notes))
