"""Design demand of a connection application: what the customer really adds at its peak.

``peak kVA = in-service transformer kVA x demand factor``; ``peak kW = peak kVA x power
factor``; in year *n* after energising the added peak is scaled by the industry's ramp-up.
For a capacity increase (增容) ``kva`` is the *added* capacity and the measured demand of the
existing installation is added on top: ``total = existing kW + added kVA x Kd x pf x ramp``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from grid_models.errors import InputError

from .checks import in_range, non_negative, positive
from .industries import Industry, get_industry
from .notes import Note
from .transformers import TransformerConfig, parse_config

MAX_YEAR = 50


@dataclass(frozen=True)
class DemandRequest:
    """The parts of an application that decide its demand (plain values, no pydantic).

    Attributes
    ----------
    kva : float or None
        Requested (for an increase: added) transformer capacity; may be omitted when
        ``transformer_config`` gives it.
    industry : str
        Industry key, Chinese or English name, or alias (see ``industries.csv``).
    transformer_config : str or None
        E.g. ``"2x1250"`` or ``"2x1000+1x1000s"`` (one standby unit).
    existing_kw : float or None
        Measured peak of the existing installation; set for a capacity increase.
    existing_kva : float or None
        Installed kVA before the increase (reported only).
    year : int or None
        Year after energising to evaluate (1 = first); ``None`` = full design demand.
    demand_factor, power_factor : float or None
        Overrides of the industry values (e.g. from the customer's own load calculation).
    """

    industry: str
    kva: float | None = None
    transformer_config: str | None = None
    existing_kw: float | None = None
    existing_kva: float | None = None
    year: int | None = None
    demand_factor: float | None = None
    power_factor: float | None = None


@dataclass(frozen=True)
class DesignDemand:
    """The demand a customer adds, with its basis.

    Attributes
    ----------
    industry : Industry
        The class used (factors and references).
    in_service_kva, standby_kva : float
        Transformer capacity that carries load, and capacity kept as standby.
    demand_factor, power_factor : float
        Values applied (the industry's or an override).
    added_peak_kw, added_peak_kvar : float
        Full design demand of the new capacity (ramp-up complete).
    existing_kw : float
        Measured demand before a capacity increase (0 for a new connection).
    year : int or None
        Year evaluated; ``ramp_factor`` is the share of ``added_peak_kw`` reached then.
    peak_kw, peak_kvar : float
        Total demand in ``year``: existing + added x ramp (the number the engine uses).
    config : TransformerConfig or None
        Parsed transformer configuration when one was given.
    notes : tuple of Note
        Warnings and remarks.
    """

    industry: Industry
    in_service_kva: float
    standby_kva: float
    demand_factor: float
    power_factor: float
    added_peak_kw: float
    added_peak_kvar: float
    existing_kw: float
    year: int | None
    ramp_factor: float
    peak_kw: float
    peak_kvar: float
    config: TransformerConfig | None = None
    notes: tuple[Note, ...] = field(default_factory=tuple)

    @property
    def is_increase(self) -> bool:
        return self.existing_kw > 0

    @property
    def increment_kw(self) -> float:
        """What the feeder gains in ``year``: the added part after ramp-up (= peak for a new
        connection, peak - existing for an increase)."""
        return self.added_peak_kw * self.ramp_factor

    @property
    def increment_kvar(self) -> float:
        return self.added_peak_kvar * self.ramp_factor

    @property
    def peak_kva(self) -> float:
        return math.hypot(self.peak_kw, self.peak_kvar)

    @property
    def installed_kva(self) -> float:
        return self.in_service_kva + self.standby_kva

    @property
    def profile(self) -> str:
        """Key of the customer's normalised load shape in ``profiles.csv``."""
        return self.industry.profile

    def peak_kw_by_year(self, years: int = 5) -> np.ndarray:
        """Total demand in years ``1 .. years`` after energising."""
        r = np.array([self.industry.ramp_factor(y) for y in range(1, years + 1)])
        return self.existing_kw + self.added_peak_kw * r

    def basis(self, lang: str = "zh") -> str:
        """How the number was obtained, in Chinese (``zh``) or English (``en``)."""
        ind = self.industry
        cfg = f" ({self.config.describe(lang)})" if self.config else ""
        ramp = ", ".join(f"{f:g}" for f in ind.ramp)
        if lang == "zh":
            s = (f"{ind.name_zh}（{ind.key}）：运行容量 {self.in_service_kva:g} kVA{cfg} × 需用系数 "
                 f"{self.demand_factor:g}（范围 {ind.demand_factor_low:g}–{ind.demand_factor_high:g}）"
                 f"× 功率因数 {self.power_factor:g} = {self.added_peak_kw:.0f} kW；"
                 f"投产后第 1–{len(ind.ramp)} 年达产系数 {ramp}，此后 1")
            if self.year is not None:
                s += f"；第 {self.year} 年取 {self.ramp_factor:g}"
            if self.is_increase:
                s += f"；增容：既有实测负荷 {self.existing_kw:g} kW + 新增部分"
            # the table's references are English provenance notes: the Chinese text points to
            # them rather than mixing languages (to_dict() carries them)
            s += f"；合计 {self.peak_kw:.0f} kW / {self.peak_kvar:.0f} kvar（依据见行业参数表）。"
        else:
            s = (f"{ind.name_en} ({ind.key}): in-service {self.in_service_kva:g} kVA{cfg} x demand "
                 f"factor {self.demand_factor:g} (range {ind.demand_factor_low:g}-"
                 f"{ind.demand_factor_high:g}) x power factor {self.power_factor:g} = "
                 f"{self.added_peak_kw:.0f} kW; ramp-up in years 1-{len(ind.ramp)}: {ramp}, "
                 "then 1")
            if self.year is not None:
                s += f"; year {self.year}: {self.ramp_factor:g}"
            if self.is_increase:
                s += f"; capacity increase: existing measured {self.existing_kw:g} kW + added part"
            s += (f"; total {self.peak_kw:.0f} kW / {self.peak_kvar:.0f} kvar. "
                  f"References: {ind.references}")
        return s

    def to_dict(self) -> dict[str, object]:
        """JSON-ready numbers, basis and notes."""
        d: dict[str, object] = {
            "industry": self.industry.key, "industry_zh": self.industry.name_zh,
            "profile": self.profile, "is_generation": self.industry.is_generation,
            "installed_kva": self.installed_kva, "in_service_kva": self.in_service_kva,
            "standby_kva": self.standby_kva, "demand_factor": self.demand_factor,
            "demand_factor_range": [self.industry.demand_factor_low,
                                    self.industry.demand_factor_high],
            "power_factor": self.power_factor, "added_peak_kw": self.added_peak_kw,
            "added_peak_kvar": self.added_peak_kvar, "existing_kw": self.existing_kw,
            "is_increase": self.is_increase, "year": self.year, "ramp_factor": self.ramp_factor,
            "ramp_by_year": list(self.industry.ramp), "peak_kw": self.peak_kw,
            "peak_kvar": self.peak_kvar, "peak_kva": self.peak_kva,
            "increment_kw": self.increment_kw, "increment_kvar": self.increment_kvar,
            "peak_kw_by_year": [float(x) for x in self.peak_kw_by_year(len(self.industry.ramp))],
            "transformer_config": None if self.config is None else {
                "text": self.config.text, "units": [asdict(u) for u in self.config.units]},
            "basis": {"zh": self.basis("zh"), "en": self.basis("en")},
            "notes": [n.to_dict() for n in self.notes],
        }
        return d


@lru_cache(maxsize=1)
@lru_cache(maxsize=1)
def _max_kva() -> float:
    # one bound for the whole engine: the policy's plausibility limit on an application
    from grid_models.policy import load_policy

    return load_policy("default").param("max_plausible_kva")


def design_demand(request: DemandRequest | None = None, /, **kwargs: object) -> DesignDemand:
    """Design demand of an application.

    Parameters
    ----------
    request : DemandRequest, optional
        The application's demand fields; or pass the same fields as keywords
        (``design_demand(kva=2000, industry="数据中心")``).

    Returns
    -------
    DesignDemand

    Raises
    ------
    UnknownTypeError
        Unknown industry (the message lists the known ones).
    InputError
        kVA not in ``(0, max_plausible_kva]``, a configuration that cannot be read or disagrees
        with ``kva``, negative existing demand, a year outside ``1..50``, factors outside (0, 1].

    Examples
    --------
    >>> d = design_demand(kva=2000, industry="data_centre")
    >>> round(d.added_peak_kw)  # 2000 x 0.7 x 0.95
    1330
    """
    if request is None:
        try:
            request = DemandRequest(**kwargs)  # type: ignore[arg-type]
        except TypeError as exc:
            raise InputError(f"design_demand: {exc}; fields are industry, kva, "
                             "transformer_config, existing_kw, existing_kva, year, "
                             "demand_factor, power_factor", field="request") from None
    elif kwargs:
        raise InputError("design_demand takes a DemandRequest or keywords, not both",
                         field="request")
    r = request
    ind = get_industry(r.industry)
    notes: list[Note] = []
    max_kva = _max_kva()
    config = parse_config(r.transformer_config) if r.transformer_config else None
    if r.kva is None and config is None:
        raise InputError("kva is missing; give the requested transformer capacity in kVA "
                         f"(valid: (0, {max_kva:g}]) or a transformer_config such as '2x1250'",
                         field="kva")
    kva = positive(r.kva, "kva", max_kva, "kVA") if r.kva is not None else None
    if config is not None:
        positive(config.installed_kva, "transformer_config", max_kva, "kVA")
        if kva is None:
            in_service = config.in_service_kva
        elif math.isclose(kva, config.in_service_kva, abs_tol=0.5):
            in_service = kva
        elif math.isclose(kva, config.installed_kva, abs_tol=0.5):
            in_service = config.in_service_kva
            notes.append(Note("standby_excluded",
                              f"申请容量 {kva:g} kVA 含备用 {config.standby_kva:g} kVA，需用系数只"
                              f"乘运行容量 {in_service:g} kVA",
                              f"requested {kva:g} kVA includes {config.standby_kva:g} kVA standby; "
                              f"the demand factor applies to the {in_service:g} kVA in service"))
        else:
            raise InputError(
                f"kva = {kva:g} disagrees with transformer_config = {config.text!r} "
                f"({config.in_service_kva:g} kVA in service, {config.installed_kva:g} kVA "
                "installed); give one of those or omit kva", field="kva")
        standby = config.standby_kva
    else:
        in_service, standby = float(kva), 0.0  # type: ignore[arg-type]
    kd = (in_range(r.demand_factor, "demand_factor", 0.0, 1.0) if r.demand_factor is not None
          else ind.demand_factor)
    pf = (in_range(r.power_factor, "power_factor", 0.0, 1.0) if r.power_factor is not None
          else ind.power_factor)
    if r.demand_factor is not None:
        notes.append(Note("demand_factor_override", f"需用系数取申请值 {kd:g}（行业典型 "
                          f"{ind.demand_factor:g}）", f"demand factor {kd:g} given by the "
                          f"application (industry typical {ind.demand_factor:g})"))
    existing = non_negative(r.existing_kw, "existing_kw", max_kva, "kW") if r.existing_kw else 0.0
    if r.existing_kva is not None:
        positive(r.existing_kva, "existing_kva", max_kva, "kVA")
    year = None
    if r.year is not None:
        year = int(in_range(r.year, "year", 1, MAX_YEAR, low_open=False))
        if year != r.year:
            raise InputError(f"year = {r.year!r} must be a whole number in [1, {MAX_YEAR}]",
                             field="year")
    ramp = ind.ramp_factor(year) if year is not None else 1.0
    added_kva = in_service * kd
    added_kw = added_kva * pf
    added_kvar = added_kva * math.sqrt(max(0.0, 1.0 - pf * pf))
    # existing reactive demand is not measured with the peak: assume the same power factor
    q_ratio = math.sqrt(max(0.0, 1.0 - pf * pf)) / pf
    peak_kw = existing + added_kw * ramp
    peak_kvar = existing * q_ratio + added_kvar * ramp
    if ind.is_generation:
        notes.append(Note("generation", "光伏项目：此为下网负荷；上网（反送）功率见 pv_export",
                          "PV project: this is the import demand; export is given by pv_export"))
    return DesignDemand(ind, in_service, standby, kd, pf, added_kw, added_kvar, existing, year,
                        ramp, peak_kw, peak_kvar, config, tuple(notes))
