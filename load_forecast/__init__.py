"""Load forecasting for connection schemes: the demand a customer really adds, and the headroom
a feeder really has, with their uncertainty.

Public API
----------
- :func:`design_demand` / :class:`DemandRequest` -> :class:`DesignDemand`
- :func:`feeder_forecast` -> :class:`Forecast`; :func:`forecast_peaks` (any peak series)
- :func:`coincident_headroom` -> :class:`Headroom`; :func:`coincident_peaks` (vectorised)
- :func:`parcel_demand` -> :class:`ParcelDemand`; :func:`parcels_demand` (tables)
- :func:`pv_export` -> :class:`PvExport`
- :func:`get_industry`, :func:`get_profile`, :func:`profile_curve`, :func:`load_settings`
"""

from importlib import import_module

# Public names are imported lazily (PEP 562): a plan needs only the demand module, not the
# forecasting stack (statsmodels) behind feeder forecasts.
_EXPORTS = {
    "DemandRequest": "demand", "DesignDemand": "demand", "design_demand": "demand",
    "Forecast": "forecast", "PeakForecast": "forecast", "feeder_forecast": "forecast",
    "forecast_peaks": "forecast", "PvExport": "generation", "pv_export": "generation",
    "Headroom": "headroom", "coincident_headroom": "headroom", "coincident_peaks": "headroom",
    "Industry": "industries", "get_industry": "industries", "known_industries": "industries",
    "Note": "notes", "ParcelDemand": "parcels", "parcel_demand": "parcels",
    "parcels_demand": "parcels", "Profile": "profiles", "get_profile": "profiles",
    "profile_curve": "profiles", "resolve_profile": "profiles", "ForecastSettings": "settings",
    "load_settings": "settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'load_forecast' has no attribute {name!r}")
