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

from .demand import DemandRequest, DesignDemand, design_demand
from .forecast import Forecast, PeakForecast, feeder_forecast, forecast_peaks
from .generation import PvExport, pv_export
from .headroom import Headroom, coincident_headroom, coincident_peaks
from .industries import Industry, get_industry, known_industries
from .notes import Note
from .parcels import ParcelDemand, parcel_demand, parcels_demand
from .profiles import Profile, get_profile, profile_curve, resolve_profile
from .settings import ForecastSettings, load_settings

__all__ = [
    "DemandRequest", "DesignDemand", "Forecast", "ForecastSettings", "Headroom", "Industry",
    "Note", "ParcelDemand", "PeakForecast", "Profile", "PvExport", "coincident_headroom",
    "coincident_peaks", "design_demand", "feeder_forecast", "forecast_peaks", "get_industry",
    "get_profile", "known_industries", "load_settings", "parcel_demand", "parcels_demand",
    "profile_curve", "pv_export", "resolve_profile",
]
