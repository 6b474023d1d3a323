"""Distributed PV: the export at minimum load, which the engine checks for reverse flow and
voltage rise.

The worst case for export is a clear day at noon while the site's own load is lowest:
``export = max_t(kWp x pv_peak_output_ratio x pv_shape(t) - site_load(t), 0)``. The PV shape is
the clear-summer-day profile ``pv_generation`` of ``profiles.csv`` (peak 1.0 at solar noon),
``pv_peak_output_ratio`` is in ``forecast_settings.csv``. The site's load on its lowest day is
either given (a number or a daily curve) or built from its peak and profile: the lower of the
workday and weekend shapes at each step, times the lowest monthly factor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grid_models.errors import InputError

from .checks import in_range, non_negative, positive
from .notes import Note
from .profiles import STEPS_PER_DAY, get_profile, resolve_profile
from .settings import ForecastSettings, load_settings

MAX_KWP = 2_000_000.0  # 2 GWp: beyond any distribution connection


@dataclass(frozen=True)
class PvExport:
    """Export of a PV plant at the site's minimum load.

    Attributes
    ----------
    kwp : float
        Installed PV (DC) capacity.
    output_ratio : float
        AC output per kWp at clear-sky noon.
    export_kw : float
        Largest export to the grid over the day.
    pv_output_kw, site_load_kw : float
        PV output and site load at that step.
    step : int
        Quarter-hour of the day (0 = 00:00) of the largest export.
    pv_curve_kw, site_load_curve_kw : numpy.ndarray
        96 quarter-hour values of the worst-case day.
    feeder_min_load_mw : float or None
        Feeder minimum load the export is compared with, when given.
    notes : tuple of Note
    """

    kwp: float
    output_ratio: float
    export_kw: float
    pv_output_kw: float
    site_load_kw: float
    step: int
    pv_curve_kw: np.ndarray = field(repr=False)
    site_load_curve_kw: np.ndarray = field(repr=False)
    site_load_basis: str = ""
    feeder_min_load_mw: float | None = None
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def time(self) -> str:
        """``HH:MM`` of the largest export."""
        return f"{self.step // 4:02d}:{self.step % 4 * 15:02d}"

    @property
    def reverse_flow_ratio(self) -> float | None:
        """Export over the feeder's minimum load (the engine flags it against policy)."""
        if self.feeder_min_load_mw is None:
            return None
        if self.feeder_min_load_mw <= 0:
            return float("inf") if self.export_kw > 0 else 0.0
        return self.export_kw / 1000.0 / self.feeder_min_load_mw

    def basis(self, lang: str = "zh") -> str:
        """The calculation in Chinese or English."""
        if lang == "zh":
            s = (f"光伏 {self.kwp:g} kWp × 晴天正午出力系数 {self.output_ratio:g} → {self.time} 出力 "
                 f"{self.pv_output_kw:.0f} kW；同刻自用最小负荷 {self.site_load_kw:.0f} kW"
                 f"（{self.site_load_basis}）；最大上网 {self.export_kw:.0f} kW")
            if self.reverse_flow_ratio is not None:
                s += (f"；馈线最小负荷 {self.feeder_min_load_mw:g} MW，上网/最小负荷 = "
                      f"{self.reverse_flow_ratio:.2f}")
            return s
        s = (f"PV {self.kwp:g} kWp x clear-sky noon output {self.output_ratio:g} -> "
             f"{self.pv_output_kw:.0f} kW at {self.time}; site minimum load then "
             f"{self.site_load_kw:.0f} kW ({self.site_load_basis}); largest export "
             f"{self.export_kw:.0f} kW")
        if self.reverse_flow_ratio is not None:
            s += (f"; feeder minimum load {self.feeder_min_load_mw:g} MW, export / minimum load = "
                  f"{self.reverse_flow_ratio:.2f}")
        return s

    def to_dict(self) -> dict[str, object]:
        """JSON-ready numbers, basis and notes."""
        return {
            "kwp": self.kwp, "output_ratio": self.output_ratio, "export_kw": self.export_kw,
            "pv_output_kw": self.pv_output_kw, "site_load_kw": self.site_load_kw,
            "time": self.time, "feeder_min_load_mw": self.feeder_min_load_mw,
            "reverse_flow_ratio": self.reverse_flow_ratio,
            "basis": {"zh": self.basis("zh"), "en": self.basis("en")},
            "notes": [n.to_dict() for n in self.notes],
        }


