"""Loading checks: the feeder against its N-1 load-rate limit, the main transformers' firm
capacity, and the unit feeding the chosen bus section."""

from __future__ import annotations

import numpy as np

from grid_models.compiled import SQRT3

from .base import fill, register
from .inputs import CheckInputs


@register("feeder_load_rate", "ratio", "馈线负载率(N-1)", "feeder load rate (N-1 limit)", "le")
def feeder_load_rate(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """Feeder peak plus the customer over the feeder's rating, against the limit of its
    connection mode (load_rate_limits.csv); a new dedicated feeder: the customer over the new
    line's rating."""
    s = x.site
    shared = (s.feeder_peak_mva + x.flow.inc_mva) / s.feeder_rated_mva
    own = np.abs(np.asarray(x.load.s_mva)) / (SQRT3 * s.u_kv * x.line.max_i_ka)
    rate = np.where(s.dedicated, own, shared)
    return rate, fill(s.load_rate_limit, np.shape(rate))


@register("transformer_load_rate", "ratio", "主变负载率(N-1)", "main-transformer load rate (N-1)",
          "le")
def transformer_load_rate(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """Substation peak plus the customer over all main transformers, against the N-1 limit by
    number of units (transformer_load_limits.csv)."""
    s = x.site
    rate = (s.substation_load_mva + x.flow.inc_mva) / s.substation_firm_mva
    return rate, fill(s.transformer_limit, np.shape(rate))


@register("transformer_unit_loading", "ratio", "供电主变负载", "loading of the unit feeding the bus section",
          "le")
def transformer_unit_loading(x: CheckInputs) -> tuple[np.ndarray, np.ndarray]:
    """The unit behind the chosen section: its feeders' peaks plus the customer over its
    rating (a section can be full while its neighbours are light)."""
    s = x.site
    rate = (s.unit_load_mva + x.flow.inc_mva) / s.unit_mva
    return rate, np.full(np.shape(rate), x.params.transformer_unit_loading_limit)