def _daily(values: np.ndarray, field_name: str) -> np.ndarray:
    if values.ndim != 1 or values.size == 0 or STEPS_PER_DAY % values.size:
        raise InputError(f"{field_name} must be a number or one day of 96, 48 or 24 values (kW)",
                         field=field_name)
    return np.repeat(values, STEPS_PER_DAY // values.size)


def pv_export(kwp: float, site_min_load_kw: float | np.ndarray | None = None, *,
              site_peak_kw: float | None = None, site_profile: str | None = None,
              output_ratio: float | None = None, feeder_min_load_mw: float | None = None,
              settings: ForecastSettings | None = None) -> PvExport:
    """Largest export of a PV plant, at the site's minimum load.

    Parameters
    ----------
    kwp : float
        PV capacity, in ``(0, 2e6]`` kWp.
    site_min_load_kw : float or array-like, optional
        The site's own load on its lowest day: a constant or 96/48/24 values from 00:00.
    site_peak_kw, site_profile : optional
        Instead of ``site_min_load_kw``: the site's peak and its industry or profile name.
    output_ratio : float, optional
        AC kW per kWp at clear-sky noon; default ``pv_peak_output_ratio`` of the settings.
    feeder_min_load_mw : float, optional
        The feeder's minimum (daytime) load, to report export / minimum load.
    settings : ForecastSettings, optional

    Returns
    -------
    PvExport

    Examples
    --------
    >>> round(pv_export(1000, 200, output_ratio=0.8).export_kw)  # 1000 x 0.8 - 200
    600
    """
    st = settings or load_settings()
    cap = positive(kwp, "kwp", MAX_KWP, "kWp")
    ratio = (st.pv_peak_output_ratio if output_ratio is None
             else in_range(output_ratio, "output_ratio", 0.0, 1.2))
    notes: list[Note] = []
    pv = cap * ratio * get_profile("pv_generation").workday
    if site_min_load_kw is not None and (site_peak_kw is not None or site_profile is not None):
        raise InputError("give site_min_load_kw or site_peak_kw with site_profile, not both",
                         field="site_min_load_kw")
    if site_min_load_kw is not None:
        arr = np.asarray(site_min_load_kw, dtype=float)
        if arr.ndim == 0:
            load = np.full(STEPS_PER_DAY, non_negative(float(arr), "site_min_load_kw", unit="kW"))
            basis = "given constant"
        else:
            load = _daily(arr, "site_min_load_kw")
            if not np.isfinite(load).all() or (load < 0).any():
                raise InputError("site_min_load_kw values must be finite and >= 0 kW",
                                 field="site_min_load_kw")
            basis = "given daily curve"
    elif site_peak_kw is not None:
        peak = non_negative(site_peak_kw, "site_peak_kw", unit="kW")
        if site_profile is None:
            raise InputError("site_peak_kw needs site_profile (an industry or profile name)",
                             field="site_profile")
        prof = resolve_profile(site_profile)
        # lowest day: the lower day shape at each step, in the lowest month
        load = peak * np.minimum(prof.workday, prof.weekend) * float(prof.monthly.min())
        basis = f"{prof.key} lowest day"
    else:
        load = np.zeros(STEPS_PER_DAY)
        basis = "no own load"
        notes.append(Note("no_site_load", "未给自用负荷：按全部出力上网计",
                          "no site load given: all PV output counted as export"))
    fm = None if feeder_min_load_mw is None else non_negative(feeder_min_load_mw,
                                                              "feeder_min_load_mw", unit="MW")
    export = np.maximum(pv - load, 0.0)
    step = int(np.argmax(export)) if export.max() > 0 else int(np.argmax(pv))
    if export.max() <= 0:
        notes.append(Note("no_export", "自用负荷始终高于光伏出力：无上网",
                          "site load exceeds PV output all day: no export"))
    pv.setflags(write=False)
    load.setflags(write=False)
    return PvExport(cap, ratio, float(export[step]), float(pv[step]), float(load[step]), step,
                    pv, load, basis, fm, tuple(notes))
